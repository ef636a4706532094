//! Tests written to kill mutants that cargo-mutants found surviving in
//! `model/src/runsv/` (function names as of the explicit-phase shape, issue 14); see
//! docs/assurance.md, "Mutation testing".

use model::runsv::{script, Action, Config, ControlOutcome, Input, Owed, Runsv, Slot};
use model::scripted::Scripted;
use model::time::{Mono, Now, Span, Wall};
use model::Machine;

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

model::scripted_harness!(H, Runsv);

impl H {
    fn new(log: Option<bool>) -> H {
        H(Scripted::new(Runsv::new(T0, Config { dir: b"s".to_vec(), down: false, log, readiness: Default::default() }), T0))
    }
    /// Feeds `i`, then answers owed control scripts as absent; all actions.
    fn settle(&mut self, i: Input) -> Vec<Action> {
        self.run(i, script::controls_absent)
    }
    /// A normally-up service without log whose `./run` runs as `pid`.
    fn running(pid: u32) -> H {
        let mut h = H::new(None);
        h.run(Input::Start, script::started(pid, 0));
        h
    }
}

/// Control bytes are read only for an existing slot, and not while a reply is owed
/// (kills `accepts_control -> true` and both `&& -> ||`).
#[test]
fn accepts_control_only_when_idle_and_slot_exists() {
    let mut h = H::new(None);
    assert!(h.m.accepts_control(Slot::Main));
    assert!(!h.m.accepts_control(Slot::Log), "no log service, no log control");
    h.feed(Input::Start);
    assert!(h.m.owed().is_some());
    assert!(!h.m.accepts_control(Slot::Main), "a reply is owed");
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::Spawned(Slot::Main, 7));
    assert!(h.m.owed().is_none());
    assert!(h.m.accepts_control(Slot::Main));
    assert!(!h.m.accepts_control(Slot::Log));
}

/// A control byte for the log slot of a service without log is ignored (kills
/// `route`'s slot lookup -> any slot, which would reach for the missing slot).
#[test]
fn log_control_without_log_is_ignored() {
    let mut h = H::running(7);
    for b in [b'd', b'u', b'x', b't', b'k'] {
        assert!(h.feed(Input::Control(Slot::Log, b)).is_empty());
    }
}

/// No deadline while a reply is owed (kills `|| -> &&` in `poll_deadline`): the runtime
/// must answer first, and a deadline would make it tick a machine that is waiting.
#[test]
fn no_deadline_while_reply_owed() {
    let mut h = H::new(None);
    h.feed(Input::Start);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert!(h.m.owed().is_some());
    assert_eq!(h.m.poll_deadline(), None);
}

/// After exiting, a tick does nothing (kills `|| -> &&` in `loop_top`'s guard, which would
/// run the exit check again and emit a second `Exit`).
#[test]
fn nothing_after_exit() {
    let mut h = H::running(7);
    let a = h.settle(Input::Control(Slot::Main, b'x'));
    assert!(!a.iter().any(|a| matches!(a, Action::Exit(_))));
    let a = h.settle(Input::ChildExited { pid: 7, status: 15, finish_present: false });
    assert!(a.iter().any(|a| matches!(a, Action::Exit(0))), "{a:?}");
    h.now = h.now.after(Span::from_secs(2));
    assert!(h.feed(Input::Tick).is_empty());
    assert_eq!(h.m.poll_deadline(), None);
}

/// Feeds a reply the machine did not ask for and checks the documented behaviour in both
/// build profiles: a debug build stops on the `debug_assert!` ("unexpected reply"); a
/// release build ignores the reply (no action, machine unchanged, the owed reply still
/// owed).
fn assert_reply_refused(h: &mut H, reply: Input) {
    let before = h.m.clone();
    let owed = h.m.owed();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.feed_unchecked(reply)));
    if cfg!(debug_assertions) {
        let payload = result.expect_err("debug builds assert on a reply nobody asked for");
        let msg = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
        assert!(msg.as_deref().is_some_and(|m| m.contains("unexpected reply")), "panic message {msg:?}");
    } else {
        let actions = result.expect("release builds ignore a reply nobody asked for");
        assert!(actions.is_empty(), "{actions:?}");
        assert_eq!(h.m, before, "the machine changed on a refused reply");
        assert_eq!(h.m.owed(), owed);
    }
}

