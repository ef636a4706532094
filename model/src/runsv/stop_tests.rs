//! Unit tests per (phase, input) for the stop files (`stop.rs`): `test_<phase>_<input>`.

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::scripted::Scripted;
use crate::status::RunState;
use crate::time::Wall;

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

/// Every file: HUP, kill after 2 s, finish limit 3 s, own group.
const ALL: Stop = Stop { signal: Sig::Hup, kill_after: Some(Span::from_secs(2)), finish_limit: Some(Span::from_secs(3)), group: true };

crate::scripted_harness!(H, Runsv);

impl H {
    /// A service with `stop`, started and running as pid 42 (the spawn checked).
    fn running(stop: Stop, log: Option<bool>) -> H {
        let m = Runsv::new(T0, Config { dir: b"s".to_vec(), down: false, log, readiness: Default::default() }).with_stop(stop);
        let mut h = H(Scripted::new(m, T0));
        let a = h.run(Input::Start, script::started(42, 7));
        let spawns: Vec<&Action> = a.iter().filter(|a| matches!(a, Action::Spawn { program: Program::Run, .. })).collect();
        assert!(matches!(&spawns[..], [Action::Spawn { own_group, .. }] if *own_group == stop.group), "{a:?}");
        h
    }
    fn advance(&mut self, ms: u64) {
        self.0.advance_ms(ms);
    }
    /// `d`, answering `control/t` and `control/d` as absent.
    fn down(&mut self) -> Vec<Action> {
        self.run(Input::Control(Slot::Main, b'd'), script::controls_absent)
    }
    fn main(&self) -> &SlotState {
        self.m.slot(Slot::Main).unwrap()
    }
}

/// The signals sent, each with whether it went to the group.
fn sent(actions: &[Action]) -> Vec<(Sig, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Signal(_, 42, s) => Some((*s, false)),
            Action::SignalGroup(_, 42, s) => Some((*s, true)),
            _ => None,
        })
        .collect()
}

#[test]
fn test_run_down_without_files_is_runit() {
    let mut h = H::running(Stop::RUNIT, None);
    assert_eq!(sent(&h.down()), vec![(Sig::Term, false), (Sig::Cont, false)]);
    assert_eq!(h.main().kill_at(), None);
    assert_eq!(h.m.poll_deadline(), None, "no wake-up for a service without the files");
}

#[test]
fn test_run_down_sends_down_signal_and_cont_to_the_group_and_arms_the_kill() {
    let mut h = H::running(ALL, None);
    assert_eq!(sent(&h.down()), vec![(Sig::Hup, true), (Sig::Cont, true)]);
    assert!(h.main().got_term(), "status shows the stop signal as runit's TERM flag");
    assert_eq!(h.m.poll_deadline(), Some(T0.mono + Span::from_secs(2)));
}

#[test]
fn test_run_down_signal_without_group_goes_to_the_pid() {
    let mut h = H::running(Stop { signal: Sig::Int, ..Stop::RUNIT }, None);
    assert_eq!(sent(&h.down()), vec![(Sig::Int, false), (Sig::Cont, false)]);
    assert_eq!(h.m.poll_deadline(), None);
}

#[test]
fn test_run_tick_before_deadline_does_nothing() {
    let mut h = H::running(ALL, None);
    h.down();
    h.advance(1999);
    assert!(sent(&h.feed(Input::Tick)).is_empty());
}

#[test]
fn test_run_tick_at_deadline_kills_then_resends_every_5s() {
    let mut h = H::running(ALL, None);
    h.down();
    h.advance(2000);
    assert_eq!(sent(&h.feed(Input::Tick)), vec![(Sig::Kill, true)]);
    assert_eq!(h.m.poll_deadline(), Some(h.now.mono + KILL_RESEND));
    h.advance(4999);
    assert!(sent(&h.feed(Input::Tick)).is_empty());
    h.advance(1);
    assert_eq!(sent(&h.feed(Input::Tick)), vec![(Sig::Kill, true)]);
}

#[test]
fn test_run_second_stop_keeps_the_earlier_deadline() {
    let mut h = H::running(ALL, None);
    h.down();
    h.advance(1000);
    h.feed(Input::Control(Slot::Main, b'x'));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(h.main().kill_at(), Some(T0.mono + Span::from_secs(2)));
}

#[test]
fn test_run_t_arms_the_kill_too() {
    let mut h = H::running(ALL, None);
    let mut a = h.feed(Input::Control(Slot::Main, b't'));
    a.extend(h.feed(Input::ControlDone(ControlOutcome::Absent)));
    assert_eq!(sent(&a), vec![(Sig::Hup, true)], "no CONT when still wanted up, as runit");
    assert_eq!(h.main().kill_at(), Some(T0.mono + Span::from_secs(2)));
}

#[test]
fn test_run_t_overridden_while_wanted_up_arms_nothing() {
    let mut h = H::running(ALL, None);
    h.feed(Input::Control(Slot::Main, b't'));
    let a = h.feed(Input::ControlDone(ControlOutcome::Exited(0)));
    assert!(sent(&a).is_empty());
    assert_eq!(h.main().kill_at(), None);
}

