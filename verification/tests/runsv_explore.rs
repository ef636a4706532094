//! Exhaustive bounded exploration of the real runsv machine (ARCHITECTURE layer 4) with
//! `verification::explore`.
//!
//! The machine runs inside a [`World`] (obligations answered inside each step, the named
//! invariants checked on every action). A state *is* the world's canonical form
//! ([`World::canonical`]: time rebased to now, history that cannot matter normalised), and
//! equality and hashing are derived from the whole of it, machine included: nothing is
//! hand-picked, so two states are merged only when they answer every input alike. Pids
//! are the smallest free ones, so they are canonical by construction; wall time is fixed.
//!
//! Alphabet: every command byte runsv acts on (`u o d x t k p c h a i q 1 2`) on both slots,
//! SIGTERM, the exit of each live child (exit 0 / killed by TERM, `./finish` present or
//! not), and ticks of 0, 1 ms, 500 ms, 999 ms, 1 s and 5 s. Each is paired with every way
//! its obligations can be answered that makes a difference: each fork succeeds or fails,
//! each `control/<c>` consulted is absent, exits 0 or exits 1, chosen per script.
//!
//! Initial states: `down` or not × the three log configurations × first fork ok or not;
//! without a log also with every stop file ([`OPTED_IN`]), so escalation, group signals and
//! the `./finish` limit are explored (`StopEndsInTime`, `RunitUnlessOptedIn`); and one
//! with the backoff files ([`BACKOFF`]: growing pauses, giving up), so the pauses' bounds
//! and the give-up state are explored (`BackoffWithinBounds`, `GiveUpOnlyByCommand`).
//!
//! Liveness, under fair schedules (no new command; time passes, children exit, forks
//! succeed and scripts are absent): from every explored state where main (log) is wanted up
//! and not running, it runs again within 1 s of virtual time (within 5 s when the deadline
//! is a failed fork's retry); and
//! from every state after `x`/SIGTERM, runsv exits.
//!
//! Readiness (addition, `explore_runsv_readiness`): a service declaring notification-fd
//! and sd_notify with a 1 s watchdog (and one with notification-fd only), with every
//! readiness event the world can send (newline, EOF, `READY=1`, `STOPPING=1`,
//! `WATCHDOG=1`, a forged `READY=1`, the previous child's late newline and `READY=1`)
//! beside `u d x t k`, exits and ticks; the invariants add "ready only while that child
//! runs" and "the record agrees with the 20 bytes".
//!
//! Figures: the test prints `explore runsv: depth D states N transitions T` and the states
//! per depth; docs/assurance.md quotes them (regenerate with the commands there).

use std::time::Instant;

use model::readiness::Protocol;
use model::runsv::Readiness;
use model::runsv::{Backoff, ControlOutcome, Deferred, Limit, Phase, Slot, Stop, Verdict};
use model::status::{RunState, Want};
use model::time::Span;
use model::Machine;
use verification::explore::{explore, Explore, Property};
use verification::reference::runsv::{Effect, Event, ReadyEvent, Replies, Step};
use verification::reference::runsv_world::{Invariant, PidPolicy, World, INVARIANTS};

/// One explorer input: an event and how its obligations are answered.
#[derive(Clone, Debug)]
struct In(Event, Replies);

/// The canonical world.
type S = World;

const BYTES: &[u8] = b"uodxtkpchaiq12";
const TICKS_MS: [u64; 6] = [0, 1, 500, 999, 1000, 5000];
const OUTCOMES: [ControlOutcome; 3] = [ControlOutcome::Absent, ControlOutcome::Exited(0), ControlOutcome::Exited(1 << 8)];
const STATUSES: [i32; 2] = [0, 15];

/// A service with every stop file: `down-signal` HUP, `timeout-kill` 1000,
/// `timeout-finish` 500, `flag-timeout-killpg` (deadlines that the ticks above reach).
/// The backoff files explored: pauses of 1 s then 2 s (`restart-steps` 1,
/// `restart-max-delay` 2000), and giving up at the second automatic restart in 10 s
/// (`restart-limit-count` 1).
const BACKOFF: Backoff =
    Backoff { delay: None, steps: 1, max_delay: Some(Span::from_secs(2)), limit: Some(Limit { count: 1, interval: Span::from_secs(10) }) };

const OPTED_IN: Stop = Stop {
    signal: model::runsv::Sig::Hup,
    kill_after: Some(model::time::Span::from_millis(1000)),
    finish_limit: Some(model::time::Span::from_millis(500)),
    group: true,
};

