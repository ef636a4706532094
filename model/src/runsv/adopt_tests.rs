//! Unit tests per (phase, input) for adoption (`adopt.rs`): `test_<phase>_<input>`.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::runsv::{Action, Config, ControlOutcome, Input, Program, Runsv, Sig, Slot, Stop};
use crate::status::{RunState, StatusRecord, Want};
use crate::time::{Mono, Now, Tai64n, Wall};
use crate::Machine;

use super::*;

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };
/// This boot began 100 s before T0 (wall).
const BOOT_NS: i64 = (1_700_000_000 - 100) * 1_000_000_000;
/// The old child started 5 s before T0: 95 s after boot, 9500 ticks at 100 Hz.
const TICKS: u64 = 9_500;
const PIPE: PipeId = PipeId { dev: 12, ino: 345, fifo: true };

fn stamp() -> Tai64n {
    Tai64n::from_wall(Wall { unix_secs: 1_700_000_000 - 5, nanos: 0 })
}

fn record(pid: u32, want: Want, state: RunState) -> [u8; 20] {
    StatusRecord::new(stamp(), pid, false, want, false, state).encode()
}

fn proc_stat(pid: u32, state: char, pgrp: u32, ticks: u64) -> Vec<u8> {
    format!("{pid} (my run) x) {state} 1 {pgrp} {pgrp} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 {ticks} 1000 100 18446744073709551615\n")
        .into_bytes()
}

/// A probe of the genuine old child `pid` (its pipe `PIPE` when `log`).
fn genuine(pid: u32, log: bool) -> Probe {
    Probe {
        status: record(pid, Want::Up, RunState::Run),
        pidfd: Ok(()),
        proc_stat: Some(proc_stat(pid, 'S', 1, TICKS)),
        pipe: log.then_some(Ok(PIPE)),
    }
}

fn resume(main: Option<Probe>, log: Option<Probe>) -> Input {
    Input::Resume(Resume { boot_wall_ns: BOOT_NS, clk_tck: 100, main, log })
}

struct H {
    m: Runsv,
    now: Now,
}

impl H {
    fn new(log: Option<bool>, stop: Stop) -> H {
        H { m: Runsv::new(T0, Config { dir: b"s".to_vec(), down: false, log, readiness: Default::default() }).with_stop(stop), now: T0 }
    }
    fn feed(&mut self, i: Input) -> Vec<Action> {
        self.m.handle(self.now, i);
        let mut out = Vec::new();
        while let Some(a) = self.m.poll_action() {
            out.push(a);
        }
        out
    }
    /// A runsv that adopted `./run` as 42 (no log) and started.
    fn adopted() -> H {
        let mut h = H::new(None, Stop::RUNIT);
        h.feed(resume(Some(genuine(42, false)), None));
        h.feed(Input::Start);
        h
    }
}

fn spawns(a: &[Action]) -> Vec<Program> {
    a.iter().filter_map(|a| if let Action::Spawn { program, .. } = a { Some(program.clone()) } else { None }).collect()
}

fn warned(a: &[Action]) -> bool {
    a.iter().any(|a| matches!(a, Action::Warn(_)))
}

#[test]
fn candidate_is_a_running_pid_only() {
    assert_eq!(candidate(&record(42, Want::Up, RunState::Run)), Some(42));
    assert_eq!(candidate(&record(42, Want::Up, RunState::Finish)), None, "a ./finish is not taken over");
    assert_eq!(candidate(&record(0, Want::Up, RunState::Run)), None);
    assert_eq!(candidate(&record(0, Want::Up, RunState::Down)), None);
    assert_eq!(candidate(&record(42, Want::Up, RunState::Run)[..19]), None, "short record");
    assert_eq!(candidate(&record(u32::MAX, Want::Up, RunState::Run)), None, "not a pid");
}

#[test]
fn proc_stat_fields_after_the_last_parenthesis() {
    let st = parse_proc_stat(&proc_stat(42, 'Z', 42, 77)).unwrap();
    assert_eq!(st, ProcStat { state: b'Z', pgrp: 42, start_ticks: 77 });
    // A real line (kernel 6.1) of `sleep`.
    let real = b"3260 (sleep) S 3251 3251 3251 0 -1 4194304 97 0 0 0 0 0 0 0 20 0 1 0 9113420 2580480 229 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    assert_eq!(parse_proc_stat(real), Some(ProcStat { state: b'S', pgrp: 3251, start_ticks: 9_113_420 }));
    assert_eq!(parse_proc_stat(b"42 (x) S 1 2"), None, "truncated");
    assert_eq!(parse_proc_stat(b""), None);
    assert_eq!(parse_proc_stat(b"42 (x) S 1 nan 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 5"), None);
}

