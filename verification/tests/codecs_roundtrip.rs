//! quickcheck round-trips and totality checks for the shared codecs (ARCHITECTURE layer 2):
//! the 20-byte `supervise/status` record, TAI64N (packed and text), the `stat` line, the
//! `pid` file and runit's getopt.
//!
//! Each property is checked against an *independent* statement of the format
//! (spec/formats.md §2.4-2.6, spec/common.md §3) written here from the spec, not by calling
//! the code under test twice.

use model::getopt::{self, Opt};
use model::status::{self, RunState, StatusRecord, Want, STATUS_LEN};
use model::time::{Tai64n, Wall, TAI64_UNIX_EPOCH};
use quickcheck::{quickcheck, Arbitrary, Gen, QuickCheck, TestResult};

/// Number of cases per property (quickcheck's default is 100; these are cheap).
const CASES: u64 = 2000;

fn qc() -> QuickCheck {
    QuickCheck::new().tests(CASES).max_tests(CASES * 10)
}

#[derive(Clone, Copy, Debug)]
struct AState(RunState);
impl Arbitrary for AState {
    fn arbitrary(g: &mut Gen) -> Self {
        AState(*g.choose(&[RunState::Down, RunState::Run, RunState::Finish]).unwrap_or(&RunState::Down))
    }
}

#[derive(Clone, Copy, Debug)]
struct AWant(Want);
impl Arbitrary for AWant {
    fn arbitrary(g: &mut Gen) -> Self {
        AWant(*g.choose(&[Want::Up, Want::Down, Want::Exit]).unwrap_or(&Want::Up))
    }
}

/// A valid stamp: any seconds label, nanoseconds below one billion.
#[derive(Clone, Copy, Debug)]
struct AStamp(Tai64n);
impl Arbitrary for AStamp {
    fn arbitrary(g: &mut Gen) -> Self {
        AStamp(Tai64n { secs: u64::arbitrary(g), nanos: u32::arbitrary(g) % 1_000_000_000 })
    }
}

// ---------------------------------------------------------------------------------------
// status record
// ---------------------------------------------------------------------------------------

/// The spec's byte layout, written out independently: 0-7 seconds BE, 8-11 nanos BE,
/// 12-15 pid LE, 16 paused, 17 want (`u` only for up), 18 got TERM, 19 state.
fn spec_status_bytes(stamp: Tai64n, pid: u32, paused: bool, want: Want, got_term: bool, state: RunState) -> [u8; 20] {
    let mut b = [0u8; 20];
    for (i, byte) in b[..8].iter_mut().enumerate() {
        *byte = (stamp.secs >> (56 - 8 * i)) as u8;
    }
    for i in 0..4 {
        b[8 + i] = (stamp.nanos >> (24 - 8 * i)) as u8;
        b[12 + i] = (pid >> (8 * i)) as u8;
    }
    b[16] = paused as u8;
    b[17] = if matches!(want, Want::Up) { b'u' } else { b'd' };
    b[18] = got_term as u8;
    b[19] = match state {
        RunState::Down => 0,
        RunState::Run => 1,
        RunState::Finish => 2,
    };
    b
}

#[test]
fn status_encode_matches_spec_layout_and_decodes_back() {
    fn prop(stamp: AStamp, pid: u32, paused: bool, want: AWant, got_term: bool, state: AState) -> bool {
        let rec = StatusRecord::new(stamp.0, pid, paused, want.0, got_term, state.0);
        let bytes = rec.encode();
        bytes == spec_status_bytes(stamp.0, pid, paused, want.0, got_term, state.0)
            && StatusRecord::decode(&bytes) == Some(rec)
            && rec.state() == Some(state.0)
    }
    qc().quickcheck(prop as fn(AStamp, u32, bool, AWant, bool, AState) -> bool);
}

