//! Error numbers as values, rendered with runit's own table.
//!
//! runit prints its own strings for errno (not `strerror(3)`), and scripts grep for them
//! (`temporary failure`, `file does not exist`), so the table is part of the interface.

/// A Linux errno value, carried as data through the model (syscall results are inputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(pub i32);

#[allow(missing_docs)]
impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ESRCH: Errno = Errno(3);
    pub const EINTR: Errno = Errno(4);
    pub const EIO: Errno = Errno(5);
    pub const ENXIO: Errno = Errno(6);
    pub const ENOEXEC: Errno = Errno(8);
    pub const EBADF: Errno = Errno(9);
    pub const ECHILD: Errno = Errno(10);
    pub const EAGAIN: Errno = Errno(11);
    pub const ENOMEM: Errno = Errno(12);
    pub const EACCES: Errno = Errno(13);
    pub const EEXIST: Errno = Errno(17);
    pub const ENOTDIR: Errno = Errno(20);
    pub const EISDIR: Errno = Errno(21);
    pub const EINVAL: Errno = Errno(22);
    pub const ENFILE: Errno = Errno(23);
    pub const EMFILE: Errno = Errno(24);
    pub const ENOSPC: Errno = Errno(28);
    pub const EROFS: Errno = Errno(30);
    pub const EPIPE: Errno = Errno(32);
    pub const ENAMETOOLONG: Errno = Errno(36);
    pub const ELOOP: Errno = Errno(40);
    pub const EDQUOT: Errno = Errno(122);

    /// runit's text for this errno (`unknown error` for anything not in its table).
    pub fn text(self) -> &'static str {
        errstr(self.0)
    }
}

/// runit's error string for an errno number (spec/common.md §2).
pub fn errstr(errno: i32) -> &'static str {
    match errno {
        0 => "no error",
        1 => "permission denied",
        2 => "file does not exist",
        3 => "no such process",
        4 => "interrupted system call",
        5 => "input/output error",
        6 => "device not configured",
        7 => "argument list too long",
        8 => "exec format error",
        9 => "file descriptor not open",
        10 => "no child processes",
        11 => "temporary failure",
        12 => "out of memory",
        13 => "access denied",
        14 => "bad address",
        15 => "not a block device",
        16 => "device busy",
        17 => "file already exists",
        18 => "cross-device link",
        19 => "device does not support operation",
        20 => "not a directory",
        21 => "is a directory",
        22 => "invalid argument",
        23 => "system cannot open more files",
        24 => "process cannot open more files",
        25 => "not a tty",
        26 => "text busy",
        27 => "file too big",
        28 => "out of disk space",
        29 => "unseekable descriptor",
        30 => "read-only file system",
        31 => "too many links",
        32 => "broken pipe",
        33 => "input out of range",
        34 => "output out of range",
        35 => "operation would cause deadlock",
        36 => "file name too long",
        37 => "no locks available",
        38 => "system call not available",
        39 => "directory not empty",
        40 => "symbolic link loop",
        42 => "no message of desired type",
        43 => "identifier removed",
        60 => "not a stream device",
        62 => "timer expired",
        63 => "out of stream resources",
        64 => "machine not on network",
        66 => "too many levels of remote in path",
        67 => "link severed",
        68 => "advertise error",
        69 => "srmount error",
        70 => "communication error",
        71 => "protocol error",
        72 => "multihop attempted",
        74 => "bad message type",
        78 => "remote address changed",
        87 => "too many users",
        88 => "not a socket",
        89 => "destination address required",
        90 => "message too long",
        91 => "incorrect protocol type",
        92 => "protocol not available",
        93 => "protocol not supported",
        94 => "socket type not supported",
        95 => "operation not supported",
        96 => "protocol family not supported",
        97 => "address family not supported",
        98 => "address already used",
        99 => "address not available",
        100 => "network down",
        101 => "network unreachable",
        102 => "network reset",
        103 => "connection aborted",
        104 => "connection reset",
        105 => "out of buffer space",
        106 => "already connected",
        107 => "not connected",
        108 => "socket shut down",
        109 => "too many references",
        110 => "timed out",
        111 => "connection refused",
        112 => "host down",
        113 => "host unreachable",
        114 => "operation already in progress",
        115 => "operation in progress",
        116 => "stale NFS file handle",
        122 => "disk quota exceeded",
        _ => "unknown error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn known_and_unknown() {
        assert_eq!(Errno::EAGAIN.text(), "temporary failure");
        assert_eq!(errstr(41), "unknown error");
        assert_eq!(errstr(-1), "unknown error");
    }
}
