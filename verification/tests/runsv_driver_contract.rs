//! The obligation contract as the production driver checks it (`Machine::owed` and
//! `Machine::answers`, asserted in `runtime::driver` in debug builds): an executor whose
//! reply does not answer what runsv is owed is stopped there, in debug builds; in release
//! builds runsv ignores the reply (it stays owed) and the run still ends.

use model::runsv::{Action, Config, Input, Owed, Runsv, Slot};
use model::Machine;
use verification::contract::{refused_by_driver, T0};

#[test]
fn runsv_answers_match_only_what_is_owed() {
    let (run_u, log_spawn) = (Owed::Control(b'u'), Owed::Spawn(Slot::Log));
    assert!(Runsv::answers(&run_u, &Input::ControlDone(model::runsv::ControlOutcome::Absent)));
    assert!(!Runsv::answers(&run_u, &Input::Spawned(Slot::Main, 1)));
    assert!(Runsv::answers(&log_spawn, &Input::SpawnFailed(Slot::Log, model::errno::Errno::EAGAIN)));
    assert!(!Runsv::answers(&log_spawn, &Input::Spawned(Slot::Main, 1)));
    assert!(!Runsv::answers(&log_spawn, &Input::Tick));
}

/// Every obligation answered with a spawn reply for the log slot (wrong for a service
/// without log, and wrong for a `control/u`).
#[test]
fn driver_refuses_a_reply_that_answers_nothing_owed() {
    let mut m = Runsv::new(T0, Config { dir: b"s".to_vec(), down: false, log: None, readiness: Default::default() });
    let still_owed = refused_by_driver(&mut m, vec![Input::Start], |a: &Action| match a {
        Action::Spawn { .. } | Action::RunControl(_) => Some(Input::Spawned(Slot::Log, 7)),
        _ => None,
    });
    if !cfg!(debug_assertions) {
        assert_eq!(still_owed, Some(Owed::Control(b'u')), "the wrong reply was ignored");
    }
}
