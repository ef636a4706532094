//! runsvdir's timers as one table (the shape of quinn-proto's `TimerTable`): a closed
//! [`Timer`] enum, one optional deadline per timer, and the machine's next wake-up as
//! their minimum, so no timer can be forgotten when the deadline is computed.

use crate::time::Mono;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Timer {
    /// The next regular look: polling rhythm, `check`, runsv restarts, retries.
    Look,
    /// The look after a change notice (debounced).
    Change,
    /// The end of the settle sleep before a scan (polling mode only).
    Settle,
    /// The next `.` written to the log pipe.
    Dot,
}

impl Timer {
    const COUNT: usize = 4;

    fn index(self) -> usize {
        match self {
            Timer::Look => 0,
            Timer::Change => 1,
            Timer::Settle => 2,
            Timer::Dot => 3,
        }
    }
}

/// One optional deadline per [`Timer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct TimerTable([Option<Mono>; Timer::COUNT]);

impl TimerTable {
    /// The deadline of `timer`, if armed.
    pub(crate) fn get(&self, timer: Timer) -> Option<Mono> {
        self.0[timer.index()]
    }

    /// Arms `timer` at `at` (replacing any earlier setting), or disarms it with `None`.
    pub(crate) fn set(&mut self, timer: Timer, at: Option<Mono>) {
        self.0[timer.index()] = at;
    }

    /// Arms `timer` at `at` unless it is already armed earlier.
    pub(crate) fn arm_earliest(&mut self, timer: Timer, at: Mono) {
        let slot = &mut self.0[timer.index()];
        *slot = Some(slot.map_or(at, |t| t.min(at)));
    }

    /// Whether `timer` is armed and due at `now`.
    pub(crate) fn is_due(&self, timer: Timer, now: Mono) -> bool {
        self.get(timer).is_some_and(|t| now >= t)
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Mono> {
        self.0.iter().flatten().min().copied()
    }

    /// Every deadline moved by `f` (for the explorer's rebasing).
    pub(crate) fn map(&self, f: impl Fn(Mono) -> Mono) -> TimerTable {
        TimerTable(self.0.map(|t| t.map(&f)))
    }
}
