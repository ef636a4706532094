//! Signal handling: handlers record into the [`Latch`](crate::latch::Latch) and add one
//! to a non-blocking eventfd (a self-pipe in one descriptor instead of two: runsvdir
//! must start its services under a tight descriptor limit); the loop drains the
//! eventfd, then takes the latch.
//!
//! The handled signals are kept **blocked** except while the loop sleeps in `ppoll`
//! (as runit does), so no other syscall sees `EINTR` and the hand-off has one place to
//! happen. Children get the handled signals back at their default disposition and an
//! empty mask ([`crate::process`]).

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

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
/// While [`SpawnWindow`]s are open: the pid of the process spawning. A process running
/// the handler with another pid is a child between `clone` and `execve` (a vfork-style
/// child shares this memory, so a flag the child set would be the parent's too).
static SPAWNER: AtomicI32 = AtomicI32::new(0);
/// How many [`SpawnWindow`]s are open (threads of a test process spawn concurrently).
static SPAWNS_OPEN: AtomicU32 = AtomicU32::new(0);
/// Bit `n - 1` set: signal `n` has [`on_signal`] as its handler in this process ([`bit`]).
static CAUGHT: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_signal(signo: libc::c_int) {
    let saved = sys::errno();
    if in_spawned_child() {
        default_action_in_child(signo);
    } else {
        LATCH.record(signo);
        let fd = WAKE_WRITE_FD.load(Ordering::SeqCst);
        if fd >= 0 {
            let one = 1u64.to_ne_bytes();
            // SAFETY: write(2) is async-signal-safe; `one` is live. A full counter (EAGAIN)
            // is fine: the loop is already due to wake.
            unsafe { libc::write(fd, one.as_ptr().cast(), one.len()) };
        }
    }
    // SAFETY: restoring errno for the interrupted code.
    unsafe { *libc::__errno_location() = saved };
}

/// Open around the `clone` of a child that will `execve` ([`crate::process::spawn_plan`]):
/// a caught signal that reaches the child before its `execve` then takes its default
/// action instead of running the parent's handler on shared memory. The parent's own
/// handlers are unaffected (its pid is the spawner's); a child forked to keep running
/// this program's code (runit's final child) is spawned outside any window and keeps
/// them.
pub struct SpawnWindow(());

impl SpawnWindow {
    /// Opens the window (one `getpid`).
    pub fn open() -> SpawnWindow {
        // SAFETY: getpid has no preconditions.
        SPAWNER.store(unsafe { libc::getpid() }, Ordering::SeqCst);
        SPAWNS_OPEN.fetch_add(1, Ordering::SeqCst);
        SpawnWindow(())
    }
}

