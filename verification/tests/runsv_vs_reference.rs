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
use model::runsv::{Backoff, Config, ControlOutcome, Limit, Sig, Slot, Stop};
use model::time::Span;
use model::Machine;
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::Config as PtConfig;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use verification::reference::runsv::{Event, RefRunsv, Replies, Step};
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

// ---------------------------------------------------------------------------------------
// Named regressions (shrunk or hand-written sequences worth keeping).
// ---------------------------------------------------------------------------------------

fn step(event: Event) -> Step {
    Step { event, replies: Replies::default() }
}

fn run_both(config: Config, steps: &[Step]) -> (World, RefRunsv) {
    let mut r = RefRunsv::new(config.clone());
    let mut w = World::new(config, PidPolicy::Fresh, false, Replies::default());
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
    let mut r = RefRunsv::new_with_backoff(cfg(false, None), Stop::RUNIT, backoff);
    let mut w = World::new_with_backoff(cfg(false, None), Stop::RUNIT, backoff, PidPolicy::Fresh, false, Replies::default());
    compare(&w, &r);
    for s in steps {
        r.apply(s);
        w.apply(s);
        compare(&w, &r);
    }
    (w, r)
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
