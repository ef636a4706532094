//! proptest-state-machine: the real runsv machine against the naive reference model
//! (`verification::reference::runsv`), ARCHITECTURE layer 3.
//!
//! Transitions are generated from the reference state (control bytes for both slots, exits
//! only of live children, ticks of 0-2000 ms with the 999/1000/1001 ms boundaries
//! favoured, SIGTERM, stray reaps, scripted fork failures and `control/<c>` outcomes). The
//! real machine runs inside a [`World`] that answers obligations the same way. After every
//! step: effects, per-slot state, the last status and pid file written, exit and deadline must equal
//! the reference's, and every named invariant must hold.
//!
//! Cases: `PROPTEST_CASES` (default 256) sequences of 1..48 steps.

use model::errno::Errno;
use model::runsv::PipeId;
use model::runsv::{Backoff, Config, ControlOutcome, Limit, Sig, Slot, Stop};
use model::status::{RunState, StatusRecord, Want};
use model::time::Span;
use model::time::{Tai64n, Wall};
use model::Machine;
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::Config as PtConfig;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use verification::reference::runsv::{Effect, Event, RefRunsv, Replies, Step};
use verification::reference::runsv_world::{PidPolicy, World};

/// The reference: runit's semantics with only the documented divergences.
struct RefMachine;

/// Every byte runsv acts on, plus a few it must ignore.
const BYTES: &[u8] = b"udoxtkpchaiq12e\n\xff";

fn outcome() -> impl Strategy<Value = ControlOutcome> {
    prop_oneof![
        4 => Just(ControlOutcome::Absent),
        2 => Just(ControlOutcome::Exited(0)),
        2 => Just(ControlOutcome::Exited(1 << 8)),
        1 => Just(ControlOutcome::Exited(9)),
        1 => Just(ControlOutcome::StatFailed(Errno::EACCES)),
        1 => Just(ControlOutcome::ForkFailed(Errno::EAGAIN)),
        1 => Just(ControlOutcome::WaitFailed(Errno::ECHILD)),
    ]
}

fn replies() -> impl Strategy<Value = Replies> {
    (
        prop_oneof![3 => Just(vec![]), 1 => proptest::collection::vec(prop::bool::weighted(0.7), 1..3)],
        prop_oneof![2 => Just(vec![]), 1 => proptest::collection::vec(outcome(), 1..4)],
    )
        .prop_map(|(spawn_ok, control)| Replies { spawn_ok, control })
}

/// runit's stop (most cases), or some of the stop files with deadlines the ticks reach.
fn stop() -> impl Strategy<Value = Stop> {
    let ms =
        || prop_oneof![Just(None), Just(Some(1u64)), Just(Some(999)), Just(Some(1000)), Just(Some(2000)), (1u64..=3000u64).prop_map(Some)];
    let files = (proptest::sample::select(vec![Sig::Term, Sig::Hup, Sig::Int, Sig::Kill, Sig::Cont]), ms(), ms(), any::<bool>()).prop_map(
        |(signal, kill, finish, group)| Stop {
            signal,
            kill_after: kill.map(Span::from_millis),
            finish_limit: finish.map(Span::from_millis),
            group,
        },
    );
    prop_oneof![2 => Just(Stop::RUNIT), 1 => files]
}

/// runit's throttle (most cases), or some of the backoff files with pauses and windows the
/// ticks reach (0-2000 ms ticks, and 5000).
fn backoff() -> impl Strategy<Value = Backoff> {
    let delay = prop_oneof![Just(None), Just(Some(1000u64)), Just(Some(1500)), Just(Some(3000))];
    let max = prop_oneof![Just(None), Just(Some(1000u64)), Just(Some(2000)), Just(Some(8000))];
    let limit = prop_oneof![
        Just(None),
        (1u32..=3, prop_oneof![Just(1000u64), Just(2000), Just(5000), Just(10_000)])
            .prop_map(|(count, ms)| Some(Limit { count, interval: Span::from_millis(ms) })),
    ];
    let files = (delay, 0u32..=3, max, limit).prop_map(|(delay, steps, max, limit)| Backoff {
        delay: delay.map(Span::from_millis),
        steps,
        max_delay: max.map(Span::from_millis),
        limit,
    });
    prop_oneof![2 => Just(Backoff::RUNIT), 1 => files]
}

fn wait_status() -> impl Strategy<Value = i32> {
    prop_oneof![Just(0), Just(3 << 8), Just(111 << 8), Just(15), Just(9), Just(0x80 | 11), Just(0x80 | 3)]
}

fn tick_ms() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), Just(999), Just(1000), Just(1001), Just(5000), 0u64..=2000]
}

