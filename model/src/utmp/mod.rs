//! utmpset (spec/init.md §4, formats.md §8): argv, the glibc x86-64 `struct utmp` record
//! (384 bytes) as a value, and the edits runit makes to utmp and wtmp.
//!
//! The runtime reads records and the clock; this module decides which record matches,
//! what the rewritten and appended records contain, and every message and exit code.

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::getopt::{self, basename, Opt};
use crate::msg;

/// Size of one glibc x86-64 `struct utmp`.
pub const RECORD_LEN: usize = 384;
/// `ut_type` of a logged-out entry.
pub const DEAD_PROCESS: i16 = 8;
/// The utmp file runit edits (overridable at run time for tests, see the binary).
pub const UTMP_PATH: &[u8] = b"/var/run/utmp";
/// The wtmp file runit appends to with `-w`.
pub const WTMP_PATH: &[u8] = b"/var/log/wtmp";
/// Usage exit code.
pub const EXIT_USAGE: i32 = 1;
/// Fatal exit code (and "no such entry").
pub const EXIT_FATAL: i32 = 111;
/// The version line of `-V`.
pub const VERSION: &[u8] = b"$Id: cb399098f794012a7f5e6a3a7090b2d53b86c08c $\n";

const LINE_LEN: usize = 32;
const ID_LEN: usize = 4;
const USER_LEN: usize = 32;
const HOST_LEN: usize = 256;

/// One `struct utmp`, field by field (layout: type i16 + 2 pad, pid i32, line\[32\],
/// id\[4\], user\[32\], host\[256\], exit {i16, i16}, session i32, tv {i32 sec, i32 usec},
/// addr_v6 \[i32; 4\], 20 reserved bytes; little-endian).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// `ut_type`.
    pub kind: i16,
    /// The two padding bytes after `ut_type` (kept so a round trip is byte-exact).
    pub pad: [u8; 2],
    /// `ut_pid`.
    pub pid: i32,
    /// `ut_line`, the terminal name (NUL-padded).
    pub line: [u8; LINE_LEN],
    /// `ut_id`.
    pub id: [u8; ID_LEN],
    /// `ut_user`.
    pub user: [u8; USER_LEN],
    /// `ut_host`.
    pub host: [u8; HOST_LEN],
    /// `ut_exit.e_termination`, `ut_exit.e_exit`.
    pub exit: [i16; 2],
    /// `ut_session`.
    pub session: i32,
    /// `ut_tv.tv_sec`.
    pub tv_sec: i32,
    /// `ut_tv.tv_usec`.
    pub tv_usec: i32,
    /// `ut_addr_v6`.
    pub addr_v6: [i32; 4],
    /// `__glibc_reserved`.
    pub reserved: [u8; 20],
}

impl Default for Record {
    fn default() -> Self {
        Record {
            kind: 0,
            pad: [0; 2],
            pid: 0,
            line: [0; LINE_LEN],
            id: [0; ID_LEN],
            user: [0; USER_LEN],
            host: [0; HOST_LEN],
            exit: [0; 2],
            session: 0,
            tv_sec: 0,
            tv_usec: 0,
            addr_v6: [0; 4],
            reserved: [0; 20],
        }
    }
}

fn i16_at(b: &[u8; RECORD_LEN], o: usize) -> i16 {
    i16::from_le_bytes([b[o], b[o + 1]])
}

fn i32_at(b: &[u8; RECORD_LEN], o: usize) -> i32 {
    i32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn arr<const N: usize>(b: &[u8; RECORD_LEN], o: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[o..o + N]);
    a
}

impl Record {
    /// Decodes one record (total: every 384-byte image is a record).
    pub fn decode(b: &[u8; RECORD_LEN]) -> Record {
        Record {
            kind: i16_at(b, 0),
            pad: arr(b, 2),
            pid: i32_at(b, 4),
            line: arr(b, 8),
            id: arr(b, 40),
            user: arr(b, 44),
            host: arr(b, 76),
            exit: [i16_at(b, 332), i16_at(b, 334)],
            session: i32_at(b, 336),
            tv_sec: i32_at(b, 340),
            tv_usec: i32_at(b, 344),
            addr_v6: [i32_at(b, 348), i32_at(b, 352), i32_at(b, 356), i32_at(b, 360)],
            reserved: arr(b, 364),
        }
    }

