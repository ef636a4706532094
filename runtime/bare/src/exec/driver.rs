//! The generic driver loop, the same for every machine and for the simulator.
//!
//! One iteration: read the clock; feed queued inputs one at a time, draining every
//! action after each (an obligation's reply is fed back at once, before anything else,
//! with the clock read again, since an obligation may have blocked);
//! stop if the executor says so; otherwise wait until an fd is ready, a signal arrives,
//! or the machine's deadline passes; turn what woke the loop into inputs.
//!
//! Everything OS-specific sits behind two traits so `verification` can run this exact
//! loop over a simulated kernel: [`Os`] (clock + wait) and [`Io`] (executing actions and
//! gathering inputs). The real OS's [`Os`] is `runtime::driver::RealOs` (std) or the raw
//! one of the freestanding runsv.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{Debug, Write};

use model::{Machine, Mono, Now};

/// Readiness of one watched fd after a wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ready {
    /// The fd.
    pub fd: i32,
    /// Readable (or hung up / errored, which a read will report).
    pub readable: bool,
    /// Writable.
    pub writable: bool,
}

/// What to watch: fd plus interest in reading and/or writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest {
    /// The fd.
    pub fd: i32,
    /// Wake when readable.
    pub read: bool,
    /// Wake when writable.
    pub write: bool,
}

impl Interest {
    /// Interest in readability only.
    pub fn read(fd: i32) -> Interest {
        Interest { fd, read: true, write: false }
    }
    /// Interest in writability only.
    pub fn write(fd: i32) -> Interest {
        Interest { fd, read: false, write: true }
    }
}

pub use crate::latch::SignalSet;

/// What woke the loop.
#[derive(Clone, Debug, Default)]
pub struct Woke {
    /// fds that are ready.
    pub ready: Vec<Ready>,
    /// Signals taken from the latch (after draining the wake-up eventfd).
    pub signals: SignalSet,
    /// The machine's deadline has passed: the executor should feed its tick input.
    pub deadline_passed: bool,
}

/// The clock and the blocking wait.
pub trait Os {
    /// Both clocks, now.
    fn now(&mut self) -> Now;
    /// Sleeps until an interest is ready, a signal arrives or the deadline passes.
    fn wait(&mut self, interests: &[Interest], now: Now, deadline: Option<Mono>) -> (Vec<Ready>, SignalSet);
}

/// The machine-specific half of the shell: carries out actions, turns wake-ups into inputs.
pub trait Io<M: Machine> {
    /// Carries out one action. An obligation returns its reply input, which the driver
    /// feeds to the machine immediately.
    fn execute(&mut self, now: Now, action: M::Action) -> Option<M::Input>;
    /// The fds whose readiness is an event, right now.
    fn interests(&self, out: &mut Vec<Interest>);
    /// Turns a wake-up into inputs, in the order the machine should see them.
    fn gather(&mut self, now: Now, woke: &Woke, out: &mut VecDeque<M::Input>);
    /// `Some(exit code)` once the program is done.
    fn finished(&self) -> Option<i32>;
}

/// Where a [`Trace`]'s lines go (a file opened from `RUNIT_TRACE`): each complete line,
/// newline included, in one call.
pub trait TraceSink {
    /// Appends one line; failures are ignored (a trace never stops a program).
    fn line(&mut self, line: &[u8]);
}

/// Where the driver writes its (input, actions) trace, if asked to (`RUNIT_TRACE=path`):
/// used to replay a real run through the model and check they agree.
pub struct Trace {
    out: Option<Box<dyn TraceSink>>,
}

impl Trace {
    /// A trace into `sink`.
    pub fn to(sink: Box<dyn TraceSink>) -> Trace {
        Trace { out: Some(sink) }
    }
    /// No trace.
    pub fn none() -> Trace {
        Trace { out: None }
    }
    /// Formats one line and hands it to the sink, if there is one.
    fn emit(&mut self, args: core::fmt::Arguments) {
        if let Some(sink) = &mut self.out {
            let mut s = String::new();
            let _ = s.write_fmt(args);
            s.push('\n');
            sink.line(s.as_bytes());
        }
    }
    /// Records a fact about the run that is not an input (e.g. the machine's start-up
    /// configuration), as one `note` line.
    pub fn note<T: Debug>(&mut self, what: &T) {
        self.emit(format_args!("note {:?}", what));
    }
    fn input<T: Debug>(&mut self, now: Now, i: &T) {
        self.emit(format_args!("in {} {}.{:09} {:?}", now.mono.0, now.wall.unix_secs, now.wall.nanos, i));
    }
    fn action<T: Debug>(&mut self, a: &T) {
        self.emit(format_args!("out {:?}", a));
    }
}