#[test]
fn status_decode_total_and_reencodes_first_20_bytes_when_flags_canonical() {
    fn prop(bytes: Vec<u8>) -> bool {
        match StatusRecord::decode(&bytes) {
            None => bytes.len() < STATUS_LEN,
            Some(rec) => {
                // Flags decode as "non-zero = set", so only 0/1 flag bytes re-encode exactly.
                let mut canon = [0u8; 20];
                canon.copy_from_slice(&bytes[..20]);
                canon[16] = (canon[16] != 0) as u8;
                canon[18] = (canon[18] != 0) as u8;
                bytes.len() >= STATUS_LEN
                    && rec.encode() == canon
                    && rec.pid == u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]])
            }
        }
    }
    qc().quickcheck(prop as fn(Vec<u8>) -> bool);
}

#[test]
fn status_decode_exact_20_byte_records_roundtrip() {
    fn prop(raw: Vec<u8>, paused: bool, got_term: bool) -> TestResult {
        if raw.len() < 20 {
            return TestResult::discard();
        }
        let mut b = [0u8; 20];
        b.copy_from_slice(&raw[..20]);
        b[16] = paused as u8;
        b[18] = got_term as u8;
        TestResult::from_bool(StatusRecord::decode(&b).map(|r| r.encode()) == Some(b))
    }
    qc().quickcheck(prop as fn(Vec<u8>, bool, bool) -> TestResult);
}

// ---------------------------------------------------------------------------------------
// TAI64N
// ---------------------------------------------------------------------------------------

#[test]
fn tai64n_pack_unpack_roundtrip() {
    fn prop(secs: u64, nanos: u32) -> bool {
        let t = Tai64n { secs, nanos };
        Tai64n::unpack(&t.pack()) == t
    }
    qc().quickcheck(prop as fn(u64, u32) -> bool);
}

#[test]
fn tai64n_unpack_pack_roundtrip_on_any_12_bytes() {
    fn prop(raw: Vec<u8>) -> TestResult {
        if raw.len() < 12 {
            return TestResult::discard();
        }
        let mut b = [0u8; 12];
        b.copy_from_slice(&raw[..12]);
        TestResult::from_bool(Tai64n::unpack(&b).pack() == b)
    }
    qc().quickcheck(prop as fn(Vec<u8>) -> TestResult);
}

/// Independent text form: `@` then 24 lowercase hex digits of the packed bytes.
fn spec_tai_text(t: Tai64n) -> String {
    format!("@{:016x}{:08x}", t.secs, t.nanos)
}

#[test]
fn tai64n_text_matches_spec_and_parses_back() {
    fn prop(secs: u64, nanos: u32) -> bool {
        let t = Tai64n { secs, nanos };
        let text = t.to_text();
        text[..] == *spec_tai_text(t).as_bytes()
            && Tai64n::parse_text(&text) == Some(t)
            && Tai64n::parse_text(spec_tai_text(t).to_uppercase().as_bytes()) == Some(t)
    }
    qc().quickcheck(prop as fn(u64, u32) -> bool);
}

#[test]
fn tai64n_parse_total_and_accepts_only_the_exact_shape() {
    fn prop(bytes: Vec<u8>) -> bool {
        let shape_ok = bytes.len() == 25 && bytes[0] == b'@' && bytes[1..].iter().all(|c| c.is_ascii_hexdigit());
        match Tai64n::parse_text(&bytes) {
            None => !shape_ok,
            Some(t) => shape_ok && t.to_text()[..] == *bytes.to_ascii_lowercase(),
        }
    }
    qc().quickcheck(prop as fn(Vec<u8>) -> bool);
}

#[test]
fn tai64n_parse_of_near_valid_text() {
    // Arbitrary bytes almost never look like a stamp; mutate a valid one instead.
    fn prop(secs: u64, nanos: u32, pos: usize, byte: u8) -> bool {
        let mut text = Tai64n { secs, nanos }.to_text().to_vec();
        let p = pos % text.len();
        text[p] = byte;
        let shape_ok = text[0] == b'@' && text[1..].iter().all(|c| c.is_ascii_hexdigit());
        Tai64n::parse_text(&text).is_some() == shape_ok
    }
    qc().quickcheck(prop as fn(u64, u32, usize, u8) -> bool);
}

