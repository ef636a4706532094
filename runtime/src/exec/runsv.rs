//! runsv's executor on the host OS. The executor itself (start-up and the [`Io`] of the
//! runsv machine) lives in `bare::exec::runsv`, generic over the system calls, so the
//! same code runs here over [`Real`], in the freestanding runsv over raw system calls, and
//! over the simulators' fake kernels; it is re-exported here. What stays is the part that
//! needs the std signal shell: which signals runsv handles ([`handled_signals`]).
//!
//! [`Io`]: crate::driver::Io

pub use bare::exec::runsv::*;

use crate::os::Real;
use crate::signals;

/// runsv's executor, over the real kernel unless another is named (as before the move).
pub type RunsvIo<O = Real> = bare::exec::runsv::RunsvIo<O>;

/// Finds runsv's signals (call before [`crate::signals::Signals::install`]); also makes
/// glibc's reserved real-time signals harmless.
pub fn handled_signals() -> Handled {
    let strays = signals::strays(&CORE_SIGNALS, &[]);
    signals::ignore_reserved();
    let mut all = CORE_SIGNALS.to_vec();
    all.extend_from_slice(&strays.catch);
    Handled { all, stray_unblock: strays.unblock_in_child }
}
