//! Starting runsv's children without libc, as `runtime::process::spawn` does for a
//! `SpawnSpec`: `clone(CLONE_VM | CLONE_VFORK | SIGCHLD)` onto a stack of its own, the
//! set-up steps in the same order with the same calls, then `execve`; on failure runit's
//! message and `_exit`.
//!
//! The child stack is mapped **once** and reused: with `CLONE_VFORK` the parent is
//! suspended until the child has exec'd or exited, so one stack serves every spawn (the
//! std runtime maps and unmaps 64 KiB per spawn: two system calls and fresh-page faults
//! per restart). The child enters through [`bare_clone_trampoline`], assembly that
//! switches to that stack and calls the child's function, so the child never returns
//! into the parent's frames.

use core::ffi::{c_void, CStr};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use model::errno::{errstr, Errno};
use model::spawn::SignalSet;

use crate::signal::{self, SpawnWindow};
use crate::sys::{self, syscall6, SysResult};

const NR_DUP2: usize = 33;
const NR_FCNTL: usize = 72;
const NR_SETPGID: usize = 109;
const NR_SETSID: usize = 112;
const F_SETFD: usize = 2;

/// Room for the child's stack: a few calls deep plus a signal frame; the rest is never
/// touched.
pub const CHILD_STACK: usize = 64 * 1024;
const CLONE_VM: usize = 0x100;
const CLONE_VFORK: usize = 0x4000;
const SIGCHLD: usize = 17;
const MAP_STACK: usize = 0x20000;

/// What the child does before its `execve`, borrowed (nothing is allocated after
/// `clone`): runtime's `SpawnSpec` with its strings as C strings and its argv and
/// environment as ready NULL-terminated pointer arrays.
#[derive(Clone, Copy, Debug)]
pub struct ChildSetup<'a> {
    /// The program (no PATH search).
    pub path: &'a CStr,
    /// argv: pointers to NUL-terminated strings, the last one null.
    pub argv: &'a [*const u8],
    /// The environment: pointers to NUL-terminated strings, the last one null (the
    /// parent's own: [`crate::start::environ`]).
    pub envp: *const *const u8,
    /// fd to place on stdin.
    pub stdin: Option<i32>,
    /// fd to place on stdout.
    pub stdout: Option<i32>,
    /// Close stdout instead (sv's `check`).
    pub close_stdout: bool,
    /// `(source, target)`: `source` onto `target`, inheritable (the notification-fd pipe).
    /// Applied after `stdin` and `stdout`, as runtime's steps: a target of 0 or 1 replaces
    /// them (the model refuses a `notification-fd` of 0 to 2), and a source of 0 or 1
    /// that `stdin`/`stdout` replaced would pass the replacement, so callers keep sources
    /// off those numbers (runsv's cannot be there: its lock and FIFOs, opened at start-up
    /// and kept, take 0 and 1 if they are free, and the log child gets no extra fd).
    /// `source == target` is fine: close-on-exec is cleared instead.
    pub extra_fd: Option<(i32, i32)>,
    /// A new process group of its own (`setpgid(0, 0)`).
    pub new_pgrp: bool,
    /// A new session (`setsid()`; wins over `new_pgrp`, as runtime's steps).
    pub new_session: bool,
    /// Signals back to the default (those not caught: `execve` resets caught ones) and
    /// unblocked.
    pub reset_signals: SignalSet,
    /// Directory to change to before `execve`.
    pub chdir: Option<&'a CStr>,
    /// Written to fd 2 before the errno's text when a step or `execve` fails.
    pub fail_msg: &'a [u8],
    /// The child's exit code then.
    pub fail_code: i32,
}

