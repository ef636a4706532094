//! Unit tests per (phase, input) of svlogd's logger machine, driven by the scripted
//! executor of [`verification::tables::svlogd`] (they live here, not in the model,
//! because that executor is test support and does not ship).

use model::errno::Errno;
use model::svlogd::logger::{Input, OpenStep, Sig, UdpOutcome};
use model::Machine;
use verification::tables::svlogd::{Faults, Harness};

fn started(argv: &[&str], faults: Faults) -> Harness {
    let mut h = Harness::new(argv, faults);
    h.feed(Input::Start);
    h
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn count(h: &Harness, label: &str) -> usize {
    h.actions.iter().filter(|a| a.as_str() == label).count()
}

#[test]
fn test_new_start() {
    let mut h = Harness::new(&["svlogd", "-v", "d"], Faults::default());
    assert_eq!(h.m.phase(), "new");
    h.feed(Input::Start);
    assert_eq!(h.actions[0], "OpenDir");
    assert_eq!(h.m.phase(), "reading");
    assert_eq!(text(&h.stderr), "svlogd: info: new: d/current\n");
}

#[test]
fn test_awaiting_dir_open_dir_opened_error() {
    let h = started(&["svlogd", "d"], Faults { open_dir: Some((OpenStep::Lock, Errno::EAGAIN)), ..Faults::default() });
    assert_eq!(
        text(&h.stderr),
        "svlogd: warning: unable to lock directory: d: temporary failure\nsvlogd: fatal: no functional log directories.\n"
    );
    assert_eq!(h.actions.last().map(String::as_str), Some("Exit(111)"));
    assert!(h.m.is_done());
}

#[test]
fn test_reading_data_whole_lines() {
    let mut h = started(&["svlogd", "d", "e"], Faults::default());
    h.feed(Input::Data(b"one\ntwo\n".to_vec()));
    assert_eq!(h.written, [b"one\ntwo\n".to_vec(), b"one\ntwo\n".to_vec()]);
    // One write per directory for the whole read.
    assert_eq!(count(&h, "Write"), 2);
    assert_eq!(h.m.phase(), "reading");
}

#[test]
fn test_reading_data_ends_mid_line() {
    let mut h = started(&["svlogd", "-tt", "d"], Faults::default());
    h.feed(Input::Data(b"par".to_vec()));
    assert!(h.written[0].is_empty());
    h.feed(Input::Data(b"tial\n".to_vec()));
    assert_eq!(text(&h.written[0]), "2027-01-15_08:00:00.00000 partial\n");
}

#[test]
fn test_reading_eof_drops_short_partial_keeps_long() {
    let mut h = started(&["svlogd", "d"], Faults::default());
    h.feed(Input::Data(b"x\npartial".to_vec()));
    h.feed(Input::Eof);
    assert_eq!(text(&h.written[0]), "x\n");
    assert!(h.m.is_done());
    let mut h = started(&["svlogd", "-l", "3", "d"], Faults::default());
    h.feed(Input::Data(b"abcdef".to_vec()));
    h.feed(Input::Eof);
    assert_eq!(text(&h.written[0]), "abcdef\n");
}

#[test]
fn test_reading_signal_alrm() {
    let mut h = started(&["svlogd", "d"], Faults::default());
    h.feed(Input::Signal(Sig::Alrm));
    assert_eq!(count(&h, "RenameCurrent"), 0, "empty current is not rotated");
    h.feed(Input::Data(b"a\n".to_vec()));
    h.feed(Input::Signal(Sig::Alrm));
    assert_eq!(count(&h, "RenameCurrent"), 1);
    assert_eq!(h.m.current_size(0), 0);
}

#[test]
fn test_reading_signal_term() {
    let mut h = started(&["svlogd", "d"], Faults::default());
    h.feed(Input::Data(b"half".to_vec()));
    h.feed(Input::Signal(Sig::Term));
    assert_eq!(h.m.phase(), "reading to end of line (after TERM)");
    assert_eq!(h.actions.last().map(String::as_str), Some("ArmRead(1 byte)"));
    h.feed(Input::Data(b"\n".to_vec()));
    assert!(h.m.is_done());
    assert_eq!(text(&h.written[0]), "half\n");
}

#[test]
fn test_awaiting_write_wrote_error_pauses_and_retries() {
    let mut h = started(&["svlogd", "d"], Faults { write_errors: [Errno::EIO].into_iter().collect(), ..Faults::default() });
    h.feed(Input::Data(b"keep\n".to_vec()));
    assert_eq!(h.m.phase(), "paused (3 s retry)");
    assert_eq!(text(&h.stderr), "svlogd: pausing: unable to write to current: d: input/output error\n");
    h.tick(1);
    assert!(h.written[0].is_empty(), "no retry before 3 s");
    h.tick(2);
    assert_eq!(text(&h.written[0]), "keep\n");
    assert_eq!(h.m.phase(), "reading");
}

#[test]
fn test_awaiting_write_wrote_enospc_scans_when_min_below_max() {
    let faults = Faults { config: Some(b"n5\nN1\n".into()), write_errors: [Errno::ENOSPC].into_iter().collect(), ..Faults::default() };
    let mut h = started(&["svlogd", "d"], faults);
    h.feed(Input::Data(b"x\n".to_vec()));
    assert!(h.actions.iter().any(|a| a == "ScanDir"));
    // Nothing to delete (no old files): pause with runit's message.
    assert_eq!(text(&h.stderr), "svlogd: pausing: unable to write to current: d: out of disk space\n");
    h.tick(3);
    assert_eq!(text(&h.written[0]), "x\n");
}

#[test]
fn test_awaiting_stat_current_unclean() {
    let h = started(&["svlogd", "-v", "d"], Faults { current: Some((9, false)), ..Faults::default() });
    assert_eq!(count(&h, "RenameCurrent"), 1);
    assert!(text(&h.stderr).ends_with("svlogd: info: new: d/current\n"));
    let h = started(&["svlogd", "-v", "d"], Faults { current: Some((9, true)), ..Faults::default() });
    assert_eq!(count(&h, "RenameCurrent"), 0);
    assert_eq!(h.m.current_size(0), 9);
    assert!(text(&h.stderr).ends_with("svlogd: info: append: d/current\n"));
}

#[test]
fn test_waiting_for_processor_child_exited() {
    let mut h = started(&["svlogd", "d"], Faults { config: Some(b"s4\n!cat\n".into()), ..Faults::default() });
    h.feed(Input::Data(b"abcdef\n".to_vec()));
    assert_eq!(count(&h, "StartProcessor"), 1);
    // The second rotation waits for the first processor: input is back-pressured.
    h.feed(Input::Data(b"gh\n".to_vec()));
    assert_eq!(h.m.phase(), "waiting for processor");
    h.feed(Input::ChildExited { pid: 101, status: 1 << 8 });
    assert!(text(&h.stderr).contains("svlogd: warning: processor failed, restart: d\n"));
    assert_eq!(count(&h, "StartProcessor"), 1, "restart waits for the pause");
    h.tick(3);
    assert_eq!(count(&h, "StartProcessor"), 2);
    h.feed(Input::ChildExited { pid: 102, status: 0 });
    assert!(h.actions.iter().any(|a| a == "RenameState"));
    assert_eq!(count(&h, "StartProcessor"), 3, "the waiting rotation went ahead");
}

#[test]
fn test_waiting_for_processor_signal_kill_is_failure() {
    let mut h = started(&["svlogd", "d"], Faults { config: Some(b"s4\n!cat\n".into()), ..Faults::default() });
    h.feed(Input::Data(b"abcdef\n".to_vec()));
    h.feed(Input::ChildExited { pid: 101, status: 9 });
    assert!(text(&h.stderr).contains("processor failed, restart"));
    assert!(!h.actions.iter().any(|a| a == "RenameState"));
}

#[test]
fn test_reading_tick_time_rotation() {
    let mut h = started(&["svlogd", "d"], Faults { config: Some(b"t2\n".into()), ..Faults::default() });
    h.feed(Input::Data(b"a\n".to_vec()));
    assert_eq!(h.m.poll_deadline(), Some(model::time::Mono(3_000_000_000)));
    h.tick(1);
    assert_eq!(count(&h, "RenameCurrent"), 0);
    h.tick(1);
    assert_eq!(count(&h, "RenameCurrent"), 1);
    h.tick(2);
    assert_eq!(count(&h, "RenameCurrent"), 1, "empty current is not rotated");
}

#[test]
fn test_awaiting_udp_send_udp_sent_failed() {
    let faults = Faults { config: Some(b"u127.0.0.1:9\n".into()), udp: Some(UdpOutcome::Failed), ..Faults::default() };
    let mut h = started(&["svlogd", "d"], faults);
    h.feed(Input::Data(b"u\n".to_vec()));
    assert_eq!(text(&h.written[0]), "warning: failure sending through udp: u\nu\n");
}

#[test]
fn regression_pattern_deselect_stops_file_and_rest_of_long_line() {
    // A deselected over-long line must not leak its tail into the file.
    let mut h = started(&["svlogd", "-l", "3", "d"], Faults { config: Some(b"-ab*\n".into()), ..Faults::default() });
    h.feed(Input::Data(b"abcdef\nxyz\n".to_vec()));
    assert_eq!(text(&h.written[0]), "xyz\n");
    let _ = Vec::<u8>::new();
}

#[test]
fn regression_no_past_deadline_while_paused() {
    // A processor restart falling due during a write pause must not leave a deadline in
    // the past (the loop would spin until the pause ends).
    let mut h = started(&["svlogd", "d"], Faults { config: Some(b"s4\n!cat\n".into()), ..Faults::default() });
    h.feed(Input::Data(b"abcdef\n".to_vec()));
    h.feed(Input::ChildExited { pid: 101, status: 1 << 8 }); // restart due in 3 s
    h.tick(2);
    h.faults.write_errors.push_back(Errno::EIO);
    h.feed(Input::Data(b"x\n".to_vec())); // paused for 3 s from here
    assert_eq!(h.m.phase(), "paused (3 s retry)");
    h.tick(1); // the restart is due, the pause is not over
    let d = h.m.poll_deadline().expect("a deadline");
    assert!(d > h.now.mono, "deadline in the past: {d:?} <= {:?}", h.now.mono);
    h.tick(2);
    assert_eq!(count(&h, "StartProcessor"), 2);
    // The line end needs a rotation (s4 is full), which waits for the processor.
    assert_eq!(text(&h.written[0]), "abcdef\nx");
    assert_eq!(h.m.phase(), "waiting for processor");
    h.feed(Input::ChildExited { pid: 102, status: 0 });
    assert_eq!(text(&h.written[0]), "abcdef\nx\n");
}
