//! A caught signal that reaches a child of `spawn_plan` before its `execve` takes its
//! default action (the child no longer resets every caught handler one `sigaction` at a
//! time; `runtime::signals::SpawnWindow`). Its own process: it installs a handler.
#![cfg(not(loom))]

use runtime::signals::{self, Signals};

/// The tests share the process-wide handlers and spawn window: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Forks, inside a spawn window (or not); the child unblocks SIGUSR1, raises it, and
/// exits 0 if it survives. Returns the raw wait status.
fn child_raising_usr1(spawned: bool) -> i32 {
    let window = spawned.then(signals::SpawnWindow::open);
    // SAFETY: the test process is single-threaded at this point apart from the harness's
    // idle main thread; the child only makes async-signal-safe calls and `_exit`s.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(libc::SIGUSR1);
            libc::_exit(0);
        }
        drop(window);
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        status
    }
}

#[test]
fn caught_signal_takes_default_action_in_spawned_child_only() {
    let _one = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let _signals = Signals::install(&[libc::SIGUSR1]).expect("install");
    assert!(signals::is_caught(libc::SIGUSR1));
    let spawned = child_raising_usr1(true);
    assert!(libc::WIFSIGNALED(spawned) && libc::WTERMSIG(spawned) == libc::SIGUSR1, "spawned child: status {spawned:#x}");
    // Any other fork (runit's final child) keeps the handler: the signal is recorded, not fatal.
    let other = child_raising_usr1(false);
    assert!(libc::WIFEXITED(other) && libc::WEXITSTATUS(other) == 0, "other child: status {other:#x}");
}

/// A vfork-style child's start: unblock SIGUSR1, send it to itself, `_exit(0)` if alive.
extern "C" fn shared_child_sending_usr1(_: *mut libc::c_void) -> libc::c_int {
    // SAFETY: async-signal-safe calls on a local set; ends in _exit.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), libc::SIGUSR1);
        libc::_exit(0)
    }
}

fn handler_of(signo: i32) -> usize {
    // SAFETY: sigaction query into a local buffer.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(signo, std::ptr::null(), &mut old), 0);
        old.sa_sigaction
    }
}

/// As `runtime::process` starts children: `clone(CLONE_VM | CLONE_VFORK)` in a spawn
/// window. The child runs the parent's handler in the parent's memory; it must take the
/// default action there, and leave the parent's handler and latch alone.
#[test]
fn caught_signal_in_a_shared_memory_child_takes_default_action_there_only() {
    let _one = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let sigs = Signals::install(&[libc::SIGUSR1]).expect("install");
    let installed = handler_of(libc::SIGUSR1);
    let mut stack = vec![0u8; 64 * 1024];
    let window = signals::SpawnWindow::open();
    // SAFETY: the stack is ours and unused while we wait (CLONE_VFORK); the child makes
    // async-signal-safe calls only and ends in _exit.
    let pid = unsafe {
        let top = (stack.as_mut_ptr().add(stack.len()) as usize & !15) as *mut libc::c_void;
        libc::clone(shared_child_sending_usr1, top, libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD, std::ptr::null_mut())
    };
    drop(window);
    assert!(pid > 0, "clone failed");
    let mut status = 0;
    // SAFETY: waitpid into a local.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGUSR1, "shared child: status {status:#x}");
    assert_eq!(handler_of(libc::SIGUSR1), installed, "the child's SIG_DFL reached the parent");
    assert!(!sigs.take().contains(libc::SIGUSR1), "the parent recorded the child's signal");
    drop(stack);
}