#[test]
fn test_created_resume_genuine_adopts_and_start_publishes_its_real_start() {
    let mut h = H::new(None, Stop::RUNIT);
    let a = h.feed(resume(Some(genuine(42, false)), None));
    assert_eq!(a, vec![Action::Adopt { slot: Slot::Main, pid: 42 }]);
    let a = h.feed(Input::Start);
    assert!(spawns(&a).is_empty(), "no second ./run: {a:?}");
    assert!(!a.iter().any(|a| matches!(a, Action::RunControl(_))));
    let Some(Action::WriteStatus { pid: Some(p), stat, status, .. }) = a.first() else { panic!("{a:?}") };
    assert_eq!((p.as_slice(), stat.as_slice()), (&b"42\n"[..], &b"run\n"[..]));
    let r = StatusRecord::decode(status).unwrap();
    assert_eq!((r.stamp, r.pid, r.state()), (stamp(), 42, Some(RunState::Run)), "running since its real start");
    assert_eq!(h.m.adopted(Slot::Main), Some(Adopted { own_group: false }));
}

#[test]
fn test_created_resume_reused_pid_is_not_adopted() {
    for (what, p) in [
        ("started 2 s later", Probe { proc_stat: Some(proc_stat(42, 'S', 1, TICKS + 200)), ..genuine(42, false) }),
        ("started 30 ms after the stamp", Probe { proc_stat: Some(proc_stat(42, 'S', 1, TICKS + 3)), ..genuine(42, false) }),
        ("a previous boot's", Probe { proc_stat: Some(proc_stat(42, 'S', 1, 0)), ..genuine(42, false) }),
        ("a zombie", Probe { proc_stat: Some(proc_stat(42, 'Z', 1, TICKS)), ..genuine(42, false) }),
        ("dead", Probe { proc_stat: Some(proc_stat(42, 'X', 1, TICKS)), ..genuine(42, false) }),
        ("gone", Probe { pidfd: Err(Errno::ESRCH), proc_stat: None, ..genuine(42, false) }),
        ("unreadable /proc", Probe { proc_stat: None, ..genuine(42, false) }),
    ] {
        let mut h = H::new(None, Stop::RUNIT);
        let a = h.feed(resume(Some(p), None));
        assert_eq!(a, vec![Action::Release(Slot::Main)], "{what}");
        let a = h.feed(Input::Start);
        assert_eq!(a.last(), Some(&Action::RunControl(b'u')), "{what}: a fresh start");
    }
}

#[test]
fn test_created_resume_stamp_within_the_window_is_the_same() {
    // The stamp may be up to LATE after the kernel's start (fork, then the clock read).
    let p = Probe { proc_stat: Some(proc_stat(42, 'R', 1, TICKS - 90)), ..genuine(42, false) };
    let mut h = H::new(None, Stop::RUNIT);
    assert_eq!(h.feed(resume(Some(p), None)), vec![Action::Adopt { slot: Slot::Main, pid: 42 }]);
    let p = Probe { proc_stat: Some(proc_stat(42, 'R', 1, TICKS + 1)), ..genuine(42, false) };
    let mut h = H::new(None, Stop::RUNIT);
    assert_eq!(h.feed(resume(Some(p), None)), vec![Action::Adopt { slot: Slot::Main, pid: 42 }], "tick rounding");
}

#[test]
fn test_created_resume_without_pidfd_warns_and_starts_fresh() {
    let mut h = H::new(None, Stop::RUNIT);
    let a = h.feed(resume(Some(Probe { pidfd: Err(Errno(38)), ..genuine(42, false) }), None));
    assert_eq!(a.len(), 2);
    let Action::Warn(w) = &a[0] else { panic!("{a:?}") };
    assert!(w.starts_with(b"runsv s: warning: unable to take over ./run (pid 42), starting a new one: "), "{w:?}");
    assert_eq!(a[1], Action::Release(Slot::Main));
}

#[test]
fn test_created_resume_both_on_one_pipe_adopts_both() {
    let mut h = H::new(Some(false), Stop::RUNIT);
    let a = h.feed(resume(Some(genuine(42, true)), Some(genuine(7, true))));
    assert_eq!(
        a,
        vec![Action::TakeLogPipe(Slot::Log), Action::Adopt { slot: Slot::Main, pid: 42 }, Action::Adopt { slot: Slot::Log, pid: 7 }]
    );
    let a = h.feed(Input::Start);
    assert!(spawns(&a).is_empty(), "{a:?}");
    assert_eq!(h.m.slot(Slot::Log).unwrap().pid(), 7);
}

