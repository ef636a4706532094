//! A log directory's `config` file (spec/svlogd.md §4), parsed as runit does: each line
//! is judged by its first byte, values are C strings (cut at a NUL), numbers are leading
//! digits with `k`/`m` (size) or `m`/`h` (time) suffixes, later lines override earlier
//! ones, pattern lines are kept in order. Total: any bytes give a config + warnings.

use alloc::vec::Vec;

/// Pattern kinds, named by their config letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatternKind {
    /// `+`: select.
    Select,
    /// `-`: deselect.
    Deselect,
    /// `e`: copy to stderr.
    Stderr,
    /// `E`: do not copy to stderr.
    NoStderr,
}

impl PatternKind {
    fn from_byte(b: u8) -> Option<PatternKind> {
        match b {
            b'+' => Some(PatternKind::Select),
            b'-' => Some(PatternKind::Deselect),
            b'e' => Some(PatternKind::Stderr),
            b'E' => Some(PatternKind::NoStderr),
            _ => None,
        }
    }
    /// The config letter.
    pub fn byte(self) -> u8 {
        match self {
            PatternKind::Select => b'+',
            PatternKind::Deselect => b'-',
            PatternKind::Stderr => b'e',
            PatternKind::NoStderr => b'E',
        }
    }
}

/// One selection instruction, in file order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern {
    /// What a match does.
    pub kind: PatternKind,
    /// The pattern text (no NUL, no newline).
    pub text: Vec<u8>,
}

/// Where `u`/`U` lines send datagrams. `port == 0` means off (as runit's `sin_port`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Udp {
    /// IPv4 address octets.
    pub addr: [u8; 4],
    /// Port; 0 = UDP off.
    pub port: u16,
}

/// The settings of one log directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// `s`: rotate at this size; 0 = never by size.
    pub size_max: u64,
    /// `n`: keep at most this many old files; 0 = never delete.
    pub n_max: u64,
    /// `N`: on a full disk, delete down to this many.
    pub n_min: u64,
    /// `t`: rotate a non-empty `current` every this many seconds; 0 = off.
    pub t_max: u64,
    /// `!`: processor command for `/bin/sh -c`.
    pub processor: Option<Vec<u8>>,
    /// `u`/`U`: datagram target.
    pub udp: Udp,
    /// `U`: do not write to `current` (set even when the address is bad: runit's quirk).
    pub udp_only: bool,
    /// `p`: prefix for every line (empty = none).
    pub prefix: Vec<u8>,
    /// `+ - e E` lines in order (after splitting at embedded NULs as runit does).
    pub patterns: Vec<Pattern>,
    /// The pattern lines as runit stores them: each line (kind byte included) followed
    /// by a NUL. Its matcher walks this buffer, so bytes after an embedded NUL matter.
    pub inst: Vec<u8>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            size_max: 1_000_000,
            n_max: 10,
            n_min: 10,
            t_max: 0,
            processor: None,
            udp: Udp::default(),
            udp_only: false,
            prefix: Vec::new(),
            patterns: Vec::new(),
            inst: Vec::new(),
        }
    }
}

/// runit's stored instruction buffer for `patterns` written one per line.
pub fn inst_of(patterns: &[Pattern]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in patterns {
        v.push(p.kind.byte());
        v.extend_from_slice(&p.text);
        v.push(0);
    }
    v
}

/// The instructions runit's matcher sees in `inst`: (kind, offset of the pattern).
pub fn instructions(inst: &[u8]) -> Vec<(PatternKind, usize)> {
    let mut out = Vec::new();
    // One C string per NUL; the loop follows the split, not a counter (no mutation of the
    // offset arithmetic can make it spin).
    let mut offset = 0;
    for seg in inst.split(|&b| b == 0) {
        if let Some(k) = seg.first().copied().and_then(PatternKind::from_byte) {
            out.push((k, offset + 1));
        }
        offset += seg.len() + 1;
    }
    out
}

/// A warning found while parsing (printed by the caller, text per spec §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigWarning {
    /// `svlogd: warning: unable to scan ip address: <rest>`.
    BadAddress(Vec<u8>),
    /// `svlogd: warning: unable to scan port number: <rest>`.
    BadPort(Vec<u8>),
}