impl ReferenceStateMachine for RefMachine {
    type State = RefRunsv;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<RefRunsv> {
        (any::<bool>(), prop_oneof![Just(None), Just(Some(false)), Just(Some(true))], stop(), backoff())
            .prop_map(|(down, log, stop, backoff)| {
                RefRunsv::new_with_backoff(Config { dir: b"s".to_vec(), down, log, readiness: Default::default() }, stop, backoff)
            })
            .boxed()
    }

    fn transitions(state: &RefRunsv) -> BoxedStrategy<Step> {
        let mut events: Vec<(u32, BoxedStrategy<Event>)> = vec![
            (8, proptest::sample::select(BYTES).prop_map(|b| Event::Control(Slot::Main, b)).boxed()),
            (1, Just(Event::Terminate).boxed()),
            (1, Just(Event::Stray).boxed()),
            (5, tick_ms().prop_map(Event::Tick).boxed()),
        ];
        if state.log.is_some() {
            events.push((4, proptest::sample::select(BYTES).prop_map(|b| Event::Control(Slot::Log, b)).boxed()));
        }
        for slot in [Slot::Main, Slot::Log] {
            if state.slot(slot).is_some_and(|s| s.pid != 0) {
                events.push((
                    5,
                    (wait_status(), any::<bool>()).prop_map(move |(status, finish)| Event::ChildExit { slot, status, finish }).boxed(),
                ));
            }
        }
        (Union::new_weighted(events), replies()).prop_map(|(event, replies)| Step { event, replies }).boxed()
    }

    fn preconditions(state: &RefRunsv, step: &Step) -> bool {
        match &step.event {
            Event::ChildExit { slot, .. } => state.slot(*slot).is_some_and(|s| s.pid != 0),
            Event::Control(Slot::Log, _) => state.log.is_some(),
            _ => true,
        }
    }

    fn apply(mut state: RefRunsv, step: &Step) -> RefRunsv {
        state.apply(step);
        state
    }
}

struct RunsvTest;

/// Compares the world (real machine) with the reference after a step; panics with a diff.
fn compare(w: &World, r: &RefRunsv) {
    if let Some(v) = &w.first_violation {
        panic!("invariant violated: {v}");
    }
    assert_eq!(w.effects, r.effects, "effects differ");
    assert_eq!(w.exited, r.exited, "exit differs");
    if w.exited {
        return;
    }
    for slot in [Slot::Main, Slot::Log] {
        assert_eq!(w.view(slot), r.slot(slot).map(|s| s.view()), "{slot:?} state differs");
        let ix = if slot == Slot::Main { 0 } else { 1 };
        let rw = r.slot(slot).and_then(|s| s.written.clone());
        assert_eq!(w.written[ix], rw, "{slot:?} last status written differs");
        let rp = r.slot(slot).and_then(|s| s.pid_file.clone());
        assert_eq!(w.pid_file[ix], rp, "{slot:?} last pid file written differs");
    }
    assert_eq!(w.pipe_closed, r.pipe_closed, "log pipe state differs");
    assert_eq!(w.m.poll_deadline(), r.deadline(), "deadline differs");
}

impl StateMachineTest for RunsvTest {
    type SystemUnderTest = World;
    type Reference = RefMachine;

    fn init_test(r: &RefRunsv) -> World {
        World::new_with_backoff(r.config.clone(), r.stop, r.backoff, PidPolicy::Fresh, false, Replies::default())
    }

    fn apply(mut w: World, r: &RefRunsv, step: Step) -> World {
        w.apply(&step);
        compare(&w, r);
        w
    }

    fn check_invariants(w: &World, r: &RefRunsv) {
        compare(w, r);
    }
}

// ---------------------------------------------------------------------------------------
// Adoption: start from what a killed runsv left (docs/divergences.md "Adoption").
// ---------------------------------------------------------------------------------------

/// The old `./run`'s pid and the old `log/run`'s.
const OLD_PID: [u32; 2] = [7, 8];
/// The boot's wall time: 100 s before the world's start.
const BOOT_WALL_NS: i64 = (verification::reference::runsv::T0.wall.unix_secs - 100) * 1_000_000_000;

/// What the process an old status names truly is (the world's truth, from which the probe's
/// bytes are made): its start is `start_ms` after the stamp's whole milliseconds.
#[derive(Clone, Copy, Debug)]
enum Old {
    /// The process the status names, alive.
    Genuine { start_ms: i64 },
    /// Another process under that pid (or an older one): its start lies outside the window.
    Other { start_ms: i64 },
    /// The process the status names, now a zombie (`Z`) or dead (`X`).
    Dead(u8),
    /// Gone: `/proc` unreadable, no pidfd.
    Gone,
}