    /// Encodes the record into its 384-byte image.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[0..2].copy_from_slice(&self.kind.to_le_bytes());
        b[2..4].copy_from_slice(&self.pad);
        b[4..8].copy_from_slice(&self.pid.to_le_bytes());
        b[8..40].copy_from_slice(&self.line);
        b[40..44].copy_from_slice(&self.id);
        b[44..76].copy_from_slice(&self.user);
        b[76..332].copy_from_slice(&self.host);
        b[332..334].copy_from_slice(&self.exit[0].to_le_bytes());
        b[334..336].copy_from_slice(&self.exit[1].to_le_bytes());
        b[336..340].copy_from_slice(&self.session.to_le_bytes());
        b[340..344].copy_from_slice(&self.tv_sec.to_le_bytes());
        b[344..348].copy_from_slice(&self.tv_usec.to_le_bytes());
        for (k, a) in self.addr_v6.iter().enumerate() {
            b[348 + 4 * k..352 + 4 * k].copy_from_slice(&a.to_le_bytes());
        }
        b[364..384].copy_from_slice(&self.reserved);
        b
    }
}

/// Whether runit logs out this record for `line`: the user name is non-empty and the C
/// string starting at `ut_line` equals `line`. (runit compares with `str_diff`, so a
/// 32-byte line without a NUL runs on into `ut_id` and `ut_user`; that is kept.)
pub fn matches(image: &[u8; RECORD_LEN], line: &[u8]) -> bool {
    if image[44] == 0 {
        return false;
    }
    let s = &image[8..];
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    &s[..end] == line
}

/// The rewritten record: user and host cleared, time = `now`, type DEAD_PROCESS; pid,
/// id, line and everything else kept.
pub fn logged_out(image: &[u8; RECORD_LEN], now_sec: i64) -> [u8; RECORD_LEN] {
    let mut r = Record::decode(image);
    r.user = [0; USER_LEN];
    r.host = [0; HOST_LEN];
    r.tv_sec = now_sec as i32;
    r.kind = DEAD_PROCESS;
    r.encode()
}

/// The record appended to wtmp: all zero except the line (a line longer than the field
/// keeps only the field size minus 2 bytes), the time and the type.
pub fn wtmp_entry(line: &[u8], now_sec: i64) -> [u8; RECORD_LEN] {
    let mut r = Record::default();
    let len = if line.len() > LINE_LEN { LINE_LEN - 2 } else { line.len() };
    r.line[..len].copy_from_slice(&line[..len]);
    r.tv_sec = now_sec as i32;
    r.kind = DEAD_PROCESS;
    r.encode()
}

/// What utmpset was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Log out `line`, and append to wtmp if `wtmp`.
    Run {
        /// The terminal line (e.g. `tty5`).
        line: Vec<u8>,
        /// `-w` was given.
        wtmp: bool,
    },
    /// Print these bytes to fd 2 and exit 1.
    Usage(Vec<u8>),
}

/// Parses utmpset's argv (getopt `wV`; usage shows argv\[0\] verbatim).
pub fn parse<S: AsRef<[u8]>>(argv: &[S]) -> Parsed {
    let argv0: &[u8] = argv.first().map(|a| a.as_ref()).unwrap_or(b"utmpset");
    let usage = |prefix: &[u8]| {
        let mut out = prefix.to_vec();
        out.extend_from_slice(&msg::usage(argv0, b" [-w] line"));
        Parsed::Usage(out)
    };
    let p = getopt::parse(argv, b"wV");
    let mut wtmp = false;
    for o in &p.opts {
        match o {
            Opt::Flag(b'w', _) => wtmp = true,
            Opt::Flag(b'V', _) => return usage(VERSION),
            Opt::Flag(..) => {}
            Opt::Illegal(c) => return usage(&msg::line(&[basename(argv0), b": illegal option -- ", &[*c]], None)),
            Opt::MissingArg(c) => return usage(&msg::line(&[basename(argv0), b": option requires an argument -- ", &[*c]], None)),
        }
    }
    match argv.get(p.operands) {
        Some(line) => Parsed::Run { line: line.as_ref().to_vec(), wtmp },
        None => usage(b""),
    }
}

