//! Round trips and totality for svlogd's parsers and formatters, against naive
//! references: config parse/print, the pattern matcher, the UTC calendar, argv.

use model::svlogd::config::{self, Config, Pattern, PatternKind, Udp};
use model::svlogd::options;
use model::svlogd::pmatch::pmatch;
use model::svlogd::scan::find_newline;
use model::svlogd::stamp::{self, StampKind};
use model::Wall;
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>().prop_filter("no NUL/newline", |b| *b != 0 && *b != b'\n'), 0..12)
}

fn config_strategy() -> impl Strategy<Value = Config> {
    let pattern = (
        prop_oneof![Just(PatternKind::Select), Just(PatternKind::Deselect), Just(PatternKind::Stderr), Just(PatternKind::NoStderr)],
        value(),
    )
        .prop_map(|(kind, text)| Pattern { kind, text });
    (
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        prop::option::of(value().prop_filter("non-empty", |v| !v.is_empty())),
        prop::option::of((any::<[u8; 4]>(), 1u16.., any::<bool>())),
        value(),
        prop::collection::vec(pattern, 0..5),
    )
        .prop_map(|((s, n, nn, t), processor, udp, prefix, patterns)| Config {
            size_max: s,
            n_max: n,
            n_min: nn,
            t_max: t,
            processor,
            udp: udp.map_or(Udp::default(), |(addr, port, _)| Udp { addr, port }),
            udp_only: udp.is_some_and(|u| u.2),
            prefix,
            inst: config::inst_of(&patterns),
            patterns,
        })
}

/// A deliberately naive matcher: the pattern rules of spec §8 written as recursion on
/// slices, one rule per arm.
fn naive(p: &[u8], t: &[u8]) -> bool {
    match p {
        [] => t.is_empty(),
        [b'*'] => true,
        [b'*', c, ..] => match t.iter().position(|x| x == c) {
            Some(i) => naive(&p[1..], &t[i..]),
            None => false,
        },
        // `+` then the pattern's end: the NUL terminator is the run character, and the
        // byte after an exhausted text is taken as NUL.
        [b'+'] => t.iter().all(|&b| b == 0),
        [b'+', c, rest @ ..] => {
            if t.first() != Some(c) {
                return false;
            }
            let run = t.iter().take_while(|x| *x == c).count();
            if run == t.len() {
                return true;
            }
            naive(rest, &t[run..])
        }
        [c, rest @ ..] => t.first() == Some(c) && naive(rest, &t[1..]),
    }
}

/// Days-in-month counting from 1970, for the calendar reference.
fn naive_utc(mut secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let mut y = 1970i64;
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    loop {
        let len = if leap(y) { 366 } else { 365 } * 86_400;
        if secs < len {
            break;
        }
        secs -= len;
        y += 1;
    }
    let mdays = [31, if leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut m = 0;
    while secs >= mdays[m] * 86_400 {
        secs -= mdays[m] * 86_400;
        m += 1;
    }
    let d = secs / 86_400;
    let r = secs % 86_400;
    (y, m as u32 + 1, d as u32 + 1, (r / 3600) as u32, (r / 60 % 60) as u32, (r % 60) as u32)
}

proptest! {
    #[test]
    fn config_print_parse_round_trip(c in config_strategy()) {
        let text = config::print(&c);
        let (back, warnings) = config::parse(&text);
        prop_assert!(warnings.is_empty());
        prop_assert_eq!(back, c);
    }

    #[test]
    fn config_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = config::parse(&bytes);
    }

    #[test]
    fn config_parse_is_line_wise(lines in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("nl", |b| *b != b'\n'), 2..10), 0..6)) {
        // Each line is judged alone: parsing the whole file equals parsing lines in turn.
        let whole: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain(std::iter::once(b'\n'))).collect();
        let (a, _) = config::parse(&whole);
        let mut b = Config::default();
        let mut w = Vec::new();
        for l in &lines {
            let mut one = l.clone();
            one.push(b'\n');
            config::parse_into(&one, &mut b, &mut w);
        }
        prop_assert_eq!(a, b);
    }

    #[test]
    fn pmatch_agrees_with_naive(p in prop::collection::vec(prop_oneof![Just(b'*'), Just(b'+'), b'a'..=b'c'], 0..6),
                                t in prop::collection::vec(b'a'..=b'c', 0..8)) {
        prop_assert_eq!(pmatch(&p, &t), naive(&p, &t), "pattern {:?} text {:?}", String::from_utf8_lossy(&p), String::from_utf8_lossy(&t));
    }

    #[test]
    fn pmatch_never_panics(p in prop::collection::vec(any::<u8>(), 0..20), t in prop::collection::vec(any::<u8>(), 0..40)) {
        let _ = pmatch(&p, &t);
    }

    #[test]
    fn utc_matches_naive_calendar(secs in 0i64..(400 * 366 * 86_400)) {
        prop_assert_eq!(stamp::utc(secs), naive_utc(secs));
    }

    #[test]
    fn stamp_formats(secs in 0i64..4_102_444_800, nanos in 0u32..1_000_000_000) {
        let w = Wall { unix_secs: secs, nanos };
        let mut b = [0u8; 26];
        prop_assert_eq!(stamp::format(StampKind::Utc, w, &mut b), 26);
        let (y, mo, d, h, mi, s) = naive_utc(secs);
        let want = format!("{y:04}-{mo:02}-{d:02}_{h:02}:{mi:02}:{s:02}.{:05} ", (nanos / 1000 * 1000 + 500) / 10_000);
        prop_assert_eq!(String::from_utf8_lossy(&b).into_owned(), want.clone());
        stamp::format(StampKind::Iso, w, &mut b);
        prop_assert_eq!(String::from_utf8_lossy(&b).into_owned(), want.replacen('_', "T", 1));
        stamp::format(StampKind::Tai64n, w, &mut b);
        let t = model::Tai64n::from_wall(w);
        prop_assert_eq!(&b[..25], &t.to_text()[..]);
        prop_assert_eq!(model::Tai64n::parse_text(&b[..25]), Some(t));
    }

    #[test]
    fn find_newline_agrees_with_position(v in prop::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..100)) {
        prop_assert_eq!(find_newline(&v), v.iter().position(|&b| b == b'\n'));
        prop_assert_eq!(model::svlogd::scan::rfind_newline(&v), v.iter().rposition(|&b| b == b'\n'));
    }

    #[test]
    fn options_never_panic(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..6), 0..6)) {
        let mut argv = vec![b"svlogd".to_vec()];
        argv.extend(args);
        let _ = options::parse(&argv);
    }
}
