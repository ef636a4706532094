use super::*;
use crate::time::Wall;
use alloc::string::{String, ToString};
use alloc::vec;

fn t(unix: i64, nanos: u32) -> Tai64n {
    Tai64n::from_wall(Wall { unix_secs: unix, nanos })
}

fn sample() -> Record {
    Record {
        main: SlotRecord {
            state: RunState::Run,
            pid: 4242,
            since: t(1_764_921_600, 123_456),
            wanted: Want::Up,
            normally_up: true,
            paused: false,
            got_term: false,
            readiness: Protocol::SdNotify,
            ready: true,
            ready_since: Some(t(1_764_921_601, 250_000_000)),
            last_exit: Some(LastExit { how: ExitHow::Signal(15), at: t(1_764_921_599, 900_000_000) }),
            restarts: 1,
            quick_deaths: 0,
            status_text: b"Serving 3 clients".to_vec(),
            backoff: None,
        },
        log: None,
    }
}

const SAMPLE_TEXT: &str = "version=1\nstate=run\npid=4242\nsince=1764921600.000123500\nwanted=up\nnormally_up=1\npaused=0\n\
got_term=0\nreadiness=sd_notify\nready=1\nready_since=1764921601.250000500\nlast_exit_code=\nlast_exit_signal=15\n\
last_exit_at=1764921599.900000500\nrestarts=1\nquick_deaths=0\nstatus_text=Serving 3 clients\n";

#[test]
fn test_record_encodes_the_documented_example() {
    assert_eq!(String::from_utf8(encode(&sample())).unwrap(), SAMPLE_TEXT);
    assert_eq!(decode(SAMPLE_TEXT.as_bytes()), Ok(sample()));
}

#[test]
fn test_record_with_log_slot_round_trips() {
    let mut r = sample();
    let mut log = r.main.clone();
    log.pid = 77;
    log.readiness = Protocol::None;
    log.last_exit = Some(LastExit { how: ExitHow::Code(111), at: t(-5, 0) });
    log.status_text = b"a\\b\nc\td\x01\x7f\xc3\xa9".to_vec();
    r.log = Some(log);
    let text = encode(&r);
    let s = String::from_utf8(text.clone()).unwrap();
    assert!(s.contains("\nlog_pid=77\n"), "{s}");
    assert!(s.contains("\nlog_status_text=a\\\\b\\nc\\td\\x01\\x7fé\n"), "{s}");
    assert!(s.contains("\nlog_last_exit_at=-5.000000500\n"), "{s}");
    assert_eq!(decode(&text), Ok(r));
}

#[test]
fn test_record_unknown_keys_ignored_and_order_free() {
    let mut lines: alloc::vec::Vec<&str> = SAMPLE_TEXT.lines().collect();
    lines[1..].reverse();
    let mut text = lines.join("\n");
    text.push_str("\nX_future=1\nlog_x_future=2\n");
    assert_eq!(decode(text.as_bytes()), Ok(sample()));
}

fn err(text: &str) -> DecodeError {
    decode(text.as_bytes()).expect_err(text)
}

fn replace(key_line: &str, with: &str) -> String {
    SAMPLE_TEXT.replace(key_line, with)
}

