//! Unit tests per (state, input): `test_<state>_<input>`.

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::scripted::Scripted;
use crate::status::RunState;
use crate::time::Wall;

crate::scripted_harness!(H, Runsv);

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

impl H {
    fn new(down: bool, log: Option<bool>) -> H {
        let m = Runsv::new(T0, Config { dir: b"s".to_vec(), down, log, readiness: Default::default() });
        H(Scripted::new(m, T0))
    }
    fn advance(&mut self, ms: u64) {
        self.0.advance_ms(ms);
    }
    /// Start-up of a normally-up service without log, answered until `./run` runs as `pid`.
    fn running(pid: u32) -> H {
        let mut h = H::new(false, None);
        h.run(Input::Start, script::started(pid, 0));
        assert_eq!(h.main().state(), RunState::Run);
        h
    }
    fn main(&self) -> &SlotState {
        self.m.slot(Slot::Main).unwrap()
    }
}

fn signals(actions: &[Action]) -> Vec<Sig> {
    actions.iter().filter_map(|a| if let Action::Signal(_, _, s) = a { Some(*s) } else { None }).collect()
}

fn writes(actions: &[Action]) -> Vec<(Slot, Vec<u8>)> {
    actions.iter().filter_map(|a| if let Action::WriteStatus { slot, stat, .. } = a { Some((*slot, stat.clone())) } else { None }).collect()
}

fn spawns(actions: &[Action]) -> Vec<Program> {
    actions.iter().filter_map(|a| if let Action::Spawn { program, .. } = a { Some(program.clone()) } else { None }).collect()
}

#[test]
fn test_init_start_publishes_status_then_asks_control_u() {
    let mut h = H::new(false, None);
    let a = h.feed(Input::Start);
    assert_eq!(writes(&a), vec![(Slot::Main, b"down\n".to_vec())]);
    // The first write carries the (empty) pid file.
    assert!(matches!(&a[0], Action::WriteStatus { pid: Some(p), .. } if p.is_empty()));
    assert_eq!(a.last(), Some(&Action::RunControl(b'u')));
    assert_eq!(h.m.owed(), Some(Owed::Control(b'u')));
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(spawns(&a), vec![Program::Run]);
    let a = h.feed(Input::Spawned(Slot::Main, 42));
    assert_eq!(writes(&a), vec![(Slot::Main, b"run\n".to_vec())]);
    assert!(matches!(&a[0], Action::WriteStatus { pid: Some(p), .. } if p == b"42\n"));
}

#[test]
fn test_init_down_file_stays_down() {
    let mut h = H::new(true, None);
    let a = h.feed(Input::Start);
    assert_eq!(writes(&a), vec![(Slot::Main, b"down\n".to_vec())]);
    assert!(spawns(&a).is_empty());
    assert_eq!(h.m.owed(), None);
    assert_eq!(h.m.poll_deadline(), None);
}

#[test]
fn test_init_log_starts_before_main() {
    let mut h = H::new(false, Some(false));
    let a = h.feed(Input::Start);
    assert_eq!(writes(&a), vec![(Slot::Main, b"down\n".to_vec()), (Slot::Log, b"down\n".to_vec())]);
    assert_eq!(spawns(&a), vec![Program::LogRun]);
    // The shared pid-changed flag was consumed by the main slot's first write (quirk).
    assert!(matches!(&a[1], Action::WriteStatus { pid: None, .. }));
    let a = h.feed(Input::Spawned(Slot::Log, 10));
    assert!(matches!(&a[0], Action::WriteStatus { slot: Slot::Log, pid: Some(p), .. } if p == b"10\n"));
    assert_eq!(a.last(), Some(&Action::RunControl(b'u')));
}

#[test]
fn test_run_d_sends_term_cont_and_control_d() {
    let mut h = H::running(7);
    let a = h.feed(Input::Control(Slot::Main, b'd'));
    assert_eq!(writes(&a), vec![(Slot::Main, b"run, want down\n".to_vec())]);
    assert_eq!(a.last(), Some(&Action::RunControl(b't')));
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(signals(&a), vec![Sig::Term, Sig::Cont]);
    assert_eq!(writes(&a), vec![(Slot::Main, b"run, got TERM, want down\n".to_vec())]);
    assert_eq!(a.last(), Some(&Action::RunControl(b'd')));
    let a = h.feed(Input::ControlDone(ControlOutcome::Exited(0)));
    assert!(a.is_empty());
}

