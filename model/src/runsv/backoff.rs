//! Backoff and giving up (issue 11), opt-in for the main slot: restart delays that grow
//! while `./run` keeps dying quickly, and a give-up state after too many automatic
//! restarts in a window. Without the files ([`Backoff::RUNIT`]) runsv keeps runit's fixed
//! 1 s throttle, action for action.
//!
//! The files (spec: docs/divergences.md "Backoff and giving up"; s6 has none, so the
//! names and meanings are dinit's and systemd's, in s6's form: one decimal per file,
//! times in milliseconds):
//! - `restart-delay` (dinit's name): the pause after a *quick* death before the restart.
//!   It counts from the end of the cycle (after `./finish`), as runit's throttle and
//!   systemd's `RestartSec=` do (dinit counts it from the previous start). Never under
//!   runit's 1 s.
//! - `restart-steps`, `restart-max-delay` (systemd's `RestartSteps=`,
//!   `RestartMaxDelaySec=`): the pause grows geometrically from `restart-delay` (or 1 s)
//!   to `restart-max-delay` in that many quick deaths in a row, exactly systemd's
//!   formula ([`Backoff::delay_after`]).
//! - `restart-limit-count`, `restart-limit-interval` (dinit's names and window): after
//!   `count` automatic restarts in a window of `interval` (default 10 s, dinit's) opened
//!   by the first of them, the next death gives up instead of restarting.
//!
//! A death is *quick* when runsv did not ask for it (want up, no stop signal sent) and
//! `./run` lived less than [`QUICK_DEATH`] or never became ready: the rule that counts
//! `quick_deaths` in `status.ext` (docs/readiness.md §2 rule 11). A death runsv asked for
//! (`sv restart`, `sv term`, ...) resets the run of quick deaths and keeps runit's rule.
//!
//! **Given up** ([`Phase::GivenUp`]): down, and runsv no longer wants it up (want
//! down), no restart, no wake-up. The 20-byte `status` says *down, want down*: runit's
//! `sv` (and ours) skips sending `u` when byte 17 already says `u` (sv.c `control()`), so
//! only a give-up that reads *want down* can be left with `sv up` from runit's own `sv`;
//! runit's `sv` and daemontools' `svstat` print it as `down: x: 5s, normally up`, like a
//! service taken down, which is what runsv did. `status.ext` says `given_up=1`, and our
//! `sv status` then appends `, given up`. Only a command leaves it: `u`/`o`/`d`/`x` (so
//! `sv up`, `sv restart`, `sv once`, `sv exit`) act as on a down slot and start a fresh
//! count; `t` and the signal commands do what they do on a down slot.

use alloc::vec::Vec;

use super::ready::QUICK_DEATH;
use super::{Phase, Runsv, Slot, RESTART_THROTTLE};
use crate::record::BackoffRecord;
use crate::status::Want;
use crate::svcfiles;
use crate::time::{Mono, Now, Span};

/// dinit's default `restart-limit-interval`, used when only `restart-limit-count` exists.
pub const DEFAULT_LIMIT_INTERVAL: Span = Span::from_secs(10);

/// The give-up limit: `count` automatic restarts in `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limit {
    /// Automatic restarts allowed in one window (≥ 1).
    pub count: u32,
    /// The window's length (> 0).
    pub interval: Span,
}

/// The main slot's restart settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backoff {
    /// `restart-delay`: the pause after a quick death (≥ 1 s); `None` = runit's throttle.
    pub delay: Option<Span>,
    /// `restart-steps`: quick deaths the pause takes to reach `max_delay`; 0 = no growth.
    pub steps: u32,
    /// `restart-max-delay`: where the growth stops; `None` = no growth.
    pub max_delay: Option<Span>,
    /// `restart-limit-count` (+ `restart-limit-interval`): when to give up; `None` = never.
    pub limit: Option<Limit>,
}

impl Backoff {
    /// runit's behaviour: the 1 s throttle after a cycle under 1 s, never giving up.
    pub const RUNIT: Backoff = Backoff { delay: None, steps: 0, max_delay: None, limit: None };

    /// The settings from the files' contents (`None` = no such file), with the warning
    /// lines for rejected contents (each rejected file keeps runit's default).
    pub fn from_files(
        dir: &[u8],
        delay: Option<&[u8]>,
        steps: Option<&[u8]>,
        max_delay: Option<&[u8]>,
        limit_interval: Option<&[u8]>,
        limit_count: Option<&[u8]>,
    ) -> (Backoff, Vec<Vec<u8>>) {
        let d = svcfiles::restart_delay(delay);
        let s = svcfiles::restart_steps(steps);
        let m = svcfiles::restart_max_delay(max_delay);
        let i = svcfiles::restart_limit_interval(limit_interval);
        let c = svcfiles::restart_limit_count(limit_count);
        let warnings = [d.warning, s.warning, m.warning, i.warning, c.warning].into_iter().flatten().map(|w| w.line(dir)).collect();
        let ms = |v: u32| Span::from_millis(u64::from(v));
        let interval = i.value.map_or(DEFAULT_LIMIT_INTERVAL, ms);
        let limit = c.value.filter(|_| interval > Span::ZERO).map(|count| Limit { count, interval });
        (Backoff { delay: d.value.map(ms), steps: s.value, max_delay: m.value.map(ms), limit }, warnings)
    }

