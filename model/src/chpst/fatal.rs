//! Every way chpst can fail, as data, and the exact line runit prints for it.
//!
//! All personalities print with the `chpst: ` prefix (spec/chpst.md §6), so one
//! formatter serves them all. Failures are values so the runtime never builds text and
//! tests can compare each one against the spec's strings.

use alloc::vec::Vec;

use super::plan::OnFailure;
use crate::errno::Errno;
use crate::msg;

const FATAL: &[u8] = b"chpst: fatal: ";
const WARNING: &[u8] = b"chpst: warning: ";

/// One fatal error; each renders as `chpst: fatal: ...` and exits 111. Variant fields
/// are the pieces the message shows (names as given, the errno rendered by runit's table).
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fatal {
    /// exec failed for every candidate: `unable to run: <prog>: <err>`.
    Run { prog: Vec<u8>, errno: Errno },
    /// `-u`/`-U` account not found: `unknown user/group: <spec>`.
    UnknownUserGroup(Vec<u8>),
    /// setuidgid/envuidgid account not found: `unknown account: <name>`.
    UnknownAccount(Vec<u8>),
    /// Bad numeric `:uid:gid` form: `invalid uid/gids: <spec without the leading colon>`.
    InvalidIds(Vec<u8>),
    /// A `-u`/`-U` lookup failed with an error: `unable to get password/group file entry`.
    PasswdGroupEntry(Errno),
    /// A setuidgid/envuidgid lookup failed with an error: `unable to get password file entry`.
    PasswdEntry(Errno),
    /// `setgroups(2)` failed.
    Setgroups(Errno),
    /// `setgid(2)` failed.
    Setgid(Errno),
    /// `setuid(2)` failed.
    Setuid(Errno),
    /// Opening `.` before reading an envdir failed.
    OpenCwd(Errno),
    /// `chdir` into the envdir failed.
    SwitchDir { dir: Vec<u8>, errno: Errno },
    /// Opening the envdir failed.
    OpenDir { dir: Vec<u8>, errno: Errno },
    /// Reading the envdir's entries failed.
    ReadDir { dir: Vec<u8>, errno: Errno },
    /// Reading one envdir file failed: `unable to read <dir>/<name>: <err>`.
    ReadEntry { dir: Vec<u8>, name: Vec<u8>, errno: Errno },
    /// Returning to the starting directory after the envdir failed.
    SwitchBack(Errno),
    /// `chdir(root)` for `-/` failed.
    ChangeDir { root: Vec<u8>, errno: Errno },
    /// `chroot(".")` failed.
    Chroot(Errno),
    /// `nice(2)` failed.
    Nice(Errno),
    /// Opening the lock file failed.
    OpenLock { file: Vec<u8>, errno: Errno },
    /// flock on the lock file failed (EWOULDBLOCK = already held, for `-L`).
    Lock { file: Vec<u8>, errno: Errno },
    /// `getrlimit(2)` failed.
    Getrlimit(Errno),
    /// `setrlimit(2)` failed.
    Setrlimit(Errno),
    /// Closing fd 0, 1 or 2 for `-0 -1 -2` failed.
    Close { fd: u8, errno: Errno },
    /// Allocation failed (kept for completeness: runit's `out of memory.`).
    NoMem,
}

impl Fatal {
    /// The exact diagnostic line, ending in `\n`.
    pub fn line(&self) -> Vec<u8> {
        use Fatal::*;
        match self {
            Run { prog, errno } => msg::line(&[FATAL, b"unable to run: ", prog, b": "], Some(*errno)),
            UnknownUserGroup(s) => msg::line(&[FATAL, b"unknown user/group: ", s], None),
            UnknownAccount(s) => msg::line(&[FATAL, b"unknown account: ", s], None),
            InvalidIds(s) => msg::line(&[FATAL, b"invalid uid/gids: ", s], None),
            PasswdGroupEntry(e) => msg::line(&[FATAL, b"unable to get password/group file entry: "], Some(*e)),
            PasswdEntry(e) => msg::line(&[FATAL, b"unable to get password file entry: "], Some(*e)),
            Setgroups(e) => msg::line(&[FATAL, b"unable to setgroups: "], Some(*e)),
            Setgid(e) => msg::line(&[FATAL, b"unable to setgid: "], Some(*e)),
            Setuid(e) => msg::line(&[FATAL, b"unable to setuid: "], Some(*e)),
            OpenCwd(e) => msg::line(&[FATAL, b"unable to open current working directory: "], Some(*e)),
            SwitchDir { dir, errno } => msg::line(&[FATAL, b"unable to switch to directory: ", dir, b": "], Some(*errno)),
            OpenDir { dir, errno } => msg::line(&[FATAL, b"unable to open directory: ", dir, b": "], Some(*errno)),
            ReadDir { dir, errno } => msg::line(&[FATAL, b"unable to read directory: ", dir, b": "], Some(*errno)),
            ReadEntry { dir, name, errno } => msg::line(&[FATAL, b"unable to read ", dir, b"/", name, b": "], Some(*errno)),
            SwitchBack(e) => msg::line(&[FATAL, b"unable to switch to starting directory: "], Some(*e)),
            ChangeDir { root, errno } => msg::line(&[FATAL, b"unable to change directory: ", root, b": "], Some(*errno)),
            Chroot(e) => msg::line(&[FATAL, b"unable to change root directory: "], Some(*e)),
            Nice(e) => msg::line(&[FATAL, b"unable to set nice level: "], Some(*e)),
            OpenLock { file, errno } => msg::line(&[FATAL, b"unable to open lock: ", file, b": "], Some(*errno)),
            Lock { file, errno } => msg::line(&[FATAL, b"unable to lock: ", file, b": "], Some(*errno)),
            Getrlimit(e) => msg::line(&[FATAL, b"unable to getrlimit(): "], Some(*e)),
            Setrlimit(e) => msg::line(&[FATAL, b"unable to setrlimit(): "], Some(*e)),
            Close { fd, errno } => {
                let what: &[u8] = match fd {
                    0 => b"stdin",
                    1 => b"stdout",
                    _ => b"stderr",
                };
                msg::line(&[FATAL, b"unable to close ", what, b": "], Some(*errno))
            }
            NoMem => msg::line(&[FATAL, b"out of memory."], None),
        }
    }
}