fn old(sub_ms_stamp: bool) -> impl Strategy<Value = Old> {
    // A stamp with runit's +500 ns makes "exactly 1 s before" fall outside: not generated.
    let genuine = if sub_ms_stamp { vec![-990, -500, 0, 10, 20] } else { vec![-1000, -990, -500, 0, 10, 20] };
    prop_oneof![
        8 => proptest::sample::select(genuine).prop_map(|start_ms| Old::Genuine { start_ms }),
        2 => proptest::sample::select(vec![-1010, 30, 2000]).prop_map(|start_ms| Old::Other { start_ms }),
        1 => proptest::sample::select(vec![b'Z', b'X']).prop_map(Old::Dead),
        1 => Just(Old::Gone),
    ]
}

/// One slot's probe and whether its pid is truly the old child.
fn probe(pid: u32, with_pipe: bool) -> impl Strategy<Value = (model::runsv::Probe, bool)> {
    let record = (
        prop_oneof![6 => Just(RunState::Run), 1 => Just(RunState::Finish), 1 => Just(RunState::Down)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::sample::select(vec![0i64, 300, 5000, 20_000]),
        any::<bool>(),
    );
    let pipe = prop_oneof![
        8 => Just(Ok(PipeId { dev: 1, ino: 1, fifo: true })),
        2 => Just(Ok(PipeId { dev: 1, ino: 2, fifo: true })),
        1 => Just(Ok(PipeId { dev: 1, ino: 1, fifo: false })),
        1 => Just(Err(Errno::EPERM)),
    ];
    let comm = proptest::sample::select(vec!["run", "a b", "x) (y"]);
    // ENOSYS (38): a kernel without pidfd_open.
    let pidfd = prop_oneof![4 => Just(Ok(())), 1 => Just(Err(Errno(38)))];
    (record, any::<bool>(), pipe, comm, pidfd, prop_oneof![9 => Just(None), 1 => any::<[u8; 20]>().prop_map(Some)]).prop_flat_map(
        move |((state, want_up, paused, got_term, age_ms, sub_ms), leads, pipe, comm, pidfd, garbage)| {
            old(sub_ms).prop_map(move |o| {
                let base_ns = verification::reference::runsv::T0.wall.unix_secs * 1_000_000_000 - age_ms * 1_000_000;
                let stamp = Tai64n {
                    secs: Tai64n::from_wall(Wall { unix_secs: base_ns / 1_000_000_000, nanos: 0 }).secs,
                    nanos: (base_ns % 1_000_000_000) as u32 + if sub_ms { 500 } else { 0 },
                };
                let want = if want_up { Want::Up } else { Want::Down };
                let status = garbage.unwrap_or_else(|| StatusRecord::new(stamp, pid, paused, want, got_term, state).encode());
                let stat = |start_ms: i64, st: u8| {
                    let ticks = (base_ns + start_ms * 1_000_000 - BOOT_WALL_NS) / 10_000_000;
                    let pgrp = if leads { pid } else { 1 };
                    format!("{pid} ({comm}) {} 1 {pgrp} {pgrp} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 0 0\n", st as char).into_bytes()
                };
                let (proc_stat, pidfd) = match o {
                    Old::Genuine { start_ms } | Old::Other { start_ms } => (Some(stat(start_ms, b'S')), pidfd),
                    Old::Dead(st) => (Some(stat(0, st)), pidfd),
                    Old::Gone => (None, Err(Errno::ESRCH)),
                };
                let genuine = matches!(o, Old::Genuine { .. }) && garbage.is_none() && state == RunState::Run;
                let probe = model::runsv::Probe { status, pidfd, proc_stat, pipe: with_pipe.then_some(pipe) };
                (probe, genuine)
            })
        },
    )
}

/// What a killed runsv left, for a service with or without a log service.
fn resume(log: bool) -> impl Strategy<Value = (model::runsv::Resume, [Option<u32>; 2])> {
    let one = move |i: usize| prop_oneof![5 => probe(OLD_PID[i], log).prop_map(Some), 1 => Just(None)];
    (one(0), one(1)).prop_map(|(main, log)| {
        let genuine = [&main, &log].map(|p| p.as_ref().and_then(|(_, g)| g.then_some(())));
        let genuine = [genuine[0].map(|()| OLD_PID[0]), genuine[1].map(|()| OLD_PID[1])];
        let r = model::runsv::Resume { boot_wall_ns: BOOT_WALL_NS, clk_tck: 100, main: main.map(|p| p.0), log: log.map(|p| p.0) };
        (r, genuine)
    })
}

fn resumed_reference() -> impl Strategy<Value = RefRunsv> {
    (any::<bool>(), prop_oneof![Just(None), Just(Some(false)), Just(Some(true))], stop(), backoff()).prop_flat_map(
        |(down, log, stop, backoff)| {
            resume(log.is_some()).prop_map(move |(r, genuine)| {
                let config = Config { dir: b"s".to_vec(), down, log, readiness: Default::default() };
                RefRunsv::resumed(config, stop, backoff, r, genuine)
            })
        },
    )
}

/// The reference started from what a killed runsv left; then the same steps as
/// [`RefMachine`] (exits of an adopted child arrive through its pidfd).
struct RefAdoptMachine;

impl ReferenceStateMachine for RefAdoptMachine {
    type State = RefRunsv;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<RefRunsv> {
        resumed_reference().boxed()
    }

    fn transitions(state: &RefRunsv) -> BoxedStrategy<Step> {
        RefMachine::transitions(state)
    }

    fn preconditions(state: &RefRunsv, step: &Step) -> bool {
        RefMachine::preconditions(state, step)
    }

    fn apply(state: RefRunsv, step: &Step) -> RefRunsv {
        RefMachine::apply(state, step)
    }
}

/// The real machine fed the same [`model::runsv::Resume`], compared from its start-up on.
struct AdoptTest;

fn resumed_world(r: &RefRunsv) -> World {
    let (resume, genuine) = r.resumed_from.clone().expect("a resumed reference");
    World::resumed_with(r.config.clone(), r.stop, r.backoff, PidPolicy::Fresh, false, resume, genuine, Replies::default())
}

impl StateMachineTest for AdoptTest {
    type SystemUnderTest = World;
    type Reference = RefAdoptMachine;

    fn init_test(r: &RefRunsv) -> World {
        let w = resumed_world(r);
        compare(&w, r);
        w
    }

    fn apply(mut w: World, r: &RefRunsv, step: Step) -> World {
        w.apply(&step);
        compare(&w, r);
        w
    }

    fn check_invariants(w: &World, r: &RefRunsv) {
        compare(w, r);
    }
}

/// The generated start-ups reach every documented outcome: each slot adopted, a pid taken
/// by another process left alone, the pidfd and log-pipe warnings, and a group leader.
#[test]
fn adoption_start_ups_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = resumed_reference();
    let mut seen = std::collections::BTreeMap::<&str, u32>::new();
    for _ in 0..2000 {
        let r = strategy.new_tree(&mut runner).expect("a start-up").current();
        let (_, genuine) = r.resumed_from.clone().expect("resumed");
        let adopted = [r.main.adopted, r.log.as_ref().and_then(|l| l.adopted)];
        let warned = |what: &[u8]| r.effects.iter().any(|e| matches!(e, Effect::Warn(t) if t.windows(what.len()).any(|w| w == what)));
        for (name, hit) in [
            ("main adopted", adopted[0].is_some()),
            ("log adopted", adopted[1].is_some()),
            ("both adopted", adopted[0].is_some() && adopted[1].is_some()),
            ("group leader adopted", adopted[0] == Some(true)),
            ("main not genuine, new ./run", genuine[0].is_none() && r.main.pid >= 100),
            ("genuine but no pidfd", warned(b"unable to take over ./run")),
            ("log pipe refused", warned(b"unable to take over the log pipe")),
            ("both genuine, pipe refused", genuine.iter().all(Option::is_some) && warned(b"unable to take over the log pipe")),
            ("pipe taken back", r.effects.contains(&Effect::TakeLogPipe)),
        ] {
            *seen.entry(name).or_default() += u32::from(hit);
        }
    }
    println!("adoption start-ups out of 2000: {seen:?}");
    assert!(seen.values().all(|&n| n > 0) && seen.len() == 9, "{seen:?}");
}

