//! Seeded deterministic simulation of runsvdir over a fake kernel with faults
//! (verification/src/sim). A failing seed is printed and replays exactly with
//! `RUNSVDIR_SIM_SEED=<seed> cargo test -p runit-verification --test runsvdir_sim`.

use verification::sim::{Kernel, SimConfig};

const SEEDS: u64 = 200;

fn run(seed: u64, cfg: SimConfig) {
    if let Err(e) = Kernel::new(seed, cfg).run() {
        panic!("seed {seed} failed: {e}\nreplay: RUNSVDIR_SIM_SEED={seed}");
    }
}

#[test]
fn fixed_seeds_watching_and_polling() {
    if let Some(seed) = std::env::var("RUNSVDIR_SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        run(seed, SimConfig::default());
        run(seed, SimConfig { watching: false, ..SimConfig::default() });
        return;
    }
    let mut totals = (0, 0, 0, 0);
    for seed in 0..SEEDS {
        for watching in [true, false] {
            let out = Kernel::new(seed, SimConfig { watching, ..SimConfig::default() })
                .run()
                .unwrap_or_else(|e| panic!("seed {seed} (watching {watching}) failed: {e}\nreplay: RUNSVDIR_SIM_SEED={seed}"));
            totals.0 += out.inputs;
            totals.1 += out.starts;
            totals.2 += out.terms;
            totals.3 += out.faults.values().sum::<usize>();
        }
    }
    println!(
        "sim runsvdir: {} seeds x 2 modes, {} inputs, {} runsv starts, {} TERMs, {} faults",
        SEEDS, totals.0, totals.1, totals.2, totals.3
    );
    assert!(totals.1 > 0 && totals.2 > 0 && totals.3 > 0, "the simulation exercised nothing");
}

#[test]
fn a_seed_replays_exactly() {
    let a = Kernel::new(42, SimConfig::default()).run().unwrap();
    let b = Kernel::new(42, SimConfig::default()).run().unwrap();
    assert_eq!(a, b);
    let c = Kernel::new(43, SimConfig::default()).run().unwrap();
    assert_ne!(a.digest, c.digest, "different seeds, different runs");
}

#[test]
fn past_the_cap_with_faults() {
    for seed in 0..3 {
        let out = Kernel::new(seed, SimConfig { steps: 40, names: 20, watching: seed % 2 == 0, faults: true, initial: 1010 })
            .run()
            .unwrap_or_else(|e| panic!("seed {seed} failed: {e}"));
        assert_eq!(out.max_tracked, 1000);
    }
}