/// The warning `-v -e` prints for a skipped subdirectory (or any skipped entry).
pub fn warn_read(dir: &[u8], name: &[u8], errno: Errno) -> Vec<u8> {
    msg::line(&[WARNING, b"unable to read ", dir, b"/", name, b": "], Some(errno))
}

/// How the process ends after a failure: what to print (if anything) and the exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Termination {
    /// Bytes for fd 2 (`None`: silent).
    pub stderr: Option<Vec<u8>>,
    /// Exit code.
    pub code: i32,
}

impl Termination {
    /// The usual ending: the fatal line and exit 111.
    pub fn fatal(f: &Fatal) -> Termination {
        Termination { stderr: Some(f.line()), code: super::EXIT_FATAL }
    }

    /// The ending for a failed lock or exec: fatal, or silent exit 0 under setlock `-x`.
    pub fn for_failure(f: &Fatal, on: OnFailure) -> Termination {
        match on {
            OnFailure::Fatal => Termination::fatal(f),
            OnFailure::ExitZero => Termination { stderr: None, code: 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: Fatal) -> alloc::string::String {
        alloc::string::String::from_utf8(f.line()).unwrap()
    }

    #[test]
    fn spec_strings() {
        assert_eq!(
            s(Fatal::Run { prog: b"/nonexistent/prog".to_vec(), errno: Errno::ENOENT }),
            "chpst: fatal: unable to run: /nonexistent/prog: file does not exist\n"
        );
        assert_eq!(s(Fatal::UnknownUserGroup(b"root:nosuchgroup".to_vec())), "chpst: fatal: unknown user/group: root:nosuchgroup\n");
        assert_eq!(s(Fatal::UnknownAccount(b"nobody:daemon".to_vec())), "chpst: fatal: unknown account: nobody:daemon\n");
        assert_eq!(s(Fatal::InvalidIds(b"1234".to_vec())), "chpst: fatal: invalid uid/gids: 1234\n");
        assert_eq!(
            s(Fatal::SwitchDir { dir: b"/nonexistent".to_vec(), errno: Errno::ENOENT }),
            "chpst: fatal: unable to switch to directory: /nonexistent: file does not exist\n"
        );
        assert_eq!(
            s(Fatal::ChangeDir { root: b"/nonexistent".to_vec(), errno: Errno::ENOENT }),
            "chpst: fatal: unable to change directory: /nonexistent: file does not exist\n"
        );
        assert_eq!(s(Fatal::Lock { file: b"lk".to_vec(), errno: Errno::EAGAIN }), "chpst: fatal: unable to lock: lk: temporary failure\n");
        assert_eq!(
            s(Fatal::ReadEntry { dir: b"env".to_vec(), name: b"SUB".to_vec(), errno: Errno::EISDIR }),
            "chpst: fatal: unable to read env/SUB: is a directory\n"
        );
        assert_eq!(s(Fatal::Close { fd: 1, errno: Errno::EBADF }), "chpst: fatal: unable to close stdout: file descriptor not open\n");
        assert_eq!(s(Fatal::Getrlimit(Errno::EINVAL)), "chpst: fatal: unable to getrlimit(): invalid argument\n");
        assert_eq!(s(Fatal::NoMem), "chpst: fatal: out of memory.\n");
        // The rest of spec/chpst.md §7, one per row.
        assert_eq!(s(Fatal::PasswdGroupEntry(Errno::EIO)), "chpst: fatal: unable to get password/group file entry: input/output error\n");
        assert_eq!(s(Fatal::PasswdEntry(Errno::EIO)), "chpst: fatal: unable to get password file entry: input/output error\n");
        assert_eq!(s(Fatal::Setgroups(Errno::EPERM)), "chpst: fatal: unable to setgroups: permission denied\n");
        assert_eq!(s(Fatal::Setgid(Errno::EPERM)), "chpst: fatal: unable to setgid: permission denied\n");
        assert_eq!(s(Fatal::Setuid(Errno::EPERM)), "chpst: fatal: unable to setuid: permission denied\n");
        assert_eq!(s(Fatal::Chroot(Errno::EPERM)), "chpst: fatal: unable to change root directory: permission denied\n");
        assert_eq!(s(Fatal::Nice(Errno::EPERM)), "chpst: fatal: unable to set nice level: permission denied\n");
        assert_eq!(
            s(Fatal::OpenLock { file: b"lk".to_vec(), errno: Errno::EACCES }),
            "chpst: fatal: unable to open lock: lk: access denied\n"
        );
        assert_eq!(s(Fatal::Setrlimit(Errno::EPERM)), "chpst: fatal: unable to setrlimit(): permission denied\n");
        assert_eq!(s(Fatal::Close { fd: 0, errno: Errno::EBADF }), "chpst: fatal: unable to close stdin: file descriptor not open\n");
        assert_eq!(s(Fatal::Close { fd: 2, errno: Errno::EBADF }), "chpst: fatal: unable to close stderr: file descriptor not open\n");
        assert_eq!(warn_read(b"env", b"SUB", Errno::EISDIR), b"chpst: warning: unable to read env/SUB: is a directory\n");
    }
}
