//! runsvdir's diagnostics as data, and their exact runit text (spec/runsvdir.md).
//! Every line is `runsvdir <dir>: warning: <pieces><errstr>\n` with `<dir>` verbatim.

use alloc::vec::Vec;

use crate::errno::Errno;

/// A warning runsvdir prints (it never stops for one).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Warning {
    /// The log argument is shorter than seven bytes.
    LogTooShort,
    /// Follows every log set-up failure.
    LogDisabled,
    /// `pipe()` for the log failed.
    LogPipe,
    /// `dup2()` of the log pipe onto fd 2 failed.
    LogDup,
    /// `stat(<dir>)` failed.
    StatDir(Errno),
    /// The directory could not be entered.
    ChdirDir(Errno),
    /// The directory could not be opened for reading.
    OpenDir(Errno),
    /// `readdir` failed part way.
    ReadDir(Errno),
    /// `stat(<name>)` of an entry failed (e.g. a dangling symlink).
    StatEntry(Vec<u8>, Errno),
    /// More than [`crate::runsvdir::MAX_SERVICES`] services.
    TooMany(Vec<u8>),
    /// `fork()` for a runsv failed.
    Fork(Vec<u8>, Errno),
    /// `.forced-rescan` could not be opened; carries the stamp text.
    StampOpen([u8; 25]),
    /// `.forced-rescan` was written short or not at all; carries the stamp text.
    StampWrite([u8; 25]),
}

fn warning_line(dir: &[u8], pieces: &[&[u8]], errno: Option<Errno>) -> Vec<u8> {
    let mut all: Vec<&[u8]> = Vec::with_capacity(pieces.len() + 3);
    all.push(b"runsvdir ");
    all.push(dir);
    all.push(b": warning: ");
    all.extend_from_slice(pieces);
    crate::msg::line(&all, errno)
}

/// The exact line runit prints for `w` when watching `dir`.
pub fn format(dir: &[u8], w: &Warning) -> Vec<u8> {
    match w {
        Warning::LogTooShort => warning_line(dir, &[b"log must have at least seven characters."], None),
        Warning::LogDisabled => warning_line(dir, &[b"log service disabled."], None),
        Warning::LogPipe => warning_line(dir, &[b"unable to create pipe for log."], None),
        Warning::LogDup => warning_line(dir, &[b"unable to set filedescriptor for log."], None),
        Warning::StatDir(e) => warning_line(dir, &[b"unable to stat ", dir, b": "], Some(*e)),
        Warning::ChdirDir(e) => warning_line(dir, &[b"unable to change directory to ", dir, b": "], Some(*e)),
        Warning::OpenDir(e) => warning_line(dir, &[b"unable to open directory ", dir, b": "], Some(*e)),
        Warning::ReadDir(e) => warning_line(dir, &[b"unable to read directory ", dir, b": "], Some(*e)),
        Warning::StatEntry(name, e) => warning_line(dir, &[b"unable to stat ", name, b": "], Some(*e)),
        Warning::TooMany(name) => warning_line(dir, &[b"unable to start runsv ", name, b": too many services."], None),
        Warning::Fork(name, e) => warning_line(dir, &[b"unable to fork for ", name, b": "], Some(*e)),
        Warning::StampOpen(t) => warning_line(dir, &[b"failed to open", b"./.forced-rescan", t], None),
        Warning::StampWrite(t) => warning_line(dir, &[b"failed to write", b"./.forced-rescan", t], None),
    }
}

/// `runsvdir <dir>: fatal: unable to open current directory: <errstr>` (exit 100).
pub fn fatal_cwd(dir: &[u8], e: Errno) -> Vec<u8> {
    crate::msg::line(&[b"runsvdir ", dir, b": fatal: unable to open current directory: "], Some(e))
}

/// The prefix the runsv child prints before the errno text when exec fails (exit 100):
/// `runsvdir <dir>: fatal: unable to start runsv <name>: `.
pub fn exec_failed_prefix(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in [&b"runsvdir "[..], dir, b": fatal: unable to start runsv ", name, b": "] {
        v.extend_from_slice(p);
    }
    v
}

/// Exit code of runsvdir's fatal errors and of a runsv child whose exec failed.
pub const EXIT_FATAL: i32 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(dir: &str, w: Warning) -> alloc::string::String {
        alloc::string::String::from_utf8(format(dir.as_bytes(), &w)).unwrap()
    }

    #[test]
    fn exact_texts() {
        assert_eq!(
            s("/tmp/r1/sv", Warning::StatEntry(b"dang".to_vec(), Errno::ENOENT)),
            "runsvdir /tmp/r1/sv: warning: unable to stat dang: file does not exist\n"
        );
        assert_eq!(
            s("/nonexistent", Warning::StatDir(Errno::ENOENT)),
            "runsvdir /nonexistent: warning: unable to stat /nonexistent: file does not exist\n"
        );
        assert_eq!(
            s("/tmp/afile", Warning::ChdirDir(Errno::ENOTDIR)),
            "runsvdir /tmp/afile: warning: unable to change directory to /tmp/afile: not a directory\n"
        );
        assert_eq!(s("-X", Warning::LogTooShort), "runsvdir -X: warning: log must have at least seven characters.\n");
        assert_eq!(s("-X", Warning::LogDisabled), "runsvdir -X: warning: log service disabled.\n");
        assert_eq!(s("d", Warning::TooMany(b"x".to_vec())), "runsvdir d: warning: unable to start runsv x: too many services.\n");
        assert_eq!(s("d", Warning::Fork(b"x".to_vec(), Errno::EAGAIN)), "runsvdir d: warning: unable to fork for x: temporary failure\n");
        assert_eq!(s("d", Warning::OpenDir(Errno::EACCES)), "runsvdir d: warning: unable to open directory d: access denied\n");
        assert_eq!(s("d", Warning::ReadDir(Errno::EIO)), "runsvdir d: warning: unable to read directory d: input/output error\n");
        assert_eq!(s("d", Warning::LogPipe), "runsvdir d: warning: unable to create pipe for log.\n");
        assert_eq!(s("d", Warning::LogDup), "runsvdir d: warning: unable to set filedescriptor for log.\n");
        assert_eq!(
            s("/tmp/r7/sv", Warning::StampOpen(*b"@400000006b0562533ab23ccc")),
            "runsvdir /tmp/r7/sv: warning: failed to open./.forced-rescan@400000006b0562533ab23ccc\n"
        );
        assert_eq!(
            s("d", Warning::StampWrite(*b"@400000006b0562533ab23ccc")),
            "runsvdir d: warning: failed to write./.forced-rescan@400000006b0562533ab23ccc\n"
        );
        assert_eq!(fatal_cwd(b"d", Errno::EACCES), b"runsvdir d: fatal: unable to open current directory: access denied\n".to_vec());
        assert_eq!(exec_failed_prefix(b"/tmp/r8/sv", b"a"), b"runsvdir /tmp/r8/sv: fatal: unable to start runsv a: ".to_vec());
    }
}
