//! Exhaustive bounded exploration of the real runsv machine (ARCHITECTURE layer 4) with
//! `verification::explore`.
//!
//! The machine runs inside a [`World`] (obligations answered inside each step, the named
//! invariants checked on every action). Canonicalisation, so equal situations merge:
//! - pids: the world hands out the smallest free pid, and the key renames pids by first
//!   appearance (main slot first);
//! - monotonic time: every time in the key is relative to *now* (deadlines, the age of the
//!   last start, the end of the last cycle) and clamped at 1 s where only "under 1 s or not"
//!   matters (this is the rebasing to the earliest live deadline/start, taken to its limit);
//! - wall time is fixed, so status stamps never differ.
//!
//! A state stands for every state with the same key (stateright's "representative"): the
//! machine's behaviour depends only on time differences and on which pid is whose. The
//! status files written, the live-children table and the pause expectation are left out of
//! the key because the invariants pin them to the machine's state; a state where they
//! disagree has a violation bit set, and that bit is in the key.
//!
//! Alphabet: control bytes `u d o x t k p c h` (main) and `u d o x k` (log), SIGTERM, exit of
//! each live child (exit 0 / killed by TERM, `./finish` present or not), ticks of 0, 1 and
//! 5 s, each paired with how obligations are answered in that step (normal, `control/<c>`
//! exits 0, or every fork fails).

use std::time::Instant;

use model::runsv::{Config, ControlOutcome, Slot};
use model::status::{RunState, Want};
use verification::explore::{explore, Explore, Property};
use verification::reference::runsv::{Event, Replies, Step};
use verification::reference::runsv_world::{Invariant, PidPolicy, World, INVARIANTS};

/// How obligations are answered in a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Mode {
    /// Forks succeed, no `control/<c>` exists.
    Normal,
    /// Every `control/<c>` exits 0 (overrides the signal).
    ControlOk,
    /// Every fork fails.
    ForkFails,
}

impl Mode {
    fn replies(self) -> Replies {
        match self {
            Mode::Normal => Replies::default(),
            Mode::ControlOk => Replies { spawn_ok: vec![], control: vec![ControlOutcome::Exited(0); 8] },
            Mode::ForkFails => Replies { spawn_ok: vec![false; 4], control: vec![] },
        }
    }
}

/// One explorer input.
#[derive(Clone, Debug)]
struct In(Event, Mode);

/// Relative time in ms, clamped: `None` once it is 1 s or more in the past.
fn age_ms(now: u64, then: u64) -> Option<u64> {
    let d = now.saturating_sub(then) / 1_000_000;
    (d < 1000).then_some(d)
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SlotKey {
    state: RunState,
    want: Want,
    pid: u32,
    paused: bool,
    got_term: bool,
    once: bool,
    finish_args: Option<(i32, i32)>,
    not_before_in_ms: Option<u64>,
    run_age_ms: Option<u64>,
    last_start_age_ms: Option<u64>,
    last_short_down_age_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    main: SlotKey,
    log: Option<SlotKey>,
    exited: bool,
    pipe_closed: bool,
    pid_changed: bool,
    last_run_exit: Option<i32>,
    violations: u32,
}

/// A world plus its canonical key; equality and hashing use the key only.
#[derive(Clone, Debug)]
struct S {
    w: World,
    key: Key,
}

impl PartialEq for S {
    fn eq(&self, o: &S) -> bool {
        self.key == o.key
    }
}
impl Eq for S {}
impl std::hash::Hash for S {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.key.hash(h)
    }
}

fn key(w: &World) -> Key {
    let now = w.now.mono.0;
    let mut names: Vec<u32> = Vec::new();
    let mut canon = |pid: u32| -> u32 {
        if pid == 0 {
            return 0;
        }
        match names.iter().position(|&p| p == pid) {
            Some(i) => i as u32 + 1,
            None => {
                names.push(pid);
                names.len() as u32
            }
        }
    };
    let mut slot_key = |slot: Slot| {
        let i = if slot == Slot::Main { 0 } else { 1 };
        w.m.slot(slot).map(|s| SlotKey {
            state: s.state(),
            want: s.want,
            pid: canon(s.pid()),
            paused: s.paused,
            got_term: s.got_term(),
            once: s.once_pending(),
            finish_args: s.finish_args(),
            not_before_in_ms: s.not_before().map(|t| t.0.saturating_sub(now) / 1_000_000),
            run_age_ms: match s.phase {
                model::runsv::Phase::Run { started, .. } | model::runsv::Phase::Finish { started, .. } => age_ms(now, started.0),
                _ => None,
            },
            last_start_age_ms: w.last_start[i].and_then(|t| age_ms(now, t.0)),
            last_short_down_age_ms: match w.last_down[i] {
                Some((t, true)) => age_ms(now, t.0),
                _ => None,
            },
        })
    };
    let main = slot_key(Slot::Main).expect("main slot");
    let log = slot_key(Slot::Log);
    Key {
        main,
        log,
        exited: w.exited,
        pipe_closed: w.pipe_closed,
        // The shared "pid changed" flag is private; it only decides whether the next
        // status write rewrites `pid`, but keep states apart that differ in it.
        pid_changed: format!("{:?}", w.m).contains("pid_changed: true"),
        last_run_exit: if w.m.slot(Slot::Main).is_some_and(|s| s.state() != RunState::Down) { w.last_run_exit } else { None },
        violations: w.violations,
    }
}

fn wrap(w: World) -> S {
    let key = key(&w);
    S { w, key }
}

/// The runsv machine inside a [`World`], for the explorer.
struct RunsvExplore;

