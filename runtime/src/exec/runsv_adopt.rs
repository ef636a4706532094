//! runsv's side of adoption: the executor's part lives in `bare::exec::runsv_adopt`
//! (generic over the system calls), re-exported here; the real kernel's pidfd calls are
//! [`crate::pidfd`].

pub use bare::exec::runsv_adopt::*;