/// utmpset's failures, as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Opening a file failed (`unable to open <path>: <err>`).
    Open {
        /// The file.
        path: Vec<u8>,
        /// Why.
        errno: Errno,
    },
    /// Locking utmp failed (`unable to lock: <path>: <err>`).
    LockUtmp {
        /// The file.
        path: Vec<u8>,
        /// Why.
        errno: Errno,
    },
    /// Locking wtmp failed (`unable to lock <path>: <err>`, no colon: runit's text).
    LockWtmp {
        /// The file.
        path: Vec<u8>,
        /// Why.
        errno: Errno,
    },
    /// No record for the line (or rewriting it failed).
    NoEntry {
        /// The line.
        line: Vec<u8>,
    },
    /// Appending to wtmp failed (the append was undone).
    Wtmp {
        /// The line.
        line: Vec<u8>,
        /// Why.
        errno: Errno,
    },
}

impl Failure {
    /// The exact line printed.
    pub fn line(&self) -> Vec<u8> {
        const FATAL: &[u8] = b"utmpset: fatal: ";
        const WARNING: &[u8] = b"utmpset: warning: ";
        match self {
            Failure::Open { path, errno } => msg::line(&[FATAL, b"unable to open ", path, b": "], Some(*errno)),
            Failure::LockUtmp { path, errno } => msg::line(&[FATAL, b"unable to lock: ", path, b": "], Some(*errno)),
            Failure::LockWtmp { path, errno } => msg::line(&[FATAL, b"unable to lock ", path, b": "], Some(*errno)),
            Failure::NoEntry { line } => msg::line(&[WARNING, b"unable to logout line ", line, b" in utmp: no such entry"], None),
            Failure::Wtmp { line, errno } => msg::line(&[WARNING, b"unable to logout line ", line, b" in wtmp: "], Some(*errno)),
        }
    }

