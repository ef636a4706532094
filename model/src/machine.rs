//! The one contract every machine follows (the quinn-proto / str0m shape).
//!
//! A machine is driven by three calls:
//! - [`Machine::handle`] applies one fact (a control byte, a child exit, a tick, a scan
//!   result). It never performs an effect; it queues actions.
//! - [`Machine::poll_action`] drains those actions in order. Drain to `None` after every
//!   `handle` ("one change, then drain everything").
//! - [`Machine::poll_deadline`] says when to call back with the machine's tick input.
//!   Calling back early is harmless; the machine re-checks the time it is given.
//!
//! Actions whose result the machine needs (spawn -> pid or errno, a `control/<c>` script
//! -> exit status, a directory scan -> entries) are *obligations*: the runtime must answer
//! them with the matching reply input before feeding anything else. Machines say which
//! reply they are owed ([`Machine::owed`]) and which inputs answer it
//! ([`Machine::answers`]), so the driver (and the simulator, which runs the driver)
//! asserts the contract in debug builds.
//!
//! Time arrives only as [`Now`]; the monotonic half must never go backwards between calls.

use crate::time::{Mono, Now};

/// A pure state machine driven by facts and drained of decisions.
pub trait Machine {
    /// The facts the machine reacts to.
    type Input;
    /// The decisions it emits for the runtime to carry out.
    type Action;

    /// Applies one input at time `now`. Queues actions; performs none.
    fn handle(&mut self, now: Now, input: Self::Input);

    /// Next queued action, in order; `None` once everything is drained.
    fn poll_action(&mut self) -> Option<Self::Action>;

    /// When the machine next needs a tick, if ever. Changes only after `handle`.
    fn poll_deadline(&self) -> Option<Mono>;

    /// What an obligation waits for ([`core::convert::Infallible`] for a machine that
    /// never owes a reply). Every machine declares its obligations: there is no default,
    /// so a new one cannot slip past the driver's checks.
    type Owed: core::fmt::Debug;

    /// The reply the runtime owes now, if any: it must be fed before any other input.
    fn owed(&self) -> Option<Self::Owed>;

    /// Whether `input` is the reply that `owed` asks for.
    fn answers(owed: &Self::Owed, input: &Self::Input) -> bool;
}