const MAIN_BYTES: &[u8] = b"udoxtkpch";
const LOG_BYTES: &[u8] = b"udoxk";
const MODES: [Mode; 3] = [Mode::Normal, Mode::ControlOk, Mode::ForkFails];
const STATUSES: [i32; 2] = [0, 15];

impl Explore for RunsvExplore {
    type State = S;
    type Input = In;

    fn initial(&self) -> Vec<S> {
        let mut out = Vec::new();
        for down in [false, true] {
            for log in [None, Some(false), Some(true)] {
                let w = World::new(Config { dir: b"s".to_vec(), down, log }, PidPolicy::SmallestFree, true, Replies::default());
                out.push(wrap(w));
            }
        }
        out
    }

    fn inputs(&self, s: &S) -> Vec<In> {
        if s.w.exited {
            return Vec::new();
        }
        let mut v = Vec::new();
        for mode in MODES {
            for &b in MAIN_BYTES {
                v.push(In(Event::Control(Slot::Main, b), mode));
            }
            if s.w.m.slot(Slot::Log).is_some() {
                for &b in LOG_BYTES {
                    // The log slot has no control scripts: ControlOk is the same as Normal.
                    if mode != Mode::ControlOk {
                        v.push(In(Event::Control(Slot::Log, b), mode));
                    }
                }
            }
            v.push(In(Event::Terminate, mode));
            if mode != Mode::ControlOk {
                for ms in [0, 1000, 5000] {
                    v.push(In(Event::Tick(ms), mode));
                }
                if s.w.live_pid(Slot::Main).is_some() {
                    for status in STATUSES {
                        for finish in [false, true] {
                            v.push(In(Event::ChildExit { slot: Slot::Main, status, finish }, mode));
                        }
                    }
                }
                if s.w.live_pid(Slot::Log).is_some() {
                    v.push(In(Event::ChildExit { slot: Slot::Log, status: 0, finish: false }, mode));
                }
            }
        }
        v
    }

    fn step(&self, s: &S, i: &In) -> S {
        let mut w = s.w.clone();
        w.apply(&Step { event: i.0.clone(), replies: i.1.replies() });
        wrap(w)
    }

    /// Without outside help only time passes (and forks succeed).
    fn fair_inputs(&self, s: &S) -> Vec<In> {
        if s.w.exited {
            return Vec::new();
        }
        vec![In(Event::Tick(1000), Mode::Normal), In(Event::Tick(5000), Mode::Normal)]
    }
}

macro_rules! always_invariants {
    ($($inv:ident),* $(,)?) => {
        vec![$(Property::always(stringify!($inv), |s: &S| !s.w.violated(Invariant::$inv))),*]
    };
}

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
    );
    assert_eq!(p.len(), INVARIANTS.len(), "every named invariant is explored");
    p.push(Property::eventually(
        "wanted up runs without outside help",
        |s| !s.w.exited && s.w.m.slot(Slot::Main).is_some_and(|m| m.want == Want::Up && m.pid() == 0),
        |s| s.w.m.slot(Slot::Main).is_some_and(|m| m.pid() != 0),
        3,
    ));
    p.push(Property::eventually(
        "wanted-up log runs without outside help",
        |s| !s.w.exited && !s.w.pipe_closed && s.w.m.slot(Slot::Log).is_some_and(|l| l.want == Want::Up && l.pid() == 0),
        |s| s.w.m.slot(Slot::Log).is_some_and(|l| l.pid() != 0),
        3,
    ));
    p.push(Property::sometimes("finish runs", |s| s.w.m.slot(Slot::Main).is_some_and(|m| m.state() == RunState::Finish && m.pid() != 0)));
    p.push(Property::sometimes("throttle armed", |s| {
        s.w.m.slot(Slot::Main).is_some_and(|m| m.want == Want::Up && m.pid() == 0 && m.not_before().is_some())
    }));
    p.push(Property::sometimes("log pipe closed", |s| s.w.pipe_closed && !s.w.exited));
    p.push(Property::sometimes("exit reached", |s| s.w.exited));
    p.push(Property::sometimes("paused while down", |s| s.w.m.slot(Slot::Main).is_some_and(|m| m.paused && m.state() == RunState::Down)));
    p.push(Property::sometimes("fork retry pending", |s| {
        s.w.m.slot(Slot::Main).is_some_and(|m| m.pid() == 0 && m.not_before().is_some() && m.state() == RunState::Finish)
    }));
    p
}

fn run(depth: usize, max_states: usize) -> usize {
    let t = Instant::now();
    let r = explore(&RunsvExplore, depth, max_states, &properties());
    println!("explore runsv: {:.1} s", t.elapsed().as_secs_f64());
    r.assert_ok("runsv");
    assert!(!r.truncated, "state budget too small for depth {depth}");
    if r.depth < depth {
        println!("explore runsv: closure reached: no new state after depth {}", r.depth);
    }
    r.depth
}

/// The default run: fast enough for debug CI.
#[test]
fn explore_runsv_default_depth() {
    let _ = run(std::env::var("RUNSV_EXPLORE_DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(DEFAULT_DEPTH), 2_000_000);
}

/// The default depth (kept under ~20 s in a debug build).
const DEFAULT_DEPTH: usize = 6;

/// The deep run (`cargo test --release -p runit-verification --test runsv_explore -- --ignored`).
#[test]
#[ignore = "deep: run in release, see docs/assurance.md"]
fn explore_runsv_deep() {
    // Closure of the canonical state space is reached at depth 13 (19 004 states).
    let reached = run(16, 20_000_000);
    assert!(reached < 16, "closure not reached: the alphabet or the key grew");
}