fn adopted_leader(stop: Stop, leads: bool) -> (World, RefRunsv) {
    adopted_with(stop, Backoff::RUNIT, leads)
}

/// An adopted `./run` (pid 7) whose old status stamped its start 5 s ago.
fn adopted_with(stop: Stop, backoff: Backoff, leads: bool) -> (World, RefRunsv) {
    let wall = verification::reference::runsv::T0.wall.unix_secs;
    let stamp = Tai64n::from_wall(Wall { unix_secs: wall - 5, nanos: 0 });
    let ticks = (wall - 5) * 100 - BOOT_WALL_NS / 10_000_000;
    let pgrp = if leads { 7 } else { 1 };
    let probe = model::runsv::Probe {
        status: StatusRecord::new(stamp, 7, false, Want::Up, false, RunState::Run).encode(),
        pidfd: Ok(()),
        proc_stat: Some(format!("7 (run) S 1 {pgrp} {pgrp} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 0 0\n").into_bytes()),
        pipe: None,
    };
    let resume = model::runsv::Resume { boot_wall_ns: BOOT_WALL_NS, clk_tck: 100, main: Some(probe), log: None };
    let r = RefRunsv::resumed(cfg(false, None), stop, backoff, resume, [Some(7), None]);
    let w = resumed_world(&r);
    compare(&w, &r);
    (w, r)
}