#[test]
fn test_run_d_with_control_t_ok_sends_only_cont() {
    let mut h = H::running(7);
    h.feed(Input::Control(Slot::Main, b'd'));
    let a = h.feed(Input::ControlDone(ControlOutcome::Exited(0)));
    assert_eq!(signals(&a), vec![Sig::Cont]);
    assert!(!h.main().got_term());
}

#[test]
fn test_run_t_want_up_sends_only_term() {
    let mut h = H::running(7);
    h.feed(Input::Control(Slot::Main, b't'));
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(signals(&a), vec![Sig::Term]);
    assert_eq!(h.m.owed(), None);
}

#[test]
fn test_run_x_stops_then_exits_when_down() {
    let mut h = H::running(7);
    let a = h.feed(Input::Control(Slot::Main, b'x'));
    assert_eq!(writes(&a), vec![(Slot::Main, b"run, want exit\n".to_vec())]);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert!(a.is_empty());
    h.advance(2000);
    let a = h.feed(Input::ChildExited { pid: 7, status: 15, finish_present: false });
    assert_eq!(writes(&a), vec![(Slot::Main, b"down\n".to_vec())]);
    assert_eq!(a.last(), Some(&Action::Exit(0)));
    assert!(h.m.has_exited());
}

#[test]
fn test_run_terminate_is_x() {
    let mut h = H::running(7);
    let a = h.feed(Input::Terminate);
    assert_eq!(writes(&a), vec![(Slot::Main, b"run, want exit\n".to_vec())]);
    assert_eq!(h.main().want, Want::Exit);
}

#[test]
fn test_down_x_exits_at_once() {
    let mut h = H::new(true, None);
    h.feed(Input::Start);
    let a = h.feed(Input::Control(Slot::Main, b'x'));
    assert_eq!(a.last(), Some(&Action::Exit(0)));
}

#[test]
fn test_run_exit_with_finish_runs_finish_with_args() {
    let mut h = H::running(7);
    h.advance(3000);
    let a = h.feed(Input::ChildExited { pid: 7, status: 3 << 8, finish_present: true });
    assert_eq!(writes(&a), vec![(Slot::Main, b"finish\n".to_vec())]);
    assert_eq!(spawns(&a), vec![Program::Finish { a: 3, b: 0 }]);
    let stamp_before = h.main().stamp;
    h.advance(10);
    h.feed(Input::Spawned(Slot::Main, 8));
    // The stamp does not change when finish starts.
    assert_eq!(h.main().stamp, stamp_before);
    assert_eq!(h.main().state(), RunState::Finish);
    let a = h.feed(Input::ChildExited { pid: 8, status: 0, finish_present: true });
    assert_eq!(writes(&a), vec![(Slot::Main, b"down\n".to_vec())]);
    // Cycle lasted > 1 s: restart at once (via control/u).
    assert_eq!(a.last(), Some(&Action::RunControl(b'u')));
}

#[test]
fn test_finish_args_for_signals_and_core() {
    assert_eq!(finish_args(3 << 8), (3, 0));
    assert_eq!(finish_args(15), (-1, 15));
    assert_eq!(finish_args(11 | 0x80), (-1, 139));
    assert_eq!(finish_args(111 << 8), (111, 0));
}

