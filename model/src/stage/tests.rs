//! Unit tests per (state, input): `test_<state>_<input>`.

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::time::Wall;

const T0: Mono = Mono(5_000_000_000);

fn now(m: Mono) -> Now {
    Now { mono: m, wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } }
}

fn drain(m: &mut Stages) -> Vec<Action> {
    crate::scripted::drain(m)
}

fn at(state: State) -> Stages {
    Stages::with_state(Config::default(), state, 0)
}

fn container(state: State) -> Stages {
    Stages::with_state(Config { container: true }, state, 0)
}

fn step(m: &mut Stages, i: Input) -> Vec<Action> {
    m.handle(now(T0), i);
    drain(m)
}

fn exited(pid: Pid, status: i32) -> Input {
    Input::Exited { pid, status, flags: Flags::default() }
}

fn sig(s: Sig) -> Input {
    Input::Signal { sig: s, flags: Flags::default() }
}

const S1: Script = Script::Stage(StageId::One);
const S2: Script = Script::Stage(StageId::Two);
const S3: Script = Script::Stage(StageId::Three);

fn running(stage: StageId, pid: Pid) -> State {
    State::Running { stage, pid }
}

#[test]
fn test_start_boot() {
    let mut m = Stages::new(Config::default());
    assert_eq!(step(&mut m, Input::Boot), vec![Action::Say(Msg::Booting), Action::Spawn(Job::Stage(StageId::One))]);
    assert!(m.owes_spawn_reply());
    assert_eq!(step(&mut m, Input::Spawned { pid: 7 }), vec![]);
    assert_eq!(*m.state(), running(StageId::One, 7));
    // Kills `owes_spawn_reply` -> true: the reply paid the obligation.
    assert!(!m.owes_spawn_reply());
}

#[test]
fn test_start_boot_twice_ignored() {
    let mut m = at(running(StageId::One, 7));
    assert_eq!(step(&mut m, Input::Boot), vec![]);
}

#[test]
fn test_spawning_spawn_failed() {
    let mut m = at(State::Spawning { job: Job::Stage(StageId::Two), stage2: None });
    let a = step(&mut m, Input::SpawnFailed { errno: Errno::EAGAIN });
    assert_eq!(a, vec![Action::Say(Msg::ForkFailed(S2, Errno::EAGAIN))]);
    assert_eq!(m.poll_deadline(), Some(T0 + FORK_RETRY));
    // Early tick: nothing; on time: retry.
    m.handle(now(T0 + Span::from_secs(4)), Input::Tick);
    assert_eq!(drain(&mut m), vec![]);
    m.handle(now(T0 + FORK_RETRY), Input::Tick);
    assert_eq!(drain(&mut m), vec![Action::Spawn(Job::Stage(StageId::Two))]);
}

#[test]
fn test_stage1_exit0() {
    let mut m = at(running(StageId::One, 10));
    assert_eq!(step(&mut m, exited(10, status_exit(0))), vec![Action::Say(Msg::LeaveStage(S1)), Action::Spawn(Job::Stage(StageId::Two))]);
}

#[test]
fn test_stage1_exit100() {
    let mut m = at(running(StageId::One, 10));
    assert_eq!(
        step(&mut m, exited(10, status_exit(100))),
        vec![
            Action::Say(Msg::ChildFailed(S1)),
            Action::Say(Msg::LeaveStage(S1)),
            Action::Say(Msg::SkippingStage2),
            Action::Spawn(Job::Stage(StageId::Three))
        ]
    );
}

#[test]
fn test_stage1_exit_other() {
    let mut m = at(running(StageId::One, 10));
    assert_eq!(
        step(&mut m, exited(10, status_exit(1))),
        vec![Action::Say(Msg::ChildFailed(S1)), Action::Say(Msg::LeaveStage(S1)), Action::Spawn(Job::Stage(StageId::Two))]
    );
}

