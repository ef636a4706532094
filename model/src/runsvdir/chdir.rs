//! runsvchdir's decisions (spec/init.md §3, formats.md §7): a small step machine. The
//! binary performs each [`Op`] and feeds its [`OpResult`] back; the machine says what to
//! do next or how to finish (exit code and exact output).
//!
//! The switch itself is `symlink current.new -> <dir>`, `rename current previous`,
//! `rename current.new current`: the last step is an atomic `rename(2)`, so `current`
//! always resolves to either the old or the new directory.

use alloc::vec::Vec;

use crate::errno::Errno;

/// The directory holding `current` and `previous` (a compile-time constant, as in runit).
pub const BASE: &[u8] = b"/etc/runit/runsvdir";

/// One file-system operation, relative to [`BASE`] after [`Op::Chdir`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `chdir(BASE)`.
    Chdir,
    /// `stat(<dir>)`, following symlinks.
    StatDir,
    /// `stat("current")`, following the link.
    StatCurrent,
    /// `unlink("current.new")`.
    UnlinkNew,
    /// `symlink(<dir>, "current.new")`.
    SymlinkNew,
    /// `unlink("previous")`.
    UnlinkPrevious,
    /// `rename("current", "previous")`.
    CurrentToPrevious,
    /// `rename("current.new", "current")`.
    NewToCurrent,
    /// `rename("previous", "current")` (undo after a failed switch).
    PreviousBack,
}

/// What an operation returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpResult {
    /// Success (no data).
    Done,
    /// Success of a stat.
    Stat {
        /// Device.
        dev: u64,
        /// Inode.
        ino: u64,
        /// Whether it is a directory.
        is_dir: bool,
    },
    /// Failure with errno.
    Failed(Errno),
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Perform this operation and feed its result to [`Chdir::next`].
    Do(Op),
    /// Print and exit.
    Finish {
        /// Exit code.
        code: i32,
        /// Bytes for stdout.
        stdout: Vec<u8>,
        /// Bytes for stderr.
        stderr: Vec<u8>,
    },
}

/// runsvchdir in progress.
#[derive(Clone, Debug)]
pub struct Chdir {
    argv0: Vec<u8>,
    dir: Vec<u8>,
    at: Op,
    target: (u64, u64),
    warned: Vec<u8>,
}

fn cat(pieces: &[&[u8]]) -> Vec<u8> {
    pieces.iter().flat_map(|p| p.iter().copied()).collect()
}

impl Chdir {
    /// Starts from argv; returns the machine (if there is work) and the first step.
    pub fn start(argv: &[Vec<u8>]) -> (Option<Chdir>, Step) {
        let argv0: Vec<u8> = argv.first().cloned().unwrap_or_else(|| b"runsvchdir".to_vec());
        let Some(dir) = argv.get(1) else {
            return (None, Step::Finish { code: 1, stdout: Vec::new(), stderr: crate::msg::usage(&argv0, b" dir") });
        };
        let mut m = Chdir { argv0, dir: dir.clone(), at: Op::Chdir, target: (0, 0), warned: Vec::new() };
        if dir.first() == Some(&b'.') {
            let s = m.fatal(&[dir, b": must not start with a dot."], None);
            return (None, s);
        }
        (Some(m), Step::Do(Op::Chdir))
    }

    fn fatal(&mut self, pieces: &[&[u8]], e: Option<Errno>) -> Step {
        let mut all: Vec<&[u8]> = alloc::vec![&self.argv0[..], b": fatal: "];
        all.extend_from_slice(pieces);
        let mut stderr = core::mem::take(&mut self.warned);
        stderr.extend_from_slice(&crate::msg::line(&all, e));
        Step::Finish { code: 111, stdout: Vec::new(), stderr }
    }

    fn go(&mut self, op: Op) -> Step {
        self.at = op.clone();
        Step::Do(op)
    }

    fn success(&mut self, tail: &[u8]) -> Step {
        Step::Finish { code: 0, stdout: cat(&[b"runsvchdir: ", &self.dir, tail]), stderr: core::mem::take(&mut self.warned) }
    }

