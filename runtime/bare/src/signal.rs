//! Signal handling without libc, with the semantics of `runtime::signals`: the handler
//! records into the [`Latch`] and adds one to a non-blocking eventfd; the loop drains the
//! eventfd, then takes the latch. The handled signals stay blocked except while the loop
//! sleeps in `ppoll` ([`crate::poll`]).
//!
//! Without glibc there is no `sa_restorer` to borrow: [`restore_rt`] is this crate's own
//! (`rt_sigreturn`, in assembly), installed with `SA_RESTORER` as glibc's `sigaction`
//! does. Every call is made with the flags, masks and order glibc's wrappers use today,
//! so an `strace` of the freestanding runsv reads like one of the std runsv. No errno to
//! keep: raw calls return their errors, nothing reads a global errno.

use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

use alloc::vec::Vec;

use crate::latch::{Latch, SignalSet};
use crate::sys::{self, syscall6, SysResult};

const NR_RT_SIGACTION: usize = 13;
const NR_RT_SIGPROCMASK: usize = 14;
const NR_EVENTFD2: usize = 290;

/// `SIG_DFL`.
pub const SIG_DFL: usize = 0;
/// `SIG_IGN`.
pub const SIG_IGN: usize = 1;
/// `SIG_BLOCK` for [`sigprocmask`].
pub const SIG_BLOCK: usize = 0;
/// `SIG_UNBLOCK` for [`sigprocmask`].
pub const SIG_UNBLOCK: usize = 1;
/// `SIG_SETMASK` for [`sigprocmask`].
pub const SIG_SETMASK: usize = 2;
/// `SIGCHLD`: caught with `SA_NOCLDSTOP` (the executor's number, checked against libc).
pub use crate::exec::linux::SIGCHLD;
const SA_NOCLDSTOP: u64 = 1;
const SA_RESTART: u64 = 0x1000_0000;
const SA_RESTORER: u64 = 0x0400_0000;
/// The kernel's sigset size on x86_64 (64 signals).
const SIGSET_SIZE: usize = 8;

/// The first real-time signal glibc lets programs use (its `SIGRTMIN`): the std runsv
/// catches strays from here to 64, so the freestanding one must too.
pub const GLIBC_SIGRTMIN: i32 = 34;
/// Signals 32 and 33, glibc's own (thread cancellation, `setxid`): the std runsv ignores
/// them ([`ignore_reserved`]) and glibc's `sigprocmask` never blocks them.
pub const GLIBC_RESERVED: [i32; 2] = [32, 33];

// `rt_sigreturn`, the return address the kernel pushes for a handler (`SA_RESTORER`):
// glibc's `__restore_rt` without glibc. It must not touch the stack: the kernel's signal
// frame starts right where the handler's `ret` leaves `rsp`.
core::arch::global_asm!(
    ".pushsection .text.bare_restore_rt,\"ax\",@progbits",
    ".globl bare_restore_rt",
    ".hidden bare_restore_rt",
    ".type bare_restore_rt,@function",
    "bare_restore_rt:",
    "mov eax, 15",
    "syscall",
    "ud2",
    ".size bare_restore_rt, . - bare_restore_rt",
    ".popsection",
);

extern "C" {
    /// Never called as a function: its address is the handlers' return address.
    fn bare_restore_rt();
}

/// The restorer's address, for `sa_restorer`.
pub fn restore_rt() -> usize {
    bare_restore_rt as unsafe extern "C" fn() as usize
}

/// The kernel's `struct sigaction` (x86_64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelSigaction {
    /// Handler address, `SIG_DFL` or `SIG_IGN`.
    pub handler: usize,
    /// `SA_*` flags.
    pub flags: u64,
    /// The `rt_sigreturn` trampoline (`SA_RESTORER`).
    pub restorer: usize,
    /// Signals blocked while the handler runs (bit `n - 1`: signal `n`).
    pub mask: u64,
}

/// `rt_sigaction(signo, new, &old, 8)`: the one way to set or read a disposition.
pub fn rt_sigaction(signo: i32, new: Option<&KernelSigaction>) -> SysResult<KernelSigaction> {
    let mut old = KernelSigaction::default();
    let newp = new.map_or(0, |n| n as *const KernelSigaction as usize);
    // SAFETY: both pointers are valid `struct sigaction`s (or null) for the call.
    sys::result(unsafe { syscall6(NR_RT_SIGACTION, [signo as usize, newp, &mut old as *mut _ as usize, SIGSET_SIZE, 0, 0]) })?;
    Ok(old)
}

/// `rt_sigprocmask(how, set, &old, 8)` (`set` `None`: only read the mask); the old mask.
pub fn sigprocmask(how: usize, set: Option<u64>) -> SysResult<u64> {
    let mut old = 0u64;
    let setp = set.as_ref().map_or(0, |s| s as *const u64 as usize);
    // SAFETY: both pointers are valid 8-byte sigsets (or null) for the call.
    sys::result(unsafe { syscall6(NR_RT_SIGPROCMASK, [how, setp, &mut old as *mut u64 as usize, SIGSET_SIZE, 0, 0]) })?;
    Ok(old)
}