#[test]
fn test_stage1_killed_counts_as_success() {
    // runit's quirk, kept: a signal death has exit code 0.
    let mut m = at(running(StageId::One, 10));
    assert_eq!(step(&mut m, exited(10, status_signal(9))), vec![Action::Say(Msg::LeaveStage(S1)), Action::Spawn(Job::Stage(StageId::Two))]);
}

#[test]
fn test_stage1_orphan_exit() {
    let mut m = at(running(StageId::One, 10));
    assert_eq!(step(&mut m, exited(99, 0)), vec![]);
    assert_eq!(*m.state(), running(StageId::One, 10));
}

#[test]
fn test_stage1_signals_warn() {
    for s in [Sig::Cont, Sig::Int, Sig::Pwr, Sig::Alrm] {
        let mut m = at(running(StageId::One, 10));
        assert_eq!(step(&mut m, sig(s)), vec![Action::Say(Msg::SignalsOnlyInStage2)], "{s:?}");
    }
    let mut m = at(running(StageId::One, 10));
    assert_eq!(step(&mut m, sig(Sig::Term)), vec![], "TERM is ignored outside container mode");
    let mut m = container(running(StageId::Three, 30));
    assert_eq!(step(&mut m, sig(Sig::Term)), vec![Action::Say(Msg::SignalsOnlyInStage2)]);
}

#[test]
fn test_stage1_term_container_skips_stage2() {
    // A container stop request during stage 1 is kept: stage 2 is skipped.
    let mut m = container(running(StageId::One, 10));
    assert!(!m.term_pending(), "nothing pending before the TERM (kills `term_pending` -> true)");
    assert_eq!(step(&mut m, sig(Sig::Term)), vec![]);
    assert!(m.term_pending());
    assert_eq!(
        step(&mut m, exited(10, status_exit(0))),
        vec![Action::Say(Msg::LeaveStage(S1)), Action::Say(Msg::SkippingStage2), Action::Spawn(Job::Stage(StageId::Three))]
    );
}

#[test]
fn test_stage2_exit0() {
    let mut m = Stages::with_state(Config::default(), running(StageId::Two, 20), 1);
    assert_eq!(step(&mut m, exited(20, status_exit(0))), vec![Action::Say(Msg::LeaveStage(S2)), Action::Spawn(Job::Stage(StageId::Three))]);
    // Kills `stage2_code` -> 1: the code of the stage 2 that ended, not an older one.
    assert_eq!(m.stage2_code(), 0);
}

#[test]
fn test_stage2_exit111() {
    let mut m = at(running(StageId::Two, 20));
    assert_eq!(
        step(&mut m, exited(20, status_exit(111))),
        vec![Action::Say(Msg::ChildFailed(S2)), Action::Say(Msg::KillingStage2), Action::KillGroup { pgid: 20 }]
    );
    assert_eq!(m.poll_deadline(), Some(T0 + STAGE2_RESTART_DELAY));
    m.handle(now(T0 + Span::from_millis(4999)), Input::Tick);
    assert_eq!(drain(&mut m), vec![]);
    m.handle(now(T0 + STAGE2_RESTART_DELAY), Input::Tick);
    assert_eq!(drain(&mut m), vec![Action::Say(Msg::Restarting), Action::Spawn(Job::Stage(StageId::Two))]);
}

#[test]
fn test_stage2_exit_other() {
    let mut m = at(running(StageId::Two, 20));
    assert_eq!(
        step(&mut m, exited(20, status_exit(1))),
        vec![Action::Say(Msg::ChildFailed(S2)), Action::Say(Msg::LeaveStage(S2)), Action::Spawn(Job::Stage(StageId::Three))]
    );
    assert_eq!(m.stage2_code(), 1);
}

#[test]
fn test_stage2_crash_restarts() {
    // The deliberate correction: restart, as the manual promises.
    let mut m = at(running(StageId::Two, 20));
    assert_eq!(
        step(&mut m, exited(20, status_signal(11))),
        vec![Action::Say(Msg::ChildCrashed(S2)), Action::Say(Msg::KillingStage2), Action::KillGroup { pgid: 20 }]
    );
    assert!(matches!(m.state(), State::RestartPause { .. }));
}