fn step(w: &World, event: &Event, replies: &Replies) -> World {
    let mut n = w.clone();
    n.apply(&Step { event: event.clone(), replies: replies.clone() });
    n
}

/// Every way of answering the obligations `event` raises in `w` that can matter: the step
/// is tried, and each fork or script it consulted beyond the choices made so far is
/// branched on (a fork: ok / fails; a script: absent / exits 0 / exits 1).
fn reply_variants(w: &World, event: &Event) -> Vec<Replies> {
    let mut out = Vec::new();
    let mut todo = vec![Replies::default()];
    while let Some(r) = todo.pop() {
        let n = step(w, event, &r);
        let scripts = n.effects.iter().filter(|e| matches!(e, Effect::Control(_))).count();
        let forks = n.effects.iter().filter(|e| matches!(e, Effect::Spawn(..))).count();
        if r.control.len() < scripts {
            for o in OUTCOMES {
                let mut c = r.clone();
                c.control.push(o);
                todo.push(c);
            }
        } else if r.spawn_ok.len() < forks {
            for ok in [true, false] {
                let mut c = r.clone();
                c.spawn_ok.push(ok);
                todo.push(c);
            }
        } else {
            out.push(r);
        }
    }
    out
}

const READY_BYTES: &[u8] = b"udxtk";
const READY_EVENTS: [ReadyEvent; 7] = [
    ReadyEvent::PipeNewline,
    ReadyEvent::PipeEof,
    ReadyEvent::NotifyReady,
    ReadyEvent::NotifyStopping,
    ReadyEvent::NotifyPing,
    ReadyEvent::Forged,
    ReadyEvent::Previous,
];

/// The events possible in `w` (before choosing replies).
fn events(w: &World, fair: bool, readiness: bool) -> Vec<Event> {
    let mut v = Vec::new();
    if w.exited {
        return v;
    }
    if readiness {
        v.extend(READY_EVENTS.map(Event::Ready));
    }
    if !fair {
        for &b in if readiness { READY_BYTES } else { BYTES } {
            v.push(Event::Control(Slot::Main, b));
            if w.m.slot(Slot::Log).is_some() {
                v.push(Event::Control(Slot::Log, b));
            }
        }
        v.push(Event::Terminate);
    }
    for ms in TICKS_MS {
        v.push(Event::Tick(ms));
    }
    if w.live_pid(Slot::Main).is_some() {
        for status in STATUSES {
            for finish in [false, true] {
                v.push(Event::ChildExit { slot: Slot::Main, status, finish });
            }
        }
    }
    if w.live_pid(Slot::Log).is_some() {
        v.push(Event::ChildExit { slot: Slot::Log, status: 0, finish: false });
    }
    v
}

/// The runsv machine inside a [`World`], for the explorer; `readiness` selects the
/// readiness configurations and alphabet.
struct RunsvExplore {
    readiness: bool,
    /// Start from what a killed runsv left ([`adoption_initial`]) instead.
    adoption: bool,
}

/// The old child's start: 5 s before the world's wall time, 95 s after boot (100 Hz).
const OLD_TICKS: u64 = 9_500;

/// A probe of pid `pid` as the runtime would make it: `same` = it is the old child (its
/// start matches the status stamp), else a process that got the pid 2 s later; `pipe` =
/// the inode of the pipe behind its fd 0/1, when there is a log service.
fn probe(pid: u32, same: bool, pipe: Option<u64>) -> model::runsv::Probe {
    let wall = verification::reference::runsv::T0.wall;
    let stamp = model::time::Tai64n::from_wall(model::time::Wall { unix_secs: wall.unix_secs - 5, nanos: 0 });
    let status = model::status::StatusRecord::new(stamp, pid, false, Want::Up, false, RunState::Run).encode();
    let ticks = if same { OLD_TICKS } else { OLD_TICKS + 200 };
    let stat = format!("{pid} (run) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 0 0\n").into_bytes();
    model::runsv::Probe {
        status,
        pidfd: Ok(()),
        proc_stat: Some(stat),
        pipe: pipe.map(|ino| Ok(model::runsv::PipeId { dev: 1, ino, fifo: true })),
    }
}