#[test]
fn test_run_short_cycle_throttles_one_second() {
    let mut h = H::running(7);
    h.advance(100);
    let a = h.feed(Input::ChildExited { pid: 7, status: 0, finish_present: false });
    assert!(spawns(&a).is_empty());
    assert!(!a.contains(&Action::RunControl(b'u')));
    let deadline = h.m.poll_deadline().expect("throttle deadline");
    assert_eq!(deadline, h.now.mono + RESTART_THROTTLE);
    // A tick before the deadline does nothing; commands are still served.
    h.advance(500);
    assert!(h.feed(Input::Tick).is_empty());
    let a = h.feed(Input::Control(Slot::Main, b'p'));
    assert_eq!(writes(&a), vec![(Slot::Main, b"down, paused\n".to_vec())]);
    h.advance(500);
    let a = h.feed(Input::Tick);
    assert_eq!(a, vec![Action::RunControl(b'u')]);
}

#[test]
fn test_down_u_starts_run() {
    let mut h = H::new(true, None);
    h.feed(Input::Start);
    let a = h.feed(Input::Control(Slot::Main, b'u'));
    assert_eq!(writes(&a), vec![(Slot::Main, b"down\n".to_vec())]);
    assert_eq!(a.last(), Some(&Action::RunControl(b'u')));
}

#[test]
fn test_down_o_runs_once_without_restart() {
    let mut h = H::new(true, None);
    h.feed(Input::Start);
    let a = h.feed(Input::Control(Slot::Main, b'o'));
    assert_eq!(a.last(), Some(&Action::RunControl(b'u')));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    let a = h.feed(Input::Spawned(Slot::Main, 9));
    assert_eq!(writes(&a), vec![(Slot::Main, b"run, want down\n".to_vec())]);
    h.advance(5000);
    let a = h.feed(Input::ChildExited { pid: 9, status: 0, finish_present: false });
    assert!(!a.contains(&Action::RunControl(b'u')));
    assert_eq!(h.main().state(), RunState::Down);
    assert_eq!(h.m.poll_deadline(), None);
}

#[test]
fn test_run_o_only_changes_want() {
    let mut h = H::running(7);
    let a = h.feed(Input::Control(Slot::Main, b'o'));
    assert!(signals(&a).is_empty());
    assert_eq!(h.main().want, Want::Down);
}

#[test]
fn test_run_p_and_c_signal_and_flag() {
    let mut h = H::running(7);
    let a = h.feed(Input::Control(Slot::Main, b'p'));
    assert_eq!(a, vec![Action::RunControl(b'p')]);
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(signals(&a), vec![Sig::Stop]);
    assert_eq!(writes(&a), vec![(Slot::Main, b"run, paused\n".to_vec())]);
    h.feed(Input::Control(Slot::Main, b'c'));
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(signals(&a), vec![Sig::Cont]);
    assert_eq!(writes(&a), vec![(Slot::Main, b"run\n".to_vec())]);
}

#[test]
fn test_run_signal_commands_without_status_update() {
    for (b, sig) in
        [(b'h', Sig::Hup), (b'a', Sig::Alrm), (b'i', Sig::Int), (b'q', Sig::Quit), (b'1', Sig::Usr1), (b'2', Sig::Usr2), (b'k', Sig::Kill)]
    {
        let mut h = H::running(7);
        h.feed(Input::Control(Slot::Main, b));
        let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
        assert_eq!(signals(&a), vec![sig]);
        assert!(writes(&a).is_empty());
    }
}

#[test]
fn test_run_signal_suppressed_by_control_script_success_even_if_killed() {
    let mut h = H::running(7);
    h.feed(Input::Control(Slot::Main, b'h'));
    // Killed by SIGKILL: status >> 8 == 0 counts as success (runit quirk).
    let a = h.feed(Input::ControlDone(ControlOutcome::Exited(9)));
    assert!(signals(&a).is_empty());
}

#[test]
fn test_run_control_fork_failure_warns_and_signals() {
    let mut h = H::running(7);
    h.feed(Input::Control(Slot::Main, b'h'));
    let a = h.feed(Input::ControlDone(ControlOutcome::ForkFailed(Errno::EAGAIN)));
    assert_eq!(a[0], Action::Warn(b"runsv s: warning: unable to fork for control/h: temporary failure\n".to_vec()));
    assert_eq!(signals(&a), vec![Sig::Hup]);
}

