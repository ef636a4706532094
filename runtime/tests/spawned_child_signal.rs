//! A caught signal that reaches a child of `spawn_plan` before its `execve` takes its
//! default action (the child no longer resets every caught handler one `sigaction` at a
//! time; `runtime::signals::SpawnWindow`). Its own process: it installs a handler.
#![cfg(not(loom))]

use runtime::signals::{self, Signals};

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
    let _signals = Signals::install(&[libc::SIGUSR1]).expect("install");
    assert!(signals::is_caught(libc::SIGUSR1));
    let spawned = child_raising_usr1(true);
    assert!(libc::WIFSIGNALED(spawned) && libc::WTERMSIG(spawned) == libc::SIGUSR1, "spawned child: status {spawned:#x}");
    // Any other fork (runit's final child) keeps the handler: the signal is recorded, not fatal.
    let other = child_raising_usr1(false);
    assert!(libc::WIFEXITED(other) && libc::WEXITSTATUS(other) == 0, "other child: status {other:#x}");
}
