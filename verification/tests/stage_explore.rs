//! Exhaustive bounded exploration of runit's stage machine: every sequence of stage
//! exits (0, 1, 100, 111, killed), signals (CONT, INT, PWR, ALRM, TERM) with flag files
//! (stopit, ctrlaltdel, reboot) present or not, fork failures, orphan exits and ticks,
//! in normal and container mode.
//!
//! Invariants: stages start in the order 1 (2)* 3; stage 1 and stage 3 start at most
//! once; kill-all only after stage 3 ended; the final step (reboot plan or exit) only
//! after kill-all; nothing is started after the end; every pause has a deadline.
//! Liveness: a shutdown request reaches stage 3 using only fair inputs.

use model::errno::Errno;
use model::stage::*;
use model::{Machine, Mono, Now, Wall};
use verification::explore::{explore, Explore, Property};

const T: Mono = Mono(1_000_000_000_000);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct X {
    m: Stages,
    /// Starts of stage 1, 2, 3 (saturating at 3).
    starts: [u8; 3],
    killall: bool,
    stage3_ended: bool,
    final_started: bool,
    exit: Option<i32>,
    cad_runs: u8,
    sent_kill: bool,
    rebooting: bool,
    forked_failed: bool,
    bad: Option<&'static str>,
}

#[derive(Clone, Debug)]
enum In {
    M(Input),
    /// Time passes to the machine's deadline.
    Tick,
}

fn now(m: Mono) -> Now {
    Now { mono: m, wall: Wall::default() }
}

fn live_pids(s: &State) -> Vec<Pid> {
    match s {
        State::Running { pid, .. } | State::Stopping { pid, .. } | State::Killing { pid } => vec![*pid],
        State::CtrlAltDel { stage2, pid } => {
            if stage2.exited.is_none() {
                vec![stage2.pid, *pid]
            } else {
                vec![*pid]
            }
        }
        State::Spawning { stage2: Some(s2), .. } | State::ForkPause { stage2: Some(s2), .. } if s2.exited.is_none() => vec![s2.pid],
        State::Final { pid: Some(p) } => vec![*p],
        State::Start
        | State::Spawning { .. }
        | State::ForkPause { .. }
        | State::RestartPause { .. }
        | State::Final { pid: None }
        | State::Halted => vec![],
    }
}

/// Renames pids in order of appearance (100, 101, ...) and rebases times so that the
/// machine's "now" is always `T`.
fn canonical(s: State, shift: u64) -> State {
    let mut map: Vec<(Pid, Pid)> = Vec::new();
    let mut r = |p: Pid| -> Pid {
        if let Some(&(_, n)) = map.iter().find(|(o, _)| *o == p) {
            return n;
        }
        let n = 100 + map.len() as Pid;
        map.push((p, n));
        n
    };
    let t = |m: Mono| Mono(m.0.saturating_sub(shift));
    let s2 = |s: Stage2, r: &mut dyn FnMut(Pid) -> Pid| Stage2 { pid: r(s.pid), exited: s.exited };
    match s {
        State::Start => State::Start,
        State::Spawning { job, stage2 } => State::Spawning { job, stage2: stage2.map(|x| s2(x, &mut r)) },
        State::ForkPause { job, stage2, until } => State::ForkPause { job, stage2: stage2.map(|x| s2(x, &mut r)), until: t(until) },
        State::Running { stage, pid } => State::Running { stage, pid: r(pid) },
        State::CtrlAltDel { stage2, pid } => {
            let a = s2(stage2, &mut r);
            State::CtrlAltDel { stage2: a, pid: r(pid) }
        }
        State::Stopping { pid, kill_at } => State::Stopping { pid: r(pid), kill_at: t(kill_at) },
        State::Killing { pid } => State::Killing { pid: r(pid) },
        State::RestartPause { until } => State::RestartPause { until: t(until) },
        State::Final { pid } => State::Final { pid: pid.map(r) },
        State::Halted => State::Halted,
    }
}

struct Model;

fn flag_sets() -> [Flags; 3] {
    let f = Flags::default();
    [f, Flags { stopit: true, ..f }, Flags { reboot: true, nosync: true, ..f }]
}