fn feed<M, I, O>(machine: &mut M, io: &mut I, os: &mut O, trace: &mut Trace, now: &mut Now, input: M::Input)
where
    M: Machine,
    M::Input: Debug,
    M::Action: Debug,
    I: Io<M>,
    O: Os,
{
    debug_assert!(machine.owed().is_none(), "input {input:?} fed while {:?} is owed", machine.owed());
    let mut next = Some(input);
    loop {
        if let Some(input) = next.take() {
            trace.input(*now, &input);
            machine.handle(*now, input);
        }
        let Some(action) = machine.poll_action() else {
            debug_assert!(machine.owed().is_none(), "{:?} is owed but no reply came", machine.owed());
            break;
        };
        trace.action(&action);
        // An obligation's reply goes in before the next action is taken. Obligations can
        // block (a `control/<c>` script runs to completion), so the clock is read again:
        // what follows must not be decided on the time from before the script.
        next = io.execute(*now, action);
        if let Some(reply) = &next {
            // Each reply is checked against what the machine waits for (`Machine::owed`).
            if let Some(owed) = machine.owed() {
                debug_assert!(M::answers(&owed, reply), "reply {reply:?} does not answer what is owed: {owed:?}");
            }
            *now = os.now();
        }
    }
}

/// Where one turn of the loop left a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// The executor says the program is done, with this exit code.
    Finished(i32),
    /// Nothing is queued: wait with this clock reading until this deadline.
    Waiting {
        /// The clock as the last input saw it (the wait's timeout counts from it).
        now: Now,
        /// The machine's deadline.
        deadline: Option<Mono>,
    },
}

/// The non-blocking half of one turn of [`run`]: reads the clock, feeds every queued
/// input (draining the actions of each, answering obligations), and says whether the
/// program is done or what to wait for. Public so a simulator can interleave several
/// programs over one fake kernel with this loop's own code.
pub fn settle<M, I, O>(machine: &mut M, io: &mut I, os: &mut O, queue: &mut VecDeque<M::Input>, trace: &mut Trace) -> Turn
where
    M: Machine,
    M::Input: Debug,
    M::Action: Debug,
    I: Io<M>,
    O: Os,
{
    let mut now = os.now();
    while let Some(input) = queue.pop_front() {
        feed(machine, io, os, trace, &mut now, input);
    }
    if let Some(code) = io.finished() {
        return Turn::Finished(code);
    }
    Turn::Waiting { now, deadline: machine.poll_deadline() }
}

/// The other half of a turn: after the wait returned `ready` fds and `signals`, reads the
/// clock and turns what woke the loop into queued inputs.
pub fn woken<M, I, O>(io: &mut I, os: &mut O, deadline: Option<Mono>, ready: Vec<Ready>, signals: SignalSet, queue: &mut VecDeque<M::Input>)
where
    M: Machine,
    I: Io<M>,
    O: Os,
{
    let now = os.now();
    let woke = Woke { ready, signals, deadline_passed: deadline.is_some_and(|d| now.mono >= d) };
    io.gather(now, &woke, queue);
}

/// Runs `machine` until `io` says it is finished; returns the exit code.
pub fn run<M, I, O>(machine: &mut M, io: &mut I, os: &mut O, initial: Vec<M::Input>, trace: &mut Trace) -> i32
where
    M: Machine,
    M::Input: Debug,
    M::Action: Debug,
    I: Io<M>,
    O: Os,
{
    let mut queue: VecDeque<M::Input> = initial.into();
    let mut interests = Vec::new();
    loop {
        let (now, deadline) = match settle(machine, io, os, &mut queue, trace) {
            Turn::Finished(code) => return code,
            Turn::Waiting { now, deadline } => (now, deadline),
        };
        interests.clear();
        io.interests(&mut interests);
        let (ready, signals) = os.wait(&interests, now, deadline);
        woken::<M, I, O>(io, os, deadline, ready, signals, &mut queue);
    }
}
