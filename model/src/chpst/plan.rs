//! The plan: the process-state changes chpst makes, in runit's fixed order, then the exec.

use alloc::vec::Vec;

use super::account::AccountSpec;
use super::limits::{Limit, LimitValue};

/// What a subdirectory inside an envdir means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubdirPolicy {
    /// `chpst -e`: skip it (warn under `-v`).
    Skip {
        /// Whether `-v` was given.
        verbose: bool,
    },
    /// `envdir`: it is fatal.
    Fatal,
}

/// What a failed lock or exec does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnFailure {
    /// Print the fatal message, exit 111.
    Fatal,
    /// setlock `-x`: exit 0 silently.
    ExitZero,
}

/// One process-state change.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// `-P` / pgrphack: `setsid()`, failure ignored.
    Setsid,
    /// `-e dir` / envdir: read the directory into environment edits.
    EnvDir {
        /// The directory, as given (relative to the cwd at that time).
        dir: Vec<u8>,
        /// What a subdirectory means.
        subdirs: SubdirPolicy,
    },
    /// `-/ root`: `chdir(root)` then `chroot(".")`.
    Chroot {
        /// The new root, as given.
        root: Vec<u8>,
    },
    /// `-C dir` (only in the [`Dialect::WITH_CHDIR`](super::parse::Dialect) build, as in
    /// runit 2.2.0 / Void): `chdir(dir)` after any chroot.
    Chdir {
        /// The directory, as given (inside the new root).
        dir: Vec<u8>,
    },
    /// `-n inc`: `nice(inc)` (never 0: `-n 0` plans nothing).
    Nice {
        /// The increment.
        inc: i32,
    },
    /// `-U` / envuidgid: look up the account and schedule `GID` and `UID` edits.
    EnvAccount(AccountSpec),
    /// `-u` / setuidgid: look up the account, then setgroups, setgid, setuid.
    SetAccount(AccountSpec),
    /// `-l`/`-L` / setlock: open-append the file and flock it exclusively.
    Lock {
        /// The lock file, as given.
        file: Vec<u8>,
        /// Block until the lock is free (`-l`, setlock `-n`) or fail at once.
        wait: bool,
        /// setlock `-x` exits 0 instead of failing.
        on_failure: OnFailure,
    },
    /// `-0`/`-1`/`-2`: close that descriptor.
    Close {
        /// 0, 1 or 2.
        fd: u8,
    },
    /// A soft resource limit.
    Limit {
        /// Which resource.
        limit: Limit,
        /// The requested value.
        value: LimitValue,
    },
}

impl Step {
    /// Position in runit's fixed order (spec/chpst.md §3); a plan's steps never decrease.
    pub fn rank(&self) -> u8 {
        match self {
            Step::Setsid => 1,
            Step::EnvDir { .. } => 2,
            Step::Chroot { .. } => 3,
            Step::Chdir { .. } => 4,
            Step::Nice { .. } => 5,
            Step::EnvAccount(_) => 6,
            Step::SetAccount(_) => 7,
            Step::Lock { .. } => 8,
            Step::Close { .. } => 9,
            Step::Limit { limit, .. } => 10 + *limit as u8,
        }
    }
}

/// The final exec.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Exec {
    /// The program to look up (the original `prog`, even under `-b`).
    pub file: Vec<u8>,
    /// Its argv (argv\[0\] replaced by `-b` if given).
    pub argv: Vec<Vec<u8>>,
    /// What a failed exec does.
    pub on_failure: OnFailure,
}

impl Exec {
    /// The name `unable to run: <name>` shows: runit prints the program's argv\[0\], so
    /// under `-b` it is the replacement name, not the program it failed to find (kept).
    pub fn failure_name(&self) -> &[u8] {
        self.argv.first().map(Vec::as_slice).unwrap_or(&self.file)
    }
}

/// Everything chpst will do, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Plan {
    /// Changes, sorted by [`Step::rank`].
    pub steps: Vec<Step>,
    /// Then this exec.
    pub exec: Exec,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chpst::account::AccountSpec;

    /// One step of each kind in runit's order has strictly increasing ranks, limits last
    /// in their own order (kills `Step::rank` -> 0, -> 1 and `10 + limit` -> `10 * limit`).
    #[test]
    fn ranks_follow_runit_order() {
        let account = || AccountSpec::Invalid(b"x".to_vec());
        let mut steps = alloc::vec![
            Step::Setsid,
            Step::EnvDir { dir: b"e".to_vec(), subdirs: SubdirPolicy::Fatal },
            Step::Chroot { root: b"/".to_vec() },
            Step::Chdir { dir: b"/".to_vec() },
            Step::Nice { inc: 1 },
            Step::EnvAccount(account()),
            Step::SetAccount(account()),
            Step::Lock { file: b"l".to_vec(), wait: true, on_failure: OnFailure::Fatal },
            Step::Close { fd: 0 },
        ];
        steps.extend(Limit::ALL.iter().map(|&limit| Step::Limit { limit, value: LimitValue::Hard }));
        let ranks: Vec<u8> = steps.iter().map(Step::rank).collect();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "ranks {ranks:?}");
    }
}