/// Initial states after a runsv was killed: the old `./run` (pid 7) and `log/run` (pid 8)
/// genuine, or pid 7 reused by an unrelated process, or only one of them left, or on two
/// different pipes; with and without a log service, with and without the stop files.
fn adoption_initial() -> Vec<S> {
    let boot_wall_ns = (verification::reference::runsv::T0.wall.unix_secs - 100) * 1_000_000_000;
    let resume = |main, log| model::runsv::Resume { boot_wall_ns, clk_tck: 100, main, log };
    let mut out = Vec::new();
    let cases: Vec<(Option<bool>, model::runsv::Resume, [Option<u32>; 2])> = vec![
        (None, resume(Some(probe(7, true, None)), None), [Some(7), None]),
        (None, resume(Some(probe(7, false, None)), None), [None, None]),
        (Some(false), resume(Some(probe(7, true, Some(1))), Some(probe(8, true, Some(1)))), [Some(7), Some(8)]),
        (Some(false), resume(Some(probe(7, true, Some(1))), Some(probe(8, true, Some(2)))), [Some(7), Some(8)]),
        (Some(false), resume(Some(probe(7, true, Some(1))), None), [Some(7), None]),
        (Some(false), resume(Some(probe(7, false, Some(1))), Some(probe(8, true, Some(1)))), [None, Some(8)]),
    ];
    for (log, r, genuine) in cases {
        let config = model::runsv::Config { dir: b"s".to_vec(), down: false, log, readiness: Default::default() };
        let stops: &[Stop] = if log.is_none() { &[Stop::RUNIT, OPTED_IN] } else { &[Stop::RUNIT] };
        for &stop in stops {
            let w = World::resumed(config.clone(), stop, r.clone(), genuine, Replies::default());
            out.push(w.canonical());
        }
    }
    out
}

impl Explore for RunsvExplore {
    type State = S;
    type Input = In;

    fn initial(&self) -> Vec<S> {
        if self.adoption {
            return adoption_initial();
        }
        let mut out = Vec::new();
        if self.readiness {
            let both = Readiness { protocol: Protocol::Both, watchdog: Some(Span::from_secs(1)) };
            let fd = Readiness { protocol: Protocol::NotificationFd, watchdog: None };
            for readiness in [both, fd] {
                for log in [None, Some(false)] {
                    let config = model::runsv::Config { dir: b"s".to_vec(), down: false, log, readiness };
                    out.push(World::new(config, PidPolicy::SmallestFree, true, Replies::default()).canonical());
                }
            }
            return out;
        }
        for down in [false, true] {
            for log in [None, Some(false), Some(true)] {
                let config = model::runsv::Config { dir: b"s".to_vec(), down, log, readiness: Default::default() };
                // Without the stop files (runit), and with all of them (the log slot
                // ignores them, so one log configuration is enough).
                let stops: &[Stop] = if log.is_none() { &[Stop::RUNIT, OPTED_IN] } else { &[Stop::RUNIT] };
                for &stop in stops {
                    for ok in [true, false] {
                        // Start-up with the first fork succeeding or failing.
                        let replies = Replies { spawn_ok: vec![ok], control: vec![] };
                        out.push(World::new_with_stop(config.clone(), stop, PidPolicy::SmallestFree, true, replies).canonical());
                    }
                }
                // With the backoff files (growth and a give-up limit), wanted up, no log.
                if log.is_none() && !down {
                    let w =
                        World::new_with_backoff(config.clone(), Stop::RUNIT, BACKOFF, PidPolicy::SmallestFree, true, Replies::default());
                    out.push(w.canonical());
                }
            }
        }
        out
    }

    fn inputs(&self, s: &S) -> Vec<In> {
        events(s, false, self.readiness)
            .into_iter()
            .flat_map(|e| reply_variants(s, &e).into_iter().map(move |r| In(e.clone(), r)))
            .collect()
    }

    fn step(&self, s: &S, i: &In) -> S {
        step(s, &i.0, &i.1).canonical()
    }

    /// No new command: time passes, children exit, forks succeed, scripts are absent.
    fn fair_inputs(&self, s: &S) -> Vec<In> {
        events(s, true, self.readiness).into_iter().filter(|e| *e != Event::Tick(0)).map(|e| In(e, Replies::default())).collect()
    }

    /// Virtual milliseconds.
    fn cost(&self, i: &In) -> u64 {
        match i.0 {
            Event::Tick(ms) => ms,
            _ => 0,
        }
    }
}