/// Found by a fresh-seed run (seed 1421631977): an adopted `./run` stamped 5 s ago that
/// dies 5 s later lived exactly 10 s of stamps, so it is not a quick death and restarts at
/// once; the reference once measured the age against the unstamped clock (500 ns short).
#[test]
fn regression_adopted_age_is_measured_in_stamps() {
    let backoff = Backoff { delay: Some(Span(1_500_000_000)), steps: 3, max_delay: Some(Span(8_000_000_000)), limit: None };
    let (mut w, mut r) = adopted_with(Stop::RUNIT, backoff, true);
    for s in [step(Event::Tick(5000)), step(Event::ChildExit { slot: Slot::Main, status: 0, finish: false })] {
        r.apply(&s);
        w.apply(&s);
        compare(&w, &r);
    }
    assert!(w.effects.contains(&Effect::Spawn(Slot::Main, model::runsv::Program::Run)), "restarted at once: {:?}", w.effects);
}

/// Both old processes genuine but on two different pipes (or one end not a FIFO): nothing
/// is adopted, one warning, and new processes start as runit starts them.
#[test]
fn regression_adoption_refused_on_two_pipes() {
    let wall = verification::reference::runsv::T0.wall.unix_secs;
    let stamp = Tai64n::from_wall(Wall { unix_secs: wall - 5, nanos: 0 });
    let ticks = (wall - 5) * 100 - BOOT_WALL_NS / 10_000_000;
    let probe = |pid: u32, pipe: PipeId| model::runsv::Probe {
        status: StatusRecord::new(stamp, pid, false, Want::Up, false, RunState::Run).encode(),
        pidfd: Ok(()),
        proc_stat: Some(format!("{pid} (run) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 0 0\n").into_bytes()),
        pipe: Some(Ok(pipe)),
    };
    let one = PipeId { dev: 1, ino: 1, fifo: true };
    for (main, log) in [(one, PipeId { ino: 2, ..one }), (one, PipeId { fifo: false, ..one }), (one, one)] {
        let resume =
            model::runsv::Resume { boot_wall_ns: BOOT_WALL_NS, clk_tck: 100, main: Some(probe(7, main)), log: Some(probe(8, log)) };
        let r = RefRunsv::resumed(cfg(false, Some(false)), Stop::RUNIT, Backoff::RUNIT, resume, [Some(7), Some(8)]);
        let w = resumed_world(&r);
        compare(&w, &r);
        let adopted = main == log;
        assert_eq!(w.view(Slot::Main).map(|v| v.pid == 7), Some(adopted), "{main:?} {log:?}: {:?}", w.effects);
        assert_eq!(w.view(Slot::Log).map(|v| v.pid == 8), Some(adopted), "{main:?} {log:?}: {:?}", w.effects);
    }
}

/// An adopted `./run`: `d` reaches it through its pidfd (a group leader's group with
/// `flag-timeout-killpg`), its end gets `./finish -1 0`, and nothing goes to its group
/// after it ended; the model and the reference agree at every step.
#[test]
fn regression_adopted_stop_signals_and_finish() {
    let group = Stop { group: true, ..Stop::RUNIT };
    for (stop, leads, want) in [
        (Stop::RUNIT, true, Effect::SignalPidfd(Slot::Main, 7, Sig::Term)),
        (group, false, Effect::SignalPidfd(Slot::Main, 7, Sig::Term)),
        (group, true, Effect::SignalGroup(Slot::Main, 7, Sig::Term)),
    ] {
        let (mut w, mut r) = adopted_leader(stop, leads);
        assert_eq!(w.view(Slot::Main).map(|v| v.pid), Some(7), "adopted");
        for s in [step(Event::Control(Slot::Main, b'd')), step(Event::ChildExit { slot: Slot::Main, status: 15, finish: true })] {
            r.apply(&s);
            w.apply(&s);
            compare(&w, &r);
            if let Event::Control(..) = s.event {
                assert!(w.effects.contains(&want), "{stop:?} leads {leads}: {:?}", w.effects);
            } else {
                assert_eq!(w.effects, [Effect::Spawn(Slot::Main, model::runsv::Program::Finish { a: -1, b: 0 })], "{stop:?}");
            }
        }
    }
}

prop_state_machine! {
    #![proptest_config(PtConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        max_shrink_iters: 4096,
        failure_persistence: None,
        .. PtConfig::default()
    })]
    #[test]
    fn runsv_matches_reference(sequential 1..48 => RunsvTest);

}

prop_state_machine! {
    // Adoption's start-ups are many (per slot: record, `/proc`, pidfd, pipe): 4x the cases.
    #![proptest_config(PtConfig {
        cases: 4 * std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        max_shrink_iters: 4096,
        failure_persistence: None,
        .. PtConfig::default()
    })]
    #[test]
    fn runsv_matches_reference_after_adoption(sequential 1..32 => AdoptTest);
}

// ---------------------------------------------------------------------------------------
// Named regressions (shrunk or hand-written sequences worth keeping).
// ---------------------------------------------------------------------------------------

fn step(event: Event) -> Step {
    Step { event, replies: Replies::default() }
}

