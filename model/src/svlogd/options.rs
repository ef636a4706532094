//! svlogd's command line (spec/svlogd.md §1, common.md §3-4).

use alloc::vec::Vec;

use crate::getopt::{self, Opt};
use crate::svlogd::stamp::StampKind;

/// The synopsis printed after `usage: <argv0>`.
pub const USAGE: &[u8] = b" [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...";
/// The oracle's version line (spec common.md §4).
pub const VERSION: &[u8] = b"$Id: 5e55a90e0a1b35ec47fed3021453c50675ea1117 $";

/// Everything argv decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `-t` count as a kind.
    pub stamp: StampKind,
    /// `-r`/`-R`: the replacement byte, if replacement is on.
    pub repl: Option<u8>,
    /// `-R`: extra bytes to replace.
    pub replace: Vec<u8>,
    /// `-l`: bytes of a line used for matching, copies and replacement.
    pub line_max: usize,
    /// `-b`: runit's buffer size (kept for the `-b > -l` rule; we read bigger chunks).
    pub buf_len: usize,
    /// `-v`.
    pub verbose: bool,
    /// The log directories, exactly as given.
    pub dirs: Vec<Vec<u8>>,
}

/// What argv parsing decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Run with these settings.
    Run(Settings),
    /// Print this to stderr and exit with this code.
    Exit(Vec<u8>, i32),
}

fn usage(argv0: &[u8], before: &[u8]) -> Parsed {
    let mut out = before.to_vec();
    out.extend_from_slice(&crate::msg::usage(argv0, USAGE));
    Parsed::Exit(out, 111)
}

/// Parses argv (argv\[0\] included).
pub fn parse<S: AsRef<[u8]>>(argv: &[S]) -> Parsed {
    let argv0: &[u8] = argv.first().map_or(&b"svlogd"[..], |a| a.as_ref());
    let name = getopt::basename(argv0);
    let p = getopt::parse(argv, b"R:r:l:b:tvV");
    let mut s = Settings {
        stamp: StampKind::None,
        repl: None,
        replace: Vec::new(),
        line_max: 1000,
        buf_len: 1024,
        verbose: false,
        dirs: Vec::new(),
    };
    let mut t = 0u8;
    for o in &p.opts {
        match *o {
            Opt::Flag(b'R', Some(v)) => {
                s.replace = v.to_vec();
                if s.repl.is_none() {
                    s.repl = Some(b'_');
                }
            }
            Opt::Flag(b'r', Some(v)) => {
                if v.len() != 1 || v[0] == 0 {
                    return usage(argv0, b"");
                }
                s.repl = Some(v[0]);
            }
            Opt::Flag(b'l', Some(v)) => {
                let n = getopt::scan_ulong(v).0;
                s.line_max = if n == 0 { 1000 } else { n.min(usize::MAX as u64 / 2) as usize };
            }
            Opt::Flag(b'b', Some(v)) => {
                let n = getopt::scan_ulong(v).0;
                s.buf_len = if n == 0 { 1024 } else { n.min(usize::MAX as u64 / 2) as usize };
            }
            Opt::Flag(b't', _) => t = (t + 1).min(3),
            Opt::Flag(b'v', _) => s.verbose = true,
            Opt::Flag(b'V', _) => {
                let mut v = VERSION.to_vec();
                v.push(b'\n');
                return usage(argv0, &v);
            }
            Opt::Flag(..) => return usage(argv0, b""),
            Opt::Illegal(c) => {
                let l = crate::msg::line(&[name, b": illegal option -- ", &[c]], None);
                return usage(argv0, &l);
            }
            Opt::MissingArg(c) => {
                let l = crate::msg::line(&[name, b": option requires an argument -- ", &[c]], None);
                return usage(argv0, &l);
            }
        }
    }
    s.stamp = StampKind::from_count(t);
    s.dirs = argv[p.operands..].iter().map(|a| a.as_ref().to_vec()).collect();
    if s.dirs.is_empty() || s.buf_len <= s.line_max {
        return usage(argv0, b"");
    }
    Parsed::Run(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit_text(argv: &[&str]) -> alloc::string::String {
        match parse(argv) {
            Parsed::Exit(t, 111) => alloc::string::String::from_utf8(t).unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn usage_cases() {
        let u = "usage: svlogd [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...\n\n";
        assert_eq!(exit_text(&["svlogd"]), u);
        assert_eq!(exit_text(&["svlogd", "-l", "1024", "d"]), u);
        assert_eq!(exit_text(&["svlogd", "-b", "10", "-l", "10", "d"]), u);
        assert_eq!(exit_text(&["svlogd", "-l", "0", "-b", "1000", "d"]), u);
        assert_eq!(exit_text(&["svlogd", "-r", "ab", "d"]), u);
        assert_eq!(exit_text(&["svlogd", "-r", "", "d"]), u);
        assert_eq!(
            exit_text(&["/x/svlogd", "-Q", "d"]),
            "svlogd: illegal option -- Q\nusage: /x/svlogd [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...\n\n"
        );
        assert!(exit_text(&["svlogd", "-V"]).starts_with("$Id: 5e55a90e0a1b35ec47fed3021453c50675ea1117 $\nusage: "));
    }

    #[test]
    fn flags() {
        let Parsed::Run(s) = parse(&["svlogd", "-tttt", "-R", "xy", "-l", "12x", "a", "b"]) else { panic!() };
        assert_eq!(s.stamp, StampKind::Iso);
        assert_eq!((s.repl, &s.replace[..], s.line_max), (Some(b'_'), &b"xy"[..], 12));
        assert_eq!(s.dirs, [b"a".to_vec(), b"b".to_vec()]);
        let Parsed::Run(s) = parse(&["svlogd", "-R", "x", "-r", "#", "-t", "-t", "a"]) else { panic!() };
        assert_eq!((s.repl, s.stamp), (Some(b'#'), StampKind::Utc));
        let Parsed::Run(s) = parse(&["svlogd", "-r", "#", "-R", "x", "a"]) else { panic!() };
        assert_eq!(s.repl, Some(b'#'));
    }
}