impl Drop for SpawnWindow {
    fn drop(&mut self) {
        SPAWNS_OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether this process is a child spawned in a [`SpawnWindow`] (not yet exec'd: after
/// `execve` no handler of ours is left). Async-signal-safe: atomics and `getpid`.
fn in_spawned_child() -> bool {
    // SAFETY: getpid has no preconditions (glibc does not cache it: a vfork-style child
    // gets its own pid).
    SPAWNS_OPEN.load(Ordering::SeqCst) > 0 && unsafe { libc::getpid() } != SPAWNER.load(Ordering::SeqCst)
}

/// A signal that reached a spawned child between its unblocking and its `execve`: the
/// signal gets its default disposition and is raised again, so it takes the default
/// action as soon as the handler returns — exactly what it would have done had the
/// child reset every handler to the default before unblocking. This is why a child
/// need not reset the caught signals one `sigaction` each (about 45 system calls per
/// child): `execve` resets them anyway ([`is_caught`]).
fn default_action_in_child(signo: libc::c_int) {
    // SAFETY: signal(2) with SIG_DFL, getpid(2) and kill(2) are async-signal-safe; the
    // signal is blocked while its handler runs, so the one sent is delivered when it
    // returns. `kill` to our own pid rather than `raise`: a vfork-style child shares the
    // parent's thread block, whose cached thread id is the parent's.
    unsafe {
        libc::signal(signo, libc::SIG_DFL);
        libc::kill(libc::getpid(), signo);
    }
}

/// Installs [`on_signal`] for `signo` (no `SA_RESTART`); returns the handler it replaced.
fn catch(signo: i32) -> Result<usize, Errno> {
    // SAFETY: sigaction with a valid handler and a local out-buffer.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = if signo == libc::SIGCHLD { libc::SA_NOCLDSTOP } else { 0 };
        libc::sigemptyset(&mut sa.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signo, &sa, &mut old) < 0 {
            return Err(sys::last_errno());
        }
        CAUGHT.fetch_or(bit(signo), Ordering::SeqCst);
        Ok(old.sa_sigaction)
    }
}

/// Bit `signo - 1`: signals 1 to 64 (64 is SIGRTMAX, one of the strays runsv catches).
fn bit(signo: i32) -> u64 {
    if (1..=64).contains(&signo) {
        1 << (signo - 1)
    } else {
        0
    }
}

/// Whether `signo` is caught by this process's handler. In a forked child such a signal
/// needs no reset before `execve`: `execve` gives every caught signal its default
/// disposition, and until then the handler takes the default action in a child.
/// Async-signal-safe.
pub fn is_caught(signo: i32) -> bool {
    CAUGHT.load(Ordering::SeqCst) & bit(signo) != 0
}

/// The installed handlers and the wake-up eventfd. One per process.
pub struct Signals {
    wake_read: i32,
}

impl Signals {
    /// Creates the wake-up eventfd, installs handlers (no `SA_RESTART`) for `handled`
    /// (those [`strays`] caught already keep theirs), and blocks them. Other signals keep
    /// their inherited dispositions.
    pub fn install(handled: &[i32]) -> Result<Signals, Errno> {
        // SAFETY: plain system call.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(sys::last_errno());
        }
        WAKE_WRITE_FD.store(fd, Ordering::SeqCst);
        // SAFETY: sigset operations on a local set.
        unsafe {
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut mask);
            for &s in handled {
                libc::sigaddset(&mut mask, s);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &mask, std::ptr::null_mut());
        }
        for &s in handled.iter().filter(|&&s| !is_caught(s)) {
            catch(s)?;
        }
        Ok(Signals { wake_read: fd })
    }

    /// The fd the wait must watch.
    pub fn wake_fd(&self) -> i32 {
        self.wake_read
    }

    /// Drains the eventfd, then takes every pending signal (this order loses nothing).
    pub fn take(&self) -> SignalSet {
        // One read returns the counter and resets it to zero.
        let mut buf = [0u8; 8];
        let _ = sys::read(self.wake_read, &mut buf);
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

/// Gives `signo` back its default disposition (e.g. SIGPIPE, which Rust's runtime
/// ignores, for sv and the `./check` scripts it runs).
pub fn default(signo: i32) {
    // SAFETY: SIG_DFL is a valid disposition; no handler is installed.
    unsafe {
        libc::signal(signo, libc::SIG_DFL);
    }
}

/// Signals whose default action ends the process and that can reach a program by mistake
/// (`kill -PWR`, a resource limit's XCPU/XFSZ, a profiler's PROF/VTALRM, a stray
/// real-time signal: those follow in [`strays`]). Not listed: KILL and STOP (they cannot
/// be caught) and the fault signals SEGV, BUS, FPE, ILL, ABRT (a handler that returns
/// would run the faulting instruction again; a real fault must still end the process).
const FATAL_BY_DEFAULT: [i32; 17] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTRAP,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPIPE,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGSTKFLT,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGIO,
    libc::SIGPWR,
    libc::SIGSYS,
];

/// The stray signals one program survives, as found at start-up (before
/// [`Signals::install`] blocks anything).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strays {
    /// To catch (and then disregard): every fatal-by-default signal, real-time ones
    /// included, that is neither handled by the program nor inherited as ignored (an
    /// ignored one stays ignored, so children inherit it exactly as under runit).
    pub catch: Vec<i32>,
    /// Those of `catch` that were not inherited blocked: a child unblocks them again.
    /// The others stay blocked in children, as runit (which never touches them) leaves
    /// them.
    pub unblock_in_child: Vec<i32>,
}