fn run_both(config: Config, steps: &[Step]) -> (World, RefRunsv) {
    let r = RefRunsv::new(config.clone());
    let w = World::new(config, PidPolicy::Fresh, false, Replies::default());
    both(w, r, steps)
}

/// Compares the world and the reference at the start and after every step.
fn both(mut w: World, mut r: RefRunsv, steps: &[Step]) -> (World, RefRunsv) {
    compare(&w, &r);
    for s in steps {
        r.apply(s);
        w.apply(s);
        compare(&w, &r);
    }
    (w, r)
}

fn cfg(down: bool, log: Option<bool>) -> Config {
    Config { dir: b"s".to_vec(), down, log, readiness: Default::default() }
}

/// The throttle boundary: a cycle of 999 ms is followed by a pause, one of 1000 ms is not.
#[test]
fn regression_throttle_boundary_999_1000_1001() {
    for (lived, restarts_at_once) in [(999, false), (1000, true), (1001, true)] {
        let (w, _) =
            run_both(cfg(false, None), &[step(Event::Tick(lived)), step(Event::ChildExit { slot: Slot::Main, status: 0, finish: false })]);
        assert_eq!(w.view(Slot::Main).map(|v| v.pid != 0), Some(restarts_at_once), "lived {lived} ms");
    }
}

/// `k` during `./finish` must not start `./finish` a second time (runit's quirk 1 is a
/// documented divergence: the slot stays in finish until finish is reaped).
#[test]
fn regression_k_during_finish_runs_finish_once() {
    let (w, _) = run_both(
        cfg(false, None),
        &[
            step(Event::ChildExit { slot: Slot::Main, status: 15, finish: true }),
            step(Event::Control(Slot::Main, b'k')),
            step(Event::ChildExit { slot: Slot::Main, status: 0, finish: true }),
        ],
    );
    let finishes = w
        .effects
        .iter()
        .filter(|e| matches!(e, verification::reference::runsv::Effect::Spawn(_, model::runsv::Program::Finish { .. })))
        .count();
    assert_eq!(finishes, 0, "finish started again: {:?}", w.effects);
}

/// `control/k` exiting 0 keeps the process; a later `u` must not start a second `./run`
/// beside it (runit does; one child per slot).
#[test]
fn regression_control_k_ok_then_u_keeps_one_child() {
    let ok_k =
        Step { event: Event::Control(Slot::Main, b'k'), replies: Replies { spawn_ok: vec![], control: vec![ControlOutcome::Exited(0)] } };
    let (w, _) = run_both(cfg(false, None), &[ok_k, step(Event::Control(Slot::Main, b'u')), step(Event::Tick(5000))]);
    assert!(w.live[0].len() == 1 && w.violations == 0);
}

/// Exit with a log service: the log pipe is closed, the log is not signalled, and runsv
/// exits only once the log child has gone.
#[test]
fn regression_exit_waits_for_log_on_eof() {
    let (w, _) = run_both(
        cfg(false, Some(false)),
        &[step(Event::Control(Slot::Main, b'x')), step(Event::ChildExit { slot: Slot::Main, status: 15, finish: false })],
    );
    assert!(w.pipe_closed && !w.exited);
    let mut w = w;
    w.apply(&step(Event::ChildExit { slot: Slot::Log, status: 0, finish: false }));
    assert!(w.exited && w.violations == 0, "{:?}", w.first_violation);
}

/// A fork failure is retried after 5 s, not earlier, and the retry succeeds.
#[test]
fn regression_fork_failure_retries_after_5s() {
    let fail = Replies { spawn_ok: vec![false], control: vec![] };
    let (w, _) = run_both(cfg(true, None), &[Step { event: Event::Control(Slot::Main, b'u'), replies: fail }, step(Event::Tick(4999))]);
    assert_eq!(w.view(Slot::Main).map(|v| v.pid), Some(0));
    let mut w = w;
    w.apply(&step(Event::Tick(1)));
    assert_ne!(w.view(Slot::Main).map(|v| v.pid), Some(0));
}

/// Finding (fixed: `d` and `x` cancel a pending once-start): `o` followed by `d` while the
/// restart throttle is pending still starts `./run` when the throttle expires, and it keeps
/// running with want down. In runit the throttle is a blocking sleep, so the two bytes are
/// read after it: `o` starts `./run` at once and `d` stops it (TERM, CONT) — the service
/// ends up down. The same happens with `o` + `d` during a fork retry. The deadline
/// divergence therefore changes the end state of `sv once` + `sv down`, which the
/// divergence note says it must not. Expected: `d` (and `x`) cancel a pending once-start.
#[test]
fn regression_once_then_down_during_throttle_stays_down() {
    let mut w = World::new(cfg(false, None), PidPolicy::Fresh, false, Replies::default());
    // ./run lives 10 ms: a short cycle, so the throttle is armed for 1 s.
    w.apply(&step(Event::Tick(10)));
    w.apply(&step(Event::ChildExit { slot: Slot::Main, status: 0, finish: false }));
    w.apply(&step(Event::Control(Slot::Main, b'd')));
    assert_eq!(w.view(Slot::Main).map(|v| v.pid), Some(0));
    w.apply(&step(Event::Control(Slot::Main, b'o')));
    w.apply(&step(Event::Control(Slot::Main, b'd')));
    w.apply(&step(Event::Tick(1000)));
    assert_eq!(w.view(Slot::Main).map(|v| (v.pid, v.want)), Some((0, model::status::Want::Down)), "effects {:?}", w.effects);
}