#[test]
fn tai64n_from_wall_follows_runit() {
    fn prop(unix_secs: i64, nanos: u32) -> bool {
        let nanos = nanos % 1_000_000_000;
        let t = Tai64n::from_wall(Wall { unix_secs, nanos });
        t.secs == TAI64_UNIX_EPOCH.wrapping_add(unix_secs as u64)
            && t.nanos % 1000 == 500
            && t.nanos / 1000 == nanos / 1000
            && t.unix_secs() == unix_secs
    }
    qc().quickcheck(prop as fn(i64, u32) -> bool);
}

// ---------------------------------------------------------------------------------------
// stat line and pid file
// ---------------------------------------------------------------------------------------

/// A tiny independent statement of formats.md's `stat` line.
fn spec_stat(state: RunState, paused: bool, got_term: bool, want: Want) -> String {
    let mut s = String::from(match state {
        RunState::Down => "down",
        RunState::Run => "run",
        RunState::Finish => "finish",
    });
    if paused {
        s += ", paused";
    }
    if got_term {
        s += ", got TERM";
    }
    match (state, want) {
        (RunState::Down, _) | (_, Want::Up) => {}
        (_, Want::Down) => s += ", want down",
        (_, Want::Exit) => s += ", want exit",
    }
    s + "\n"
}

#[test]
fn stat_text_matches_independent_spec() {
    fn prop(state: AState, paused: bool, got_term: bool, want: AWant) -> bool {
        status::stat_text(state.0, paused, got_term, want.0) == spec_stat(state.0, paused, got_term, want.0).as_bytes()
    }
    // The domain is 3*2*2*3 = 36 values: check them all, then let quickcheck sample too.
    for st in [RunState::Down, RunState::Run, RunState::Finish] {
        for w in [Want::Up, Want::Down, Want::Exit] {
            for p in [false, true] {
                for g in [false, true] {
                    assert!(prop(AState(st), p, g, AWant(w)), "{st:?} {w:?} {p} {g}");
                }
            }
        }
    }
    quickcheck(prop as fn(AState, bool, bool, AWant) -> bool);
}

#[test]
fn pid_text_is_decimal_line_or_empty() {
    fn prop(pid: u32) -> bool {
        let t = status::pid_text(pid);
        if pid == 0 {
            return t.is_empty();
        }
        t == format!("{pid}\n").as_bytes()
    }
    qc().quickcheck(prop as fn(u32) -> bool);
    assert!(prop(u32::MAX) && prop(1) && prop(0));
}

#[test]
fn push_signed_matches_std() {
    fn prop(n: i64) -> bool {
        let mut v = Vec::new();
        status::push_signed(&mut v, n);
        v == n.to_string().as_bytes()
    }
    qc().quickcheck(prop as fn(i64) -> bool);
    assert!(prop(i64::MIN) && prop(i64::MAX));
}

// ---------------------------------------------------------------------------------------
// getopt
// ---------------------------------------------------------------------------------------

/// argv drawn from a small alphabet so options, clusters, `--` and `-` actually occur.
#[derive(Clone, Debug)]
struct Argv(Vec<Vec<u8>>);
impl Arbitrary for Argv {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = usize::arbitrary(g) % 7;
        let pieces: &[&[u8]] = &[b"-", b"--", b"--x", b"-v", b"-w", b"-vw", b"-w5", b"-x", b"-:", b"up", b"5", b"", b"-vvw3", b"-Vv"];
        let mut argv = vec![b"prog".to_vec()];
        for _ in 0..n {
            if bool::arbitrary(g) {
                argv.push(g.choose(pieces).map(|p| p.to_vec()).unwrap_or_default());
            } else {
                argv.push(Vec::<u8>::arbitrary(g));
            }
        }
        Argv(argv)
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let v = self.0.clone();
        Box::new((1..v.len()).rev().map(move |k| {
            let mut w = v.clone();
            w.remove(k);
            Argv(w)
        }))
    }
}