/// `sigprocmask` as runtime calls it, without the old mask (glibc passes NULL):
/// `rt_sigprocmask(how, &set, NULL, 8)`.
pub fn change_mask(how: usize, set: u64) -> SysResult<()> {
    // SAFETY: set is a valid 8-byte sigset for the call.
    sys::result(unsafe { syscall6(NR_RT_SIGPROCMASK, [how, &set as *const u64 as usize, 0, SIGSET_SIZE, 0, 0]) }).map(|_| ())
}

/// Bit `signo - 1` (the kernel's sigset and [`is_caught`]'s): signals 1 to 64.
pub fn bit(signo: i32) -> u64 {
    if (1..=64).contains(&signo) {
        1 << (signo - 1)
    } else {
        0
    }
}

/// The kernel sigset of `signals`.
pub fn set_of(signals: &[i32]) -> u64 {
    signals.iter().fold(0, |m, &s| m | bit(s))
}

/// glibc's `signal(signo, handler)` (BSD semantics): `SA_RESTART`, the signal itself
/// blocked while a handler runs, glibc's restorer; the old handler. Used where runtime
/// calls `libc::signal` (a stray inherited ignored, the child's reset to default).
pub fn signal(signo: i32, handler: usize) -> SysResult<usize> {
    let act = KernelSigaction { handler, flags: SA_RESTART | SA_RESTORER, restorer: restore_rt(), mask: bit(signo) };
    rt_sigaction(signo, Some(&act)).map(|old| old.handler)
}

/// A disposition set with the bare system call (no flags, no restorer), as runtime's
/// `raw_disposition` does for the reserved signals; `None` only reads it. The old handler.
pub fn raw_disposition(signo: i32, new: Option<usize>) -> SysResult<usize> {
    let act = new.map(|handler| KernelSigaction { handler, ..KernelSigaction::default() });
    rt_sigaction(signo, act.as_ref()).map(|old| old.handler)
}

static LATCH: Latch = Latch::new();
static WAKE_WRITE_FD: AtomicI32 = AtomicI32::new(-1);
/// While [`SpawnWindow`]s are open: the pid of the process spawning (a vfork-style child
/// shares this memory, so only its pid tells it apart).
static SPAWNER: AtomicI32 = AtomicI32::new(0);
/// How many [`SpawnWindow`]s are open.
static SPAWNS_OPEN: AtomicU32 = AtomicU32::new(0);
/// Bit `n - 1`: signal `n` has [`on_signal`] as its handler ([`bit`]).
static CAUGHT: AtomicU64 = AtomicU64::new(0);
/// Bit `n`: reserved signal `n` was set to ignored by [`ignore_reserved`].
static RESERVED_IGNORED: AtomicU64 = AtomicU64::new(0);

/// The handler of every caught signal (as `runtime::signals::on_signal`).
extern "C" fn on_signal(signo: i32) {
    if in_spawned_child() {
        default_action_in_child(signo);
    } else {
        LATCH.record(signo);
        let fd = WAKE_WRITE_FD.load(Ordering::SeqCst);
        if fd >= 0 {
            // One try: a full counter (EAGAIN) is fine, the loop is already due to wake.
            let one = 1u64.to_ne_bytes();
            // SAFETY: one is a live 8-byte buffer.
            let _ = unsafe { syscall6(1, [fd as usize, one.as_ptr() as usize, 8, 0, 0, 0]) };
        }
    }
}

/// Whether this process is a child spawned in a [`SpawnWindow`] that has not exec'd yet.
fn in_spawned_child() -> bool {
    SPAWNS_OPEN.load(Ordering::SeqCst) > 0 && sys::getpid() != SPAWNER.load(Ordering::SeqCst)
}

/// A caught signal in a spawned child before its `execve`: back to the default and sent
/// again, so it takes the default action once the handler returns (the child need not
/// reset every caught signal: `execve` does).
fn default_action_in_child(signo: i32) {
    let _ = signal(signo, SIG_DFL);
    let _ = sys::kill(sys::getpid(), signo);
}

/// Open around the `clone` of a child that will `execve` ([`crate::spawn`]): a caught
/// signal that reaches the child before its `execve` takes its default action instead of
/// running the parent's handler on shared memory.
pub struct SpawnWindow(());

impl SpawnWindow {
    /// Opens the window (one `getpid`).
    pub fn open() -> SpawnWindow {
        SPAWNER.store(sys::getpid(), Ordering::SeqCst);
        SPAWNS_OPEN.fetch_add(1, Ordering::SeqCst);
        SpawnWindow(())
    }
}