#[test]
fn test_record_decode_errors() {
    assert_eq!(err("").kind, ErrorKind::Unterminated);
    assert_eq!(err(SAMPLE_TEXT.trim_end()).kind, ErrorKind::Unterminated);
    assert_eq!(err("\n").kind, ErrorKind::NoVersion);
    assert_eq!(err(&SAMPLE_TEXT.replace("version=1", "version=2")), DecodeError { line: 1, kind: ErrorKind::UnsupportedVersion(2) });
    assert_eq!(err(&SAMPLE_TEXT.replace("version=1", "state=run")).kind, ErrorKind::NoVersion);
    assert_eq!(err(&replace("pid=4242\n", "pid=4242\nbogus\n")), DecodeError { line: 4, kind: ErrorKind::NoEquals });
    assert_eq!(err(&replace("pid=4242\n", "pid=4242\npid=1\n")), DecodeError { line: 4, kind: ErrorKind::Duplicate("pid") });
    assert_eq!(err(&replace("pid=4242\n", "")).kind, ErrorKind::Missing("pid"));
    assert_eq!(err(&replace("pid=4242", "pid=-1")), DecodeError { line: 3, kind: ErrorKind::BadValue("pid") });
    assert_eq!(err(&replace("pid=4242", "pid=4294967296")).kind, ErrorKind::BadValue("pid"));
    assert_eq!(err(&replace("state=run", "state=up")).kind, ErrorKind::BadValue("state"));
    assert_eq!(err(&replace("wanted=up", "wanted=u")).kind, ErrorKind::BadValue("wanted"));
    assert_eq!(err(&replace("paused=0", "paused=")).kind, ErrorKind::BadValue("paused"));
    assert_eq!(err(&replace("readiness=sd_notify", "readiness=s6")).kind, ErrorKind::BadValue("readiness"));
    assert_eq!(err(&replace("since=1764921600.000123500", "since=1764921600.1235")).kind, ErrorKind::BadValue("since"));
    assert_eq!(err(&replace("since=1764921600.000123500", "since=1764921600")).kind, ErrorKind::BadValue("since"));
    assert_eq!(err(&replace("restarts=1", "restarts=one")).kind, ErrorKind::BadValue("restarts"));
    assert_eq!(err(&replace("last_exit_signal=15", "last_exit_signal=256")).kind, ErrorKind::BadValue("last_exit_signal"));
    assert_eq!(err(&replace("status_text=Serving", "status_text=\\q")).kind, ErrorKind::BadValue("status_text"));
    assert_eq!(
        err(&replace("last_exit_code=\n", "last_exit_code=0\n")).kind,
        ErrorKind::Inconsistent("last_exit_code and last_exit_signal both set")
    );
    assert_eq!(err(&replace("last_exit_signal=15", "last_exit_signal=")).kind, ErrorKind::Inconsistent("last_exit_at without an exit"));
    assert_eq!(
        err(&replace("last_exit_at=1764921599.900000500", "last_exit_at=")).kind,
        ErrorKind::Inconsistent("an exit without last_exit_at")
    );
    let partial_log = alloc::format!("{SAMPLE_TEXT}log_state=run\n");
    assert_eq!(err(&partial_log).kind, ErrorKind::Missing("pid"));
    let huge = alloc::format!("{SAMPLE_TEXT}X={}\n", "a".repeat(RECORD_MAX));
    assert_eq!(err(&huge), DecodeError { line: 0, kind: ErrorKind::TooLarge });
}

#[test]
fn test_record_time_extremes() {
    for secs in [0u64, 1, crate::time::TAI64_UNIX_EPOCH, u64::MAX, u64::MAX / 2] {
        for nanos in [0u32, 500, 999_999_999] {
            let mut v = vec![];
            push_time(&mut v, Tai64n { secs, nanos });
            assert_eq!(parse_time(&v), Some(Tai64n { secs, nanos }), "{}", String::from_utf8_lossy(&v));
        }
    }
    assert_eq!(parse_time(b"1.1000000000"), None);
    assert_eq!(parse_time(b"+1.000000000"), None);
    assert_eq!(parse_time(b"-9223372036854775809.000000000"), None);
    assert_eq!(parse_time(b"9223372036854775808.000000000"), None);
}

#[test]
fn test_record_escape_round_trip_all_bytes() {
    let all: alloc::vec::Vec<u8> = (0..=255u8).collect();
    let e = escape(&all);
    assert!(!e.contains(&b'\n'));
    assert!(e.iter().all(|&c| c >= 0x20 && c != 0x7f));
    assert_eq!(unescape(&e), Some(all));
    assert_eq!(unescape(b"\\"), None);
    assert_eq!(unescape(b"\\x4"), None);
    assert_eq!(unescape(b"\\xZZ"), None);
    assert_eq!(unescape(b"\\x41"), Some(b"A".to_vec()));
    assert_eq!(unescape(b"a\tb"), None);
}

#[test]
fn test_record_agrees_with_status_bytes() {
    let r = sample().main;
    let st = r.status();
    assert!(agrees(&r, &st));
    assert!(agrees(&r, &crate::status::StatusRecord::decode(&st.encode()).unwrap()));
    let mut other = st;
    other.pid = 1;
    assert!(!agrees(&r, &other));
    let mut other = st;
    other.stamp.nanos += 1;
    assert!(!agrees(&r, &other));
    let mut exit = r.clone();
    exit.wanted = Want::Exit;
    let mut down = st;
    down.want = b'd';
    assert!(agrees(&exit, &down) && !agrees(&exit, &st));
}

