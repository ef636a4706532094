//! runit's small getopt clone (spec/common.md §3), shared by sv, svlogd, chpst and utmpset.
//!
//! Its rules differ from GNU getopt and scripts depend on them: options stop at the first
//! operand (no permutation), `-` alone is an operand, any argument starting with `--`
//! (`--`, `--help`, `--x`) is consumed and ends the options (runit's `subgetopt` looks
//! only at the second byte), clusters such as `-vw5` work, and there are no long options.

use alloc::vec::Vec;

/// One parsed option, or the error runit reports for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opt<'a> {
    /// A flag or an option with its value (`None` for flags).
    Flag(u8, Option<&'a [u8]>),
    /// A letter not in the option string: `<prog>: illegal option -- c`.
    Illegal(u8),
    /// The last option needs a value and none follows: `<prog>: option requires an argument -- c`.
    MissingArg(u8),
}

/// The result of parsing: options in order, then the index of the first operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// Options in command-line order; parsing stops at the first error.
    pub opts: Vec<Opt<'a>>,
    /// Index into `argv` of the first operand (`argv.len()` if none).
    pub operands: usize,
}

impl Parsed<'_> {
    /// The first error, if any (runit stops and prints usage on it).
    pub fn error(&self) -> Option<Opt<'_>> {
        self.opts.iter().find(|o| !matches!(o, Opt::Flag(..))).cloned()
    }
}

/// Parses `argv[1..]` against `spec` (letters; a letter followed by `:` takes a value).
pub fn parse<'a, S: AsRef<[u8]>>(argv: &'a [S], spec: &[u8]) -> Parsed<'a> {
    let mut opts = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i].as_ref();
        if arg.len() < 2 || arg[0] != b'-' {
            break;
        }
        if arg[1] == b'-' {
            i += 1;
            break;
        }
        let mut j = 1;
        while j < arg.len() {
            let c = arg[j];
            match takes_value(spec, c) {
                None => {
                    opts.push(Opt::Illegal(c));
                    return Parsed { opts, operands: i };
                }
                Some(false) => {
                    opts.push(Opt::Flag(c, None));
                    j += 1;
                }
                Some(true) => {
                    if j + 1 < arg.len() {
                        opts.push(Opt::Flag(c, Some(&arg[j + 1..])));
                    } else if i + 1 < argv.len() {
                        i += 1;
                        opts.push(Opt::Flag(c, Some(argv[i].as_ref())));
                    } else {
                        opts.push(Opt::MissingArg(c));
                        return Parsed { opts, operands: argv.len() };
                    }
                    break;
                }
            }
        }
        i += 1;
    }
    Parsed { opts, operands: i.min(argv.len()) }
}

fn takes_value(spec: &[u8], c: u8) -> Option<bool> {
    if c == b':' {
        return None;
    }
    let pos = spec.iter().position(|&s| s == c)?;
    Some(spec.get(pos + 1) == Some(&b':'))
}

/// Leading decimal digits as runit's `scan_ulong` reads them (`"3x"` -> 3, `"abc"` -> 0),
/// saturating instead of wrapping.
pub fn scan_ulong(s: &[u8]) -> (u64, usize) {
    let mut v: u64 = 0;
    let mut n = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add((c - b'0') as u64);
        n += 1;
    }
    (v, n)
}

/// The basename of a program path, as runit prints it in getopt errors.
pub fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&c| c == b'/') {
        Some(p) => &path[p + 1..],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_and_values() {
        let argv = ["sv", "-vw5", "up", "x"];
        let p = parse(&argv, b"vw:V");
        assert_eq!(p.opts, [Opt::Flag(b'v', None), Opt::Flag(b'w', Some(&b"5"[..]))]);
        assert_eq!(p.operands, 2);
    }

    #[test]
    fn value_in_next_arg_and_double_dash() {
        let argv = ["sv", "-w", "3", "--", "-v"];
        let p = parse(&argv, b"vw:");
        assert_eq!(p.opts, [Opt::Flag(b'w', Some(&b"3"[..]))]);
        assert_eq!(p.operands, 4);
    }

    #[test]
    fn any_double_dash_argument_ends_options_and_is_consumed() {
        for a in ["--", "--help", "--x", "---"] {
            let argv = ["chpst", a, "/bin/echo", "hi"];
            let p = parse(&argv, b"v");
            assert_eq!(p.opts, [], "{a}");
            assert_eq!(p.operands, 2, "{a}");
        }
        let p = parse(&["sv", "-v", "--help"], b"v");
        assert_eq!((p.opts.len(), p.operands), (1, 3));
        assert_eq!(p.error(), None);
    }

    #[test]
    fn stops_at_operand_and_lone_dash() {
        let p = parse(&["sv", "status", "-v"], b"v");
        assert_eq!(p.operands, 1);
        let p = parse(&["x", "-", "-v"], b"v");
        assert_eq!(p.operands, 1);
    }

    #[test]
    fn errors() {
        assert_eq!(parse(&["sv", "-x"], b"v").error(), Some(Opt::Illegal(b'x')));
        assert_eq!(parse(&["sv", "-w"], b"w:").error(), Some(Opt::MissingArg(b'w')));
    }

    #[test]
    fn scan_ulong_leading_digits() {
        assert_eq!(scan_ulong(b"3x"), (3, 1));
        assert_eq!(scan_ulong(b"abc"), (0, 0));
        assert_eq!(scan_ulong(b"99999999999999999999999").0, u64::MAX);
    }
}
