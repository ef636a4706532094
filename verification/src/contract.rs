//! The obligation contract as the production driver checks it, for any machine: an
//! executor whose reply does not answer what the machine is owed (`Machine::owed`,
//! `Machine::answers`) is stopped by `runtime::driver` in debug builds. The
//! `*_driver_contract.rs` tests run the real driver loop with [`StillOs`] and an executor
//! that answers every obligation wrongly, and check the driver's verdict with
//! [`refused_by_driver`].

use std::collections::VecDeque;
use std::fmt::Debug;

use model::time::{Mono, Now, Wall};
use model::Machine;
use runtime::driver::{run, Io, Os, Trace, Woke};
use runtime::latch::SignalSet;
use runtime::wait::{Interest, Ready};

/// The clock every contract test starts from.
pub const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

/// A clock that stands still and a wait that returns at once.
pub struct StillOs;

impl Os for StillOs {
    fn now(&mut self) -> Now {
        T0
    }
    fn wait(&mut self, _: &[Interest], _: Now, _: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        (Vec::new(), SignalSet::default())
    }
}

/// An executor that answers each action with `reply(&action)` (the wrong reply, for an
/// obligation) and says it is finished after the first batch.
pub struct WrongReplies<F> {
    /// The reply given to each action (`None`: not an obligation).
    pub reply: F,
}

impl<M, F> Io<M> for WrongReplies<F>
where
    M: Machine,
    F: FnMut(&M::Action) -> Option<M::Input>,
{
    fn execute(&mut self, _: Now, action: M::Action) -> Option<M::Input> {
        (self.reply)(&action)
    }
    fn interests(&self, _: &mut Vec<Interest>) {}
    fn gather(&mut self, _: Now, _: &Woke, _: &mut VecDeque<M::Input>) {}
    fn finished(&self) -> Option<i32> {
        Some(0)
    }
}

/// Runs `machine` from `initial` through the production driver with `reply` as its
/// executor. In debug builds: asserts that the driver stopped on "does not answer what is
/// owed" and returns `None`. In release builds (no checks): asserts the run ended and
/// returns the obligation the machine is still owed (the wrong reply was not taken).
pub fn refused_by_driver<M, F>(machine: &mut M, initial: Vec<M::Input>, reply: F) -> Option<M::Owed>
where
    M: Machine,
    M::Input: Debug,
    M::Action: Debug,
    F: FnMut(&M::Action) -> Option<M::Input>,
{
    let mut io = WrongReplies { reply };
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(machine, &mut io, &mut StillOs, initial, &mut Trace::none())));
    if cfg!(debug_assertions) {
        let payload = result.expect_err("debug builds stop on a reply that answers nothing owed");
        let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("does not answer what is owed"), "{msg}");
        None
    } else {
        assert_eq!(result.expect("release builds go on"), 0);
        machine.owed()
    }
}
