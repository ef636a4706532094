//! A child's set-up between `fork` and `execve`, as a value.
//!
//! Every program of runit forks children whose set-up differs in small, observable ways
//! (stage 1 gets a controlling terminal, stages 2 and 3 a new session and SIGPWR blocked,
//! an svlogd processor gets the fd layout 0, 1, 4, 5 and an empty `state`, runsvdir's
//! runsv is started from the scanned directory after a PATH search). Those quirks are
//! decided here, as a [`ChildPlan`] each machine builds; the runtime's one spawn routine
//! carries a plan out step by step in the child, allocating nothing after `fork`.

use alloc::vec::Vec;

use crate::errno::Errno;

/// A signal number. Linux numbers (the only platform runit-rs targets); the runtime
/// checks they agree with its libc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signal(pub i32);

impl Signal {
    /// SIGHUP.
    pub const HUP: Signal = Signal(1);
    /// SIGINT.
    pub const INT: Signal = Signal(2);
    /// SIGPIPE.
    pub const PIPE: Signal = Signal(13);
    /// SIGALRM.
    pub const ALRM: Signal = Signal(14);
    /// SIGTERM.
    pub const TERM: Signal = Signal(15);
    /// SIGCHLD.
    pub const CHLD: Signal = Signal(17);
    /// SIGCONT.
    pub const CONT: Signal = Signal(18);
    /// SIGPWR.
    pub const PWR: Signal = Signal(30);
}

/// A set of signals (Linux numbers 1 to 64) as a bitmask: a plan's signal sets cost no
/// allocation, so a supervisor's restart path does not grow its heap. Numbers outside
/// 1..=64 are not signals and are left out (as `sigaddset` refuses them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalSet(u64);

impl SignalSet {
    /// No signal.
    pub const EMPTY: SignalSet = SignalSet(0);

    /// The set of `signals`.
    pub fn of(signals: &[Signal]) -> SignalSet {
        signals.iter().copied().collect()
    }

    /// Adds `s` (a number outside 1..=64 is ignored).
    pub fn insert(&mut self, s: Signal) {
        if (1..=64).contains(&s.0) {
            self.0 |= 1 << (s.0 - 1);
        }
    }

    /// Whether `s` is in the set.
    pub fn contains(self, s: Signal) -> bool {
        (1..=64).contains(&s.0) && self.0 & (1 << (s.0 - 1)) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The signals in ascending order.
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        (1..=64).map(Signal).filter(move |&s| self.contains(s))
    }

    /// Both sets' signals.
    pub fn union(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 | other.0)
    }
}

impl FromIterator<Signal> for SignalSet {
    fn from_iter<I: IntoIterator<Item = Signal>>(iter: I) -> SignalSet {
        let mut set = SignalSet::EMPTY;
        set.extend(iter);
        set
    }
}

impl Extend<Signal> for SignalSet {
    fn extend<I: IntoIterator<Item = Signal>>(&mut self, iter: I) {
        for s in iter {
            self.insert(s);
        }
    }
}

/// What the child does to its signal dispositions and mask, in this order: defaults,
/// ignores, then the mask (cleared if asked, then unblock, then block).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalPlan {
    /// Back to the default disposition (a caught signal's handler would not survive exec
    /// anyway; an ignored one would).
    pub default: SignalSet,
    /// Set to ignored (survives exec).
    pub ignore: SignalSet,
    /// Start from an empty mask (stage scripts); otherwise the inherited mask is edited.
    pub clear_mask: bool,
    /// Removed from the mask.
    pub unblock: SignalSet,
    /// Added to the mask.
    pub block: SignalSet,
}

impl SignalPlan {
    /// runit's usual "uncatch and unblock" of the signals a parent handles: each back to
    /// its default and unblocked.
    pub fn reset(signals: impl IntoIterator<Item = Signal>) -> SignalPlan {
        let set: SignalSet = signals.into_iter().collect();
        SignalPlan { default: set, unblock: set, ..SignalPlan::default() }
    }
}

/// How a file is opened by [`Step::Open`] (always without close-on-exec: it is for the
/// program about to be executed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenHow {
    /// `O_RDONLY | O_NONBLOCK`.
    ReadNonblock,
    /// `O_WRONLY | O_NONBLOCK | O_TRUNC | O_CREAT`, mode 0644.
    WriteNewNonblock,
}

