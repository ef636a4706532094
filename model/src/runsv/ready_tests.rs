//! Unit tests per (phase, readiness input): `test_<phase>_<input>`, and the record's
//! agreement with the 20 bytes after every action.

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::readiness::{Protocol, Sender};
use crate::record::{self, ExitHow};
use crate::scripted::Scripted;
use crate::status::{RunState, StatusRecord};
use crate::time::Wall;

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };
const CHILD: u32 = 100;

crate::scripted_harness!(H, Runsv);

impl H {
    fn new(protocol: Protocol, watchdog_ms: Option<u64>, log: Option<bool>) -> H {
        let readiness = Readiness { protocol, watchdog: watchdog_ms.map(Span::from_millis) };
        H(Scripted::new(Runsv::new(T0, Config { dir: b"s".to_vec(), down: false, log, readiness }), T0))
    }
    /// Started and answered until `./run` runs as `pid`.
    fn running(protocol: Protocol, watchdog_ms: Option<u64>) -> H {
        let mut h = H::new(protocol, watchdog_ms, None);
        h.feed(Input::Start);
        let a = h.0.answer(script::started(CHILD, 0));
        checked(&a);
        h
    }
    /// Feeds one input; checks that every record written agrees with its 20 bytes and keeps
    /// the readiness invariants.
    fn feed(&mut self, i: Input) -> Vec<Action> {
        let out = self.0.feed(i);
        checked(&out);
        out
    }
    fn advance(&mut self, ms: u64) {
        self.0.advance_ms(ms);
    }
    fn rec(&self) -> record::SlotRecord {
        self.m.record().main
    }
    fn notify(&mut self, pid: i32, ancestors: &[i32], payload: &[u8]) -> Vec<Action> {
        let sender = Some(Sender { pid, ancestors: ancestors.to_vec() });
        self.feed(Input::Notify { sender, payload: payload.to_vec(), fds: 0, truncated: false })
    }
}

/// Every record written agrees with its 20 bytes and keeps the readiness invariants.
fn checked(actions: &[Action]) {
    for a in actions {
        if let Action::WriteStatus { slot: Slot::Main, status, ext: Some(ext), .. } = a {
            let rec = record::decode(ext).expect("the record decodes");
            let st = StatusRecord::decode(status).expect("20 bytes");
            assert!(record::agrees(&rec.main, &st), "{rec:?} vs {st:?}");
            assert_eq!(rec.main.broken_invariant(), None);
        }
    }
}

fn warns(a: &[Action]) -> Vec<Vec<u8>> {
    a.iter().filter_map(|a| if let Action::Warn(w) = a { Some(w.clone()) } else { None }).collect()
}

fn exts(a: &[Action]) -> usize {
    a.iter().filter(|a| matches!(a, Action::WriteStatus { ext: Some(_), .. })).count()
}

#[test]
fn test_no_protocol_writes_no_record_and_is_ready_at_start() {
    let mut h = H::new(Protocol::None, None, Some(false));
    let a = h.feed(Input::Start);
    assert!(a.iter().all(|a| matches!(a, Action::WriteStatus { ext: None, .. } | Action::RunControl(_) | Action::Spawn { .. })));
    h.feed(Input::Spawned(Slot::Log, 10));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    let a = h.feed(Input::Spawned(Slot::Main, CHILD));
    assert_eq!(exts(&a), 0);
    assert!(!h.m.writes_record());
    assert!(h.m.slot(Slot::Main).unwrap().is_ready());
    // Readiness inputs do nothing without a protocol.
    assert!(h.notify(CHILD as i32, &[], b"READY=1\nSTATUS=x").is_empty());
    assert!(h.feed(Input::NotificationFd { pid: CHILD, chunk: b"\n".to_vec() }).is_empty());
}

#[test]
fn test_starting_spawned_with_protocol_is_not_ready_and_writes_record() {
    let mut h = H::new(Protocol::NotificationFd, None, None);
    let a = h.feed(Input::Start);
    assert_eq!(exts(&a), 1);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    let a = h.feed(Input::Spawned(Slot::Main, CHILD));
    assert_eq!(exts(&a), 1);
    let r = h.rec();
    assert_eq!((r.state, r.pid, r.ready, r.readiness, r.restarts), (RunState::Run, CHILD, false, Protocol::NotificationFd, 0));
}

#[test]
fn test_run_notification_fd_newline_makes_ready_and_closes_pipe() {
    let mut h = H::running(Protocol::NotificationFd, None);
    assert!(h.feed(Input::NotificationFd { pid: CHILD, chunk: b"starting".to_vec() }).is_empty());
    h.advance(250);
    let a = h.feed(Input::NotificationFd { pid: CHILD, chunk: b"ok\n".to_vec() });
    assert!(a.contains(&Action::CloseNotificationFd));
    assert_eq!(exts(&a), 1);
    let r = h.rec();
    assert!(r.ready);
    assert_eq!(r.ready_since, Some(Tai64n::from_wall(h.now.wall)));
    // Later bytes (the pipe is closed) change nothing.
    assert!(h.feed(Input::NotificationFd { pid: CHILD, chunk: b"\n".to_vec() }).is_empty());
}

