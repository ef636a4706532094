//! Property tests for the additions' codecs (docs/readiness.md): the extended status
//! record `supervise/status.ext` round-trips and its decoder is total; the sd_notify
//! datagram parser is total and agrees with a naive reading of spec/additions.md §3.2–§3.3.

use model::readiness::notify::{parse_datagram, Datagram, NotifyError, NOTIFY_BUFFER_MAX};
use model::readiness::Protocol;
use model::record::{self, agrees, BackoffRecord, ExitHow, LastExit, Record, SlotRecord};
use model::status::{RunState, StatusRecord, Want};
use model::time::Tai64n;
use proptest::prelude::*;

fn stamp() -> impl Strategy<Value = Tai64n> {
    (any::<u64>(), 0u32..1_000_000_000).prop_map(|(secs, nanos)| Tai64n { secs, nanos })
}

fn slot() -> impl Strategy<Value = SlotRecord> {
    let exit = prop_oneof![
        Just(None),
        (any::<u8>(), stamp()).prop_map(|(c, at)| Some(LastExit { how: ExitHow::Code(c), at })),
        (any::<u8>(), stamp()).prop_map(|(s, at)| Some(LastExit { how: ExitHow::Signal(s), at })),
    ];
    (
        (
            prop_oneof![Just(RunState::Down), Just(RunState::Run), Just(RunState::Finish)],
            any::<u32>(),
            stamp(),
            prop_oneof![Just(Want::Up), Just(Want::Down), Just(Want::Exit)],
            any::<[bool; 4]>(),
        ),
        (
            prop_oneof![Just(Protocol::None), Just(Protocol::NotificationFd), Just(Protocol::SdNotify), Just(Protocol::Both)],
            proptest::option::of(stamp()),
            exit,
            any::<u64>(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..80),
        ),
        proptest::option::of((any::<bool>(), any::<u64>())),
    )
        .prop_map(|((state, pid, since, wanted, f), (readiness, ready_since, last_exit, restarts, quick_deaths, status_text), b)| {
            SlotRecord {
                state,
                pid,
                since,
                wanted,
                normally_up: f[0],
                paused: f[1],
                got_term: f[2],
                readiness,
                ready: f[3],
                ready_since,
                last_exit,
                restarts,
                quick_deaths,
                status_text,
                backoff: b.map(|(given_up, restart_delay_ms)| BackoffRecord { given_up, restart_delay_ms }),
            }
        })
}

fn record() -> impl Strategy<Value = Record> {
    (slot(), proptest::option::of(slot())).prop_map(|(main, log)| Record { main, log })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// decode(encode(r)) == r, and the text is line-oriented `key=value` as documented.
    #[test]
    fn record_round_trips(r in record()) {
        let text = record::encode(&r);
        prop_assert_eq!(record::decode(&text), Ok(r.clone()));
        prop_assert!(text.starts_with(b"version=1\n") && text.ends_with(b"\n"));
        for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            prop_assert!(line.contains(&b'='));
            prop_assert!(line.iter().all(|&c| c >= 0x20 && c != 0x7f));
        }
        let lines = text.iter().filter(|&&c| c == b'\n').count();
        let backoff_lines = 2 * [Some(&r.main), r.log.as_ref()].into_iter().flatten().filter(|s| s.backoff.is_some()).count();
        prop_assert_eq!(lines, 1 + 16 * (1 + r.log.is_some() as usize) + backoff_lines);
    }

    /// The 20 bytes built from a slot record agree with it, through a real encode/decode.
    #[test]
    fn record_agrees_with_its_status_bytes(s in slot()) {
        let bytes = s.status().encode();
        let st = StatusRecord::decode(&bytes).expect("20 bytes");
        prop_assert!(agrees(&s, &st));
        let mut other = st;
        other.pid = other.pid.wrapping_add(1);
        prop_assert!(!agrees(&s, &other));
    }

    /// The decoder is total on any bytes, and what it accepts re-encodes to an equal record.
    #[test]
    fn record_decode_total(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(r) = record::decode(&data) {
            prop_assert_eq!(record::decode(&record::encode(&r)), Ok(r));
        }
    }

    /// Small mutations of a valid record never panic and either decode or name a line
    /// that exists.
    #[test]
    fn record_decode_mutated(r in record(), at in any::<usize>(), byte in any::<u8>()) {
        let mut text = record::encode(&r);
        let i = at % text.len();
        text[i] = byte;
        match record::decode(&text) {
            Ok(back) => prop_assert_eq!(record::decode(&record::encode(&back)), Ok(back)),
            Err(e) => prop_assert!(e.line <= text.split(|&c| c == b'\n').count()),
        }
    }

    /// The datagram parser is total; READY/STOPPING agree with a naive line scan.
    #[test]
    fn notify_matches_naive_reading(lines in proptest::collection::vec(
        prop_oneof![
            Just("READY=1".to_string()), Just("READY=0".to_string()), Just("STOPPING=1".to_string()),
            Just("WATCHDOG=1".to_string()), Just("BARRIER=1".to_string()), Just("X_Y=z".to_string()),
            "[A-Z_]{0,8}=[ -~]{0,12}", "[ -~]{0,10}",
        ], 0..8), fds in 0usize..3) {
        let payload = lines.join("\n");
        let got = parse_datagram(payload.as_bytes(), fds, false);
        let keyed: Vec<&str> = lines.iter().map(|s| s.as_str()).filter(|l| !l.is_empty()).collect();
        if keyed == ["BARRIER=1"] {
            prop_assert_eq!(got, if fds == 1 { Ok(Datagram::Barrier) } else { Err(NotifyError::BadBarrier { fds }) });
        } else {
            let Ok(Datagram::Message(n)) = got else { return Err(TestCaseError::fail("not a message")) };
            let stopping = keyed.contains(&"STOPPING=1");
            prop_assert_eq!(n.stopping, stopping);
            prop_assert_eq!(n.ready, keyed.contains(&"READY=1") && !stopping);
            prop_assert_eq!(n.watchdog_ping, keyed.contains(&"WATCHDOG=1"));
        }
    }

    /// Any bytes: a value or a typed error, and the size limit is systemd's.
    #[test]
    fn notify_total(data in proptest::collection::vec(any::<u8>(), 0..5000), fds in 0usize..4, trunc in any::<bool>()) {
        match parse_datagram(&data, fds, trunc) {
            Err(NotifyError::TooLarge { len }) => prop_assert!(!trunc && len >= NOTIFY_BUFFER_MAX),
            Err(NotifyError::Truncated) => prop_assert!(trunc),
            Err(_) => prop_assert!(!trunc && data.len() < NOTIFY_BUFFER_MAX),
            Ok(_) => prop_assert!(!trunc && data.len() < NOTIFY_BUFFER_MAX),
        }
    }
}