/// The stray signals of a program that handles `core` and leaves `keep_default` alone,
/// caught as they are found: one `sigaction` per signal installs [`on_signal`] and
/// returns the old disposition; one inherited ignored is put back to ignored (a second
/// call, only then). Signals 32 and 33 are glibc's own (its `sigaction` refuses them):
/// see [`ignore_reserved`].
pub fn strays(core: &[i32], keep_default: &[i32]) -> Strays {
    // Sized for every signal up front: growing two lists push by push left their
    // outgrown buffers in malloc's caches (about 500 bytes of runsv's start-up heap).
    let mut out = Strays { catch: Vec::with_capacity(64), unblock_in_child: Vec::with_capacity(64) };
    // SAFETY: a sigset query into a local out-buffer.
    let blocked = unsafe {
        let mut blocked: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, std::ptr::null(), &mut blocked);
        blocked
    };
    let all = FATAL_BY_DEFAULT.iter().copied().chain(libc::SIGRTMIN()..=libc::SIGRTMAX());
    for s in all.filter(|s| !core.contains(s) && !keep_default.contains(s)) {
        match catch(s) {
            Err(_) => continue,
            Ok(libc::SIG_IGN) => {
                // SAFETY: SIG_IGN is a valid disposition.
                unsafe { libc::signal(s, libc::SIG_IGN) };
                CAUGHT.fetch_and(!bit(s), Ordering::SeqCst);
                continue;
            }
            Ok(_) => {}
        }
        out.catch.push(s);
        // SAFETY: membership test on a local set.
        if unsafe { libc::sigismember(&blocked, s) } != 1 {
            out.unblock_in_child.push(s);
        }
    }
    out
}

/// The signals below `SIGRTMIN` that glibc keeps for itself (32 and 33) and that this
/// process set to ignored ([`ignore_reserved`]): bit `n` for signal `n`.
static RESERVED_IGNORED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The kernel's `struct sigaction` (x86_64 and aarch64 layout), for the two signals
/// glibc's `sigaction` refuses.
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Sets a disposition with the raw system call; returns the old handler value.
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
fn raw_disposition(signo: i32, new: Option<usize>) -> Option<usize> {
    let act = new.map(|h| KernelSigaction { handler: h, flags: 0, restorer: 0, mask: 0 });
    let mut old = KernelSigaction { handler: 0, flags: 0, restorer: 0, mask: 0 };
    let act_ptr = act.as_ref().map_or(std::ptr::null(), |a| a as *const KernelSigaction);
    // SAFETY: rt_sigaction with valid pointers and the kernel's sigset size (8 bytes).
    // SIG_IGN and SIG_DFL need no restorer. Async-signal-safe (used in forked children).
    let r = unsafe { libc::syscall(libc::SYS_rt_sigaction, signo, act_ptr, &mut old as *mut KernelSigaction, 8usize) };
    (r == 0).then_some(old.handler)
}

/// Makes glibc's reserved real-time signals (32 and 33: `kill -s 32` ends a process
/// that has not used threads) harmless by ignoring them, unless inherited ignored.
/// Children get them back at the default ([`reset_reserved_in_child`]).
pub fn ignore_reserved() {
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    for s in 32..libc::SIGRTMIN() {
        if raw_disposition(s, None) == Some(libc::SIG_DFL) && raw_disposition(s, Some(libc::SIG_IGN)).is_some() {
            RESERVED_IGNORED.fetch_or(1 << s, Ordering::SeqCst);
        }
    }
}

/// In a forked child, before `execve`: gives back the default disposition of the reserved
/// signals [`ignore_reserved`] ignored (an ignored disposition would survive `execve`).
/// Async-signal-safe.
pub fn reset_reserved_in_child() {
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let bits = RESERVED_IGNORED.load(Ordering::SeqCst);
        for s in 32..64 {
            if bits & (1 << s) != 0 {
                raw_disposition(s, Some(libc::SIG_DFL));
            }
        }
    }
}
