//! runit's stage machine's obligation (`Machine::owed`/`answers`) as the production driver
//! checks it: a spawn is answered only by its pid or its fork errno; a wrong reply stops
//! the driver in debug builds and is ignored (still owed) in release builds.

use model::errno::Errno;
use model::stage::{Action, Config, Input, Job, Owed, StageId, Stages};
use model::Machine;
use verification::contract::refused_by_driver;

#[test]
fn stage_answers_match_only_what_is_owed() {
    let one = Owed::Spawn(Job::Stage(StageId::One));
    assert!(Stages::answers(&one, &Input::Spawned { pid: 5 }));
    assert!(Stages::answers(&one, &Input::SpawnFailed { errno: Errno::EAGAIN }));
    assert!(!Stages::answers(&one, &Input::Tick));
    assert!(!Stages::answers(&one, &Input::Boot));
}

#[test]
fn stage_owes_the_spawn_of_stage_1_after_boot() {
    let mut m = Stages::new(Config::default());
    assert_eq!(m.owed(), None);
    m.handle(verification::contract::T0, Input::Boot);
    assert_eq!(m.owed(), Some(Owed::Spawn(Job::Stage(StageId::One))));
    m.handle(verification::contract::T0, Input::Spawned { pid: 5 });
    assert_eq!(m.owed(), None);
}

/// Stage 1's spawn answered with a tick.
#[test]
fn driver_refuses_a_reply_that_answers_nothing_owed() {
    let mut m = Stages::new(Config::default());
    let still_owed = refused_by_driver(&mut m, vec![Input::Boot], |a: &Action| match a {
        Action::Spawn(_) => Some(Input::Tick),
        _ => None,
    });
    if !cfg!(debug_assertions) {
        assert_eq!(still_owed, Some(Owed::Spawn(Job::Stage(StageId::One))), "the wrong reply was ignored");
    }
}
