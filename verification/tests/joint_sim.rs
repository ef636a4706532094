//! The joint simulation: runsvdir and several runsv (the production executor) over one
//! seeded fake kernel, with faults in every executor, signal storms, `sv` commands racing
//! rescans, and the invariants checked at every step (verification/src/sim/joint/). Each
//! service's `log/run` is the production svlogd executor, whose log files are judged.
//!
//! Replay one seed: `JOINT_SIM_SEED=<n> cargo test -p runit-verification --test joint_sim -- --nocapture`
//! (with `JOINT_SIM_KILL=1` for a seed of the kill-runsv sweep or soak)
//!
//! The soak (not in the normal suite):
//!
//! ```text
//! JOINT_SIM_SEEDS=10000 cargo test --release -p runit-verification --test joint_sim -- --ignored --nocapture
//! JOINT_SIM_KILL=1 JOINT_SIM_SEEDS=10000 cargo test --release -p runit-verification --test joint_sim -- --ignored --nocapture
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use verification::sim::joint::{run, Check, JointConfig, JointFault, JointPlant, JointReport};

/// Seeds in the normal suite (a few seconds in a debug build).
const SEEDS: u64 = 40;

fn replay_hint(seed: u64) -> String {
    format!("replay: JOINT_SIM_SEED={seed} cargo test -p runit-verification --test joint_sim -- --nocapture")
}

/// Runs `seeds` with `cfg`, panicking with the replay command on the first failure, and
/// prints the figures line docs/assurance.md quotes.
fn sweep(seeds: impl Iterator<Item = u64>, cfg: &JointConfig, label: &str) -> Vec<JointReport> {
    let t = Instant::now();
    let mut reports = Vec::new();
    for seed in seeds {
        let r = run(seed, cfg);
        if let Some(f) = r.failure() {
            panic!("seed {seed} failed: {f}\n{}", replay_hint(seed));
        }
        reports.push(r);
    }
    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    for r in &reports {
        for (k, v) in &r.faults {
            *faults.entry(format!("{k:?}")).or_default() += v;
        }
    }
    let sum = |f: fn(&JointReport) -> usize| reports.iter().map(f).sum::<usize>();
    println!(
        "sim joint ({label}): {} seeds in {:.2} s, {:.0} virtual s, {} steps, {} invariant checks, {} runsv started ({} exited), {} ./run started, {} log lines ({} bytes read by {} svlogd, {} rotations, {} bytes lost to kills, {} dropped after TERM on a full disk), {} faults injected {faults:?}",
        reports.len(),
        t.elapsed().as_secs_f64(),
        reports.iter().map(|r| r.virtual_ms).sum::<u64>() as f64 / 1000.0,
        sum(|r| r.steps),
        sum(|r| r.checks),
        sum(|r| r.runsv_starts),
        sum(|r| r.runsv_exits),
        sum(|r| r.service_starts),
        sum(|r| r.lines),
        sum(|r| r.logged_bytes),
        sum(|r| r.svlogd_starts),
        sum(|r| r.rotations),
        sum(|r| r.log_lost),
        sum(|r| r.log_dropped),
        faults.values().sum::<usize>(),
    );
    if cfg.kill_runsv {
        let mut left: BTreeMap<&str, usize> = BTreeMap::new();
        let mut points: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &reports {
            r.left_to_runit.iter().for_each(|(k, n)| *left.entry(k).or_default() += n);
            r.kill_points.iter().for_each(|(k, n)| *points.entry(k).or_default() += n);
        }
        println!(
            "sim joint ({label}): {} orphans adopted, left to runit's behaviour {left:?}; runsv killed at {points:?}; {} lines written after runsv closed its ends, {} loggers kept from EOF by such a writer",
            sum(|r| r.adopted),
            sum(|r| r.lines_after_close),
            sum(|r| r.eof_held_by_writers)
        );
    }
    reports
}

