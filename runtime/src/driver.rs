//! The generic driver loop (`bare::exec::driver`, re-exported here: the same loop runs
//! every program, the simulators, and the freestanding runsv) and its real-OS pieces:
//! [`RealOs`] (the clocks and the `ppoll` wait with the signal latch) and the trace file
//! named by `RUNIT_TRACE` ([`trace_from_env`]).

use model::{Mono, Now};

pub use bare::exec::driver::*;

use crate::signals::Signals;
use crate::wait;

/// The real OS: `CLOCK_MONOTONIC`/`CLOCK_REALTIME` and `ppoll` with the wake-up eventfd.
pub struct RealOs {
    /// The installed signal handlers.
    pub signals: Signals,
}

impl Os for RealOs {
    fn now(&mut self) -> Now {
        crate::clock::now()
    }
    fn wait(&mut self, interests: &[Interest], now: Now, deadline: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        let ready = wait::wait(&self.signals, interests, now, deadline);
        (ready, self.signals.take())
    }
}

/// A trace file, appended to: each line in one `write(2)`.
struct TraceFile(std::fs::File);

impl TraceSink for TraceFile {
    fn line(&mut self, line: &[u8]) {
        let _ = std::io::Write::write_all(&mut self.0, line);
    }
}

/// The trace named by `RUNIT_TRACE`, if set (and the file can be opened for appending);
/// otherwise none.
pub fn trace_from_env() -> Trace {
    let file = std::env::var_os("RUNIT_TRACE").and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
    match file {
        Some(f) => Trace::to(Box::new(TraceFile(f))),
        None => Trace::none(),
    }
}