#[test]
fn test_stage2_cont_without_stopit() {
    let mut m = at(running(StageId::Two, 20));
    assert_eq!(step(&mut m, sig(Sig::Cont)), vec![]);
}

#[test]
fn test_stage2_cont_with_stopit() {
    let mut m = at(running(StageId::Two, 20));
    let a = step(&mut m, Input::Signal { sig: Sig::Cont, flags: Flags { stopit: true, ..Flags::default() } });
    assert_eq!(a, vec![Action::ClearStopit, Action::Kill { pid: 20, sig: SendSig::Term }]);
    assert_eq!(m.poll_deadline(), Some(T0 + STAGE2_TERM_GRACE));
    // Exits in time: leave, stage 3.
    assert_eq!(
        step(&mut m, exited(20, status_signal(15))),
        vec![Action::Say(Msg::LeaveStage(S2)), Action::Spawn(Job::Stage(StageId::Three))]
    );
}

#[test]
fn test_stopping_tick_kills() {
    let mut m = at(State::Stopping { pid: 20, kill_at: T0 });
    assert_eq!(step(&mut m, Input::Tick), vec![Action::Say(Msg::Stage2NotTerminated), Action::Kill { pid: 20, sig: SendSig::Kill }]);
    assert_eq!(*m.state(), State::Killing { pid: 20 });
    assert_eq!(step(&mut m, exited(99, 0)), vec![]);
    assert_eq!(
        step(&mut m, exited(20, status_signal(9))),
        vec![Action::Say(Msg::LeaveStage(S2)), Action::Spawn(Job::Stage(StageId::Three))]
    );
}

#[test]
fn test_stopping_signals_ignored() {
    let mut m = at(State::Stopping { pid: 20, kill_at: T0 + Span::from_secs(3) });
    for s in [Sig::Cont, Sig::Int, Sig::Pwr, Sig::Alrm, Sig::Term] {
        assert_eq!(step(&mut m, sig(s)), vec![]);
    }
}

#[test]
fn test_stage2_pwr() {
    let mut m = at(running(StageId::Two, 20));
    assert_eq!(step(&mut m, sig(Sig::Pwr)), vec![Action::ClearStopit, Action::Kill { pid: 20, sig: SendSig::Term }]);
}

#[test]
fn test_stage2_alrm_forwarded() {
    let mut m = at(running(StageId::Two, 20));
    assert_eq!(step(&mut m, sig(Sig::Alrm)), vec![Action::Kill { pid: 20, sig: SendSig::Alrm }]);
}

#[test]
fn test_stage2_term() {
    let mut m = at(running(StageId::Two, 20));
    assert_eq!(step(&mut m, sig(Sig::Term)), vec![]);
    let mut m = container(running(StageId::Two, 20));
    assert_eq!(step(&mut m, sig(Sig::Term)), vec![Action::ClearStopit, Action::Kill { pid: 20, sig: SendSig::Term }]);
}

#[test]
fn test_stage2_int_without_ctrlaltdel() {
    let mut m = at(running(StageId::Two, 20));
    assert_eq!(step(&mut m, sig(Sig::Int)), vec![]);
}

#[test]
fn test_stage2_int_ctrlaltdel() {
    let mut m = at(running(StageId::Two, 20));
    let a = step(&mut m, Input::Signal { sig: Sig::Int, flags: Flags { ctrlaltdel: true, ..Flags::default() } });
    assert_eq!(a, vec![Action::Say(Msg::CtrlAltDelRequest), Action::Spawn(Job::CtrlAltDel)]);
    assert_eq!(step(&mut m, Input::Spawned { pid: 40 }), vec![]);
    // Without stopit afterwards: back to stage 2.
    assert_eq!(step(&mut m, exited(40, 0)), vec![Action::Say(Msg::LeaveStage(Script::CtrlAltDel))]);
    assert_eq!(*m.state(), running(StageId::Two, 20));
}