/// Leading decimal digits, saturating (runit wraps; absurd sizes mean "huge" here).
fn scan_sat(s: &[u8]) -> (u64, usize) {
    crate::getopt::scan_ulong(s)
}

/// Leading decimal digits with C's unsigned wrap-around (used where runit truncates the
/// result anyway: address octets, ports).
fn scan_wrap(s: &[u8]) -> (u64, usize) {
    let mut v: u64 = 0;
    let mut n = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add((c - b'0') as u64);
        n += 1;
    }
    (v, n)
}

fn cstr(v: &[u8]) -> &[u8] {
    match crate::svlogd::scan::find_byte(0, v) {
        Some(p) => &v[..p],
        None => v,
    }
}

/// runit's `ip4_scan`: octets are stored as they are read, even when a later part
/// fails. Returns the number of bytes consumed, 0 on failure.
fn ip4_scan(s: &[u8], ip: &mut [u8; 4]) -> usize {
    let mut pos = 0;
    for (k, slot) in ip.iter_mut().enumerate() {
        let (u, n) = scan_wrap(&s[pos..]);
        if n == 0 {
            return 0;
        }
        *slot = u as u8;
        pos += n;
        if k < 3 {
            if s.get(pos) != Some(&b'.') {
                return 0;
            }
            pos += 1;
        }
    }
    pos
}

/// Parses `config` bytes, starting from the defaults.
pub fn parse(bytes: &[u8]) -> (Config, Vec<ConfigWarning>) {
    let mut c = Config::default();
    let mut warnings = Vec::new();
    parse_into(bytes, &mut c, &mut warnings);
    (c, warnings)
}

/// Parses `config` bytes on top of `c` (runit resets to defaults first; see [`parse`]).
pub fn parse_into(bytes: &[u8], c: &mut Config, warnings: &mut Vec<ConfigWarning>) {
    let mut rest = bytes;
    // runit's loop runs while `i + 1 < len`, i.e. while more than one byte is left: a
    // final one-byte line without a newline is never looked at. (No index arithmetic:
    // each line is split off the rest, so no mutation of a counter can loop forever.)
    while rest.len() > 1 {
        let (line, after) = rest.split_at(crate::svlogd::scan::find_newline(rest).unwrap_or(rest.len()));
        rest = after.get(1..).unwrap_or_default();
        let value = line.get(1..).unwrap_or(&[]);
        match line.first().copied() {
            Some(k @ (b'+' | b'-' | b'e' | b'E')) => {
                c.inst.extend_from_slice(line);
                c.inst.push(0);
                // Stored as one C string per line; runit's matcher later walks NUL by
                // NUL, so text after an embedded NUL becomes instructions of its own.
                for (idx, seg) in line.split(|&b| b == 0).enumerate() {
                    let (kind, text) = if idx == 0 {
                        (PatternKind::from_byte(k), &seg[1..])
                    } else {
                        match seg.first() {
                            Some(&b) => (PatternKind::from_byte(b), &seg[1..]),
                            None => (None, seg),
                        }
                    };
                    if let Some(kind) = kind {
                        c.patterns.push(Pattern { kind, text: text.to_vec() });
                    }
                }
            }
            Some(b's') => {
                let (v, n) = scan_sat(value);
                c.size_max = match value.get(n) {
                    Some(b'm') => v.saturating_mul(1024 * 1024),
                    Some(b'k') => v.saturating_mul(1024),
                    _ => v,
                };
            }
            Some(b'n') => c.n_max = scan_sat(value).0,
            Some(b'N') => c.n_min = scan_sat(value).0,
            Some(b't') => {
                let (v, n) = scan_sat(value);
                c.t_max = match value.get(n) {
                    Some(b'h') => v.saturating_mul(3600),
                    Some(b'm') => v.saturating_mul(60),
                    _ => v,
                };
            }
            Some(b'!') if line.len() > 1 => c.processor = Some(cstr(value).to_vec()),
            Some(k @ (b'u' | b'U')) => {
                if k == b'U' {
                    c.udp_only = true;
                }
                let v = cstr(value);
                let used = ip4_scan(v, &mut c.udp.addr);
                if used == 0 {
                    warnings.push(ConfigWarning::BadAddress(v.to_vec()));
                } else {
                    let port = if v.get(used) == Some(&b':') {
                        let rest = &v[used + 1..];
                        let (p, _) = scan_wrap(rest);
                        if p == 0 {
                            warnings.push(ConfigWarning::BadPort(rest.to_vec()));
                            None
                        } else {
                            Some(p as u16)
                        }
                    } else {
                        Some(514)
                    };
                    if let Some(p) = port {
                        c.udp.port = p;
                    }
                }
            }
            Some(b'p') if line.len() > 1 => c.prefix = cstr(value).to_vec(),
            _ => {}
        }
    }
}

