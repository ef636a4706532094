//! Signal handling: handlers record into the [`Latch`](crate::latch::Latch) and write one
//! byte to a non-blocking self-pipe; the loop drains the pipe, then takes the latch.
//!
//! The handled signals are kept **blocked** except while the loop sleeps in `ppoll`
//! (as runit does), so no other syscall sees `EINTR` and the hand-off has one place to
//! happen. Children get the handled signals back at their default disposition and an
//! empty mask ([`crate::process`]).

use std::sync::atomic::{AtomicI32, Ordering};

use model::errno::Errno;

use crate::latch::{Latch, SignalSet};
use crate::sys;

#[cfg(not(loom))]
static LATCH: Latch = Latch::new();
// loom's atomics are not `const`; under cfg(loom) only the latch itself is model-checked
// (runtime/tests/loom_latch.rs), the real handler never runs.
#[cfg(loom)]
static LATCH: std::sync::LazyLock<Latch> = std::sync::LazyLock::new(Latch::new);
static WAKE_WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signo: libc::c_int) {
    let saved = sys::errno();
    LATCH.record(signo);
    let fd = WAKE_WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let b = [0u8; 1];
        // SAFETY: write(2) is async-signal-safe; b is live. A full pipe (EAGAIN) is fine:
        // a byte is already waiting to wake the loop.
        unsafe { libc::write(fd, b.as_ptr().cast(), 1) };
    }
    // SAFETY: restoring errno for the interrupted code.
    unsafe { *libc::__errno_location() = saved };
}

/// The installed handlers and the read end of the self-pipe. One per process.
pub struct Signals {
    wake_read: i32,
}

impl Signals {
    /// Creates the self-pipe, installs handlers (no `SA_RESTART`) for `handled`, and
    /// blocks them. Other signals keep their inherited dispositions.
    pub fn install(handled: &[i32]) -> Result<Signals, Errno> {
        let (r, w) = sys::pipe(true)?;
        WAKE_WRITE_FD.store(w, Ordering::SeqCst);
        // SAFETY: sigset operations on a local set; sigaction with a valid handler.
        unsafe {
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut mask);
            for &s in handled {
                libc::sigaddset(&mut mask, s);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &mask, std::ptr::null_mut());
            for &s in handled {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                sa.sa_flags = if s == libc::SIGCHLD { libc::SA_NOCLDSTOP } else { 0 };
                libc::sigemptyset(&mut sa.sa_mask);
                if libc::sigaction(s, &sa, std::ptr::null_mut()) < 0 {
                    return Err(sys::last_errno());
                }
            }
            Ok(Signals { wake_read: r })
        }
    }

    /// The fd the wait must watch.
    pub fn wake_fd(&self) -> i32 {
        self.wake_read
    }

    /// Drains the self-pipe, then takes every pending signal (this order loses nothing).
    pub fn take(&self) -> SignalSet {
        let mut buf = [0u8; 64];
        while let Ok(n) = sys::read(self.wake_read, &mut buf) {
            if n < buf.len() {
                break;
            }
        }
        LATCH.take()
    }
}

/// Sets `signo` to be ignored (e.g. SIGPIPE for a logger that handles EPIPE itself).
pub fn ignore(signo: i32) {
    // SAFETY: SIG_IGN is a valid disposition.
    unsafe {
        libc::signal(signo, libc::SIG_IGN);
    }
}