/// Finding (shrunk by the proptest from a 40-step case): with a log service, `o` while the
/// throttle is pending and then `x` leave `once_pending` set; the exit sequence closes the
/// log pipe and waits for the log to exit, but `poll_deadline()` keeps returning the old
/// throttle deadline. Once that time has passed it is in the past for ever, so the runtime's
/// wait has a zero timeout and runsv spins at 100% CPU until the logger exits (which may
/// be never if it ignores EOF). Expected: no deadline while exiting (or `x` clears the
/// pending once). Also reachable with a failed fork of a once-start followed by `x`.
#[test]
fn regression_exit_with_pending_once_spins() {
    let mut w = World::new(cfg(false, Some(false)), PidPolicy::Fresh, false, Replies::default());
    w.apply(&step(Event::ChildExit { slot: Slot::Main, status: 0, finish: false }));
    w.apply(&step(Event::Control(Slot::Main, b'o')));
    w.apply(&step(Event::Control(Slot::Main, b'x')));
    assert!(w.pipe_closed && !w.exited);
    w.apply(&step(Event::Tick(1000)));
    let deadline = w.m.poll_deadline();
    assert!(deadline.is_none_or(|d| d > w.now.mono), "deadline {deadline:?} is not after now {:?}", w.now.mono);
    assert!(!w.violated(verification::reference::runsv_world::Invariant::TimeHygiene), "{:?}", w.first_violation);
}

/// Finding: `o` on the log slot while `log/run` is down does not start it. runit's `o`
/// starts the slot's `run` when it is down, for the log slot too (spec/runsv.md §4 and §8:
/// the log slot obeys `u d o t k p c h a i q 1 2`); the model's loop top starts the log
/// only when its want is up and ignores the log's `once_pending`.
#[test]
fn regression_log_once_starts_log() {
    let mut w = World::new(cfg(false, Some(true)), PidPolicy::Fresh, false, Replies::default());
    assert_eq!(w.view(Slot::Log).map(|v| v.pid), Some(0));
    w.apply(&step(Event::Control(Slot::Log, b'o')));
    w.apply(&step(Event::Tick(1000)));
    assert_ne!(w.view(Slot::Log).map(|v| v.pid), Some(0), "log/run not started; effects {:?}", w.effects);
}

/// Finding (issue 14, fixed): a failed fork suspends the start with `control/u` already
/// run; `d` during the 5 s retry abandoned the start but left the model's retry flag set,
/// so a later `u` started `./run` without `control/u`. runit runs `custom(s, 'u')` at the
/// top of every `startservice`; the reference derives the case from that structure (the
/// suspended fork loop is abandoned by `d`; a new start begins with `custom`).
#[test]
fn regression_down_during_fork_retry_then_up_runs_control_u() {
    let fail = Replies { spawn_ok: vec![false], control: vec![] };
    let (w, r) = run_both(
        cfg(true, None),
        &[
            Step { event: Event::Control(Slot::Main, b'u'), replies: fail },
            step(Event::Control(Slot::Main, b'd')),
            step(Event::Tick(5000)),
            step(Event::Control(Slot::Main, b'u')),
        ],
    );
    use verification::reference::runsv::Effect;
    assert_eq!(r.effects[..2], [Effect::Control(b'u'), Effect::Spawn(Slot::Main, model::runsv::Program::Run)], "{:?}", r.effects);
    assert_eq!(w.effects, r.effects);
}

/// A stop with every file: the down signal and CONT to the group, SIGKILL at the deadline
/// and again 5 s later, then the leftovers of the group when `./run` is reaped; the model
/// and the reference agree at every step.
#[test]
fn regression_stop_files_escalate_like_the_reference() {
    let stop =
        Stop { signal: Sig::Hup, kill_after: Some(Span::from_millis(1500)), finish_limit: Some(Span::from_millis(700)), group: true };
    let steps = [
        step(Event::Control(Slot::Main, b'd')),
        step(Event::Tick(1499)),
        step(Event::Tick(1)),
        step(Event::Tick(5000)),
        step(Event::ChildExit { slot: Slot::Main, status: 9, finish: true }),
        step(Event::Tick(700)),
    ];
    let mut r = RefRunsv::new_with_stop(cfg(false, None), stop);
    let mut w = World::new_with_stop(cfg(false, None), stop, PidPolicy::Fresh, false, Replies::default());
    let mut kills = 0;
    for s in &steps {
        r.apply(s);
        w.apply(s);
        compare(&w, &r);
        kills += w.effects.iter().filter(|e| matches!(e, verification::reference::runsv::Effect::SignalGroup(_, _, Sig::Kill))).count();
    }
    assert_eq!(kills, 4, "two escalations, the leftovers, the finish: {:?}", w.effects);
}

