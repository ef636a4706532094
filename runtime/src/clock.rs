//! Reading both clocks once per loop iteration.

use model::{Mono, Now, Wall};

/// Where the driver gets time from: the real clocks in production, a simulated clock in
/// `verification`.
pub trait Clock {
    /// Both clocks, now.
    fn now(&self) -> Now;
}

/// `CLOCK_MONOTONIC` + `CLOCK_REALTIME`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Now {
        now()
    }
}

fn read(clock: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer; clock_gettime cannot fail for these clocks.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts
}

/// The current time on both clocks.
// time_t is i32 on some 32-bit targets: the cast is a no-op only here.
#[allow(clippy::unnecessary_cast)]
pub fn now() -> Now {
    let m = read(libc::CLOCK_MONOTONIC);
    let w = read(libc::CLOCK_REALTIME);
    Now {
        mono: Mono(m.tv_sec as u64 * 1_000_000_000 + m.tv_nsec as u64),
        wall: Wall { unix_secs: w.tv_sec as i64, nanos: w.tv_nsec as u32 },
    }
}