#[test]
fn test_ctrlaltdel_exit_with_stopit() {
    let mut m = at(State::CtrlAltDel { stage2: Stage2 { pid: 20, exited: None }, pid: 40 });
    let a = step(&mut m, Input::Exited { pid: 40, status: status_signal(9), flags: Flags { stopit: true, ..Flags::default() } });
    assert_eq!(
        a,
        vec![
            Action::Say(Msg::ChildCrashed(Script::CtrlAltDel)),
            Action::Say(Msg::LeaveStage(Script::CtrlAltDel)),
            Action::ClearStopit,
            Action::Kill { pid: 20, sig: SendSig::Term }
        ]
    );
}

#[test]
fn test_ctrlaltdel_stage2_exit_meanwhile() {
    let mut m = at(State::CtrlAltDel { stage2: Stage2 { pid: 20, exited: None }, pid: 40 });
    assert_eq!(step(&mut m, exited(20, status_exit(0))), vec![]);
    assert_eq!(
        step(&mut m, exited(40, 0)),
        vec![Action::Say(Msg::LeaveStage(Script::CtrlAltDel)), Action::Say(Msg::LeaveStage(S2)), Action::Spawn(Job::Stage(StageId::Three))]
    );
}

fn cad_fork_pause(exited: Option<i32>) -> State {
    State::ForkPause { job: Job::CtrlAltDel, stage2: Some(Stage2 { pid: 20, exited }), until: T0 + FORK_RETRY }
}

// PID 1's fork-failure path: the ctrlaltdel fork failed and waits for its retry while
// stage 2 still runs. The guard records stage 2's exit (kills the mutants `==` -> `!=`,
// `&&` -> `||`, delete `!` and the deleted match arm in `on_exited`).
#[test]
fn test_forkpause_ctrlaltdel_stage2_exit_recorded() {
    let mut m = at(cad_fork_pause(None));
    assert_eq!(step(&mut m, exited(20, status_exit(0))), vec![]);
    assert_eq!(*m.state(), cad_fork_pause(Some(status_exit(0))));
    // The retry carries the recorded exit: once ctrlaltdel ends, stage 2 is over.
    m.handle(now(T0 + FORK_RETRY), Input::Tick);
    assert_eq!(drain(&mut m), vec![Action::Spawn(Job::CtrlAltDel)]);
    assert_eq!(step(&mut m, Input::Spawned { pid: 40 }), vec![]);
    assert_eq!(
        step(&mut m, exited(40, 0)),
        vec![Action::Say(Msg::LeaveStage(Script::CtrlAltDel)), Action::Say(Msg::LeaveStage(S2)), Action::Spawn(Job::Stage(StageId::Three))]
    );
}

#[test]
fn test_forkpause_ctrlaltdel_orphan_exit_ignored() {
    let mut m = at(cad_fork_pause(None));
    assert_eq!(step(&mut m, exited(99, status_exit(1))), vec![]);
    assert_eq!(*m.state(), cad_fork_pause(None));
}

#[test]
fn test_forkpause_ctrlaltdel_stage2_second_exit_keeps_first() {
    let mut m = at(cad_fork_pause(Some(status_exit(3))));
    assert_eq!(step(&mut m, exited(20, status_exit(5))), vec![]);
    assert_eq!(*m.state(), cad_fork_pause(Some(status_exit(3))));
}

#[test]
fn test_forkpause_ctrlaltdel_stage2_exit_without_retry_returns_to_stage2() {
    // Control: without the exit, the retried ctrlaltdel hands back a running stage 2.
    let mut m = at(cad_fork_pause(None));
    m.handle(now(T0 + FORK_RETRY), Input::Tick);
    assert_eq!(drain(&mut m), vec![Action::Spawn(Job::CtrlAltDel)]);
    assert_eq!(step(&mut m, Input::Spawned { pid: 40 }), vec![]);
    assert_eq!(step(&mut m, exited(40, 0)), vec![Action::Say(Msg::LeaveStage(Script::CtrlAltDel))]);
    assert_eq!(*m.state(), running(StageId::Two, 20));
}