macro_rules! always_invariants {
    ($($inv:ident),* $(,)?) => {
        vec![$(Property::always(stringify!($inv), |s: &S| !s.violated(Invariant::$inv))),*]
    };
}

/// Main wanted up (not exiting) and not running, under runit's restart rule.
fn main_wanted_down(s: &S) -> bool {
    !s.backoff.opted_in() && main_wanted_down_any(s)
}

/// Main wanted up (not exiting) and not running, with or without the backoff files.
fn main_wanted_down_any(s: &S) -> bool {
    !s.exited && s.m.slot(Slot::Main).is_some_and(|m| m.want == Want::Up && m.pid() == 0)
}

/// The slot's start deadline is more than 1 s away: only a failed fork's 5 s retry sets
/// one (runit sleeps 5 s there too); `d` then `u` meanwhile keep it.
fn retry_deadline(s: &S, slot: Slot) -> bool {
    s.m.slot(slot).and_then(|m| m.not_before()).is_some_and(|t| t > s.now.mono + model::time::Span::from_secs(1))
}

/// A fork of the slot failed and its retry is pending.
fn fork_retry(s: &S, slot: Slot) -> bool {
    s.m.slot(slot).is_some_and(|m| {
        matches!(m.phase, Phase::Down { deferred: Some(Deferred::ForkRetry), .. } | Phase::Finish { not_before: Some(_), .. })
    })
}

fn log_wanted_down(s: &S) -> bool {
    !s.exited && !s.pipe_closed && s.m.slot(Slot::Log).is_some_and(|l| l.want == Want::Up && l.pid() == 0)
}

/// 1 s, plus ε = 1 ms for the tick that lands exactly on the deadline.
const WITHIN_1S: u64 = 1001;
const WITHIN_5S: u64 = 5001;
/// Fair steps allowed: enough for a finish exit, a throttle and the ticks to reach it.
const FAIR_STEPS: usize = 6;

