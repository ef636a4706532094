//! Scripts that answer runsv's obligations for [`crate::scripted::Scripted`]: the
//! replies most tests give (no `control/<c>` overrides, every fork succeeds), shared by
//! the model's unit tests and `verification/`.

use super::{ControlOutcome, Input, Owed, Slot};

/// Answers every `control/<c>` as absent; leaves a spawn owed (the test answers it).
pub fn controls_absent(owed: &Owed) -> Option<Input> {
    match owed {
        Owed::Control(_) => Some(Input::ControlDone(ControlOutcome::Absent)),
        Owed::Spawn(_) => None,
    }
}

/// Answers every `control/<c>` as absent and each spawn as started: `./run` as `main`,
/// `log/run` as `log`.
pub fn started(main: u32, log: u32) -> impl FnMut(&Owed) -> Option<Input> {
    move |owed| match owed {
        Owed::Control(_) => Some(Input::ControlDone(ControlOutcome::Absent)),
        Owed::Spawn(Slot::Main) => Some(Input::Spawned(Slot::Main, main)),
        Owed::Spawn(Slot::Log) => Some(Input::Spawned(Slot::Log, log)),
    }
}