impl Drop for SpawnWindow {
    fn drop(&mut self) {
        SPAWNS_OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Installs [`on_signal`] for `signo` (no `SA_RESTART`; `SA_NOCLDSTOP` for SIGCHLD);
/// the handler it replaced.
pub fn catch(signo: i32) -> SysResult<usize> {
    let flags = SA_RESTORER | if signo == SIGCHLD { SA_NOCLDSTOP } else { 0 };
    let act = KernelSigaction { handler: on_signal as extern "C" fn(i32) as usize, flags, restorer: restore_rt(), mask: 0 };
    let old = rt_sigaction(signo, Some(&act))?;
    CAUGHT.fetch_or(bit(signo), Ordering::SeqCst);
    Ok(old.handler)
}

/// Whether `signo` is caught by this process's handler (a spawned child need not reset
/// it: `execve` does). Async-signal-safe.
pub fn is_caught(signo: i32) -> bool {
    CAUGHT.load(Ordering::SeqCst) & bit(signo) != 0
}

/// The installed handlers and the wake-up eventfd. One per process.
pub struct Signals {
    wake_read: i32,
}

impl Signals {
    /// Creates the wake-up eventfd (`eventfd2(0, EFD_NONBLOCK | EFD_CLOEXEC)`), blocks
    /// `handled`, and catches those of them not caught already ([`strays`]).
    pub fn install(handled: &[i32]) -> SysResult<Signals> {
        const EFD_FLAGS: usize = sys::O_NONBLOCK | sys::O_CLOEXEC;
        // SAFETY: plain number arguments.
        let fd = sys::result(unsafe { syscall6(NR_EVENTFD2, [0, EFD_FLAGS, 0, 0, 0, 0]) })? as i32;
        WAKE_WRITE_FD.store(fd, Ordering::SeqCst);
        let _ = change_mask(SIG_BLOCK, set_of(handled));
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
        let mut buf = [0u8; 8];
        let _ = sys::read(self.wake_read, &mut buf);
        LATCH.take()
    }
}

/// runtime's `FATAL_BY_DEFAULT`: HUP INT QUIT TRAP USR1 USR2 PIPE ALRM TERM STKFLT XCPU
/// XFSZ VTALRM PROF IO PWR SYS, in this order.
pub const FATAL_BY_DEFAULT: [i32; 17] = [1, 2, 3, 5, 10, 12, 13, 14, 15, 16, 24, 25, 26, 27, 29, 30, 31];

/// The stray signals one program survives (as `runtime::signals::Strays`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strays {
    /// Caught (and then disregarded).
    pub catch: Vec<i32>,
    /// Those of `catch` not inherited blocked: a child unblocks them again.
    pub unblock_in_child: Vec<i32>,
}

/// runtime's `signals::strays` without libc: reads the mask, then for every
/// fatal-by-default signal and 34..=64 (glibc's real-time range) not in `core` or
/// `keep_default`, catches it; one inherited ignored goes back to ignored (glibc's
/// `signal`, as runtime does) and is left out.
pub fn strays(core: &[i32], keep_default: &[i32]) -> Strays {
    let mut out = Strays { catch: Vec::with_capacity(64), unblock_in_child: Vec::with_capacity(64) };
    let blocked = sigprocmask(SIG_BLOCK, None).unwrap_or(0);
    let all = FATAL_BY_DEFAULT.iter().copied().chain(GLIBC_SIGRTMIN..=64);
    for s in all.filter(|s| !core.contains(s) && !keep_default.contains(s)) {
        match catch(s) {
            Err(_) => continue,
            Ok(SIG_IGN) => {
                let _ = signal(s, SIG_IGN);
                CAUGHT.fetch_and(!bit(s), Ordering::SeqCst);
                continue;
            }
            Ok(_) => {}
        }
        out.catch.push(s);
        if blocked & bit(s) == 0 {
            out.unblock_in_child.push(s);
        }
    }
    out
}

/// runtime's `signals::ignore_reserved`: signals 32 and 33 set to ignored unless
/// inherited ignored (read first, then set: two calls each, as today).
pub fn ignore_reserved() {
    for s in GLIBC_RESERVED {
        if raw_disposition(s, None) == Ok(SIG_DFL) && raw_disposition(s, Some(SIG_IGN)).is_ok() {
            RESERVED_IGNORED.fetch_or(1 << s, Ordering::SeqCst);
        }
    }
}

/// In a spawned child before `execve`: the reserved signals [`ignore_reserved`] ignored
/// back to the default (an ignored disposition survives `execve`). Async-signal-safe.
pub fn reset_reserved_in_child() {
    let bits = RESERVED_IGNORED.load(Ordering::SeqCst);
    for s in GLIBC_RESERVED {
        if bits & (1 << s) != 0 {
            let _ = raw_disposition(s, Some(SIG_DFL));
        }
    }
}

/// runtime's `signals::ignore`: glibc's `signal(signo, SIG_IGN)`.
pub fn ignore(signo: i32) {
    let _ = signal(signo, SIG_IGN);
}

/// runtime's `signals::default`: glibc's `signal(signo, SIG_DFL)`.
pub fn default(signo: i32) {
    let _ = signal(signo, SIG_DFL);
}