#[test]
fn test_run_notification_fd_eof_closes_without_ready() {
    let mut h = H::running(Protocol::NotificationFd, None);
    let a = h.feed(Input::NotificationFd { pid: CHILD, chunk: Vec::new() });
    assert_eq!(a, vec![Action::CloseNotificationFd]);
    assert!(!h.rec().ready);
    assert_eq!(h.rec().state, RunState::Run, "no kill: s6's rule");
}

#[test]
fn test_run_notification_fd_for_another_pid_ignored() {
    let mut h = H::running(Protocol::NotificationFd, None);
    assert!(h.feed(Input::NotificationFd { pid: CHILD + 1, chunk: b"\n".to_vec() }).is_empty());
    assert!(!h.rec().ready);
}

#[test]
fn test_run_reaped_clears_ready_closes_pipe_and_records_exit() {
    let mut h = H::running(Protocol::NotificationFd, None);
    h.advance(20_000);
    let a = h.feed(Input::ChildExited { pid: CHILD, status: 3 << 8, finish_present: false });
    assert!(a.contains(&Action::CloseNotificationFd), "an open pipe is closed at the reap");
    let r = h.rec();
    assert_eq!((r.state, r.ready, r.ready_since), (RunState::Down, false, None));
    assert_eq!(r.last_exit.map(|e| e.how), Some(ExitHow::Code(3)));
    assert_eq!(r.quick_deaths, 1, "never ready: quick whatever the run time");
    // The restart: a new child, not ready, restarts = 1.
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::Spawned(Slot::Main, CHILD + 1));
    let r = h.rec();
    assert_eq!((r.pid, r.ready, r.restarts), (CHILD + 1, false, 1));
    assert!(h.feed(Input::NotificationFd { pid: CHILD, chunk: b"\n".to_vec() }).is_empty(), "never set for a previous child");
    assert!(!h.rec().ready);
}

#[test]
fn test_run_quick_death_counting() {
    let mut h = H::running(Protocol::None, None);
    // None: ready at start; a short run is quick, a long one resets the count.
    h.feed(Input::ChildExited { pid: CHILD, status: 9, finish_present: false });
    assert_eq!(h.m.record().main.quick_deaths, 1);
    assert_eq!(h.m.record().main.last_exit.map(|e| e.how), Some(ExitHow::Signal(9)));
    h.advance(1000);
    h.feed(Input::Tick);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::Spawned(Slot::Main, CHILD + 1));
    h.advance(10_000);
    h.feed(Input::ChildExited { pid: CHILD + 1, status: 0, finish_present: false });
    assert_eq!(h.m.record().main.quick_deaths, 0);
}

#[test]
fn test_run_death_after_d_is_not_quick() {
    let mut h = H::running(Protocol::SdNotify, None);
    h.feed(Input::Control(Slot::Main, b'd'));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::ChildExited { pid: CHILD, status: 15, finish_present: false });
    assert_eq!(h.rec().quick_deaths, 0);
}

#[test]
fn test_run_notify_ready_status_stopping() {
    let mut h = H::running(Protocol::SdNotify, None);
    let a = h.notify(CHILD as i32, &[1], b"STATUS=starting up");
    assert_eq!(exts(&a), 1);
    assert_eq!(h.rec().status_text, b"starting up");
    assert!(!h.rec().ready);
    h.advance(5);
    let a = h.notify(4242, &[CHILD as i32, 1], b"READY=1\n");
    assert_eq!(exts(&a), 1, "a descendant of ./run counts");
    assert_eq!(h.rec().ready_since, Some(Tai64n::from_wall(h.now.wall)));
    assert!(h.notify(CHILD as i32, &[], b"READY=1").is_empty(), "a second READY=1 is a no-op");
    h.notify(CHILD as i32, &[], b"STOPPING=1");
    assert!(!h.rec().ready);
    h.notify(CHILD as i32, &[], b"READY=1");
    assert!(!h.rec().ready, "STOPPING=1 is final for this child");
}

#[test]
fn test_run_notify_forged_ignored_with_warning() {
    let mut h = H::running(Protocol::SdNotify, None);
    let a = h.notify(777, &[1], b"READY=1");
    assert_eq!(warns(&a), vec![b"runsv s: warning: notify datagram from pid 777 ignored: not this service\n".to_vec()]);
    assert!(!h.rec().ready);
    let a = h.feed(Input::Notify { sender: None, payload: b"READY=1".to_vec(), fds: 0, truncated: false });
    assert_eq!(warns(&a).len(), 1);
    assert!(!h.rec().ready);
}

