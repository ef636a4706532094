//! Property tests for sv's pure half: every parser and formatter is total, and the status
//! line agrees with a deliberately naive reference formatter written from spec/sv.md §5.

use model::status::StatusRecord;
use model::sv::line::status_text;
use model::sv::{dispatch, parse, Env, Mode, Parse};
use model::time::{Tai64n, Wall};
use proptest::prelude::*;

/// The reference: spec/sv.md §5 transcribed with `format!`, no shared code.
fn reference_status(name: &str, b: &[u8; 20], now_unix: i64, down_exists: bool) -> String {
    let secs = u64::from_be_bytes(b[0..8].try_into().unwrap());
    let pid = u32::from_le_bytes(b[12..16].try_into().unwrap());
    let tnow = ((1u64 << 62) + 10).wrapping_add(now_unix as u64);
    let age = tnow.saturating_sub(secs);
    let mut s = String::new();
    s += match b[19] {
        0 => "down: ",
        1 => "run: ",
        2 => "finish: ",
        _ => "",
    };
    s += name;
    s += ": ";
    if b[19] != 0 {
        // runit's pid is an `int` printed by fmt_ulong: sign-extended above 2^31 - 1.
        s += &format!("(pid {}) ", pid as i32 as i64 as u64);
    }
    s += &format!("{age}s");
    if pid != 0 && down_exists {
        s += ", normally down";
    }
    if pid == 0 && !down_exists {
        s += ", normally up";
    }
    if pid != 0 && b[16] != 0 {
        s += ", paused";
    }
    if pid == 0 && b[17] == b'u' {
        s += ", want up";
    }
    if pid != 0 && b[17] == b'd' {
        s += ", want down";
    }
    if pid != 0 && b[18] != 0 {
        s += ", got TERM";
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any 20 bytes, any clock: a status line, never a panic, equal to the reference.
    #[test]
    fn status_line_total_and_matches_reference(bytes in prop::array::uniform20(any::<u8>()), now in any::<i64>(), down in any::<bool>(), name in "[ -~]{0,12}") {
        let rec = StatusRecord::decode(&bytes).expect("20 bytes decode");
        let ours = status_text(name.as_bytes(), &rec, Wall { unix_secs: now, nanos: 0 }, !down);
        prop_assert_eq!(String::from_utf8_lossy(&ours).into_owned(), reference_status(&name, &bytes, now, down));
    }

    /// Decoding never panics on any length; shorter than 20 is "bad format".
    #[test]
    fn status_decode_total(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let r = StatusRecord::decode(&bytes);
        prop_assert_eq!(r.is_some(), bytes.len() >= 20);
        if let Some(rec) = r {
            prop_assert_eq!(&rec.encode()[..12], &bytes[..12]);
            prop_assert_eq!(&rec.encode()[12..16], &bytes[12..16]);
        }
    }

    /// Any argv and environment: a decision, never a panic; decisions are consistent.
    #[test]
    fn argv_parser_total(argv in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..6),
                         svdir in prop::option::of(prop::collection::vec(any::<u8>(), 0..6)),
                         svwait in prop::option::of(prop::collection::vec(any::<u8>(), 0..6))) {
        let env = Env { svdir: svdir.as_deref(), svwait: svwait.as_deref() };
        match parse(&argv, env) {
            Parse::Run(inv) => {
                prop_assert!(!inv.services.is_empty());
                if inv.mode == Mode::Lsb {
                    prop_assert_eq!(inv.services.len(), 1);
                    prop_assert_eq!(&inv.services[0], &inv.prog);
                }
            }
            Parse::Refuse { stderr, code } => {
                prop_assert!(code == 100 || code == 2);
                prop_assert!(stderr.ends_with(b"\n\n"));
            }
        }
    }

    /// sv-style argv built from real words parses the way the spec says.
    #[test]
    fn argv_words(verbose in any::<bool>(), wait in prop::option::of(0u64..100), word in "[a-zA-Z12][a-zA-Z12-]{0,9}", svcs in prop::collection::vec("[a-z./]{1,6}", 1..4)) {
        let mut argv = vec!["sv".to_string()];
        if verbose { argv.push("-v".into()); }
        if let Some(w) = wait { argv.push("-w".into()); argv.push(w.to_string()); }
        argv.push(word.clone());
        argv.extend(svcs.iter().cloned());
        let expect = dispatch(word.as_bytes(), Mode::Normal);
        match parse(&argv, Env::default()) {
            Parse::Run(inv) => {
                prop_assert_eq!(Some(inv.command), expect);
                prop_assert_eq!(inv.verbose, verbose || wait.is_some());
                prop_assert_eq!(inv.wait_secs, wait.unwrap_or(7));
                prop_assert_eq!(inv.services.len(), svcs.len());
            }
            Parse::Refuse { code, .. } => {
                prop_assert_eq!(code, 100);
                prop_assert!(expect.is_none());
            }
        }
    }

    /// Dispatch is total; in normal mode every `s…` word is a command.
    #[test]
    fn dispatch_total(word in prop::collection::vec(any::<u8>(), 0..12)) {
        let n = dispatch(&word, Mode::Normal);
        let l = dispatch(&word, Mode::Lsb);
        if word.first() == Some(&b's') {
            prop_assert!(n.is_some());
        }
        // LSB accepts a subset of normal mode, with the same meaning.
        if let Some(c) = l {
            prop_assert_eq!(Some(c), n);
        }
    }

    /// The TAI64N stamp from the wall clock always orders like the wall clock (the
    /// race-free wait compares full stamps).
    #[test]
    fn tai_order(a in 0i64..4_000_000_000, an in 0u32..1_000_000_000, b in 0i64..4_000_000_000, bn in 0u32..1_000_000_000) {
        let ta = Tai64n::from_wall(Wall { unix_secs: a, nanos: an });
        let tb = Tai64n::from_wall(Wall { unix_secs: b, nanos: bn });
        if (a, an / 1000) < (b, bn / 1000) { prop_assert!(ta < tb); }
    }
}