fn run_both_backoff(backoff: Backoff, steps: &[Step]) -> (World, RefRunsv) {
    let r = RefRunsv::new_with_backoff(cfg(false, None), Stop::RUNIT, backoff);
    let w = World::new_with_backoff(cfg(false, None), Stop::RUNIT, backoff, PidPolicy::Fresh, false, Replies::default());
    both(w, r, steps)
}

fn exit0() -> Step {
    step(Event::ChildExit { slot: Slot::Main, status: 0, finish: false })
}

/// The give-up window's end: with one restart allowed in 2 s, a death exactly 2 s after the
/// one that opened the window opens a new window (restarts); one just inside it gives up.
#[test]
fn regression_backoff_window_end_opens_a_new_window() {
    let limit = Some(Limit { count: 1, interval: Span::from_millis(2000) });
    let b = Backoff { limit, ..Backoff::RUNIT };
    let (_, r) = run_both_backoff(b, &[step(Event::Tick(1500)), exit0(), step(Event::Tick(2000)), exit0()]);
    assert!(r.main.pid != 0 && !r.deaths.given_up, "restarted in a new window: {:?}", r.main);
    let (_, r) = run_both_backoff(b, &[step(Event::Tick(1500)), exit0(), step(Event::Tick(1999)), exit0()]);
    assert!(r.deaths.given_up && r.main.pid == 0, "gave up: {:?}", r.main);
}

/// Found by a fresh-seed run (seed 2438612847): a quick death that would give up (one
/// restart allowed in 5 s) while `d` arrives during its `./finish`. Nothing is given up
/// (the want is down), and the death's own growth pause (2 s, the second quick death)
/// still holds the start `u` asks for, as it would without the limit; the model once fell
/// back to runit's 1 s.
#[test]
fn regression_averted_give_up_keeps_the_deaths_pause() {
    let b = Backoff {
        delay: None,
        steps: 3,
        max_delay: Some(Span::from_secs(8)),
        limit: Some(Limit { count: 1, interval: Span::from_secs(5) }),
    };
    let finish_exit = Step {
        event: Event::ChildExit { slot: Slot::Main, status: 0, finish: true },
        replies: Replies { spawn_ok: vec![true, true], control: vec![] },
    };
    let steps = [
        exit0(),
        step(Event::Tick(1000)),
        finish_exit,
        step(Event::Control(Slot::Main, b'd')),
        exit0(),
        step(Event::Control(Slot::Main, b'u')),
    ];
    let (w, r) = run_both_backoff(b, &steps);
    assert!(!r.deaths.given_up && r.main.pid == 0, "not given up, not started yet: {:?}", r.main);
    assert_eq!(w.m.poll_deadline(), Some(r.now.mono + Span::from_secs(2)), "the 2 s pause holds the start: {:?}", w.effects);
}

/// Growth and give-up end to end: pauses of 1 s, 2 s, 4 s (steps 2 to 4 s), a give-up after
/// three restarts in 60 s, left by `u` with a fresh count, the start 1 s after the death.
#[test]
fn regression_backoff_grows_gives_up_and_u_leaves() {
    let b = Backoff {
        delay: Some(Span::from_secs(1)),
        steps: 2,
        max_delay: Some(Span::from_secs(4)),
        limit: Some(Limit { count: 3, interval: Span::from_secs(60) }),
    };
    let mut steps = Vec::new();
    for pause in [1000, 2000, 4000] {
        steps.extend([exit0(), step(Event::Tick(pause - 1)), step(Event::Tick(1))]);
    }
    let (w, r) = run_both_backoff(b, &steps);
    assert_eq!(r.main.pid, 103, "three restarts, each after its pause: {:?}", w.effects);
    let (_, r) = run_both_backoff(b, &[steps.clone(), vec![exit0()]].concat());
    assert!(r.deaths.given_up && r.main.want == model::status::Want::Down, "the fourth death gives up");
    let leave = [exit0(), step(Event::Tick(5000)), step(Event::Control(Slot::Main, b'u'))];
    let (w, r) = run_both_backoff(b, &[steps, leave.to_vec()].concat());
    assert!(!r.deaths.given_up && r.main.pid == 104, "u leaves it and starts: {:?}", w.effects);
}