#[test]
fn test_down_signal_commands_do_nothing() {
    let mut h = H::new(true, None);
    h.feed(Input::Start);
    for b in *b"thaiq12k" {
        assert!(h.feed(Input::Control(Slot::Main, b)).is_empty(), "byte {}", b as char);
    }
}

#[test]
fn test_any_unknown_bytes_ignored() {
    let mut h = H::running(7);
    for b in [b'e', b'\n', 0u8, b'z', 0xff] {
        assert!(h.feed(Input::Control(Slot::Main, b)).is_empty());
    }
}

#[test]
fn test_run_k_keeps_state_until_reaped() {
    let mut h = H::running(7);
    h.feed(Input::Control(Slot::Main, b'k'));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    // Divergence from runit: still run until the reap (no second ./run can start).
    assert_eq!(h.main().state(), RunState::Run);
    assert_eq!(h.main().pid(), 7);
}

#[test]
fn test_finish_k_does_not_rerun_finish() {
    let mut h = H::running(7);
    h.advance(2000);
    h.feed(Input::ChildExited { pid: 7, status: 0, finish_present: true });
    h.feed(Input::Spawned(Slot::Main, 8));
    let a = h.feed(Input::Control(Slot::Main, b'k'));
    assert!(signals(&a).is_empty());
    let a = h.feed(Input::ChildExited { pid: 8, status: 0, finish_present: true });
    assert!(spawns(&a).is_empty());
    assert_eq!(a.last(), Some(&Action::RunControl(b'u')));
}

#[test]
fn test_finish_d_changes_want_only() {
    let mut h = H::running(7);
    h.advance(2000);
    h.feed(Input::ChildExited { pid: 7, status: 0, finish_present: true });
    h.feed(Input::Spawned(Slot::Main, 8));
    let a = h.feed(Input::Control(Slot::Main, b'd'));
    assert!(signals(&a).is_empty());
    assert_eq!(writes(&a), vec![(Slot::Main, b"finish, want down\n".to_vec())]);
    let a = h.feed(Input::ChildExited { pid: 8, status: 0, finish_present: true });
    assert!(!a.contains(&Action::RunControl(b'u')));
}

#[test]
fn test_run_spawn_failed_retries_after_five_seconds() {
    let mut h = H::new(false, None);
    h.feed(Input::Start);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    let a = h.feed(Input::SpawnFailed(Slot::Main, Errno::EAGAIN));
    assert_eq!(a, vec![Action::Warn(b"runsv s: warning: unable to fork, sleeping: temporary failure\n".to_vec())]);
    assert_eq!(h.m.poll_deadline(), Some(h.now.mono + FORK_RETRY));
    h.advance(5000);
    // The retry continues the same start: control/u already ran (runit runs it once).
    assert!(matches!(h.feed(Input::Tick).as_slice(), [Action::Spawn { program: Program::Run, .. }]));
}

#[test]
fn regression_down_during_fork_retry_then_up_runs_control_u() {
    // A failed fork leaves a start half done (control/u ran). `d` during the retry
    // cancels that start, so the next `u` is a new start, and runit runs control/u on
    // every start (`custom(s, 'u')` in `startservice`).
    let mut h = H::new(true, None);
    h.feed(Input::Start);
    h.feed(Input::Control(Slot::Main, b'u'));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::SpawnFailed(Slot::Main, Errno::EAGAIN));
    h.feed(Input::Control(Slot::Main, b'd'));
    h.advance(5000);
    assert!(h.feed(Input::Tick).is_empty(), "the cancelled start stays cancelled");
    let a = h.feed(Input::Control(Slot::Main, b'u'));
    assert_eq!(a.last(), Some(&Action::RunControl(b'u')), "{a:?}");
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(spawns(&a), vec![Program::Run]);
}

#[test]
fn regression_once_then_down_during_throttle_stays_down() {
    // `o` during a throttle defers the start; a `d` before the deadline must cancel it
    // (runit would have started it and stopped it again: it ends down either way).
    let mut h = H::running(7);
    h.advance(100);
    h.feed(Input::ChildExited { pid: 7, status: 0, finish_present: false });
    h.feed(Input::Control(Slot::Main, b'o'));
    h.feed(Input::Control(Slot::Main, b'd'));
    h.advance(1000);
    assert!(h.feed(Input::Tick).is_empty());
    assert_eq!(h.m.poll_deadline(), None);
}