// Kills `&&` -> `||` in `on_exited`'s CtrlAltDel arm: an orphan's exit is not stage 2's.
#[test]
fn test_ctrlaltdel_orphan_exit_ignored() {
    let ctrlaltdel = State::CtrlAltDel { stage2: Stage2 { pid: 20, exited: None }, pid: 40 };
    let mut m = at(ctrlaltdel.clone());
    assert_eq!(step(&mut m, exited(99, status_exit(1))), vec![]);
    assert_eq!(*m.state(), ctrlaltdel);
}

#[test]
fn test_ctrlaltdel_stage2_second_exit_keeps_first() {
    let ctrlaltdel = State::CtrlAltDel { stage2: Stage2 { pid: 20, exited: Some(status_exit(3)) }, pid: 40 };
    let mut m = at(ctrlaltdel.clone());
    assert_eq!(step(&mut m, exited(20, status_exit(5))), vec![]);
    assert_eq!(*m.state(), ctrlaltdel);
}

#[test]
fn test_restartpause_shutdown_request() {
    let mut m = at(State::RestartPause { until: T0 + Span::from_secs(3) });
    assert_eq!(step(&mut m, sig(Sig::Cont)), vec![]);
    assert_eq!(step(&mut m, sig(Sig::Alrm)), vec![]);
    assert_eq!(
        step(&mut m, sig(Sig::Pwr)),
        vec![Action::ClearStopit, Action::Say(Msg::LeaveStage(S2)), Action::Spawn(Job::Stage(StageId::Three))]
    );
}

#[test]
fn test_stage3_exit_poweroff() {
    let mut m = at(running(StageId::Three, 30));
    let a = step(&mut m, exited(30, status_exit(0)));
    assert_eq!(
        a,
        vec![
            Action::Say(Msg::LeaveStage(S3)),
            Action::Say(Msg::SendingKillAll),
            Action::KillAll,
            Action::Spawn(Job::Final(FinalPlan(vec![
                FinalStep::Say(Msg::PowerOff),
                FinalStep::Sync,
                FinalStep::Reboot(RebootCmd::PowerOff),
                FinalStep::Sleep(POWEROFF_HALT_FALLBACK),
                FinalStep::Say(Msg::SystemHalt),
                FinalStep::Sync,
                FinalStep::Reboot(RebootCmd::Halt),
            ])))
        ]
    );
    assert_eq!(step(&mut m, Input::Spawned { pid: 50 }), vec![]);
    assert_eq!(step(&mut m, exited(50, 0)), vec![]);
    assert_eq!(*m.state(), State::Halted);
    assert_eq!(m.poll_deadline(), None);
}

#[test]
fn test_stage3_exit_reboot_nosync() {
    let mut m = at(running(StageId::Three, 30));
    let a =
        step(&mut m, Input::Exited { pid: 30, status: status_exit(2), flags: Flags { reboot: true, nosync: true, ..Flags::default() } });
    assert_eq!(
        a,
        vec![
            Action::Say(Msg::ChildFailed(S3)),
            Action::Say(Msg::LeaveStage(S3)),
            Action::Say(Msg::SendingKillAll),
            Action::KillAll,
            Action::Spawn(Job::Final(FinalPlan(vec![FinalStep::Say(Msg::SystemReboot), FinalStep::Reboot(RebootCmd::Restart)])))
        ]
    );
}

#[test]
fn test_final_spawn_failed_runs_inline() {
    let plan = final_plan(Flags::default());
    let mut m = at(State::Spawning { job: Job::Final(plan.clone()), stage2: None });
    assert_eq!(step(&mut m, Input::SpawnFailed { errno: Errno::ENOMEM }), vec![Action::RunInline(plan)]);
}

#[test]
fn test_stage3_exit_container() {
    let mut m = Stages::with_state(Config { container: true }, running(StageId::Three, 30), 7);
    let a = step(&mut m, exited(30, status_exit(0)));
    assert_eq!(
        a,
        vec![
            Action::Say(Msg::LeaveStage(S3)),
            Action::Say(Msg::SendingKillAll),
            Action::KillAll,
            Action::Sync,
            Action::Say(Msg::ContainerExit(7)),
            Action::Exit(7)
        ]
    );
    let mut m = Stages::with_state(Config { container: true }, running(StageId::Three, 30), 7);
    let a = step(&mut m, exited(30, status_exit(4)));
    assert_eq!(a.last(), Some(&Action::Exit(4)));
}