    /// Every failure exits 111.
    pub fn code(&self) -> i32 {
        EXIT_FATAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn rec(line: &[u8], user: &[u8], pid: i32) -> [u8; RECORD_LEN] {
        let mut r = Record { kind: 7, pid, ..Record::default() };
        r.line[..line.len()].copy_from_slice(line);
        r.user[..user.len()].copy_from_slice(user);
        r.host[..4].copy_from_slice(b"host");
        r.id = *b"ab12";
        r.tv_sec = 1000;
        r.tv_usec = 77;
        r.encode()
    }

    #[test]
    fn layout_offsets() {
        let img = rec(b"tty5", b"bob", 4242);
        assert_eq!(&img[0..2], &7i16.to_le_bytes());
        assert_eq!(&img[4..8], &4242i32.to_le_bytes());
        assert_eq!(&img[8..12], b"tty5");
        assert_eq!(&img[40..44], b"ab12");
        assert_eq!(&img[44..47], b"bob");
        assert_eq!(&img[76..80], b"host");
        assert_eq!(&img[340..344], &1000i32.to_le_bytes());
        assert_eq!(Record::decode(&img).encode(), img);
    }

    #[test]
    fn matching() {
        assert!(matches(&rec(b"tty5", b"bob", 1), b"tty5"));
        assert!(!matches(&rec(b"tty5", b"", 1), b"tty5"));
        assert!(!matches(&rec(b"tty50", b"bob", 1), b"tty5"));
        assert!(!matches(&rec(b"tty5", b"bob", 1), b"tty"));
    }

    #[test]
    fn logout_edit() {
        let out = Record::decode(&logged_out(&rec(b"tty5", b"bob", 99), 5000));
        assert_eq!(out.kind, DEAD_PROCESS);
        assert_eq!(out.user, [0; USER_LEN]);
        assert_eq!(out.host, [0; HOST_LEN]);
        assert_eq!(out.tv_sec, 5000);
        assert_eq!(out.tv_usec, 77);
        assert_eq!(out.pid, 99);
        assert_eq!(out.id, *b"ab12");
        assert_eq!(&out.line[..4], b"tty5");
    }

    #[test]
    fn wtmp_record() {
        let r = Record::decode(&wtmp_entry(b"tty5", 7));
        assert_eq!((r.kind, r.pid, r.tv_sec), (DEAD_PROCESS, 0, 7));
        assert_eq!(&r.line[..5], b"tty5\0");
        let long = [b'x'; 40];
        let r = Record::decode(&wtmp_entry(&long, 7));
        assert_eq!(&r.line[..30], &long[..30]);
        assert_eq!(&r.line[30..], &[0, 0]);
        let exact = [b'y'; 32];
        assert_eq!(Record::decode(&wtmp_entry(&exact, 7)).line, exact);
    }

    #[test]
    fn args() {
        assert_eq!(parse(&["utmpset", "-w", "tty5"]), Parsed::Run { line: b"tty5".to_vec(), wtmp: true });
        assert_eq!(parse(&["utmpset", "tty5"]), Parsed::Run { line: b"tty5".to_vec(), wtmp: false });
        assert_eq!(parse(&["/sbin/utmpset"]), Parsed::Usage(b"usage: /sbin/utmpset [-w] line\n\n".to_vec()));
        assert_eq!(
            parse(&["/sbin/utmpset", "-x"]),
            Parsed::Usage(b"utmpset: illegal option -- x\nusage: /sbin/utmpset [-w] line\n\n".to_vec())
        );
        let Parsed::Usage(u) = parse(&["utmpset", "-V", "tty1"]) else { panic!() };
        assert!(u.starts_with(b"$Id: cb399098f794012a7f5e6a3a7090b2d53b86c08c $\nusage: utmpset"));
    }

    #[test]
    fn messages() {
        let s = |f: Failure| String::from_utf8(f.line()).unwrap();
        assert_eq!(
            s(Failure::Open { path: UTMP_PATH.to_vec(), errno: Errno::ENOENT }),
            "utmpset: fatal: unable to open /var/run/utmp: file does not exist\n"
        );
        assert_eq!(s(Failure::NoEntry { line: b"tty9".to_vec() }), "utmpset: warning: unable to logout line tty9 in utmp: no such entry\n");
        assert_eq!(
            s(Failure::LockUtmp { path: UTMP_PATH.to_vec(), errno: Errno::EINTR }),
            "utmpset: fatal: unable to lock: /var/run/utmp: interrupted system call\n"
        );
        assert_eq!(
            s(Failure::LockWtmp { path: WTMP_PATH.to_vec(), errno: Errno::EINTR }),
            "utmpset: fatal: unable to lock /var/log/wtmp: interrupted system call\n"
        );
        assert_eq!(
            s(Failure::Wtmp { line: b"tty5".to_vec(), errno: Errno::ENOSPC }),
            "utmpset: warning: unable to logout line tty5 in wtmp: out of disk space\n"
        );
    }

    /// Every failure exits 111, runit's fatal code (kills `Failure::code` -> 0, 1, -1).
    #[test]
    fn failures_exit_111() {
        let all = [
            Failure::Open { path: UTMP_PATH.to_vec(), errno: Errno::ENOENT },
            Failure::LockUtmp { path: UTMP_PATH.to_vec(), errno: Errno::EINTR },
            Failure::LockWtmp { path: WTMP_PATH.to_vec(), errno: Errno::EINTR },
            Failure::NoEntry { line: b"tty9".to_vec() },
            Failure::Wtmp { line: b"tty5".to_vec(), errno: Errno::ENOSPC },
        ];
        for f in all {
            assert_eq!(f.code(), 111, "{f:?}");
        }
    }
}