// The child's entry: `bare_clone_trampoline(flags, stack_top, f, arg)` makes the clone
// system call with `stack_top` (16-byte aligned) as the child's stack; the parent
// returns the pid (or -errno), the child pops `f` and `arg` from its new stack, calls
// `f(arg)` (which never returns) and, should it, exits with `_exit`.
//
// Why this is sound (audit notes):
// - It is a function of the C ABI, so the caller already treats rax, rcx, rdx, rsi, rdi
//   and r8-r11 as clobbered; it writes only those (the `syscall` clobbers rcx and r11) and
//   never touches rbx, rbp, r12-r15 or rsp on the parent's path.
// - The call is opaque and `arg` escapes into it: every store the parent made to memory
//   the child reads (`ChildSetup` and what it points to) is done before the call; the
//   compiler cannot sink one past it.
// - `f` and `arg` are written below `stack_top` before the `syscall`: if the kernel
//   restarts the clone (a signal during it), it re-executes only the `syscall` with the
//   same registers, and a signal frame in the child lands below them.
// - After `pop rax; pop rdi`, rsp is `stack_top` again (16-byte aligned), so `call`
//   enters `f` with rsp = 8 mod 16, as the ABI wants.
core::arch::global_asm!(
    ".pushsection .text.bare_clone_trampoline,\"ax\",@progbits",
    ".globl bare_clone_trampoline",
    ".hidden bare_clone_trampoline",
    ".type bare_clone_trampoline,@function",
    "bare_clone_trampoline:",
    "sub rsi, 16",
    "mov [rsi], rdx",
    "mov [rsi + 8], rcx",
    "mov eax, 56", // clone(flags, newsp, parent_tid, child_tid, tls)
    "xor edx, edx",
    "xor r10d, r10d",
    "xor r8d, r8d",
    "syscall",
    "test rax, rax",
    "jnz 2f",
    // The child, on its own stack.
    "xor ebp, ebp",
    "pop rax",
    "pop rdi",
    "call rax",
    "mov edi, eax",
    "mov eax, 60",
    "syscall",
    "ud2",
    "2:",
    "ret",
    ".size bare_clone_trampoline, . - bare_clone_trampoline",
    ".popsection",
);

extern "C" {
    /// See the assembly above.
    fn bare_clone_trampoline(flags: usize, stack_top: *mut u8, f: extern "C" fn(*const c_void) -> i32, arg: *const c_void) -> isize;
}

/// The child stack, mapped by the first spawn and kept.
static STACK: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
/// Held while a spawn uses [`STACK`] (a second thread spawning meanwhile, as in a test
/// harness, maps a stack of its own for that spawn; so would a spawn from a signal
/// handler that interrupted one, which runsv never makes: its handler only latches).
static STACK_BUSY: AtomicBool = AtomicBool::new(false);

/// `mmap` of a child stack, as runtime maps it (`MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK`).
fn map_stack() -> SysResult<*mut u8> {
    const PROT_RW: usize = 3;
    const MAP_PRIVATE_ANONYMOUS: usize = 0x22;
    // SAFETY: a fresh mapping; no existing memory is touched.
    sys::result(unsafe { syscall6(9, [0, CHILD_STACK, PROT_RW, MAP_PRIVATE_ANONYMOUS | MAP_STACK, usize::MAX, 0]) }).map(|p| p as *mut u8)
}

/// How many times this process has mapped a child stack (the reuse is tested).
pub fn stacks_mapped() -> usize {
    STACKS_MAPPED.load(Ordering::SeqCst)
}

/// The deepest the children of this process have gone on the reused stack: the bytes
/// from its top down to the lowest one not zero (its pages start zeroed, and only
/// children write them). For the test that checks [`CHILD_STACK`] against the deepest
/// path (the failure message, with a signal frame on top); `None` before the first
/// spawn or while one runs.
pub fn child_stack_high_water() -> Option<usize> {
    if STACK_BUSY.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        return None;
    }
    let stack = STACK.load(Ordering::Acquire);
    let used = (!stack.is_null()).then(|| {
        // SAFETY: the reused stack is never unmapped, and no child runs on it while
        // STACK_BUSY is held here.
        let bytes = unsafe { core::slice::from_raw_parts(stack, CHILD_STACK) };
        CHILD_STACK - bytes.iter().position(|&b| b != 0).unwrap_or(CHILD_STACK)
    });
    STACK_BUSY.store(false, Ordering::Release);
    used
}
static STACKS_MAPPED: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Starts the child `setup` describes: its pid once it has exec'd (or exited), or the
/// errno of `clone` (or of the first stack's `mmap`). System calls in the parent: one
/// `getpid` (the spawn window), `clone`; the first spawn also maps the stack.
///
/// # Safety
/// `setup.argv` and `setup.envp` must be NULL-terminated arrays of pointers to
/// NUL-terminated strings, alive for the call. The caller must not rely on anything the
/// child's set-up changes in shared memory (it changes none of this process's data).
pub unsafe fn spawn(setup: &ChildSetup) -> SysResult<i32> {
    match setup.argv.last() {
        Some(p) if p.is_null() => {}
        _ => return Err(Errno::EINVAL),
    }
    let own = STACK_BUSY.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok();
    let stack = if own { STACK.load(Ordering::Acquire) } else { core::ptr::null_mut() };
    let stack = if stack.is_null() {
        match map_stack() {
            Ok(p) => {
                STACKS_MAPPED.fetch_add(1, Ordering::SeqCst);
                if own {
                    STACK.store(p, Ordering::Release);
                }
                p
            }
            Err(e) => {
                if own {
                    STACK_BUSY.store(false, Ordering::Release);
                }
                return Err(e);
            }
        }
    } else {
        stack
    };
    let window = SpawnWindow::open();
    // SAFETY: the stack's top is 16-byte aligned (a page-aligned mapping's end) and this
    // spawn alone uses it (STACK_BUSY, or a mapping of its own); with CLONE_VFORK the
    // call returns only once the child has exec'd or exited, so `setup` outlives the
    // child's use of it. The child runs only `child_main`: async-signal-safe system calls
    // reading `setup`, writing nothing of the parent's but its own stack.
    let r = unsafe {
        bare_clone_trampoline(CLONE_VM | CLONE_VFORK | SIGCHLD, stack.add(CHILD_STACK), child_main, (setup as *const ChildSetup).cast())
    };
    drop(window);
    if own {
        STACK_BUSY.store(false, Ordering::Release);
    } else {
        // SAFETY: this spawn's own mapping; the child no longer runs on it.
        unsafe { sys::unmap(stack, CHILD_STACK) };
    }
    sys::result(r).map(|pid| pid as i32)
}