/// Answers start-up until a spawn is owed (for a service with a log); returns its slot.
fn until_spawn_owed(h: &mut H) -> Slot {
    h.run(Input::Start, script::controls_absent);
    match h.m.owed() {
        Some(Owed::Spawn(slot)) => slot,
        owed => panic!("no spawn owed after start-up: {owed:?}"),
    }
}

fn other(slot: Slot) -> Slot {
    if slot == Slot::Main {
        Slot::Log
    } else {
        Slot::Main
    }
}

/// A spawn reply for the other slot is not taken as the owed one (kills the
/// `owed == slot` guards -> true).
#[test]
fn spawned_reply_for_wrong_slot_is_refused() {
    let mut h = H::new(Some(false));
    let slot = until_spawn_owed(&mut h);
    assert_reply_refused(&mut h, Input::Spawned(other(slot), 9));
}

/// The same for a spawn failure.
#[test]
fn spawn_failed_for_wrong_slot_is_refused() {
    let mut h = H::new(Some(false));
    let slot = until_spawn_owed(&mut h);
    assert_reply_refused(&mut h, Input::SpawnFailed(other(slot), model::errno::Errno::EAGAIN));
}

/// While the finish script's spawn is owed and `./run` is throttled, there is no deadline
/// (kills `|| -> &&` in `poll_deadline`'s guard, which would report the throttle end).
#[test]
fn no_deadline_while_finish_spawn_owed_under_throttle() {
    let mut h = H::running(7);
    let a = h.settle(Input::ChildExited { pid: 7, status: 0, finish_present: true });
    assert_eq!(a.iter().filter(|a| matches!(a, Action::Spawn { .. })).count(), 1, "{a:?}");
    assert!(matches!(h.m.owed(), Some(Owed::Spawn(Slot::Main))));
    assert_eq!(h.m.poll_deadline(), None);
}

/// When `./run` exits after the throttle, only `./finish` is spawned; `./run` waits for
/// the owed reply and for finish to end (kills `|| -> &&` in `loop_top`'s guard).
#[test]
fn finish_spawn_owed_blocks_restart() {
    let mut h = H::running(7);
    h.now = h.now.after(Span::from_secs(2));
    let a = h.settle(Input::ChildExited { pid: 7, status: 0, finish_present: true });
    assert_eq!(a.iter().filter(|a| matches!(a, Action::Spawn { .. })).count(), 1, "{a:?}");
    assert!(h.m.owed().is_some());
}

/// With a log service: `./run` is throttled (two quick exits) while the log's restart is
/// owed; no deadline may be reported until the spawn is answered (kills `|| -> &&` in
/// `poll_deadline`'s guard, which would report the main throttle end).
#[test]
fn no_deadline_while_log_spawn_owed_and_main_throttled() {
    let mut h = H::new(Some(false));
    let mut next_pid = 10;
    let mut pid_of = |h: &mut H, i: Input| -> Vec<(Slot, u32)> {
        let mut got = Vec::new();
        h.run(i, |o| match *o {
            Owed::Control(_) => Some(Input::ControlDone(ControlOutcome::Absent)),
            Owed::Spawn(slot) => {
                next_pid += 1;
                got.push((slot, next_pid));
                Some(Input::Spawned(slot, next_pid))
            }
        });
        got
    };
    let started = pid_of(&mut h, Input::Start);
    let main = started.iter().find(|(s, _)| *s == Slot::Main).map(|p| p.1).expect("main started");
    let log = started.iter().find(|(s, _)| *s == Slot::Log).map(|p| p.1).expect("log started");
    h.now = h.now.after(Span::from_secs(2));
    let again = pid_of(&mut h, Input::ChildExited { pid: main, status: 0, finish_present: false });
    let main2 = again.iter().find(|(s, _)| *s == Slot::Main).map(|p| p.1).expect("main restarted at once");
    h.now = h.now.after(Span::from_millis(100));
    assert!(pid_of(&mut h, Input::ChildExited { pid: main2, status: 0, finish_present: false }).is_empty(), "throttled");
    assert!(h.m.poll_deadline().is_some(), "throttle deadline");
    h.now = h.now.after(Span::from_millis(100));
    h.feed(Input::ChildExited { pid: log, status: 0, finish_present: false });
    assert!(matches!(h.m.owed(), Some(Owed::Spawn(Slot::Log))), "{:?}", h.m.owed());
    assert_eq!(h.m.poll_deadline(), None, "deadline reported while a spawn reply is owed");
}