fn properties() -> Vec<Property<S>> {
    let mut p = always_invariants!(
        OneChildPerSlot,
        PidTracksChild,
        StatusEqualsState,
        StopSendsTermAndCont,
        ThrottleSpacing,
        SignalsOnlyToLive,
        NeverStuckDown,
        TimeHygiene,
        OrderlyExit,
        FinishArgs,
        PauseConsistency,
        ObligationHygiene,
        StartOnlyWhenWanted,
        PidFileEqualsPid,
        WantFollowsCommands,
        StopEndsInTime,
        RunitUnlessOptedIn,
        ReadyOnlyWhileThatChildRuns,
        RecordAgrees,
        AdoptedByPidfd,
        AdoptOnlyTheSame,
        BackoffWithinBounds,
        GiveUpOnlyByCommand,
    );
    assert_eq!(p.len(), INVARIANTS.len(), "every named invariant is explored");
    p.push(Property::eventually_within(
        "wanted up runs again within 1 s",
        |s| main_wanted_down(s) && !retry_deadline(s, Slot::Main),
        |s| s.m.slot(Slot::Main).is_some_and(|m| m.state() == RunState::Run),
        FAIR_STEPS,
        WITHIN_1S,
    ));
    p.push(Property::eventually_within(
        "wanted up runs again within 5 s after a failed fork",
        main_wanted_down,
        |s| s.m.slot(Slot::Main).is_some_and(|m| m.state() == RunState::Run),
        FAIR_STEPS,
        WITHIN_5S,
    ));
    // With the backoff files a cycle that a 5 s fork retry stretched is still quick, so
    // its pause comes on top (runit would restart at once after a cycle over 1 s). A cycle
    // whose death reached the limit ends in giving up instead.
    p.push(Property::eventually_within(
        "wanted up runs again within 5 s + the longest pause with backoff",
        |s| s.backoff.opted_in() && main_wanted_down_any(s) && !matches!(s.m.deaths().verdict, Verdict::GiveUp(_)),
        |s| s.m.slot(Slot::Main).is_some_and(|m| m.state() == RunState::Run),
        FAIR_STEPS,
        WITHIN_5S + BACKOFF.longest().as_millis(),
    ));
    p.push(Property::eventually_within(
        "wanted-up log runs again within 1 s",
        |s| log_wanted_down(s) && !retry_deadline(s, Slot::Log),
        |s| s.m.slot(Slot::Log).is_some_and(|l| l.pid() != 0),
        FAIR_STEPS,
        WITHIN_1S,
    ));
    p.push(Property::eventually_within(
        "wanted-up log runs again within 5 s after a failed fork",
        log_wanted_down,
        |s| s.m.slot(Slot::Log).is_some_and(|l| l.pid() != 0),
        FAIR_STEPS,
        WITHIN_5S,
    ));
    p.push(Property::eventually(
        "x exits",
        |s| !s.exited && s.m.slot(Slot::Main).is_some_and(|m| m.want == Want::Exit),
        |s| s.exited,
        FAIR_STEPS,
    ));
    p.push(Property::sometimes("finish runs", |s| s.m.slot(Slot::Main).is_some_and(|m| m.state() == RunState::Finish && m.pid() != 0)));
    p.push(Property::sometimes("throttle armed", |s| {
        s.m.slot(Slot::Main).is_some_and(|m| m.want == Want::Up && m.pid() == 0 && m.not_before().is_some())
    }));
    p.push(Property::sometimes("log pipe closed", |s| s.pipe_closed && !s.exited));
    p.push(Property::sometimes("exit reached", |s| s.exited));
    p.push(Property::sometimes("paused while down", |s| s.m.slot(Slot::Main).is_some_and(|m| m.paused && m.state() == RunState::Down)));
    p.push(Property::sometimes("finish fork retry pending", |s| {
        s.m.slot(Slot::Main).is_some_and(|m| m.pid() == 0 && m.not_before().is_some() && m.state() == RunState::Finish)
    }));
    p.push(Property::sometimes("run fork retry pending, wanted down", |s| {
        fork_retry(s, Slot::Main) && s.m.slot(Slot::Main).is_some_and(|m| m.want == Want::Down)
    }));
    // After SIGKILL the deadline is the 5 s re-send, beyond the 1 s timeout.
    p.push(Property::sometimes("stop escalated to SIGKILL", |s| {
        s.m.slot(Slot::Main).is_some_and(|m| {
            m.state() == RunState::Run && m.kill_at().is_some_and(|t| t > s.now.mono + model::time::Span::from_millis(1000))
        })
    }));
    p.push(Property::sometimes("finish under timeout-finish", |s| {
        s.m.slot(Slot::Main).is_some_and(|m| m.state() == RunState::Finish && m.kill_at().is_some())
    }));
    p.push(Property::eventually(
        "a stopped service with timeout-kill ends",
        |s| !s.exited && s.stop.kill_after.is_some() && s.m.slot(Slot::Main).is_some_and(|m| m.got_term() && m.kill_at().is_some()),
        |s| s.m.slot(Slot::Main).is_some_and(|m| m.state() != RunState::Run),
        FAIR_STEPS,
    ));
    p.push(Property::sometimes("given up", |s| s.m.given_up()));
    p.push(Property::sometimes("backoff pause over 1 s armed", |s| {
        s.m.slot(Slot::Main).is_some_and(|m| {
            matches!(m.phase, Phase::Down { not_before: Some(t), deferred: None } if t > s.now.mono + model::time::Span::from_millis(1000))
        })
    }));
    p.push(Property::sometimes("log signalled", |s| s.m.slot(Slot::Log).is_some_and(|l| l.paused && l.pid() != 0)));
    p
}

/// Explores to `depth`, prints the figures, and returns the depth reached (less than
/// `depth` when the closure of the canonical state space was reached).
fn run(depth: usize, max_states: usize) -> usize {
    run_with(false, depth, max_states)
}

fn run_with(readiness: bool, depth: usize, max_states: usize) -> usize {
    run_mode(readiness, false, depth, max_states)
}

