//! One scripted harness for every machine's tests: feed an input, drain every action,
//! answer obligations from a script, and record what came out. The model's unit tests
//! and `verification/` both drive machines through it, instead of each test file writing
//! its own "feed, drain, answer what is owed" loop.
//!
//! It keeps the driver's contract (`runtime::driver`): an input fed while a reply is owed
//! must answer it ([`Machine::answers`]); [`Scripted::feed_unchecked`] is for the tests
//! that break the contract on purpose to see the machine refuse.

use alloc::vec::Vec;
use core::fmt::Debug;

use crate::machine::Machine;
use crate::step_cap::StepCap;
use crate::time::{Now, Span};

/// How many actions one input may produce, and how many obligations one
/// [`Scripted::answer`] may answer, before the harness calls it a runaway.
const CAP: u64 = 10_000;

/// Every action `m` has queued, in order (step-capped: a machine that never stops emitting
/// fails the test instead of hanging it). For tests that drive a bare machine.
pub fn drain<M: Machine>(m: &mut M) -> Vec<M::Action> {
    let mut out = Vec::new();
    let mut cap = StepCap::new("scripted harness: draining actions", CAP);
    while let Some(a) = m.poll_action() {
        cap.step();
        out.push(a);
    }
    out
}

/// A machine, the test's clock, and every action it has emitted.
#[derive(Clone, Debug)]
pub struct Scripted<M: Machine> {
    /// The machine under test.
    pub m: M,
    /// The time the next input is fed at.
    pub now: Now,
    /// Every action drained so far, in order (tests that look at one input's actions use
    /// the value [`Scripted::feed`] returns).
    pub outputs: Vec<M::Action>,
}

impl<M> Scripted<M>
where
    M: Machine,
    M::Input: Debug,
    M::Action: Clone + Debug,
{
    /// `m` at time `now`, nothing fed yet.
    pub fn new(m: M, now: Now) -> Scripted<M> {
        Scripted { m, now, outputs: Vec::new() }
    }

    /// Feeds one input and drains every action it caused. If a reply is owed, `input`
    /// must answer it (the driver's contract; a test that breaks it on purpose uses
    /// [`Scripted::feed_unchecked`]).
    #[track_caller]
    pub fn feed(&mut self, input: M::Input) -> Vec<M::Action> {
        if let Some(owed) = self.m.owed() {
            assert!(
                M::answers(&owed, &input),
                "scripted harness: {input:?} fed while {owed:?} is owed (feed_unchecked breaks the contract on purpose)"
            );
        }
        self.feed_unchecked(input)
    }

    /// Feeds one input without checking it against what is owed; drains every action.
    pub fn feed_unchecked(&mut self, input: M::Input) -> Vec<M::Action> {
        self.m.handle(self.now, input);
        self.drain()
    }

    /// Drains the queued actions (recording them).
    pub fn drain(&mut self) -> Vec<M::Action> {
        let out = drain(&mut self.m);
        self.outputs.extend(out.iter().cloned());
        out
    }

    /// Answers obligations one after another from `script` (given what is owed, the
    /// reply; `None` leaves it owed and stops) until nothing is owed. Returns every
    /// action the replies caused.
    #[track_caller]
    pub fn answer(&mut self, mut script: impl FnMut(&M::Owed) -> Option<M::Input>) -> Vec<M::Action> {
        let mut out = Vec::new();
        let mut cap = StepCap::new("scripted harness: answering obligations", CAP);
        while let Some(owed) = self.m.owed() {
            cap.step();
            let Some(reply) = script(&owed) else { break };
            out.extend(self.feed(reply));
        }
        out
    }

    /// [`Scripted::feed`] `input`, then [`Scripted::answer`] by `script`: every action.
    #[track_caller]
    pub fn run(&mut self, input: M::Input, script: impl FnMut(&M::Owed) -> Option<M::Input>) -> Vec<M::Action> {
        let mut out = self.feed(input);
        out.extend(self.answer(script));
        out
    }

    /// Moves the clock on by `span`.
    pub fn advance(&mut self, span: Span) {
        self.now = self.now.after(span);
    }

    /// Moves the clock on by `ms` milliseconds.
    pub fn advance_ms(&mut self, ms: u64) {
        self.advance(Span::from_millis(ms));
    }
}

