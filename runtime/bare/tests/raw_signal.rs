//! bare's signal primitives against the real kernel, each in a forked child (the harness
//! has threads) that reports through its exit code: 0 = every check held, another code
//! names the check that failed.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use bare::poll::{ppoll, PollFd, POLLIN};
use bare::signal::{self, Signals, SpawnWindow};
use bare::sys;
use common::in_fork;
use model::errno::Errno;

#[test]
fn a_caught_signal_is_latched_and_wakes_the_eventfd_through_our_restorer() {
    let code = in_fork(|| {
        let Ok(sigs) = Signals::install(&[libc::SIGUSR1, libc::SIGCHLD]) else { return 10 };
        let Ok(act) = signal::rt_sigaction(libc::SIGUSR1, None) else { return 11 };
        if act.restorer != signal::restore_rt() || act.flags & 0x0400_0000u64 == 0 || act.flags & libc::SA_RESTART as u64 != 0 {
            return 12;
        }
        let Ok(chld) = signal::rt_sigaction(libc::SIGCHLD, None) else { return 13 };
        if chld.flags & libc::SA_NOCLDSTOP as u64 == 0 {
            return 14;
        }
        // Blocked: sent, but nothing is recorded before the wait.
        let _ = sys::kill(sys::getpid(), libc::SIGUSR1);
        if !sigs.take().is_empty() {
            return 15;
        }
        // The wait unblocks it (empty mask): the handler runs, ppoll returns EINTR, and
        // the process carries on after the handler (the restorer's rt_sigreturn worked).
        let mut fds = [PollFd::new(sigs.wake_fd(), POLLIN)];
        if ppoll(&mut fds, Some((10, 0)), Some(0)) != Err(Errno::EINTR) {
            return 16;
        }
        let mut fds = [PollFd::new(sigs.wake_fd(), POLLIN)];
        if ppoll(&mut fds, Some((0, 0)), None) != Ok(1) || !fds[0].readable() {
            return 17;
        }
        let set = sigs.take();
        if !set.contains(libc::SIGUSR1) || set.contains(libc::SIGCHLD) {
            return 18;
        }
        // Drained: the eventfd is quiet and the latch empty.
        let mut fds = [PollFd::new(sigs.wake_fd(), POLLIN)];
        if ppoll(&mut fds, Some((0, 0)), None) != Ok(0) || !sigs.take().is_empty() {
            return 19;
        }
        // Still blocked outside the wait.
        let Ok(mask) = signal::sigprocmask(signal::SIG_BLOCK, None) else { return 20 };
        if mask & signal::bit(libc::SIGUSR1) == 0 || mask & signal::bit(libc::SIGCHLD) == 0 {
            return 21;
        }
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn a_child_forked_in_a_spawn_window_takes_the_default_action() {
    let code = in_fork(|| {
        let Ok(_sigs) = Signals::install(&[libc::SIGUSR1]) else { return 10 };
        let window = SpawnWindow::open();
        let Ok(pid) = sys::fork() else { return 11 };
        if pid == 0 {
            // A child that has not exec'd: its handler must not latch, it must die.
            let _ = signal::change_mask(signal::SIG_UNBLOCK, signal::bit(libc::SIGUSR1));
            let _ = sys::kill(sys::getpid(), libc::SIGUSR1);
            sys::exit(50);
        }
        drop(window);
        match sys::wait_pid(pid) {
            Ok(st) if libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGUSR1 => 0,
            Ok(_) => 12,
            Err(_) => 13,
        }
    });
    assert_eq!(code, 0);
}

#[test]
fn strays_are_caught_unless_inherited_ignored_and_reserved_ones_ignored() {
    let code = in_fork(|| {
        // SAFETY: dispositions and the mask of this forked, single-threaded child.
        unsafe {
            libc::signal(libc::SIGUSR2, libc::SIG_IGN);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGHUP);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let strays = signal::strays(&[libc::SIGTERM, libc::SIGCHLD], &[libc::SIGINT]);
        let has = |v: &[i32], s: i32| v.contains(&s);
        if !has(&strays.catch, libc::SIGHUP) || has(&strays.unblock_in_child, libc::SIGHUP) {
            return 10;
        }
        if has(&strays.catch, libc::SIGUSR2) || signal::is_caught(libc::SIGUSR2) {
            return 11;
        }
        if signal::raw_disposition(libc::SIGUSR2, None) != Ok(signal::SIG_IGN) {
            return 12;
        }
        if has(&strays.catch, libc::SIGTERM) || has(&strays.catch, libc::SIGINT) || has(&strays.catch, libc::SIGCHLD) {
            return 13;
        }
        if !has(&strays.catch, 34) || !has(&strays.catch, 64) || has(&strays.catch, 32) || has(&strays.catch, 33) {
            return 14;
        }
        if !has(&strays.unblock_in_child, libc::SIGQUIT) || !signal::is_caught(libc::SIGQUIT) {
            return 15;
        }
        // glibc (this harness's C library) may hold 32 and 33 itself: start from the
        // default, as a freestanding runsv does.
        let _ = signal::raw_disposition(32, Some(signal::SIG_DFL));
        let _ = signal::raw_disposition(33, Some(signal::SIG_DFL));
        signal::ignore_reserved();
        if signal::raw_disposition(32, None) != Ok(signal::SIG_IGN) || signal::raw_disposition(33, None) != Ok(signal::SIG_IGN) {
            return 16;
        }
        signal::reset_reserved_in_child();
        if signal::raw_disposition(32, None) != Ok(signal::SIG_DFL) || signal::raw_disposition(33, None) != Ok(signal::SIG_DFL) {
            return 17;
        }
        // glibc's `signal`: SA_RESTART, the signal itself in the handler's mask.
        let _ = signal::signal(libc::SIGPIPE, signal::SIG_IGN);
        match signal::rt_sigaction(libc::SIGPIPE, None) {
            Ok(a) if a.handler == signal::SIG_IGN && a.flags & libc::SA_RESTART as u64 != 0 && a.mask == signal::bit(libc::SIGPIPE) => 0,
            _ => 18,
        }
    });
    assert_eq!(code, 0);
}