fn run_mode(readiness: bool, adoption: bool, depth: usize, max_states: usize) -> usize {
    let t = Instant::now();
    let mut props = properties();
    if readiness {
        // The readiness alphabet has no `p`/`c` and its initial states no stop files: those
        // coverage goals belong to the plain run.
        props.retain(|p| {
            !matches!(
                p.name,
                "paused while down"
                    | "log signalled"
                    | "stop escalated to SIGKILL"
                    | "finish under timeout-finish"
                    | "given up"
                    | "backoff pause over 1 s armed"
            )
        });
        props.push(Property::sometimes("ready by an event", |s| {
            s.m.slot(Slot::Main).is_some_and(|m| m.is_ready()) && s.ready_credit.is_some()
        }));
        props.push(Property::sometimes("watchdog aborted", |s| {
            s.m.slot(Slot::Main).and_then(|m| m.run_ready()).and_then(|r| r.watchdog).is_some_and(|w| w.fired)
        }));
    }
    if adoption {
        // From adoption's initial states: the coverage goals of the stop files and `p`
        // while down stay with the plain run; adoption's own are added.
        props.retain(|p| {
            !matches!(
                p.name,
                "paused while down"
                    | "run fork retry pending, wanted down"
                    | "finish fork retry pending"
                    | "given up"
                    | "backoff pause over 1 s armed"
            )
        });
        props.push(Property::sometimes("adopted child runs", |s| s.adopted.iter().flatten().next().is_some()));
        props.push(Property::sometimes("finish after an adopted exit", |s| {
            s.adopted_exit && s.m.slot(Slot::Main).is_some_and(|m| m.state() == RunState::Finish)
        }));
        props.push(Property::sometimes("adopted service stopped", |s| {
            s.adopted[0].is_some() && s.m.slot(Slot::Main).is_some_and(|m| m.got_term())
        }));
    }
    let r = explore(&RunsvExplore { readiness, adoption }, depth, max_states, &props);
    let secs = t.elapsed().as_secs_f64();
    r.assert_ok("runsv");
    println!(
        "explore runsv: depth {depth} asked, {} reached, {} states, {} transitions, {secs:.1} s, {}",
        r.depth,
        r.states,
        r.transitions,
        if r.depth < depth { "closure reached" } else { "closure not reached" }
    );
    assert!(!r.truncated, "state budget too small for depth {depth}");
    r.depth
}

/// The default depth (kept well under a minute in a debug build).
const DEFAULT_DEPTH: usize = 4;