/// `scripted_harness!(H, Machine)` declares a test file's harness type `H`: a
/// [`Scripted`](crate::scripted::Scripted) of that machine (reached through `Deref`, so `h.m`, `h.now`, `h.feed`,
/// `h.run` work) to which the file adds its own constructors and helpers.
#[macro_export]
macro_rules! scripted_harness {
    ($name:ident, $machine:ty) => {
        /// The shared scripted harness (`model::scripted::Scripted`) with this file's
        /// constructors.
        struct $name($crate::scripted::Scripted<$machine>);

        impl ::core::ops::Deref for $name {
            type Target = $crate::scripted::Scripted<$machine>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl ::core::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.0
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Mono, Wall};
    use alloc::vec;

    /// A machine that owes a reply (`true`) after each `Ask` and emits the answer.
    #[derive(Clone, Debug, Default)]
    struct Echo {
        owed: bool,
        out: Vec<u8>,
    }

    #[derive(Debug)]
    enum In {
        Ask,
        Reply(u8),
    }

    impl Machine for Echo {
        type Input = In;
        type Action = u8;
        type Owed = ();
        fn handle(&mut self, _: Now, input: In) {
            match input {
                In::Ask => {
                    self.owed = true;
                    self.out.push(0);
                }
                In::Reply(b) => {
                    self.owed = false;
                    self.out.push(b);
                }
            }
        }
        fn poll_action(&mut self) -> Option<u8> {
            (!self.out.is_empty()).then(|| self.out.remove(0))
        }
        fn poll_deadline(&self) -> Option<Mono> {
            None
        }
        fn owed(&self) -> Option<()> {
            self.owed.then_some(())
        }
        fn answers(_: &(), input: &In) -> bool {
            matches!(input, In::Reply(_))
        }
    }

    const T0: Now = Now { mono: Mono(0), wall: Wall { unix_secs: 0, nanos: 0 } };

    #[test]
    fn run_answers_by_script_and_records_outputs() {
        let mut h = Scripted::new(Echo::default(), T0);
        assert_eq!(h.run(In::Ask, |_| Some(In::Reply(7))), vec![0, 7]);
        assert_eq!(h.m.owed(), None);
        assert_eq!(h.feed(In::Ask), vec![0]);
        assert_eq!(h.answer(|_| None), vec![], "a script that gives no reply leaves it owed");
        assert_eq!(h.m.owed(), Some(()));
        assert_eq!(h.outputs, vec![0, 7, 0]);
        h.advance_ms(1500);
        assert_eq!(h.now.mono, Mono(1_500_000_000));
    }

    #[test]
    #[should_panic(expected = "fed while () is owed")]
    fn feed_refuses_an_input_that_does_not_answer() {
        let mut h = Scripted::new(Echo::default(), T0);
        h.feed(In::Ask);
        h.feed(In::Ask);
    }

    #[test]
    #[should_panic(expected = "step cap")]
    fn a_script_that_never_settles_is_capped() {
        let mut g = Scripted::new(Loop, T0);
        g.answer(|_| Some(In::Reply(1)));
    }

    /// Owes a reply forever.
    #[derive(Clone, Debug)]
    struct Loop;

    impl Machine for Loop {
        type Input = In;
        type Action = u8;
        type Owed = ();
        fn handle(&mut self, _: Now, _: In) {}
        fn poll_action(&mut self) -> Option<u8> {
            None
        }
        fn poll_deadline(&self) -> Option<Mono> {
            None
        }
        fn owed(&self) -> Option<()> {
            Some(())
        }
        fn answers(_: &(), input: &In) -> bool {
            matches!(input, In::Reply(_))
        }
    }
}
