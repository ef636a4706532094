//! svlogd's obligations (`Machine::owed`/`answers`) as the production driver checks them:
//! each file-system obligation is answered only by the reply of the same name; a wrong
//! reply stops the driver in debug builds and is ignored (still owed) in release builds.

use model::errno::Errno;
use model::svlogd::options::{parse, Parsed};
use model::svlogd::{Action, Input, Logger, Owed};
use model::Machine;
use verification::contract::refused_by_driver;

fn logger() -> Logger {
    let Parsed::Run(settings) = parse(&["svlogd", "log"]) else { panic!("svlogd log is a valid command line") };
    Logger::new(settings)
}

#[test]
fn svlogd_answers_match_only_what_is_owed() {
    assert!(Logger::answers(&Owed::DirOpened, &Input::DirOpened(Ok(None))));
    assert!(Logger::answers(&Owed::Done, &Input::Done(Err(Errno::EIO))));
    assert!(Logger::answers(&Owed::Wrote, &Input::Wrote { result: Ok(()), written: 0, buf: Vec::new() }));
    assert!(!Logger::answers(&Owed::DirOpened, &Input::Done(Ok(()))));
    assert!(!Logger::answers(&Owed::Scanned, &Input::Tick));
    assert!(!Logger::answers(&Owed::Spawned, &Input::Data(b"x\n".to_vec())));
}

#[test]
fn svlogd_owes_the_directory_open_after_start() {
    let mut m = logger();
    m.handle(verification::contract::T0, Input::Start);
    assert_eq!(m.poll_action(), Some(Action::OpenDir { dir: 0 }));
    assert_eq!(m.owed(), Some(Owed::DirOpened));
    m.handle(verification::contract::T0, Input::DirOpened(Ok(None)));
    assert_eq!(m.poll_action(), Some(Action::ReadConfig { dir: 0 }));
    assert_eq!(m.owed(), Some(Owed::ConfigRead));
}

/// The directory open answered as if it were a rename.
#[test]
fn driver_refuses_a_reply_that_answers_nothing_owed() {
    let mut m = logger();
    let still_owed = refused_by_driver(&mut m, vec![Input::Start], |a: &Action| match a {
        Action::OpenDir { .. } => Some(Input::Done(Ok(()))),
        _ => None,
    });
    if !cfg!(debug_assertions) {
        assert_eq!(still_owed, Some(Owed::DirOpened), "the wrong reply was ignored");
    }
}