#[test]
fn fixed_seeds() {
    if let Some(seed) = std::env::var("JOINT_SIM_SEED").ok().and_then(|s| s.parse::<u64>().ok()) {
        let cfg = JointConfig { kill_runsv: std::env::var_os("JOINT_SIM_KILL").is_some(), ..JointConfig::default() };
        let r = run(seed, &cfg);
        println!("{r:?}");
        assert_eq!(r, run(seed, &cfg), "seed {seed}: a second run differs");
        if let Some(f) = r.failure() {
            panic!("seed {seed} failed: {f}");
        }
        return;
    }
    let reports = sweep(0..SEEDS, &JointConfig::default(), "fixed");
    let sum = |f: fn(&JointReport) -> usize| reports.iter().map(f).sum::<usize>();
    // The sweep must exercise the tree: runsv restarted, services started, lines logged,
    // every kind of fault injected somewhere.
    assert!(sum(|r| r.runsv_exits) > 10, "runsv exits (and restarts): {}", sum(|r| r.runsv_exits));
    assert!(sum(|r| r.service_starts) > 100 && sum(|r| r.lines) > 1000);
    let kinds: std::collections::BTreeSet<_> = reports.iter().flat_map(|r| r.faults.keys().copied()).collect();
    assert_eq!(kinds.len(), 15, "every fault kind but RunsvKill injected somewhere: {kinds:?}");
    // The production svlogd is the logger: it rotated, and restarts happened.
    assert!(sum(|r| r.rotations) > 100 && sum(|r| r.svlogd_starts) > 100, "svlogd rotations and starts");
}

#[test]
fn a_seed_replays_exactly() {
    let cfg = JointConfig::default();
    assert_eq!(run(3, &cfg), run(3, &cfg));
    assert_ne!(run(3, &cfg).digest, run(4, &cfg).digest, "different seeds, different runs");
}

/// Each planted bug is reported by the check meant for it on every seed where it fired.
#[test]
fn planted_bugs_are_caught() {
    for (plant, check) in [
        (JointPlant::LoseLogOnHandOver, Check::LogBytes),
        (JointPlant::RunsvNeverRuns, Check::Converged),
        (JointPlant::ForgedCredentials, Check::ReadyHonest),
        (JointPlant::AbortLost, Check::WatchdogActs),
        (JointPlant::LogWriteLost, Check::LogBytes),
    ] {
        let mut fired = 0;
        for seed in 0..10 {
            let r = run(seed, &JointConfig { plant, ..JointConfig::default() });
            match r.violations.first() {
                Some((c, _)) if *c == check => assert!(r.plant_fired, "{plant:?} seed {seed}: reported without firing"),
                Some((c, m)) => panic!("{plant:?} seed {seed}: reported as {c:?} ({m}), expected {check:?}"),
                None => assert!(!r.plant_fired, "{plant:?} seed {seed}: fired and nothing noticed"),
            }
            fired += usize::from(r.plant_fired);
        }
        assert!(fired >= 5, "{plant:?} fired on only {fired}/10 seeds");
    }
}

/// Issue 11's property: runsv killed with SIGKILL at random points (between events,
/// mid-fork, mid-status-write, during `./finish`, during a control script) and restarted
/// by runsvdir over the same fake kernel takes the orphans over through the production
/// adoption path; at every step at most one live child per slot, no log byte lost or
/// duplicated, nothing unrelated adopted. Orphans adoption documents it leaves (a
/// `./finish` running, no record naming the process, a stepped wall clock, the log pipe
/// not recoverable) are left running as runit leaves them, and counted.
#[test]
fn killing_runsv_adopts_its_children() {
    const POINTS: [&str; 5] = ["between events", "mid-fork", "mid-status-write", "during ./finish", "during a control script"];
    let cfg = JointConfig { kill_runsv: true, ..JointConfig::default() };
    // A kill during `./finish` is rare (about one in 40 seeds): take further batches of
    // seeds until every kill point was reached, at most five batches (fixed seeds: the
    // same batches every run).
    let mut reports = Vec::new();
    for batch in 0..5u64 {
        reports.extend(sweep(batch * SEEDS..(batch + 1) * SEEDS, &cfg, "kill runsv"));
        let reached = |p: &str| reports.iter().any(|r| r.kill_points.get(p).copied().unwrap_or(0) > 0);
        if POINTS.iter().all(|p| reached(p)) {
            break;
        }
    }
    let mut points: BTreeMap<&str, usize> = BTreeMap::new();
    let mut left: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &reports {
        for (p, n) in &r.kill_points {
            *points.entry(p).or_default() += n;
        }
        for (p, n) in &r.left_to_runit {
            *left.entry(p).or_default() += n;
        }
    }
    let adopted: usize = reports.iter().map(|r| r.adopted).sum();
    let reused: usize = reports.iter().map(|r| r.faults.get(&JointFault::PidReused).copied().unwrap_or(0)).sum();
    println!("sim joint (kill runsv): {adopted} orphans adopted, {reused} pids reused by an unrelated process, left to runit's behaviour {left:?}; runsv killed at {points:?}");
    for point in POINTS {
        assert!(points.get(point).copied().unwrap_or(0) > 0, "runsv never killed {point}: {points:?}");
    }
    assert!(adopted > 20, "adoption hardly exercised: {adopted} orphans adopted");
    assert!(reused > 0, "no pid reuse injected");
}