/// The child: every step in runtime's order, then `execve`. Never returns.
extern "C" fn child_main(arg: *const c_void) -> i32 {
    // SAFETY: `spawn` passes its `setup`, alive until this child has exec'd or exited.
    let s = unsafe { &*arg.cast::<ChildSetup>() };
    for (from, to) in [(s.stdin, 0), (s.stdout, 1)] {
        if let Some(from) = from {
            if let Err(e) = dup2(from, to) {
                fail(s, e);
            }
        }
    }
    if s.close_stdout {
        let _ = sys::close(1);
    }
    if let Some((from, to)) = s.extra_fd {
        if let Err(e) = dup2(from, to) {
            fail(s, e);
        }
    }
    if s.new_session {
        // SAFETY: no arguments.
        let _ = unsafe { syscall6(NR_SETSID, [0; 6]) };
    } else if s.new_pgrp {
        // SAFETY: plain number arguments.
        let _ = unsafe { syscall6(NR_SETPGID, [0; 6]) };
    }
    // Runtime's `SignalPlan::reset`: each back to default (a caught one needs no call),
    // then one unblock of them all (no call for an empty set).
    for sig in s.reset_signals.iter().filter(|sig| !signal::is_caught(sig.0)) {
        let _ = signal::signal(sig.0, signal::SIG_DFL);
    }
    let unblock = s.reset_signals.iter().fold(0u64, |m, sig| m | signal::bit(sig.0));
    if unblock != 0 {
        let _ = signal::change_mask(signal::SIG_UNBLOCK, unblock);
    }
    signal::reset_reserved_in_child();
    if let Some(dir) = s.chdir {
        if let Err(e) = sys::chdir(dir) {
            fail(s, e);
        }
    }
    // SAFETY: `spawn`'s caller guarantees both arrays.
    let e = unsafe { sys::execve(s.path, s.argv.as_ptr(), s.envp) };
    fail(s, e)
}

/// `dup2(from, to)`; onto itself, clears close-on-exec instead (`fcntl(F_SETFD, 0)`), so
/// a descriptor already on its number still reaches the new program (as runtime).
fn dup2(from: i32, to: i32) -> SysResult<()> {
    // SAFETY: plain number arguments.
    let r = unsafe {
        if from == to {
            syscall6(NR_FCNTL, [from as usize, F_SETFD, 0, 0, 0, 0])
        } else {
            syscall6(NR_DUP2, [from as usize, to as usize, 0, 0, 0, 0])
        }
    };
    sys::result(r).map(|_| ())
}

/// runit's child failure: the message, the errno's text and a newline on fd 2 (three
/// writes, as runtime), then `_exit(fail_code)`.
fn fail(s: &ChildSetup, e: Errno) -> ! {
    for part in [s.fail_msg, errstr(e.0).as_bytes(), b"\n"] {
        let _ = sys::write(2, part);
    }
    sys::exit(s.fail_code)
}