#[test]
fn test_created_resume_two_pipes_adopts_nothing() {
    let mut h = H::new(Some(false), Stop::RUNIT);
    let other = Probe { pipe: Some(Ok(PipeId { ino: 999, ..PIPE })), ..genuine(7, true) };
    let a = h.feed(resume(Some(genuine(42, true)), Some(other)));
    assert!(warned(&a));
    assert_eq!(&a[1..], &[Action::Release(Slot::Main), Action::Release(Slot::Log)]);
    let a = h.feed(Input::Start);
    assert_eq!(spawns(&a), vec![Program::LogRun], "runit's behaviour: new processes");
}

#[test]
fn test_created_resume_pipe_unobtainable_adopts_nothing() {
    for (main, log) in [
        (Some(Probe { pipe: Some(Err(Errno::EPERM)), ..genuine(42, true) }), None),
        (None, Some(Probe { pipe: Some(Err(Errno(38))), ..genuine(7, true) })),
        (Some(Probe { pipe: Some(Ok(PipeId { fifo: false, ..PIPE })), ..genuine(42, true) }), None),
    ] {
        let mut h = H::new(Some(false), Stop::RUNIT);
        let a = h.feed(resume(main, log));
        let Action::Warn(w) = &a[0] else { panic!("{a:?}") };
        assert!(w.starts_with(b"runsv s: warning: unable to take over the log pipe, starting new processes: "), "{w:?}");
        assert!(a[1..].iter().all(|a| matches!(a, Action::Release(_))), "{a:?}");
    }
}

#[test]
fn test_created_resume_main_only_takes_its_pipe_and_starts_a_logger() {
    let mut h = H::new(Some(false), Stop::RUNIT);
    let a = h.feed(resume(Some(genuine(42, true)), None));
    assert_eq!(a, vec![Action::TakeLogPipe(Slot::Main), Action::Adopt { slot: Slot::Main, pid: 42 }]);
    let a = h.feed(Input::Start);
    assert_eq!(spawns(&a), vec![Program::LogRun]);
}

#[test]
fn test_created_resume_logger_only_is_adopted_and_run_starts() {
    let mut h = H::new(Some(false), Stop::RUNIT);
    let gone = Probe { pidfd: Err(Errno::ESRCH), proc_stat: None, pipe: Some(Err(Errno::ESRCH)), ..genuine(42, true) };
    let a = h.feed(resume(Some(gone), Some(genuine(7, true))));
    assert_eq!(a, vec![Action::TakeLogPipe(Slot::Log), Action::Release(Slot::Main), Action::Adopt { slot: Slot::Log, pid: 7 }]);
    let a = h.feed(Input::Start);
    assert_eq!(a.last(), Some(&Action::RunControl(b'u')));
}

#[test]
fn test_created_resume_log_probe_without_log_slot_is_released() {
    let mut h = H::new(None, Stop::RUNIT);
    let a = h.feed(resume(None, Some(genuine(7, true))));
    assert_eq!(a, vec![Action::Release(Slot::Log)]);
}

#[test]
fn test_created_resume_keeps_want_down_and_pause_from_the_record() {
    let mut h = H::new(None, Stop::RUNIT);
    let rec = StatusRecord::new(stamp(), 42, true, Want::Down, false, RunState::Run).encode();
    h.feed(resume(Some(Probe { status: rec, ..genuine(42, false) }), None));
    let a = h.feed(Input::Start);
    let Some(Action::WriteStatus { stat, .. }) = a.first() else { panic!("{a:?}") };
    assert_eq!(stat.as_slice(), b"run, paused, want down\n");
    let s = h.m.slot(Slot::Main).unwrap();
    assert_eq!((s.want, s.paused), (Want::Down, true));
}

#[test]
fn test_adopted_down_signals_through_the_pidfd() {
    let mut h = H::adopted();
    let a = h.feed(Input::Control(Slot::Main, b'd'));
    assert_eq!(a.last(), Some(&Action::RunControl(b't')));
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert!(a.contains(&Action::SignalPidfd(Slot::Main, 42, Sig::Term)), "{a:?}");
    assert!(a.contains(&Action::SignalPidfd(Slot::Main, 42, Sig::Cont)), "{a:?}");
    assert!(!a.iter().any(|a| matches!(a, Action::Signal(..) | Action::SignalGroup(..))), "{a:?}");
}

#[test]
fn test_adopted_signal_command_goes_through_the_pidfd() {
    let mut h = H::adopted();
    h.feed(Input::Control(Slot::Main, b'h'));
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(a, vec![Action::SignalPidfd(Slot::Main, 42, Sig::Hup)]);
}

