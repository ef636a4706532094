//! runsvdir's obligations (`Machine::owed`/`answers`) as the production driver checks
//! them: each obligation action is answered only by the reply of the same name; a wrong
//! reply stops the driver in debug builds and is ignored (still owed) in release builds.

use model::errno::Errno;
use model::runsvdir::{Action, DirStamp, Input, Owed, Runsvdir, WatchState};
use model::Machine;
use verification::contract::refused_by_driver;

#[test]
fn runsvdir_answers_match_only_what_is_owed() {
    assert!(Runsvdir::answers(&Owed::Watch, &Input::Watch(WatchState::Active)));
    assert!(Runsvdir::answers(&Owed::DirStat, &Input::DirStat(Ok(DirStamp::default()))));
    assert!(Runsvdir::answers(&Owed::Spawned, &Input::Spawned { dev: 1, ino: 2, result: Err(Errno::EAGAIN) }));
    assert!(!Runsvdir::answers(&Owed::Watch, &Input::DirStat(Ok(DirStamp::default()))));
    assert!(!Runsvdir::answers(&Owed::Scanned, &Input::Tick));
    assert!(!Runsvdir::answers(&Owed::StampWritten, &Input::Spawned { dev: 1, ino: 2, result: Ok(9) }));
    assert!(!Runsvdir::answers(&Owed::LogReady, &Input::Watch(WatchState::Unavailable)));
}

/// The first obligation (the watch) answered with a directory stat.
#[test]
fn driver_refuses_a_reply_that_answers_nothing_owed() {
    let mut m = Runsvdir::new(None);
    let still_owed = refused_by_driver(&mut m, vec![Input::Start], |a: &Action| match a {
        Action::Watch | Action::StatDir => Some(Input::DirStat(Ok(DirStamp::default()))),
        _ => None,
    });
    if !cfg!(debug_assertions) {
        assert_eq!(still_owed, Some(Owed::Watch), "the wrong reply was ignored");
    }
}