#[test]
fn test_halted_everything_ignored() {
    let mut m = at(State::Halted);
    for i in [Input::Boot, Input::Tick, exited(1, 0), sig(Sig::Cont), sig(Sig::Int), Input::Spawned { pid: 3 }] {
        assert_eq!(step(&mut m, i), vec![]);
    }
}

#[test]
fn test_whole_boot_sequence() {
    let mut m = Stages::new(Config::default());
    step(&mut m, Input::Boot);
    step(&mut m, Input::Spawned { pid: 2 });
    step(&mut m, exited(2, 0));
    step(&mut m, Input::Spawned { pid: 3 });
    let a = step(&mut m, Input::Signal { sig: Sig::Cont, flags: Flags { stopit: true, ..Flags::default() } });
    assert_eq!(a[1], Action::Kill { pid: 3, sig: SendSig::Term });
    step(&mut m, exited(3, 0));
    step(&mut m, Input::Spawned { pid: 4 });
    let a = step(&mut m, exited(4, 0));
    assert!(a.contains(&Action::KillAll));
}

#[test]
fn test_messages_exact() {
    let p = Paths::default();
    let l = |m| alloc::string::String::from_utf8(msg::line(m, &p)).unwrap();
    assert_eq!(l(Msg::Booting), "- runit: $Id: 25da3b86f7bed4038b8a039d2f8e8c9bbcf0822b $: booting.\n");
    assert_eq!(l(Msg::EnterStage(S1)), "- runit: enter stage: /etc/runit/1\n");
    assert_eq!(l(Msg::LeaveStage(Script::CtrlAltDel)), "- runit: leave stage: /etc/runit/ctrlaltdel\n");
    assert_eq!(l(Msg::ChildFailed(S2)), "- runit: warning: child failed: /etc/runit/2\n");
    assert_eq!(l(Msg::ChildCrashed(Script::CtrlAltDel)), "- runit: warning: child crashed: /etc/runit/ctrlaltdel\n");
    assert_eq!(l(Msg::SkippingStage2), "- runit: warning: skipping stage 2...\n");
    assert_eq!(l(Msg::KillingStage2), "- runit: warning: killing all processes in stage 2...\n");
    assert_eq!(l(Msg::Restarting), "- runit: warning: restarting.\n");
    assert_eq!(l(Msg::SignalsOnlyInStage2), "- runit: warning: signals only work in stage 2.\n");
    assert_eq!(l(Msg::CtrlAltDelRequest), "- runit: ctrl-alt-del request...\n");
    assert_eq!(l(Msg::Stage2NotTerminated), "- runit: warning: stage 2 not terminated, sending sigkill...\n");
    assert_eq!(l(Msg::SendingKillAll), "- runit: sending KILL signal to all processes...\n");
    assert_eq!(l(Msg::SystemReboot), "- runit: system reboot.\n");
    assert_eq!(l(Msg::PowerOff), "- runit: power off...\n");
    assert_eq!(l(Msg::SystemHalt), "- runit: system halt.\n");
    assert_eq!(l(Msg::ForkFailed(S3, Errno::EAGAIN)), "- runit: fatal: unable to fork for \"/etc/runit/3\" pausing: temporary failure\n");
    assert_eq!(l(Msg::StartFailed(S2, Errno::ENOENT)), "- runit: fatal: unable to start child: /etc/runit/2: file does not exist\n");
    assert_eq!(l(Msg::ConsoleFailed(Errno::ENOENT)), "- runit: warning: unable to open /dev/console: file does not exist\n");
    assert_eq!(l(Msg::NotPid1), "- runit: fatal: must be run as process no 1.\n");
    assert_eq!(
        l(Msg::SelfpipeFailed(Errno::EMFILE)),
        "- runit: fatal: unable to create selfpipe, pausing: process cannot open more files\n"
    );
    assert_eq!(l(Msg::ContainerExit(-3)), "- runit: exit -3.\n");
    assert_eq!(l(Msg::ContainerExit(111)), "- runit: exit 111.\n");
    // Kills `<` -> `<=` in `push_decimal` (0 is not negative).
    assert_eq!(l(Msg::ContainerExit(0)), "- runit: exit 0.\n");
}