    /// Whether any file changes runit's behaviour (else the machine is runit's, exactly).
    pub fn opted_in(&self) -> bool {
        self.delays() || self.limit.is_some()
    }

    /// Whether the restart delay changes at all (else runit's throttle rule applies).
    pub fn delays(&self) -> bool {
        self.delay.is_some() || self.grows()
    }

    /// Whether the delay grows with the run of quick deaths.
    fn grows(&self) -> bool {
        self.steps > 0 && self.max_delay.is_some_and(|m| m > self.base())
    }

    /// The first delay: `restart-delay`, or runit's 1 s.
    fn base(&self) -> Span {
        self.delay.unwrap_or(RESTART_THROTTLE).max(RESTART_THROTTLE)
    }

    /// The longest pause these settings can ask for.
    pub fn longest(&self) -> Span {
        let top = if self.grows() { self.max_delay.unwrap_or(RESTART_THROTTLE) } else { self.base() };
        top.max(RESTART_THROTTLE)
    }

    /// The pause after the `k`-th quick death in a row (k ≥ 1): systemd's
    /// `service_restart_usec_next()` — `restart-delay` for the first, `restart-max-delay`
    /// after `restart-steps`, `delay · (max/delay)^((k−1)/steps)` between — rounded to the
    /// millisecond and kept within [1 s, the longest].
    pub fn delay_after(&self, k: u32) -> Span {
        let base = self.base();
        let d = match self.max_delay {
            Some(max) if self.grows() && k > self.steps => max,
            Some(max) if self.grows() && k > 1 => {
                let (b, m) = (base.as_millis() as f64, max.as_millis() as f64);
                let ms = b * exp(ln(m / b) * f64::from(k - 1) / f64::from(self.steps));
                Span::from_millis((ms + 0.5) as u64)
            }
            _ => base,
        };
        d.max(RESTART_THROTTLE).min(self.longest())
    }

    /// The run of quick deaths the machine needs to tell apart: beyond `steps + 1` the
    /// delay no longer changes (keeps the explorer's state space finite).
    fn quick_cap(&self) -> u32 {
        if self.grows() {
            self.steps.saturating_add(1)
        } else {
            1
        }
    }
}

/// What the last death of `./run` decided, applied when the slot goes down (after
/// `./finish`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Verdict {
    /// runit's rule: 1 s after a cycle under 1 s, else at once.
    #[default]
    Runit,
    /// Pause this long (≥ 1 s) after the cycle ends.
    Delay(Span),
    /// Give up (if still wanted up when the cycle ends). If a command took the want down
    /// before the cycle ended, nothing is given up and the death's own pause (its
    /// [`Verdict::Delay`], if it was quick) still applies, as it would without the limit.
    GiveUp(Option<Span>),
}

/// What runsv remembers of the main slot's recent deaths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Deaths {
    /// Quick deaths in a row (capped where the delay stops changing).
    pub quick: u32,
    /// The give-up window: when it ends, and the automatic restarts counted in it.
    pub window: Option<(Mono, u32)>,
    /// What the last death decided.
    pub verdict: Verdict,
    /// The pause the last death armed, with its deadline, for `status.ext` (shown while
    /// the slot still waits for that very deadline).
    pub armed: Option<(Mono, Span)>,
}

/// [`Deaths`] with every stored monotonic time passed through `f` (explorer
/// canonicalisation; the window is stored by its end, so a clamp of the past keeps an
/// expired window expired).
pub fn map_death_times(d: Deaths, mut f: impl FnMut(Mono) -> Mono) -> Deaths {
    Deaths { window: d.window.map(|(end, n)| (f(end), n)), armed: d.armed.map(|(t, s)| (f(t), s)), ..d }
}

impl Runsv {
    /// This machine with the main slot's restart settings (read by the runtime at start-up).
    pub fn with_backoff(mut self, backoff: Backoff) -> Runsv {
        self.backoff = backoff;
        self
    }

    /// The main slot's restart settings.
    pub fn backoff_settings(&self) -> Backoff {
        self.backoff
    }

    /// What the main slot remembers of its recent deaths.
    pub fn deaths(&self) -> Deaths {
        self.deaths
    }

    /// Whether the main slot has given up.
    pub fn given_up(&self) -> bool {
        matches!(self.main.phase, Phase::GivenUp { .. })
    }