#[test]
fn test_run_d_overridden_still_arms_the_kill() {
    let mut h = H::running(ALL, None);
    h.feed(Input::Control(Slot::Main, b'd'));
    let a = h.feed(Input::ControlDone(ControlOutcome::Exited(0)));
    assert_eq!(sent(&a), vec![(Sig::Cont, true)]);
    assert_eq!(h.main().kill_at(), Some(T0.mono + Span::from_secs(2)));
}

#[test]
fn test_run_commands_keep_signalling_the_pid() {
    let mut h = H::running(ALL, None);
    h.feed(Input::Control(Slot::Main, b'h'));
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(sent(&a), vec![(Sig::Hup, false)]);
    assert_eq!(h.main().kill_at(), None, "sv hup is not a stop");
}

#[test]
fn test_run_reaped_after_stop_kills_what_is_left_of_the_group() {
    let mut h = H::running(ALL, None);
    h.down();
    let a = h.feed(Input::ChildExited { pid: 42, status: 1, finish_present: false });
    assert_eq!(sent(&a), vec![(Sig::Kill, true)]);
    assert!(matches!(a[0], Action::SignalGroup(..)), "before the status says down: {a:?}");
}

#[test]
fn test_run_reaped_without_stop_leaves_the_group() {
    let mut h = H::running(ALL, None);
    let a = h.feed(Input::ChildExited { pid: 42, status: 0, finish_present: false });
    assert!(sent(&a).is_empty());
    let mut h = H::running(Stop { group: false, ..ALL }, None);
    h.down();
    let a = h.feed(Input::ChildExited { pid: 42, status: 0, finish_present: false });
    assert!(sent(&a).is_empty(), "no group, nothing to kill");
}

#[test]
fn test_run_reaped_after_kill_disarms() {
    let mut h = H::running(ALL, None);
    h.down();
    h.advance(2000);
    h.feed(Input::Tick);
    h.feed(Input::ChildExited { pid: 42, status: 9, finish_present: false });
    assert_eq!(h.main().state(), RunState::Down);
    assert_eq!(h.m.poll_deadline(), None);
}

#[test]
fn test_finish_spawned_arms_timeout_finish_and_tick_kills_it() {
    let mut h = H::running(ALL, None);
    h.feed(Input::ChildExited { pid: 42, status: 0, finish_present: true });
    let a = h.feed(Input::Spawned(Slot::Main, 43));
    assert!(sent(&a).is_empty());
    assert_eq!(h.main().kill_at(), Some(T0.mono + Span::from_secs(3)));
    h.advance(3000);
    let a = h.feed(Input::Tick);
    assert!(a.contains(&Action::SignalGroup(Slot::Main, 43, Sig::Kill)), "{a:?}");
    assert!(a.iter().any(|a| matches!(a, Action::Warn(l) if l.ends_with(b"./finish timed out, sending SIGKILL\n"))));
    h.feed(Input::ChildExited { pid: 43, status: 9, finish_present: true });
    assert_eq!(h.main().state(), RunState::Down);
}

#[test]
fn test_finish_spawn_with_own_group() {
    let mut h = H::running(ALL, None);
    let a = h.feed(Input::ChildExited { pid: 42, status: 0, finish_present: true });
    assert!(matches!(&a[..], [.., Action::Spawn { program: Program::Finish { .. }, own_group: true, .. }]), "{a:?}");
}

#[test]
fn test_finish_without_limit_has_no_deadline() {
    let mut h = H::running(Stop { finish_limit: None, ..ALL }, None);
    h.feed(Input::ChildExited { pid: 42, status: 0, finish_present: true });
    h.feed(Input::Spawned(Slot::Main, 43));
    assert_eq!(h.main().kill_at(), None);
    assert_eq!(h.m.poll_deadline(), None);
}

#[test]
fn test_log_slot_keeps_runit_stop() {
    let mut h = H::running(ALL, Some(false));
    let mut a = h.feed(Input::Control(Slot::Log, b'd'));
    a.extend(h.feed(Input::Tick));
    assert!(a.contains(&Action::Signal(Slot::Log, 7, Sig::Term)), "{a:?}");
    assert!(!a.iter().any(|a| matches!(a, Action::SignalGroup(..))));
    assert_eq!(h.m.slot(Slot::Log).unwrap().kill_at(), None);
}

#[test]
fn test_from_files_warns_and_keeps_runit_defaults() {
    let (stop, warnings) = Stop::from_files(b"svc", Some(b"SIGFOO\n"), Some(b"-5"), Some(b"1e3"), false);
    assert_eq!(stop, Stop::RUNIT);
    assert_eq!(
        warnings,
        vec![
            b"runsv svc: warning: invalid down-signal: not a signal sv can send, using the default\n".to_vec(),
            b"runsv svc: warning: invalid timeout-kill: not a number, using the default\n".to_vec(),
            b"runsv svc: warning: invalid timeout-finish: not a number, using the default\n".to_vec(),
        ]
    );
}

#[test]
fn test_from_files_reads_s6_units() {
    let (stop, warnings) = Stop::from_files(b"svc", Some(b"hup\n"), Some(b"2000\n"), Some(b"3000"), true);
    assert_eq!(stop, ALL);
    assert!(warnings.is_empty());
    assert_eq!(Stop::from_files(b"svc", None, None, None, false), (Stop::RUNIT, vec![]));
}