impl Explore for Model {
    type State = X;
    type Input = In;

    fn initial(&self) -> Vec<X> {
        [false, true]
            .into_iter()
            .map(|container| X {
                m: Stages::new(Config { container }),
                starts: [0; 3],
                killall: false,
                stage3_ended: false,
                final_started: false,
                exit: None,
                cad_runs: 0,
                sent_kill: false,
                rebooting: false,
                forked_failed: false,
                bad: None,
            })
            .collect()
    }

    fn inputs(&self, s: &X) -> Vec<In> {
        if s.bad.is_some() || s.exit.is_some() {
            return vec![];
        }
        let st = s.m.state();
        if s.m.owes_spawn_reply() {
            let fresh = live_pids(st).into_iter().max().unwrap_or(99) + 1;
            return vec![In::M(Input::Spawned { pid: fresh }), In::M(Input::SpawnFailed { errno: Errno::EAGAIN })];
        }
        let mut v = Vec::new();
        if matches!(st, State::Start) {
            v.push(In::M(Input::Boot));
        }
        for pid in live_pids(st) {
            for status in [status_exit(0), status_exit(1), status_exit(100), status_exit(111), status_signal(9)] {
                for flags in flag_sets() {
                    v.push(In::M(Input::Exited { pid, status, flags }));
                }
            }
        }
        v.push(In::M(Input::Exited { pid: 7, status: 0, flags: Flags::default() }));
        for sig in [Sig::Cont, Sig::Int, Sig::Pwr, Sig::Alrm, Sig::Term] {
            for flags in [Flags::default(), Flags { stopit: true, ..Flags::default() }, Flags { ctrlaltdel: true, ..Flags::default() }] {
                v.push(In::M(Input::Signal { sig, flags }));
            }
        }
        if s.m.poll_deadline().is_some() {
            v.push(In::Tick);
        }
        v
    }

    fn fair_inputs(&self, s: &X) -> Vec<In> {
        let st = s.m.state();
        if s.m.owes_spawn_reply() {
            let fresh = live_pids(st).into_iter().max().unwrap_or(99) + 1;
            return vec![In::M(Input::Spawned { pid: fresh })];
        }
        let mut v = Vec::new();
        if s.m.poll_deadline().is_some() {
            v.push(In::Tick);
        }
        // A process that got KILL does exit.
        if let State::Killing { pid } = st {
            v.push(In::M(Input::Exited { pid: *pid, status: status_signal(9), flags: Flags::default() }));
        }
        v
    }