#[test]
fn test_record_invariants() {
    let r = sample().main;
    assert_eq!(r.broken_invariant(), None);
    let mut bad = r.clone();
    bad.state = RunState::Finish;
    assert_eq!(bad.broken_invariant(), Some("ready while no ./run runs"));
    let mut bad = r.clone();
    bad.ready_since = None;
    assert_eq!(bad.broken_invariant(), Some("ready_since set exactly when ready"));
    let mut bad = r;
    bad.ready = false;
    bad.ready_since = None;
    bad.state = RunState::Down;
    assert_eq!(bad.broken_invariant(), Some("down with a pid"));
}

#[test]
fn test_record_every_state_want_and_flag_round_trips() {
    for (state, wanted) in [(RunState::Down, Want::Down), (RunState::Finish, Want::Exit), (RunState::Run, Want::Up)] {
        let mut r = sample();
        r.main.state = state;
        r.main.wanted = wanted;
        r.main.normally_up = false;
        r.main.paused = true;
        r.main.got_term = true;
        r.main.ready = false;
        r.main.ready_since = None;
        r.main.last_exit = Some(LastExit { how: ExitHow::Code(0), at: t(0, 0) });
        let text = String::from_utf8(encode(&r)).unwrap();
        assert!(text.contains(&alloc::format!("\nstate={}\n", state.word())), "{text}");
        assert!(text.contains("\nnormally_up=0\npaused=1\ngot_term=1\n"), "{text}");
        assert_eq!(decode(text.as_bytes()), Ok(r));
    }
}

#[test]
fn test_record_size_limit_is_exact() {
    let pad = |total: usize| {
        let mut text = SAMPLE_TEXT.to_string();
        let filler = total - text.len() - "X=\n".len();
        text.push_str(&alloc::format!("X={}\n", "a".repeat(filler)));
        assert_eq!(text.len(), total);
        text
    };
    assert_eq!(decode(pad(RECORD_MAX).as_bytes()), Ok(sample()));
    assert_eq!(decode(pad(RECORD_MAX + 1).as_bytes()), Err(DecodeError { line: 0, kind: ErrorKind::TooLarge }));
    assert_eq!(RECORD_MAX, 16384);
}

#[test]
fn test_record_missing_key_names_the_last_line() {
    // 17 lines; without `pid`, 16: a missing key is reported at the end of the record.
    assert_eq!(err(&replace("pid=4242\n", "")), DecodeError { line: 16, kind: ErrorKind::Missing("pid") });
    let with_partial_log = alloc::format!("{SAMPLE_TEXT}log_state=run\nlog_pid=1\n");
    assert_eq!(err(&with_partial_log), DecodeError { line: 19, kind: ErrorKind::Missing("since") });
}

#[test]
fn test_record_backoff_keys_are_a_minor_addition() {
    let mut r = sample();
    r.main.backoff = Some(BackoffRecord { given_up: true, restart_delay_ms: 0 });
    r.main.state = RunState::Down;
    r.main.pid = 0;
    r.main.wanted = Want::Down;
    r.main.ready = false;
    r.main.ready_since = None;
    let text = encode(&r);
    let s = String::from_utf8(text.clone()).unwrap();
    assert!(s.ends_with("status_text=Serving 3 clients\ngiven_up=1\nrestart_delay_ms=0\n"), "{s}");
    assert_eq!(decode(&text), Ok(r.clone()));
    assert_eq!(r.main.broken_invariant(), None);
    // Without the keys (an older runsv, or a service without the files): no backoff.
    assert_eq!(decode(SAMPLE_TEXT.as_bytes()).unwrap().main.backoff, None);
    // Both or neither; values as written.
    let only_one = s.replace("restart_delay_ms=0\n", "");
    assert_eq!(decode(only_one.as_bytes()).unwrap_err().kind, ErrorKind::Missing("restart_delay_ms"));
    let bad = s.replace("given_up=1", "given_up=yes");
    assert_eq!(decode(bad.as_bytes()).unwrap_err().kind, ErrorKind::BadValue("given_up"));
    let twice = s.clone() + "given_up=0\n";
    assert_eq!(decode(twice.as_bytes()).unwrap_err().kind, ErrorKind::Duplicate("given_up"));
    // Given up is only ever down with want down.
    let mut wrong = r.main.clone();
    wrong.wanted = Want::Up;
    assert!(wrong.broken_invariant().is_some());
}
