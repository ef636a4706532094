//! Wait predicates (spec/sv.md §7): for each command byte, when its effect is visible in
//! the status record.
//!
//! Two rules are implemented side by side:
//! - [`Rule::Runit`] is runit 2.1.2 exactly: `t`/`k`/`o` compare the status stamp with the
//!   start time in **whole seconds**, so a service (re)started earlier in the same second
//!   satisfies `sv -w restart` at once with the *old* pid (a race).
//! - [`Rule::RaceFree`] (what sv uses) requires a real change: the stamp differs from the
//!   one read just before the command was sent (full TAI64N, nanoseconds included), or a
//!   new `./run` pid. runsv sets the stamp on every start of `./run` and every transition
//!   to down, with microsecond resolution, so this works against runit's own runsv too.

use crate::status::StatusRecord;
use crate::time::Tai64n;

/// Which comparison `t`, `k` and `o` use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// runit 2.1.2: `stamp >= tstart` in whole seconds (kept for reference tests).
    Runit,
    /// Only a change since the status read before sending counts.
    RaceFree,
}

/// What the wait compares against: the start time and the record read before sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Baseline {
    /// sv's wall clock when it started, as TAI64N.
    pub tstart: Tai64n,
    /// The status read in the first pass, before any byte was written (`None` for `check`).
    pub before: Option<StatusRecord>,
}

/// Whether the slot changed since the baseline (RaceFree) / started after tstart (Runit).
fn fresh(rule: Rule, rec: &StatusRecord, base: &Baseline) -> bool {
    match (rule, base.before) {
        (Rule::Runit, _) => rec.stamp.secs >= base.tstart.secs,
        (Rule::RaceFree, Some(b)) => rec.stamp != b.stamp || (rec.pid != b.pid && rec.state_byte == 1),
        (Rule::RaceFree, None) => rec.stamp >= base.tstart,
    }
}