/// One step of a child's set-up. Each fallible step names the message written (before
/// the errno's text and a newline) to fd 2 when it fails; the child then exits with
/// [`ChildPlan::fail_exit`], unless the step says it only warns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Signal dispositions and mask.
    Signals(SignalPlan),
    /// `setsid()` (its failure, a process already a group leader, is ignored as in runit).
    NewSession,
    /// `setpgid(0, 0)` (failure ignored).
    NewProcessGroup,
    /// `dup2(from, to)`.
    Dup {
        /// The fd to copy.
        from: i32,
        /// Where it goes.
        to: i32,
        /// Message on failure.
        fail: Vec<u8>,
    },
    /// `close(fd)` (failure ignored).
    Close(i32),
    /// `chdir(path)`.
    Chdir {
        /// The directory.
        path: Vec<u8>,
        /// Message on failure.
        fail: Vec<u8>,
    },
    /// `fchdir(fd)`.
    Fchdir {
        /// An open directory.
        fd: i32,
        /// Message on failure.
        fail: Vec<u8>,
    },
    /// Opens `path` (relative to the current directory) and moves the new fd to `to`
    /// (`dup2` then `close`, unless it already is `to`).
    Open {
        /// The file.
        path: Vec<u8>,
        /// Flags.
        how: OpenHow,
        /// The fd it must end up as.
        to: i32,
        /// When the open fails with ENOENT: create the file empty
        /// ([`OpenHow::WriteNewNonblock`], failure message given here), then open again.
        create_empty: Option<Vec<u8>>,
        /// Message when the open fails.
        fail: Vec<u8>,
        /// Message when the move fails.
        move_fail: Vec<u8>,
    },
    /// Opens `path` read-write as the controlling terminal on fd 0 (`TIOCSCTTY`, `dup2`,
    /// close the original unless it is 0-2). A failed open only warns and the set-up
    /// goes on.
    ControllingTerminal {
        /// The terminal device.
        path: Vec<u8>,
        /// Warning written (with the errno text) when it cannot be opened.
        warn: Vec<u8>,
    },
    /// Writes these bytes to fd 2 (a failed write is ignored).
    Say(Vec<u8>),
}

/// The program a child executes, found by runit's PATH rule
/// ([`crate::chpst::path::after_failure`]) over `candidates`; a single candidate is a
/// plain `execve` (the rule then reports that one attempt's errno).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exec {
    /// Paths to try, in order.
    pub candidates: Vec<Vec<u8>>,
    /// argv, argv\[0\] included.
    pub argv: Vec<Vec<u8>>,
    /// The environment; `None` keeps the inherited one.
    pub env: Option<Vec<Vec<u8>>>,
    /// Message when every attempt failed.
    pub fail: Vec<u8>,
}

/// A child's whole set-up: steps in order, then the exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildPlan {
    /// What to do before the exec, in order.
    pub steps: Vec<Step>,
    /// What to execute.
    pub exec: Exec,
    /// Exit code after a failure message.
    pub fail_exit: i32,
}

impl ChildPlan {
    /// The signals this plan blocks in the child (stage 2 and 3's SIGPWR, runit's quirk).
    pub fn blocked(&self) -> SignalSet {
        self.signal_plans().fold(SignalSet::EMPTY, |set, p| set.union(p.block))
    }

    /// The signals this plan sets to ignored.
    pub fn ignored(&self) -> SignalSet {
        self.signal_plans().fold(SignalSet::EMPTY, |set, p| set.union(p.ignore))
    }

    /// Whether the child starts a new session.
    pub fn new_session(&self) -> bool {
        self.steps.contains(&Step::NewSession)
    }

    fn signal_plans(&self) -> impl Iterator<Item = &SignalPlan> {
        self.steps.iter().filter_map(|s| match s {
            Step::Signals(p) => Some(p),
            _ => None,
        })
    }
}

/// A message as runit's children print it: `prefix`, the errno's text, a newline.
pub fn failure_line(prefix: &[u8], e: Errno) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.extend_from_slice(e.text().as_bytes());
    v.push(b'\n');
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_defaults_and_unblocks_the_same_signals() {
        let p = SignalPlan::reset([Signal::TERM, Signal::CHLD]);
        assert_eq!(p.default, SignalSet::of(&[Signal::CHLD, Signal::TERM]));
        assert_eq!(p.unblock, p.default);
        assert!(p.ignore.is_empty() && p.block.is_empty() && !p.clear_mask);
    }

    #[test]
    fn signal_set_holds_1_to_64_in_order_and_drops_the_rest() {
        let set: SignalSet = [Signal(64), Signal(0), Signal(1), Signal(65), Signal(-3), Signal(17), Signal(1)].into_iter().collect();
        assert_eq!(set.iter().collect::<Vec<_>>(), [Signal(1), Signal(17), Signal(64)]);
        assert!(set.contains(Signal(64)) && !set.contains(Signal(0)) && !set.contains(Signal(65)));
        assert!(SignalSet::EMPTY.is_empty() && SignalSet::EMPTY.iter().next().is_none());
        assert_eq!(SignalSet::of(&[Signal(2)]).union(SignalSet::of(&[Signal(3)])), SignalSet::of(&[Signal(3), Signal(2)]));
    }

    #[test]
    fn failure_line_appends_the_errno_text() {
        assert_eq!(failure_line(b"x: ", Errno::ENOENT), b"x: file does not exist\n".to_vec());
    }
}
