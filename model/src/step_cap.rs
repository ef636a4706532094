//! A step limit for loops that must end: tests and harnesses that drive a machine "until
//! done" or drain its actions "until none are left" count their iterations with a
//! [`StepCap`], so a liveness bug (or a mutant) that never finishes fails the test with a
//! message instead of hanging CI.

/// Counts a loop's iterations and panics once more than `limit` have run.
#[derive(Debug)]
pub struct StepCap {
    what: &'static str,
    limit: u64,
    taken: u64,
}

impl StepCap {
    /// A cap of `limit` iterations for the loop described by `what` (named in the panic).
    pub const fn new(what: &'static str, limit: u64) -> StepCap {
        StepCap { what, limit, taken: 0 }
    }

    /// Counts one iteration; panics (at the caller) when the limit is exceeded.
    #[track_caller]
    pub fn step(&mut self) {
        self.taken += 1;
        assert!(self.taken <= self.limit, "step cap: {} did not end within {} steps", self.what, self.limit);
    }

    /// Iterations counted so far.
    pub fn taken(&self) -> u64 {
        self.taken
    }
}

#[cfg(test)]
mod tests {
    use super::StepCap;

    #[test]
    fn allows_exactly_the_limit() {
        let mut c = StepCap::new("loop", 3);
        for _ in 0..3 {
            c.step();
        }
        assert_eq!(c.taken(), 3);
    }

    #[test]
    #[should_panic(expected = "step cap: loop did not end within 3 steps")]
    fn panics_past_the_limit() {
        let mut c = StepCap::new("loop", 3);
        for _ in 0..4 {
            c.step();
        }
    }
}
