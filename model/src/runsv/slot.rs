//! One supervised process slot: what it is doing, what it should do, and the timing facts
//! the throttle needs.

use crate::status::{RunState, Want};
use crate::time::{Mono, Tai64n};

/// Everything runsv tracks for one slot (main or log).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SlotState {
    /// down / run / finish.
    pub state: RunState,
    /// up / down / exit.
    pub want: Want,
    /// pid of the process in the slot (run or finish), 0 if none.
    pub pid: u32,
    /// STOP sent and no CONT since.
    pub paused: bool,
    /// TERM sent and the process has not exited since.
    pub got_term: bool,
    /// Wall time of the last change to run or down (written into `status`).
    pub stamp: Tai64n,
    /// Monotonic time the last `./run` started (the throttle measures cycles from here).
    pub run_started: Mono,
    /// No start before this (throttle after a short cycle, or fork retry).
    pub not_before: Option<Mono>,
    /// `o` arrived while down: start once, even though want is down.
    pub once_pending: bool,
    /// `./finish` arguments while state is finish.
    pub finish_args: Option<(i32, i32)>,
}

impl SlotState {
    /// A slot at start-up: down, with the initial want, stamped now.
    pub fn new(want: Want, stamp: Tai64n) -> SlotState {
        SlotState {
            state: RunState::Down,
            want,
            pid: 0,
            paused: false,
            got_term: false,
            stamp,
            run_started: Mono(0),
            not_before: None,
            once_pending: false,
            finish_args: None,
        }
    }

    /// Whether a start is allowed at `now` (no throttle or retry pending).
    pub fn ready(&self, now: Mono) -> bool {
        self.not_before.is_none_or(|t| now >= t)
    }
}