/// The planted bug: an unrelated process that got an orphan's pid shows the orphan's start
/// time and the orphan's log pipe on its fd 1 (what a probe ignoring the start time would
/// accept where the pipe check cannot tell them apart; with an honest fd 1 the pipe check
/// alone refuses it and runit's behaviour follows, which the property allows). The check
/// must report it (`AdoptOnlyTheSame`, or `OneChildPerSlot` for what follows) on at least 5
/// seeds, and nothing may be reported where it did not fire.
#[test]
fn adopting_a_reused_pid_is_caught() {
    let (mut caught, mut fired) = (0, 0);
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for seed in 0..SEEDS {
        let r = run(seed, &JointConfig { kill_runsv: true, plant: JointPlant::ReusedPidLooksSame, ..JointConfig::default() });
        match r.violations.first() {
            Some((c @ (Check::AdoptOnlyTheSame | Check::OneChildPerSlot), _)) => {
                assert!(r.plant_fired, "seed {seed}: reported without the plant firing\n{}", replay_hint(seed));
                caught += 1;
                *by.entry(format!("{c:?}")).or_default() += 1;
            }
            Some((c, m)) => panic!("seed {seed}: reported as {c:?} ({m})\n{}", replay_hint(seed)),
            // Fired where nothing depended on it (the orphaned logger gone too, or left for
            // a documented reason): the stranger was not adopted, which the check verifies.
            None => {}
        }
        fired += usize::from(r.plant_fired);
    }
    println!("sim joint (planted reused pid): fired on {fired}/{SEEDS} seeds, caught on {caught} {by:?}");
    assert!(caught >= 5, "the planted reused pid fired and was caught on only {caught}/{SEEDS} seeds");
}

#[test]
#[ignore = "soak: JOINT_SIM_SEEDS=10000 cargo test --release -p runit-verification --test joint_sim -- --ignored --nocapture"]
fn soak() {
    let n: u64 = std::env::var("JOINT_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let start: u64 = std::env::var("JOINT_SIM_FIRST").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    // `JOINT_SIM_KILL=1`: runsv also killed at random points (adoption's property).
    let kill_runsv = std::env::var_os("JOINT_SIM_KILL").is_some();
    sweep(start..start + n, &JointConfig { kill_runsv, ..JointConfig::default() }, if kill_runsv { "soak, kill runsv" } else { "soak" });
}

/// The log pipe's EOF counts every writer: a logger sees EOF only once nobody holds the
/// write end, orphans included (a `./run` left running by a killed runsv, reparented to
/// runsvdir, still writes after its runsv's successor closed its ends). Over the kill-runsv
/// seeds such an orphan writes after the close and the logger keeps reading instead of
/// exiting; with the fake's old rule planted (EOF once runsv closed its ends) the check
/// reports the early EOF, and nothing where the plant did not fire.
#[test]
fn an_orphan_writer_holds_the_log_pipe_open() {
    let cfg = JointConfig { kill_runsv: true, ..JointConfig::default() };
    let reports = sweep(0..SEEDS, &cfg, "orphan writers");
    let held: usize = reports.iter().map(|r| r.eof_held_by_writers).sum();
    let lines: usize = reports.iter().map(|r| r.lines_after_close).sum();
    let seeds = reports.iter().filter(|r| r.eof_held_by_writers > 0).count();
    println!("sim joint (orphan writers): {lines} lines written after runsv closed its ends, {held} loggers kept from EOF by a writer on {seeds}/{SEEDS} seeds");
    assert!(held > 0 && lines > 0, "no orphan wrote after the close: {held} {lines}");
    let (mut caught, mut fired) = (0, 0);
    for seed in 0..SEEDS {
        let r = run(seed, &JointConfig { plant: JointPlant::EofWithWriters, ..cfg.clone() });
        match r.violations.first() {
            Some((Check::EofOnlyWithoutWriters, _)) => caught += 1,
            Some((c, m)) => panic!("seed {seed}: reported as {c:?} ({m})\n{}", replay_hint(seed)),
            None => {}
        }
        fired += usize::from(r.plant_fired);
    }
    println!("sim joint (planted early EOF): fired on {fired}/{SEEDS} seeds, caught on {caught}");
    assert!(caught > 0 && caught == fired, "planted early EOF: fired {fired}, caught {caught}");
}