#[test]
fn test_adopted_killpg_only_when_it_leads_its_group() {
    let group = Stop { group: true, ..Stop::RUNIT };
    for (pgrp, leads) in [(1, false), (42, true)] {
        let mut h = H::new(None, group);
        let p = Probe { proc_stat: Some(proc_stat(42, 'S', pgrp, TICKS)), ..genuine(42, false) };
        h.feed(resume(Some(p), None));
        h.feed(Input::Start);
        h.feed(Input::Control(Slot::Main, b'd'));
        let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
        let want = if leads { Action::SignalGroup(Slot::Main, 42, Sig::Term) } else { Action::SignalPidfd(Slot::Main, 42, Sig::Term) };
        assert_eq!(a.first(), Some(&want), "pgrp {pgrp}: {a:?}");
    }
}

#[test]
fn test_adopted_exited_runs_finish_with_unknown_status() {
    let mut h = H::adopted();
    let a = h.feed(Input::AdoptedExited { pid: 42, finish_present: true });
    assert_eq!(spawns(&a), vec![Program::Finish { a: -1, b: 0 }]);
    assert_eq!(UNKNOWN_EXIT, (-1, 0));
    let a = h.feed(Input::Spawned(Slot::Main, 43));
    assert!(matches!(a.first(), Some(Action::WriteStatus { stat, .. }) if stat == b"finish\n"), "{a:?}");
}

#[test]
fn test_adopted_exited_without_finish_restarts_at_once() {
    let mut h = H::adopted();
    // It ran 5 s before this runsv saw it: not a short cycle, no throttle.
    let a = h.feed(Input::AdoptedExited { pid: 42, finish_present: false });
    assert_eq!(a.last(), Some(&Action::RunControl(b'u')), "{a:?}");
    assert_eq!(h.m.poll_deadline(), None);
}

#[test]
fn test_adopted_exited_after_down_stays_down() {
    let mut h = H::adopted();
    h.feed(Input::Control(Slot::Main, b'd'));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    let a = h.feed(Input::AdoptedExited { pid: 42, finish_present: false });
    assert!(spawns(&a).is_empty());
    assert!(matches!(a.first(), Some(Action::WriteStatus { stat, pid: Some(p), .. }) if stat == b"down\n" && p.is_empty()), "{a:?}");
}

#[test]
fn test_adopted_exited_other_pid_is_ignored() {
    let mut h = H::adopted();
    assert_eq!(h.feed(Input::AdoptedExited { pid: 43, finish_present: false }), vec![]);
    assert_eq!(h.m.slot(Slot::Main).unwrap().pid(), 42);
}

#[test]
fn test_run_own_child_is_never_signalled_by_pidfd_nor_ends_by_adopted_exit() {
    let mut h = H::new(None, Stop::RUNIT);
    h.feed(resume(None, None));
    h.feed(Input::Start);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::Spawned(Slot::Main, 50));
    assert_eq!(h.m.adopted(Slot::Main), None);
    assert_eq!(h.feed(Input::AdoptedExited { pid: 50, finish_present: false }), vec![]);
    h.feed(Input::Control(Slot::Main, b'h'));
    let a = h.feed(Input::ControlDone(ControlOutcome::Absent));
    assert_eq!(a, vec![Action::Signal(Slot::Main, 50, Sig::Hup)]);
}

#[test]
fn test_adopted_reaped_as_a_child_is_an_ordinary_exit() {
    // Should the kernel ever hand it to runsv (runsv as a subreaper), its status is known.
    let mut h = H::adopted();
    let a = h.feed(Input::ChildExited { pid: 42, status: 3 << 8, finish_present: true });
    assert_eq!(spawns(&a), vec![Program::Finish { a: 3, b: 0 }]);
}

#[test]
fn test_adopted_exit_command_exits_after_it_vanishes() {
    let mut h = H::adopted();
    h.feed(Input::Control(Slot::Main, b'x'));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    let a = h.feed(Input::AdoptedExited { pid: 42, finish_present: false });
    assert_eq!(a.last(), Some(&Action::Exit(0)));
}

#[test]
fn test_adopted_exited_counts_as_a_death_for_the_backoff_files() {
    // It ran 5 s (a quick death, unasked): with `restart-delay` 3 s the restart waits.
    let backoff = crate::runsv::Backoff { delay: Some(crate::time::Span::from_secs(3)), ..crate::runsv::Backoff::RUNIT };
    let mut h = H::new(None, Stop::RUNIT);
    h.m = h.m.with_backoff(backoff);
    h.feed(resume(Some(genuine(42, false)), None));
    h.feed(Input::Start);
    let a = h.feed(Input::AdoptedExited { pid: 42, finish_present: false });
    assert!(spawns(&a).is_empty() && !a.contains(&Action::RunControl(b'u')), "{a:?}");
    assert_eq!(h.m.poll_deadline(), Some(T0.mono + crate::time::Span::from_secs(3)));
}