/// The default run: fast enough for debug CI (`RUNSV_EXPLORE_DEPTH` overrides the depth).
#[test]
fn explore_runsv_default_depth() {
    let depth = std::env::var("RUNSV_EXPLORE_DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(DEFAULT_DEPTH);
    run(depth, 5_000_000);
}

/// Readiness and the record, explored (`RUNSV_READY_EXPLORE_DEPTH` overrides the depth;
/// depth 4 takes about 90 s in a debug build, so the default is 3).
#[test]
fn explore_runsv_readiness() {
    let depth = std::env::var("RUNSV_READY_EXPLORE_DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(DEFAULT_DEPTH - 1);
    run_with(true, depth, 5_000_000);
}

/// Adoption (addition): from what a killed runsv left, every command, exit and tick; the
/// invariants add "only the genuine process is adopted" and "its signals go through its
/// pidfd" (`RUNSV_ADOPT_EXPLORE_DEPTH` overrides the depth; depth 4 takes about 70 s in a
/// debug build, so the default is 3).
#[test]
fn explore_runsv_adoption() {
    let depth = std::env::var("RUNSV_ADOPT_EXPLORE_DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(DEFAULT_DEPTH - 1);
    run_mode(false, true, depth, 5_000_000);
}

/// The deep run (`cargo test --release -p runit-verification --test runsv_explore -- --ignored --nocapture`).
/// With 1 ms ticks the canonical state space has no small closure (a deadline can sit at
/// any millisecond of the next 5 s); this run goes as deep as fits in a few minutes.
#[test]
#[ignore = "deep: run in release, see docs/assurance.md"]
fn explore_runsv_deep() {
    let depth = std::env::var("RUNSV_EXPLORE_DEEP").ok().and_then(|d| d.parse().ok()).unwrap_or(DEFAULT_DEPTH + 2);
    run(depth, 50_000_000);
}

/// The old hand-picked key left out the fork retry, which merged the two states below and
/// hid the divergence of issue 14. They publish the same status and deadline but answer
/// the retry tick differently (only a new start runs `control/u`); the whole-state key
/// keeps them apart.
#[test]
fn canonical_key_keeps_a_fork_retry_apart_from_a_new_start() {
    let config = model::runsv::Config { dir: b"s".to_vec(), down: true, log: None, readiness: Default::default() };
    let w = World::new(config, PidPolicy::SmallestFree, true, Replies::default());
    let fail = Replies { spawn_ok: vec![false], control: vec![] };
    let retrying = step(&w, &Event::Control(Slot::Main, b'u'), &fail).canonical();
    let cancelled = step(&retrying, &Event::Control(Slot::Main, b'd'), &Replies::default()).canonical();
    let fresh = step(&cancelled, &Event::Control(Slot::Main, b'u'), &Replies::default()).canonical();
    let (a, b) = (retrying.m.slot(Slot::Main).expect("main"), fresh.m.slot(Slot::Main).expect("main"));
    assert_eq!((a.record(), a.want, retrying.m.poll_deadline()), (b.record(), b.want, fresh.m.poll_deadline()));
    assert_ne!(retrying, fresh, "a fork retry and a new start are different states");
    let tick = Event::Tick(5000);
    let consulted = |s: &S| step(s, &tick, &Replies::default()).effects.contains(&Effect::Control(b'u'));
    assert!(!consulted(&retrying) && consulted(&fresh));
}

/// With a record, a death within `QUICK_DEATH` (10 s) of the start counts as quick, so a
/// child started 2 s ago and one started 15 s ago are different states; the canonical key
/// used to clamp every past time to 1 s ago (the throttle's window) and merged them,
/// which hid this from the readiness exploration (issue 10's explorer figures).
#[test]
fn canonical_key_keeps_the_quick_death_window_with_a_record() {
    let readiness = Readiness { protocol: Protocol::NotificationFd, watchdog: None };
    let config = model::runsv::Config { dir: b"s".to_vec(), down: false, log: None, readiness };
    let w = World::new(config, PidPolicy::SmallestFree, true, Replies::default());
    let ready = step(&w, &Event::Ready(ReadyEvent::PipeNewline), &Replies::default());
    assert!(ready.m.slot(Slot::Main).expect("main").is_ready());
    let after = |ticks: &[u64]| ticks.iter().fold(ready.clone(), |w, &ms| step(&w, &Event::Tick(ms), &Replies::default()).canonical());
    let (young, old) = (after(&[1000, 1000]), after(&[5000, 5000, 5000]));
    assert_ne!(young, old, "2 s and 15 s after the start are different states");
    let exit = Event::ChildExit { slot: Slot::Main, status: 0, finish: false };
    let quick = |s: &S| step(s, &exit, &Replies { spawn_ok: vec![true], control: vec![] }).m.record().main.quick_deaths;
    assert_eq!((quick(&young), quick(&old)), (1, 0));
}

/// What one step shows the outside: its effects, the files written, the record (when one
/// is written), the deadline (from now), and whether runsv exited.
fn observed(w: &World) -> String {
    let record = w.m.writes_record().then(|| w.m.record());
    let deadline = w.m.poll_deadline().map(|d| d.0 - w.now.mono.0);
    format!("{:?} {:?} {:?} {:?} {:?} {}", w.effects, w.written, w.pid_file, record, deadline, w.exited)
}

/// The key is complete: two worlds with equal canonical keys answer every input alike (the
/// same effects, files, record and deadline, and equal keys again after the step). Checked
/// once for every key shared by two different raw (not canonicalised) worlds reached within
/// `RUNSV_KEY_DEPTH` steps (default 2) of the default, the readiness and the adoption
/// initial states.
#[test]
fn equal_keys_answer_every_input_alike() {
    use std::collections::{HashMap, HashSet};
    let depth: usize = std::env::var("RUNSV_KEY_DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(2);
    let (mut pairs, mut checked) = (0usize, 0usize);
    for (readiness, adoption) in [(false, false), (true, false), (false, true)] {
        let x = RunsvExplore { readiness, adoption };
        let mut first: HashMap<World, World> = HashMap::new();
        let mut done: HashSet<World> = HashSet::new();
        let mut layer = x.initial();
        for _ in 0..depth {
            let mut next = Vec::new();
            for w in &layer {
                for i in x.inputs(w) {
                    let n = step(w, &i.0, &i.1);
                    let key = n.canonical();
                    match first.get(&key) {
                        None => {
                            first.insert(key, n.clone());
                            next.push(n);
                        }
                        Some(rep) if *rep != n && done.insert(key) => {
                            pairs += 1;
                            for j in x.inputs(rep) {
                                let (a, b) = (step(rep, &j.0, &j.1), step(&n, &j.0, &j.1));
                                assert_eq!(observed(&a), observed(&b), "equal keys, different answers to {j:?}:\n{rep:?}\n{n:?}");
                                assert!(a.canonical() == b.canonical(), "equal keys, different successors after {j:?}:\n{rep:?}\n{n:?}");
                                checked += 1;
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
            layer = next;
        }
    }
    println!("canonical key: {pairs} merged pairs within {depth} steps, {checked} inputs answered alike");
    assert!(pairs > 0, "no merged states: the check checked nothing");
}