/// Whether `needle` is a sub-slice of some argv element (option values must come from argv).
fn is_from_argv(argv: &[Vec<u8>], needle: &[u8]) -> bool {
    argv.iter().any(|a| needle.is_empty() || a.windows(needle.len()).any(|w| w == needle))
}

fn getopt_invariants(argv: &[Vec<u8>], spec: &[u8]) -> bool {
    let p = getopt::parse(argv, spec);
    if p.operands > argv.len() || (!argv.is_empty() && p.operands < 1 && argv.len() > 1) {
        return false;
    }
    let errors = p.opts.iter().filter(|o| !matches!(o, Opt::Flag(..))).count();
    // Parsing stops at the first error, which is then the last entry.
    if errors > 1 || (errors == 1 && matches!(p.opts.last(), Some(Opt::Flag(..)))) {
        return false;
    }
    for o in &p.opts {
        match o {
            Opt::Flag(c, v) => {
                let pos = spec.iter().position(|s| s == c);
                let Some(pos) = pos else { return false };
                let takes = spec.get(pos + 1) == Some(&b':');
                if *c == b':' || takes != v.is_some() {
                    return false;
                }
                if let Some(v) = v {
                    if !is_from_argv(argv, v) {
                        return false;
                    }
                }
            }
            Opt::Illegal(c) => {
                if spec.contains(c) && *c != b':' {
                    return false;
                }
            }
            Opt::MissingArg(c) => {
                if p.operands != argv.len() || !spec.windows(2).any(|w| w[0] == *c && w[1] == b':') {
                    return false;
                }
            }
        }
    }
    // Without an error, everything before the operands is an option word (or `--`).
    if errors == 0 {
        // ... or a whole word consumed as the value of the option before it.
        let is_value =
            |a: &Vec<u8>| p.opts.iter().any(|o| matches!(o, Opt::Flag(_, Some(v)) if v.as_ptr() == a.as_ptr() && v.len() == a.len()));
        for a in argv.iter().take(p.operands).skip(1) {
            if (a.len() < 2 || a[0] != b'-') && !is_value(a) {
                return false;
            }
        }
        if let Some(first) = argv.get(p.operands) {
            // The first operand is not an option word unless it follows `--` (or any
            // argument starting with `--`, which runit's getopt consumes the same way).
            let after_dd = p.operands >= 2 && argv[p.operands - 1].starts_with(b"--");
            let is_optword = first.len() >= 2 && first[0] == b'-';
            if is_optword && !after_dd {
                return false;
            }
        }
    }
    true
}

#[test]
fn getopt_total_and_invariants_on_structured_argv() {
    fn prop(argv: Argv) -> bool {
        getopt_invariants(&argv.0, b"vw:V") && getopt_invariants(&argv.0, b"w:") && getopt_invariants(&argv.0, b"")
    }
    qc().quickcheck(prop as fn(Argv) -> bool);
}

#[test]
fn getopt_total_on_arbitrary_argv_and_spec() {
    fn prop(argv: Vec<Vec<u8>>, spec: Vec<u8>) -> bool {
        getopt_invariants(&argv, &spec)
    }
    qc().quickcheck(prop as fn(Vec<Vec<u8>>, Vec<u8>) -> bool);
}

#[test]
fn getopt_empty_argv_has_no_operands() {
    let argv: [&[u8]; 0] = [];
    let p = getopt::parse(&argv, b"v");
    assert!(p.opts.is_empty());
    assert_eq!(p.operands, 0);
}

#[test]
fn scan_ulong_matches_leading_digits() {
    fn prop(s: Vec<u8>) -> bool {
        let (v, n) = getopt::scan_ulong(&s);
        let digits: Vec<u8> = s.iter().copied().take_while(u8::is_ascii_digit).collect();
        let expect =
            std::str::from_utf8(&digits).ok().and_then(|d| if d.is_empty() { Some(0) } else { d.parse::<u64>().ok() }).unwrap_or(u64::MAX);
        n == digits.len() && v == expect
    }
    qc().quickcheck(prop as fn(Vec<u8>) -> bool);
}