    fn step(&self, s: &X, i: &In) -> X {
        let mut x = s.clone();
        let before = x.m.state().clone();
        let (at, input) = match i {
            In::M(inp) => (T, inp.clone()),
            In::Tick => (x.m.poll_deadline().unwrap_or(T).max(T), Input::Tick),
        };
        x.m.handle(now(at), input.clone());
        let bad = |x: &mut X, why: &'static str| {
            if x.bad.is_none() {
                x.bad = Some(why);
            }
        };
        if let (State::Spawning { job: Job::Stage(st), .. }, Input::Spawned { .. }) = (&before, &input) {
            let k = st.number() as usize - 1;
            x.starts[k] = (x.starts[k] + 1).min(3);
            match st {
                StageId::One if x.starts[1] + x.starts[2] > 0 => bad(&mut x, "stage 1 after a later stage"),
                StageId::Two if x.starts[0] == 0 || x.starts[2] > 0 => bad(&mut x, "stage 2 out of order"),
                StageId::Three if x.starts[0] == 0 => bad(&mut x, "stage 3 before stage 1"),
                _ => {}
            }
        }
        if let (State::Running { stage: StageId::Three, pid }, Input::Exited { pid: p, .. }) = (&before, &input) {
            if pid == p {
                x.stage3_ended = true;
            }
        }
        if let (State::Spawning { job: Job::CtrlAltDel, .. }, Input::Spawned { .. }) = (&before, &input) {
            x.cad_runs = (x.cad_runs + 1).min(2);
        }
        if let Input::SpawnFailed { .. } = input {
            x.forked_failed = true;
        }
        let mut cap = model::StepCap::new("stage: actions of one input", 10_000);
        while let Some(a) = x.m.poll_action() {
            cap.step();
            if x.exit.is_some() || (x.final_started && !matches!(a, Action::Say(_) | Action::RunInline(_))) {
                bad(&mut x, "action after the end");
            }
            match a {
                Action::KillAll => {
                    if !x.stage3_ended {
                        bad(&mut x, "kill-all before stage 3 ended");
                    }
                    x.killall = true;
                }
                Action::Spawn(Job::Final(plan)) | Action::RunInline(plan) => {
                    if !x.killall {
                        bad(&mut x, "final step before kill-all");
                    }
                    if x.m.config().container {
                        bad(&mut x, "reboot in container mode");
                    }
                    x.rebooting = plan.0.contains(&FinalStep::Reboot(RebootCmd::Restart));
                    x.final_started = true;
                }
                Action::Exit(code) => {
                    if !x.killall || !x.m.config().container {
                        bad(&mut x, "exit before kill-all or outside container mode");
                    }
                    x.exit = Some(code);
                }
                Action::Kill { sig: SendSig::Kill, .. } => x.sent_kill = true,
                Action::Kill { pid, .. } => {
                    if !live_pids(&before).contains(&pid) {
                        bad(&mut x, "signal to a process that is not live");
                    }
                }
                Action::Spawn(Job::Stage(_)) | Action::Spawn(Job::CtrlAltDel) => {
                    if x.stage3_ended {
                        bad(&mut x, "spawn after stage 3 ended");
                    }
                }
                Action::Say(_) | Action::KillGroup { .. } | Action::ClearStopit | Action::Sync => {}
            }
        }
        let shift = at.0 - T.0;
        let canon = canonical(x.m.state().clone(), shift);
        x.m.set_state(canon);
        x
    }
}

#[test]
fn stage_explore() {
    let props: Vec<Property<X>> = vec![
        Property::always("stages in order 1 (2)* 3, end after kill-all", |x| x.bad.is_none()),
        Property::always("stage 1 and stage 3 start at most once", |x| x.starts[0] <= 1 && x.starts[2] <= 1),
        Property::always("every pause has a deadline", |x| match x.m.state() {
            State::ForkPause { .. } | State::RestartPause { .. } | State::Stopping { .. } => x.m.poll_deadline().is_some(),
            _ => true,
        }),
        Property::always("halted only after the final step", |x| {
            !matches!(x.m.state(), State::Halted) || x.final_started || x.exit.is_some()
        }),
        Property::sometimes("stage 2 restarted", |x| x.starts[1] >= 2),
        Property::sometimes("stage 1 skipped stage 2", |x| x.starts[2] == 1 && x.starts[1] == 0),
        Property::sometimes("ctrlaltdel ran", |x| x.cad_runs >= 1),
        Property::sometimes("stage 2 needed KILL", |x| x.sent_kill),
        Property::sometimes("reboot chosen", |x| x.rebooting),
        Property::sometimes("power off reached halted", |x| matches!(x.m.state(), State::Halted) && !x.rebooting && x.final_started),
        Property::sometimes("container exit", |x| x.exit.is_some()),
        Property::sometimes("container stop during stage 1 skipped stage 2", |x| {
            x.m.term_pending() && x.starts[2] == 1 && x.starts[1] == 0
        }),
        Property::sometimes("fork failure retried", |x| x.forked_failed && x.starts[0] == 1),
        Property::eventually(
            "a shutdown request reaches stage 3",
            |x| matches!(x.m.state(), State::Stopping { .. }),
            |x| x.starts[2] >= 1,
            6,
        ),
        Property::eventually(
            "a stage 2 restart happens",
            |x| matches!(x.m.state(), State::RestartPause { .. }),
            |x| matches!(x.m.state(), State::Running { stage: StageId::Two, .. }),
            4,
        ),
    ];
    let report = explore(&Model, 24, 2_000_000, &props);
    report.assert_ok("stage");
    assert!(!report.truncated, "exploration truncated");
}
