//! The obligation contract as the production driver checks it (`Machine::owed` and
//! `Machine::answers`, asserted in `runtime::driver` in debug builds): an executor whose
//! reply does not answer what runsv is owed is stopped there, in debug builds; in release
//! builds runsv ignores the reply (it stays owed) and the run still ends.

use std::collections::VecDeque;

use model::runsv::{Action, Config, Input, Owed, Runsv, Slot};
use model::time::{Mono, Now, Wall};
use model::Machine;
use runtime::driver::{run, Io, Os, Trace, Woke};
use runtime::latch::SignalSet;
use runtime::wait::{Interest, Ready};

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

/// A clock that stands still and a wait that returns at once.
struct StillOs;

impl Os for StillOs {
    fn now(&mut self) -> Now {
        T0
    }
    fn wait(&mut self, _: &[Interest], _: Now, _: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        (Vec::new(), SignalSet::default())
    }
}

/// Answers every obligation with a spawn reply for the log slot (wrong for a service
/// without log, and wrong for a `control/u`); finished after the first batch.
struct WrongReplies {
    batches: usize,
}

impl Io<Runsv> for WrongReplies {
    fn execute(&mut self, _: Now, action: Action) -> Option<Input> {
        match action {
            Action::Spawn { .. } | Action::RunControl(_) => Some(Input::Spawned(Slot::Log, 7)),
            _ => None,
        }
    }
    fn interests(&self, _: &mut Vec<Interest>) {}
    fn gather(&mut self, _: Now, _: &Woke, _: &mut VecDeque<Input>) {
        self.batches += 1;
    }
    fn finished(&self) -> Option<i32> {
        Some(0)
    }
}

#[test]
fn runsv_answers_match_only_what_is_owed() {
    let (run_u, log_spawn) = (Owed::Control(b'u'), Owed::Spawn(Slot::Log));
    assert!(Runsv::answers(&run_u, &Input::ControlDone(model::runsv::ControlOutcome::Absent)));
    assert!(!Runsv::answers(&run_u, &Input::Spawned(Slot::Main, 1)));
    assert!(Runsv::answers(&log_spawn, &Input::SpawnFailed(Slot::Log, model::errno::Errno::EAGAIN)));
    assert!(!Runsv::answers(&log_spawn, &Input::Spawned(Slot::Main, 1)));
    assert!(!Runsv::answers(&log_spawn, &Input::Tick));
}

#[test]
fn driver_refuses_a_reply_that_answers_nothing_owed() {
    let mut m = Runsv::new(T0, Config { dir: b"s".to_vec(), down: false, log: None, readiness: Default::default() });
    let mut io = WrongReplies { batches: 0 };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(&mut m, &mut io, &mut StillOs, vec![Input::Start], &mut Trace::none())
    }));
    if cfg!(debug_assertions) {
        let payload = result.expect_err("debug builds stop on a reply that answers nothing owed");
        let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("does not answer what is owed"), "{msg}");
    } else {
        assert_eq!(result.expect("release builds go on"), 0);
        assert_eq!(m.owed(), Some(Owed::Control(b'u')), "the wrong reply was ignored");
    }
}
