//! The joint simulation: runsvdir and several runsv (the production executor) over one
//! seeded fake kernel, with faults in every executor, signal storms, `sv` commands racing
//! rescans, and the invariants checked at every step (verification/src/sim/joint/). Each
//! service's `log/run` is the production svlogd executor, whose log files are judged.
//!
//! Replay one seed: `JOINT_SIM_SEED=<n> cargo test -p runit-verification --test joint_sim -- --nocapture`
//!
//! The soak (not in the normal suite):
//!
//! ```text
//! JOINT_SIM_SEEDS=10000 cargo test --release -p runit-verification --test joint_sim -- --ignored --nocapture
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use verification::sim::joint::{run, Check, JointConfig, JointPlant, JointReport};

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
    reports
}

#[test]
fn fixed_seeds() {
    if let Some(seed) = std::env::var("JOINT_SIM_SEED").ok().and_then(|s| s.parse::<u64>().ok()) {
        let r = run(seed, &JointConfig::default());
        println!("{r:?}");
        assert_eq!(r, run(seed, &JointConfig::default()), "seed {seed}: a second run differs");
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

/// runsv killed with SIGKILL at random points and restarted by runsvdir over the same fake
/// kernel. Without adoption (issue 11, being built) the new runsv starts a second `./run`
/// beside the orphaned one: this test pins that expected failure, so it flips (and must be
/// rewritten to require no violation) when adoption lands.
#[test]
fn killing_runsv_starts_a_second_copy_until_adoption() {
    let mut double = 0;
    let mut other = Vec::new();
    let mut points: BTreeMap<&str, usize> = BTreeMap::new();
    for seed in 0..SEEDS {
        let r = run(seed, &JointConfig { kill_runsv: true, ..JointConfig::default() });
        for (p, n) in &r.kill_points {
            *points.entry(p).or_default() += n;
        }
        match r.violations.first() {
            Some((Check::OneChildPerSlot, _)) => double += 1,
            Some((c, m)) => other.push(format!("seed {seed}: {c:?}: {m}")),
            None => {}
        }
    }
    println!("sim joint (kill runsv): {double}/{SEEDS} seeds ran a second copy of a service; runsv killed at {points:?}");
    assert!(other.is_empty(), "failures other than the expected double copy: {other:?}");
    assert!(double > 0, "SIGKILL of runsv never led to a second copy: the fault is not reached");
}

#[test]
#[ignore = "soak: JOINT_SIM_SEEDS=10000 cargo test --release -p runit-verification --test joint_sim -- --ignored --nocapture"]
fn soak() {
    let n: u64 = std::env::var("JOINT_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let start: u64 = std::env::var("JOINT_SIM_FIRST").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    sweep(start..start + n, &JointConfig::default(), "soak");
}