    /// Feeds the result of the last operation; returns the next step.
    pub fn next(&mut self, r: OpResult) -> Step {
        let dir = self.dir.clone();
        match (self.at.clone(), r) {
            (Op::Chdir, OpResult::Failed(e)) => self.fatal(&[b"unable to chdir: ", BASE, b": "], Some(e)),
            (Op::Chdir, _) => self.go(Op::StatDir),
            (Op::StatDir, OpResult::Failed(e)) if e == Errno::ENOENT => self.fatal(&[&dir, b": file does not exist"], None),
            (Op::StatDir, OpResult::Failed(e)) => self.fatal(&[b"unable to stat: ", &dir, b": "], Some(e)),
            (Op::StatDir, OpResult::Stat { is_dir: false, .. }) => self.fatal(&[&dir, b"not a directory."], None),
            (Op::StatDir, OpResult::Stat { dev, ino, is_dir: true }) => {
                self.target = (dev, ino);
                self.go(Op::StatCurrent)
            }
            (Op::StatDir, OpResult::Done) => self.fatal(&[b"unable to stat: ", &dir, b": "], Some(Errno::EIO)),
            (Op::StatCurrent, OpResult::Failed(e)) => self.fatal(&[b"unable to stat: current: "], Some(e)),
            (Op::StatCurrent, OpResult::Stat { dev, ino, .. }) if (dev, ino) == self.target => self.success(b": current.\n"),
            (Op::StatCurrent, OpResult::Stat { .. }) => self.go(Op::UnlinkNew),
            (Op::StatCurrent, OpResult::Done) => self.fatal(&[b"unable to stat: current: "], Some(Errno::EIO)),
            (Op::UnlinkNew, OpResult::Failed(e)) if e != Errno::ENOENT => self.fatal(&[b"unable to unlink: current.new: "], Some(e)),
            (Op::UnlinkNew, _) => self.go(Op::SymlinkNew),
            (Op::SymlinkNew, OpResult::Failed(e)) => self.fatal(&[b"unable to create: current.new -> ", &dir, b": "], Some(e)),
            (Op::SymlinkNew, _) => self.go(Op::UnlinkPrevious),
            (Op::UnlinkPrevious, OpResult::Failed(e)) if e != Errno::ENOENT => self.fatal(&[b"unable to unlink: previous: "], Some(e)),
            (Op::UnlinkPrevious, _) => self.go(Op::CurrentToPrevious),
            (Op::CurrentToPrevious, OpResult::Failed(e)) => self.fatal(&[b"unable to copy: current to previous: "], Some(e)),
            (Op::CurrentToPrevious, _) => self.go(Op::NewToCurrent),
            (Op::NewToCurrent, OpResult::Failed(e)) => {
                // runit prints this as "fatal" but carries on to undo the switch.
                let argv0 = self.argv0.clone();
                self.warned = crate::msg::line(&[&argv0, b": fatal: unable to move: current.new to current: "], Some(e));
                self.go(Op::PreviousBack)
            }
            (Op::NewToCurrent, _) => self.success(b": now current.\n"),
            (Op::PreviousBack, OpResult::Failed(e)) => self.fatal(&[b"unable to move previous back to current: "], Some(e)),
            (Op::PreviousBack, _) => Step::Finish { code: 111, stdout: Vec::new(), stderr: core::mem::take(&mut self.warned) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn argv(a: &[&str]) -> Vec<Vec<u8>> {
        a.iter().map(|s| s.as_bytes().to_vec()).collect()
    }
    fn err(step: Step) -> (i32, Vec<u8>) {
        match step {
            Step::Finish { code, stderr, .. } => (code, stderr),
            Step::Do(op) => panic!("unexpected {op:?}"),
        }
    }
    const DIR: OpResult = OpResult::Stat { dev: 1, ino: 2, is_dir: true };
    const OTHER: OpResult = OpResult::Stat { dev: 1, ino: 3, is_dir: true };

    #[test]
    fn usage_and_dot() {
        assert_eq!(err(Chdir::start(&argv(&["rc"])).1), (1, b"usage: rc dir\n\n".to_vec()));
        assert_eq!(err(Chdir::start(&argv(&["/x/rc", ".x"])).1), (111, b"/x/rc: fatal: .x: must not start with a dot.\n".to_vec()));
    }

    #[test]
    fn full_switch() {
        let (m, s) = Chdir::start(&argv(&["runsvchdir", "other"]));
        let mut m = m.unwrap();
        assert_eq!(s, Step::Do(Op::Chdir));
        let mut ops = vec![];
        let mut step = m.next(OpResult::Done);
        let mut results =
            vec![DIR, OTHER, OpResult::Failed(Errno::ENOENT), OpResult::Done, OpResult::Done, OpResult::Done, OpResult::Done].into_iter();
        while let Step::Do(op) = step.clone() {
            ops.push(op);
            step = m.next(results.next().unwrap());
        }
        assert_eq!(
            ops,
            vec![Op::StatDir, Op::StatCurrent, Op::UnlinkNew, Op::SymlinkNew, Op::UnlinkPrevious, Op::CurrentToPrevious, Op::NewToCurrent]
        );
        assert_eq!(step, Step::Finish { code: 0, stdout: b"runsvchdir: other: now current.\n".to_vec(), stderr: vec![] });
    }

    #[test]
    fn already_current_and_errors() {
        let (m, _) = Chdir::start(&argv(&["rc", "default"]));
        let mut m = m.unwrap();
        m.next(OpResult::Done);
        m.next(DIR);
        assert_eq!(m.next(DIR), Step::Finish { code: 0, stdout: b"runsvchdir: default: current.\n".to_vec(), stderr: vec![] });

        let mut m = Chdir::start(&argv(&["rc", "afile"])).0.unwrap();
        m.next(OpResult::Done);
        assert_eq!(err(m.next(OpResult::Stat { dev: 1, ino: 9, is_dir: false })), (111, b"rc: fatal: afilenot a directory.\n".to_vec()));

        let mut m = Chdir::start(&argv(&["rc", "nope"])).0.unwrap();
        m.next(OpResult::Done);
        assert_eq!(err(m.next(OpResult::Failed(Errno::ENOENT))), (111, b"rc: fatal: nope: file does not exist\n".to_vec()));

        let mut m = Chdir::start(&argv(&["rc", "x"])).0.unwrap();
        assert_eq!(
            err(m.next(OpResult::Failed(Errno::ENOENT))),
            (111, b"rc: fatal: unable to chdir: /etc/runit/runsvdir: file does not exist\n".to_vec())
        );
    }

    #[test]
    fn failed_final_rename_is_undone() {
        let mut m = Chdir::start(&argv(&["rc", "x"])).0.unwrap();
        for r in [OpResult::Done, DIR, OTHER, OpResult::Done, OpResult::Done, OpResult::Done, OpResult::Done] {
            m.next(r);
        }
        assert_eq!(m.next(OpResult::Failed(Errno::EROFS)), Step::Do(Op::PreviousBack));
        assert_eq!(
            err(m.next(OpResult::Done)),
            (111, b"rc: fatal: unable to move: current.new to current: read-only file system\n".to_vec())
        );
    }
}