/// Whether every byte of `bytes` is satisfied by `rec`. `check` runs `./check` (true =
/// passes); it is called only where runit calls it, in the same order.
pub fn satisfied(rule: Rule, bytes: &[u8], rec: &StatusRecord, base: &Baseline, check: &mut dyn FnMut() -> bool) -> bool {
    let pid = rec.pid != 0;
    for &b in bytes {
        let ok = match b {
            b'x' => false,
            b'u' => pid && rec.state_byte == 1 && check(),
            b'd' => !pid && rec.state_byte == 0,
            b'C' => !pid || check(),
            b't' | b'k' => (!pid && rec.want == b'd') || (fresh(rule, rec, base) && pid && !rec.got_term && check()),
            // runit: pending while (down and not fresh) or (running and want is not down).
            b'o' => {
                if pid {
                    rec.want == b'd'
                } else {
                    fresh(rule, rec, base)
                }
            }
            b'p' => !pid || rec.paused,
            b'c' => !pid || !rec.paused,
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Wall;

    fn stamp(secs: i64, micros: u32) -> Tai64n {
        Tai64n::from_wall(Wall { unix_secs: secs, nanos: micros * 1000 })
    }
    fn rec(at: Tai64n, pid: u32, paused: bool, want: u8, term: bool, state: u8) -> StatusRecord {
        StatusRecord { stamp: at, pid, paused, want, got_term: term, state_byte: state }
    }
    fn sat(rule: Rule, bytes: &[u8], r: &StatusRecord, base: &Baseline, check: bool) -> bool {
        satisfied(rule, bytes, r, base, &mut || check)
    }
    const RF: Rule = Rule::RaceFree;

    fn base(before: Option<StatusRecord>) -> Baseline {
        Baseline { tstart: stamp(100, 500_000), before }
    }

    #[test]
    fn test_predicate_u() {
        let b = base(None);
        assert!(sat(RF, b"u", &rec(stamp(1, 0), 5, false, b'u', false, 1), &b, true));
        assert!(!sat(RF, b"u", &rec(stamp(1, 0), 5, false, b'u', false, 1), &b, false));
        assert!(!sat(RF, b"u", &rec(stamp(1, 0), 5, false, b'u', false, 2), &b, true));
        assert!(!sat(RF, b"u", &rec(stamp(1, 0), 0, false, b'u', false, 0), &b, true));
    }

    #[test]
    fn test_predicate_d() {
        let b = base(None);
        assert!(sat(RF, b"d", &rec(stamp(1, 0), 0, false, b'd', false, 0), &b, false));
        assert!(!sat(RF, b"d", &rec(stamp(1, 0), 7, false, b'd', true, 1), &b, true));
        assert!(!sat(RF, b"d", &rec(stamp(1, 0), 0, false, b'd', false, 2), &b, true));
    }

    #[test]
    fn test_predicate_x_never_while_running() {
        assert!(!sat(RF, b"x", &rec(stamp(1, 0), 0, false, b'd', false, 0), &base(None), true));
    }

    #[test]
    fn test_predicate_check_command() {
        let b = base(None);
        assert!(sat(RF, b"C", &rec(stamp(1, 0), 0, false, b'd', false, 0), &b, false));
        assert!(sat(RF, b"C", &rec(stamp(1, 0), 3, false, b'u', false, 1), &b, true));
        assert!(!sat(RF, b"C", &rec(stamp(1, 0), 3, false, b'u', false, 1), &b, false));
    }

    #[test]
    fn test_predicate_t_race_free_needs_real_change() {
        // Old run started in the same second as tstart: runit is fooled, we are not.
        let old = rec(stamp(100, 100_000), 41, false, b'u', false, 1);
        let b = base(Some(old));
        assert!(sat(Rule::Runit, b"t", &old, &b, true));
        assert!(!sat(RF, b"t", &old, &b, true));
        assert!(!sat(RF, b"tcu", &old, &b, true));
        // TERM sent, not yet exited.
        let termed = rec(old.stamp, 41, false, b'u', true, 1);
        assert!(!sat(RF, b"t", &termed, &b, true));
        // Finishing: pid is finish's, stamp unchanged.
        let finishing = rec(old.stamp, 42, false, b'u', false, 2);
        assert!(!sat(RF, b"t", &finishing, &b, true));
        // New run.
        let new = rec(stamp(100, 900_000), 43, false, b'u', false, 1);
        assert!(sat(RF, b"t", &new, &b, true));
        assert!(sat(RF, b"tcu", &new, &b, true));
        assert!(!sat(RF, b"tcu", &new, &b, false));
        // Same stamp but a new run pid (coarse clock) also counts.
        let new_pid = rec(old.stamp, 44, false, b'u', false, 1);
        assert!(sat(RF, b"t", &new_pid, &b, true));
        // Down and want down is done whatever the stamp.
        assert!(sat(RF, b"t", &rec(old.stamp, 0, false, b'd', false, 0), &b, false));
        assert!(!sat(RF, b"k", &rec(stamp(101, 0), 0, false, b'u', false, 0), &b, true));
    }

    #[test]
    fn test_predicate_t_runit_whole_seconds() {
        let b = base(None);
        assert!(!sat(Rule::Runit, b"t", &rec(stamp(99, 999_999), 5, false, b'u', false, 1), &b, true));
        assert!(sat(Rule::Runit, b"t", &rec(stamp(100, 0), 5, false, b'u', false, 1), &b, true));
        // Without a baseline the race-free rule compares full stamps.
        assert!(!sat(RF, b"t", &rec(stamp(100, 0), 5, false, b'u', false, 1), &b, true));
        assert!(sat(RF, b"t", &rec(stamp(100, 600_000), 5, false, b'u', false, 1), &b, true));
    }

    #[test]
    fn test_predicate_o() {
        let down = rec(stamp(100, 100_000), 0, false, b'd', false, 0);
        let b = base(Some(down));
        assert!(sat(Rule::Runit, b"o", &down, &b, true));
        assert!(!sat(RF, b"o", &down, &b, true));
        assert!(sat(RF, b"o", &rec(stamp(100, 800_000), 9, false, b'd', false, 1), &b, true));
        assert!(!sat(RF, b"o", &rec(stamp(100, 800_000), 9, false, b'u', false, 1), &b, true));
        assert!(sat(RF, b"o", &rec(stamp(101, 0), 0, false, b'd', false, 0), &b, true));
    }

    #[test]
    fn test_predicate_p_c_and_signals() {
        let b = base(None);
        let run = rec(stamp(1, 0), 5, false, b'u', false, 1);
        let paused = rec(stamp(1, 0), 5, true, b'u', false, 1);
        let down = rec(stamp(1, 0), 0, true, b'd', false, 0);
        assert!(!sat(RF, b"p", &run, &b, true));
        assert!(sat(RF, b"p", &paused, &b, true));
        assert!(sat(RF, b"p", &down, &b, true));
        assert!(sat(RF, b"c", &run, &b, true));
        assert!(!sat(RF, b"c", &paused, &b, true));
        assert!(sat(RF, b"c", &down, &b, true));
        for s in [b"h", b"a", b"i", b"q", b"1", b"2"] {
            assert!(sat(RF, s, &run, &b, false));
        }
    }

    #[test]
    fn test_predicate_check_called_lazily() {
        let b = base(None);
        let mut calls = 0;
        let down = rec(stamp(1, 0), 0, false, b'd', false, 0);
        assert!(!satisfied(RF, b"u", &down, &b, &mut || {
            calls += 1;
            true
        }));
        assert_eq!(calls, 0);
        let run = rec(stamp(200, 0), 5, false, b'u', false, 1);
        assert!(satisfied(RF, b"tcu", &run, &b, &mut || {
            calls += 1;
            true
        }));
        assert_eq!(calls, 2, "t and u each run the check, as runit does");
    }
}