fn push_num(out: &mut Vec<u8>, v: u64) {
    crate::status::push_decimal(out, v);
}

/// Prints a config that [`parse`] reads back as `c` (for configs that can be written:
/// values without NUL or newline, a non-empty processor, `udp_only` only with a port).
pub fn print(c: &Config) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in [(b's', c.size_max), (b'n', c.n_max), (b'N', c.n_min), (b't', c.t_max)] {
        out.push(k);
        push_num(&mut out, v);
        out.push(b'\n');
    }
    if let Some(p) = &c.processor {
        out.push(b'!');
        out.extend_from_slice(p);
        out.push(b'\n');
    }
    if c.udp.port != 0 {
        out.push(if c.udp_only { b'U' } else { b'u' });
        for (i, o) in c.udp.addr.iter().enumerate() {
            if i > 0 {
                out.push(b'.');
            }
            push_num(&mut out, *o as u64);
        }
        out.push(b':');
        push_num(&mut out, c.udp.port as u64);
        out.push(b'\n');
    }
    if !c.prefix.is_empty() {
        out.push(b'p');
        out.extend_from_slice(&c.prefix);
        out.push(b'\n');
    }
    for p in &c.patterns {
        out.push(p.kind.byte());
        out.extend_from_slice(&p.text);
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_suffixes() {
        let (c, w) = parse(b"s10k\nn3\nN1\nt2m\n# c\n\nx\n");
        assert!(w.is_empty());
        assert_eq!((c.size_max, c.n_max, c.n_min, c.t_max), (10240, 3, 1, 120));
        assert_eq!(parse(b"s2m\nt1h\n").0.size_max, 2 * 1024 * 1024);
        assert_eq!(parse(b"t1h\n").0.t_max, 3600);
        assert_eq!(parse(b"sx\n").0.size_max, 0);
        assert_eq!(parse(b"").0, Config::default());
    }

    #[test]
    fn udp_lines() {
        let (c, w) = parse(b"u127.0.0.1:5140\n");
        assert!(w.is_empty());
        assert_eq!(c.udp, Udp { addr: [127, 0, 0, 1], port: 5140 });
        assert_eq!(parse(b"u1.2.3.4\n").0.udp.port, 514);
        assert_eq!(parse(b"u1.2.3.260x\n").0.udp.addr, [1, 2, 3, 4]);
        let (c, w) = parse(b"Ufoo\n");
        assert!(c.udp_only && c.udp.port == 0);
        assert_eq!(w, [ConfigWarning::BadAddress(b"foo".to_vec())]);
        let (c, w) = parse(b"u1.2.3.4:x\n");
        assert_eq!(c.udp.port, 0);
        assert_eq!(w, [ConfigWarning::BadPort(b"x".to_vec())]);
    }

    #[test]
    fn quirks() {
        // A final one-byte line without newline is ignored.
        assert_eq!(parse(b"n3\n-").0.patterns, []);
        assert_eq!(parse(b"n3\n-\n").0.patterns.len(), 1);
        // Empty `!` and `p` leave earlier values.
        let c = parse(b"!cat\n!\npx\np\n").0;
        assert_eq!((c.processor.as_deref(), &c.prefix[..]), (Some(&b"cat"[..]), &b"x"[..]));
        // Text after an embedded NUL in a pattern line is a new instruction.
        let c = parse(b"+a\0-b\n").0;
        assert_eq!(c.patterns.len(), 2);
        assert_eq!(c.patterns[1], Pattern { kind: PatternKind::Deselect, text: b"b".to_vec() });
    }

    #[test]
    fn print_round_trips() {
        let (c, _) = parse(b"s123\nn4\nN2\nt9\n!gzip\nU10.0.0.1:99\npP>\n+a*\n-b\ne*\nE+x\n");
        assert_eq!(parse(&print(&c)).0, c);
    }
}