#[test]
fn test_paths_under_root() {
    let p = Paths::under(b"/tmp/r/");
    assert_eq!(p.stage2, b"/tmp/r/etc/runit/2");
    assert_eq!(p.stopit, b"/tmp/r/run/runit.stopit");
    assert_eq!(Paths::default().reboot, b"/run/runit.reboot");
    assert_eq!(Paths::default().nosync, b"/etc/runit/nosync");
    assert_eq!(Paths::of(Layout::Debian, b""), Paths::default());
}

#[test]
fn test_ignored_arguments_only_in_container_mode() {
    let args = vec![b"sh".to_vec(), b"-c".to_vec()];
    assert_eq!(msg::ignored_arguments(false, &args), None);
    assert_eq!(msg::ignored_arguments(true, &[]), None);
    let m = msg::ignored_arguments(true, &args).unwrap();
    assert!(m.starts_with(b"- runit: warning: ignoring arguments: sh -c: ") && m.ends_with(b"\n"));
}

#[test]
fn test_paths_void_layout() {
    let p = Paths::of(Layout::Void, b"/r");
    assert_eq!(
        (p.stopit.as_slice(), p.reboot.as_slice(), p.runit.as_slice()),
        (&b"/r/etc/runit/stopit"[..], &b"/r/etc/runit/reboot"[..], &b"/r/usr/bin/runit"[..])
    );
    assert_eq!(p.stage1, b"/r/etc/runit/1");
    assert_eq!(Layout::Void.svdir(), b"/var/service/");
    assert_eq!(Layout::Debian.svdir(), crate::sv::SVDIR_DEFAULT);
}

#[test]
fn test_init_messages() {
    assert_eq!(msg::init::usage(b"runit-init"), b"usage: runit-init 0|6\n\n");
    assert_eq!(
        msg::init::create_failed(b"/run/runit.stopit", Errno::EACCES),
        b"init: fatal: unable to create /run/runit.stopit: access denied\n"
    );
    assert_eq!(msg::init::chmod_failed(b"/x", Errno::EPERM), b"init: fatal: unable to chmod /x: permission denied\n");
    assert_eq!(msg::init::exec_failed(Errno::ENOENT), b"init: fatal: unable to start runit: file does not exist\n");
}

// The accessors and wait-status helpers the verification suites (explorer, tables,
// reference model) build on; each test kills the named mutants.

/// Kills `StageId::number` -> 0 and -> 1.
#[test]
fn test_stage_id_number() {
    assert_eq!([StageId::One, StageId::Two, StageId::Three].map(StageId::number), [1, 2, 3]);
}

/// Kills `status_signal` -> 1, -> -1, and `&` -> `|` / `^` (the core-dump bit is masked).
#[test]
fn test_status_signal_is_a_signal_death() {
    assert_eq!(status_signal(9), 9);
    assert_eq!(status_signal(11 | 0x80), 11);
    assert_eq!(Ended::from_status(status_signal(15)), Ended::Signal(15));
}

/// Kills `Stages::config` -> `Default::default()`.
#[test]
fn test_config_is_kept() {
    assert_eq!(container(State::Start).config(), Config { container: true });
}

/// Kills `Stages::set_state` -> `()`.
#[test]
fn test_set_state_replaces_state_only() {
    let mut m = Stages::with_state(Config::default(), running(StageId::One, 10), 4);
    m.set_state(running(StageId::Two, 20));
    assert_eq!(*m.state(), running(StageId::Two, 20));
    assert_eq!(m.stage2_code(), 4);
}