#[test]
fn regression_exit_with_pending_once_has_no_deadline() {
    // A deferred once-start must not leave a past deadline behind while runsv waits for
    // the log to reach EOF (the driver would spin on a zero timeout).
    let mut h = H::new(false, Some(false));
    h.feed(Input::Start);
    h.feed(Input::Spawned(Slot::Log, 10));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::Spawned(Slot::Main, 11));
    h.advance(100);
    h.feed(Input::ChildExited { pid: 11, status: 0, finish_present: false });
    h.feed(Input::Control(Slot::Main, b'o'));
    let a = h.feed(Input::Control(Slot::Main, b'x'));
    assert_eq!(a.last(), Some(&Action::CloseLogPipe));
    assert_eq!(h.m.poll_deadline(), None);
}

#[test]
fn regression_log_once_starts_log() {
    let mut h = H::new(false, Some(true));
    h.feed(Input::Start);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::Spawned(Slot::Main, 11));
    let a = h.feed(Input::Control(Slot::Log, b'o'));
    assert_eq!(spawns(&a), vec![Program::LogRun]);
    h.feed(Input::Spawned(Slot::Log, 12));
    h.advance(3000);
    let a = h.feed(Input::ChildExited { pid: 12, status: 0, finish_present: false });
    assert!(spawns(&a).is_empty(), "a once-started log is not restarted");
}

#[test]
fn test_log_x_ignored_on_log_slot() {
    let mut h = H::new(false, Some(false));
    h.feed(Input::Start);
    h.feed(Input::Spawned(Slot::Log, 10));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::Spawned(Slot::Main, 11));
    assert!(h.feed(Input::Control(Slot::Log, b'x')).is_empty());
    // Log signal commands go straight to the process (no overrides).
    let a = h.feed(Input::Control(Slot::Log, b'h'));
    assert_eq!(a, vec![Action::Signal(Slot::Log, 10, Sig::Hup)]);
}

#[test]
fn test_exit_with_log_closes_pipe_and_waits_for_log() {
    let mut h = H::new(false, Some(false));
    h.feed(Input::Start);
    h.feed(Input::Spawned(Slot::Log, 10));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::Spawned(Slot::Main, 11));
    h.feed(Input::Terminate);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.advance(2000);
    let a = h.feed(Input::ChildExited { pid: 11, status: 15, finish_present: false });
    assert_eq!(writes(&a), vec![(Slot::Main, b"down\n".to_vec()), (Slot::Log, b"run, want exit\n".to_vec())]);
    assert_eq!(a.last(), Some(&Action::CloseLogPipe));
    // The log is not signalled; its exit on EOF ends runsv and it is not restarted.
    assert!(signals(&a).is_empty());
    let a = h.feed(Input::ChildExited { pid: 10, status: 0, finish_present: false });
    assert_eq!(a.last(), Some(&Action::Exit(0)));
}

#[test]
fn test_log_exit_restarts_log_with_throttle() {
    let mut h = H::new(false, Some(false));
    h.feed(Input::Start);
    h.feed(Input::Spawned(Slot::Log, 10));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::Spawned(Slot::Main, 11));
    h.advance(10);
    let a = h.feed(Input::ChildExited { pid: 10, status: 0, finish_present: false });
    assert!(spawns(&a).is_empty());
    // The main slot is not stalled by the log's throttle.
    let a = h.feed(Input::Control(Slot::Main, b'd'));
    assert_eq!(a.last(), Some(&Action::RunControl(b't')));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.advance(1000);
    assert_eq!(spawns(&h.feed(Input::Tick)), vec![Program::LogRun]);
}

#[test]
fn test_unknown_pid_exit_ignored() {
    let mut h = H::running(7);
    assert!(h.feed(Input::ChildExited { pid: 99, status: 0, finish_present: false }).is_empty());
    assert_eq!(h.main().pid(), 7);
}
