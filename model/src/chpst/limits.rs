//! Resource limits: which ones chpst/softlimit set, in runit's order, and how a requested
//! value becomes a soft limit given the hard one (the hard limit is never changed).

/// A resource chpst can limit. The declaration order is the order runit applies them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Limit {
    /// RLIMIT_DATA (`-d`, `-m`).
    Data,
    /// RLIMIT_STACK (`-m`, softlimit `-s`).
    Stack,
    /// RLIMIT_MEMLOCK (`-m`, softlimit `-l`).
    Memlock,
    /// RLIMIT_AS (`-m`, softlimit `-a`).
    As,
    /// RLIMIT_NOFILE (`-o`).
    Nofile,
    /// RLIMIT_NPROC (`-p`).
    Nproc,
    /// RLIMIT_FSIZE (`-f`).
    Fsize,
    /// RLIMIT_CORE (`-c`).
    Core,
    /// RLIMIT_RSS (`-r`).
    Rss,
    /// RLIMIT_CPU (`-t`).
    Cpu,
}

impl Limit {
    /// Every limit, in application order.
    pub const ALL: [Limit; 10] = [
        Limit::Data,
        Limit::Stack,
        Limit::Memlock,
        Limit::As,
        Limit::Nofile,
        Limit::Nproc,
        Limit::Fsize,
        Limit::Core,
        Limit::Rss,
        Limit::Cpu,
    ];
}

/// What was asked for one limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitValue {
    /// Set soft = hard (softlimit's `=`, or a value too large for runit's `long`).
    Hard,
    /// This many bytes / files / processes / seconds, clamped to the hard limit.
    Value(u64),
}

impl LimitValue {
    /// From runit's digits: values above `i64::MAX` are negative `long`s in runit, which
    /// means "hard limit".
    pub fn from_u64(v: u64) -> LimitValue {
        if v > i64::MAX as u64 {
            LimitValue::Hard
        } else {
            LimitValue::Value(v)
        }
    }
}

/// The soft limit to set, given the current hard limit (`u64::MAX` = unlimited): the
/// request clamped to the hard limit, or the hard limit itself for [`LimitValue::Hard`].
pub fn soft_limit(want: LimitValue, hard: u64) -> u64 {
    match want {
        LimitValue::Hard => hard,
        // `min`, not `if v > hard`: the `>=` mutant of that guard was equivalent.
        LimitValue::Value(v) => v.min(hard),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_to_hard() {
        assert_eq!(soft_limit(LimitValue::Value(17), 1024), 17);
        assert_eq!(soft_limit(LimitValue::Value(100_000_000), 8_388_608), 8_388_608);
        assert_eq!(soft_limit(LimitValue::Hard, 4096), 4096);
        assert_eq!(soft_limit(LimitValue::Value(5), u64::MAX), 5);
        assert_eq!(LimitValue::from_u64(u64::MAX), LimitValue::Hard);
        assert_eq!(LimitValue::from_u64(0), LimitValue::Value(0));
    }

    /// The largest `long` is a value, one more is runit's negative `long` = hard limit
    /// (kills `>` -> `>=` in `from_u64`).
    #[test]
    fn long_max_is_a_value() {
        let max = i64::MAX as u64;
        assert_eq!(LimitValue::from_u64(max), LimitValue::Value(max));
        assert_eq!(LimitValue::from_u64(max + 1), LimitValue::Hard);
    }
}
