//! Seeded deterministic simulation of runsvdir and many simplified runsv processes over
//! a fake kernel (a directory that changes, processes that start, crash and stop, a
//! clock that steps), with injected faults: fork failure, runsv crash, directory stat
//! and read failures, lost change notices (inotify gone), wall-clock steps.
//!
//! Everything is a function of the seed, so a failing seed replays exactly
//! (`RUNSVDIR_SIM_SEED=<n>`). After every input the invariants are checked; at the end
//! the environment goes quiet and the services must converge to the directory.
//!
//! [`runsv`] is the simulation of one real runsv through the production driver loop and
//! the production executor (`RUNSV_SIM_SEED=<n>`); [`joint`] runs the production runsvdir
//! and runsv executors together over one fake kernel (`JOINT_SIM_SEED=<n>`); [`stage`] runs
//! runit as PID 1 (the production stage executor) with its fork failures (`STAGE_SIM_SEED=<n>`).

pub mod joint;
pub mod kernel;
pub mod rng;
pub mod runsv;
pub mod stage;

pub use kernel::{Fault, Kernel, Outcome, SimConfig};
pub use rng::Rng;
