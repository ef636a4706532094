//! bare's vDSO `clock_gettime` against the system call: found in the kernel's image, and
//! its readings fall between two system-call readings of the same clock.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use bare::sys;
use bare::vdso;

#[test]
fn the_vdso_clock_is_found_and_agrees_with_the_system_call() {
    // The harness was not started by bare's `_start`: record the kernel's auxiliary vector
    // as /proc/self/auxv gives it (its AT_SYSINFO_EHDR is this process's vDSO).
    let raw = std::fs::read("/proc/self/auxv").unwrap();
    let words: Vec<usize> = raw.chunks_exact(8).map(|c| usize::from_ne_bytes(c.try_into().unwrap())).collect();
    // SAFETY: a leaked (never freed, never changed) vector ending in AT_NULL.
    unsafe { bare::start::record_auxv(Vec::leak(words).as_ptr()) };
    assert!(vdso::in_use(), "__vdso_clock_gettime not found");
    let ns = |(s, n): (i64, i64)| s as i128 * 1_000_000_000 + n as i128;
    for clock in [sys::CLOCK_MONOTONIC, bare::proc::CLOCK_BOOTTIME] {
        let before = ns(sys::clock_gettime(clock));
        let via = ns(vdso::clock_gettime(clock));
        let after = ns(sys::clock_gettime(clock));
        assert!(before <= via && via <= after, "clock {clock}: {before} {via} {after}");
    }
    let (s, n) = vdso::clock_gettime(sys::CLOCK_REALTIME);
    let (s2, _) = sys::clock_gettime(sys::CLOCK_REALTIME);
    assert!((0..1_000_000_000).contains(&n) && (s2 - s).abs() <= 1);
}