    /// The main slot's `./run` is being reaped (phase still [`Phase::Run`]): count the
    /// death and decide what follows the cycle.
    pub(super) fn count_death(&mut self, now: Now, slot: Slot) {
        if slot != Slot::Main || !self.backoff.opted_in() {
            return;
        }
        let Phase::Run { started, got_term, ready, .. } = self.main.phase else {
            debug_assert!(false, "count_death outside run");
            return;
        };
        let b = self.backoff;
        let d = &mut self.deaths;
        if self.main.want != Want::Up || got_term {
            d.quick = 0;
            d.verdict = Verdict::Runit;
            return;
        }
        let quick = now.mono - started < QUICK_DEATH || !ready.is_ready();
        d.quick = if quick { d.quick.saturating_add(1).min(b.quick_cap()) } else { 0 };
        let give_up = match (b.limit, d.window) {
            (None, _) => false,
            (Some(l), Some((end, n))) if now.mono < end => {
                if n < l.count {
                    d.window = Some((end, n + 1));
                }
                n >= l.count
            }
            (Some(l), _) => {
                d.window = Some((now.mono + l.interval, 1));
                false
            }
        };
        let pause = (quick && b.delays()).then(|| b.delay_after(d.quick));
        d.verdict = match (give_up, pause) {
            (true, pause) => Verdict::GiveUp(pause),
            (false, Some(p)) => Verdict::Delay(p),
            (false, None) => Verdict::Runit,
        };
    }

    /// The phase the slot goes down into after a cycle, given runit's throttle deadline.
    pub(super) fn down_phase(&mut self, now: Now, slot: Slot, runit: Option<Mono>) -> Phase {
        let down = |not_before| Phase::Down { not_before, deferred: None };
        if slot != Slot::Main {
            return down(runit);
        }
        let verdict = core::mem::take(&mut self.deaths.verdict);
        self.deaths.armed = None;
        match verdict {
            Verdict::Runit => down(runit),
            // The start a command makes later still waits out 1 s after this death (after
            // any death the files count, delays never go below runit's throttle).
            Verdict::GiveUp(_) if self.main.want == Want::Up => {
                self.main.want = Want::Down;
                Phase::GivenUp { not_before: Some(now.mono + RESTART_THROTTLE) }
            }
            // A command took the want down before the cycle ended: no give-up, and the
            // death's own pause, as without the limit.
            Verdict::Delay(d) | Verdict::GiveUp(Some(d)) => {
                self.deaths.armed = Some((now.mono + d, d));
                down(Some(now.mono + d))
            }
            Verdict::GiveUp(None) => down(runit),
        }
    }

    /// The backoff fields of the main slot's `status.ext`, for a service with the files.
    pub(super) fn backoff_record(&self) -> Option<BackoffRecord> {
        let pending = match (self.main.phase, self.deaths.armed) {
            (Phase::Down { not_before: Some(t), deferred: None }, Some((due, pause))) if t == due => pause,
            _ => Span::ZERO,
        };
        self.backoff.opted_in().then(|| BackoffRecord { given_up: self.given_up(), restart_delay_ms: pending.as_millis() })
    }

    /// A command takes the slot out of giving up: a fresh start, a fresh count.
    pub(super) fn leave_give_up(&mut self) {
        self.deaths = Deaths::default();
    }
}

/// Natural logarithm for `x > 0` (core has no `ln`): `x = m·2^e`, `ln m` by the atanh
/// series, which converges fast for `m` in [1, 2).
fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite());
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let z = (m - 1.0) / (m + 1.0);
    let (z2, mut term, mut sum) = (z * z, z, 0.0);
    for i in 0..40 {
        sum += term / f64::from(2 * i + 1);
        term *= z2;
    }
    2.0 * sum + e as f64 * core::f64::consts::LN_2
}

/// `e^x` for `0 ≤ x ≤ 64` (core has no `exp`): `x = k·ln 2 + r`, Taylor series for `e^r`.
fn exp(x: f64) -> f64 {
    debug_assert!((0.0..=64.0).contains(&x));
    let k = (x / core::f64::consts::LN_2) as u32;
    let r = x - f64::from(k) * core::f64::consts::LN_2;
    let (mut term, mut sum) = (1.0, 1.0);
    for n in 1..30 {
        term *= r / f64::from(n);
        sum += term;
    }
    sum * (1u64 << k.min(63)) as f64
}

#[cfg(test)]
mod math_tests {
    use super::*;

    #[test]
    fn ln_and_exp_are_accurate_enough_for_milliseconds() {
        for x in [1.0, 1.5, 2.0, 10.0, 64.0, 86_400.0] {
            let back = exp(ln(x));
            assert!((back - x).abs() / x < 1e-12, "{x} -> {back}");
        }
        assert!((ln(core::f64::consts::E) - 1.0).abs() < 1e-12);
    }
}