#[test]
fn test_run_notify_malformed_warns_and_continues() {
    let mut h = H::running(Protocol::SdNotify, None);
    let a = h.feed(Input::Notify {
        sender: Some(Sender { pid: CHILD as i32, ancestors: vec![] }),
        payload: vec![b'x'; 5000],
        fds: 0,
        truncated: false,
    });
    assert_eq!(warns(&a), vec![b"runsv s: warning: notify datagram dropped: 4096 bytes or more\n".to_vec()]);
    let a = h.notify(CHILD as i32, &[], b"READY=yes\nSTATUS=a");
    assert_eq!(warns(&a), vec![b"runsv s: warning: notify: invalid READY=, ignored\n".to_vec()]);
    assert_eq!((h.rec().ready, h.rec().status_text.as_slice()), (false, &b"a"[..]));
}

#[test]
fn test_down_and_finish_notify_dropped_silently() {
    let mut h = H::running(Protocol::SdNotify, None);
    h.feed(Input::ChildExited { pid: CHILD, status: 0, finish_present: true });
    h.feed(Input::Spawned(Slot::Main, 200));
    assert_eq!(h.rec().state, RunState::Finish);
    assert!(h.notify(200, &[], b"READY=1").is_empty(), "./finish is nobody to credit");
    assert!(h.notify(CHILD as i32, &[], b"READY=1").is_empty());
    assert!(!h.rec().ready);
}

#[test]
fn test_run_watchdog_missed_aborts_then_kills_then_restarts() {
    let mut h = H::running(Protocol::SdNotify, Some(2000));
    assert_eq!(h.m.poll_deadline(), Some(h.now.mono + Span::from_millis(2000)));
    h.advance(1500);
    h.notify(CHILD as i32, &[], b"WATCHDOG=1");
    h.advance(1500);
    assert!(h.feed(Input::Tick).is_empty(), "a ping moved the deadline");
    h.advance(500);
    let a = h.feed(Input::Tick);
    assert_eq!(warns(&a), vec![b"runsv s: warning: watchdog timeout\n".to_vec()]);
    assert!(a.contains(&Action::Signal(Slot::Main, CHILD, Sig::Abrt)));
    assert!(h.notify(CHILD as i32, &[], b"WATCHDOG=1").is_empty(), "no rescue after the abort");
    h.advance(2000);
    let a = h.feed(Input::Tick);
    assert_eq!(a, vec![Action::Signal(Slot::Main, CHILD, Sig::Kill)]);
    assert_eq!(h.m.poll_deadline(), None);
    let a = h.feed(Input::ChildExited { pid: CHILD, status: 9, finish_present: false });
    assert!(a.contains(&Action::RunControl(b'u')), "the ordinary restart follows");
}

#[test]
fn test_run_watchdog_trigger_and_usec_and_term_stops_it() {
    let mut h = H::running(Protocol::SdNotify, Some(60_000));
    h.notify(CHILD as i32, &[], b"WATCHDOG_USEC=1000000");
    assert_eq!(h.m.poll_deadline(), Some(h.now.mono + Span::from_secs(1)));
    let a = h.notify(CHILD as i32, &[], b"WATCHDOG=trigger");
    assert!(a.contains(&Action::Signal(Slot::Main, CHILD, Sig::Abrt)));
    let mut h = H::running(Protocol::SdNotify, Some(1000));
    h.feed(Input::Control(Slot::Main, b't'));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(h.m.poll_deadline(), None, "a service being stopped is not aborted");
    let mut h = H::running(Protocol::SdNotify, Some(1000));
    h.notify(CHILD as i32, &[], b"WATCHDOG_USEC=0");
    assert_eq!(h.m.poll_deadline(), None);
}

#[test]
fn test_both_protocols_first_event_wins() {
    let mut h = H::running(Protocol::Both, None);
    h.notify(CHILD as i32, &[], b"READY=1");
    let since = h.rec().ready_since;
    assert!(since.is_some());
    h.advance(100);
    let a = h.feed(Input::NotificationFd { pid: CHILD, chunk: b"\n".to_vec() });
    assert_eq!(a, vec![Action::CloseNotificationFd]);
    assert_eq!(h.rec().ready_since, since);
}

#[test]
fn test_record_carries_log_slot() {
    let mut h = H::new(Protocol::SdNotify, None, Some(true));
    let a = h.feed(Input::Start);
    assert_eq!(exts(&a), 2, "the log slot's update rewrites the record too");
    let rec = h.m.record();
    assert_eq!(rec.log.as_ref().map(|l| (l.normally_up, l.readiness)), Some((false, Protocol::None)));
    assert!(rec.main.normally_up);
}

#[test]
fn test_s6_compat_only_with_notification_fd() {
    let lock = |protocol| Readiness { protocol, watchdog: None }.s6_compat();
    assert!(lock(Protocol::NotificationFd));
    assert!(lock(Protocol::Both));
    assert!(!lock(Protocol::SdNotify), "sd_notify alone: no s6 client to satisfy");
    assert!(!lock(Protocol::None), "a runit service directory: runit's flock only");
}
