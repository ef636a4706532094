//! bare's process primitives against the real kernel: reaping, pidfds, the descriptor
//! limit, `/proc` reads, the reopened pipe, the clock tick from the auxiliary vector.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use bare::proc;
use bare::sys;
use common::in_fork;
use model::errno::Errno;

#[test]
fn reap_nohang_sees_nothing_then_the_exited_child() {
    // In a forked child: the harness's other tests have children of their own.
    let code = in_fork(|| {
        if proc::reap_nohang().is_some() {
            return 10;
        }
        let Ok(pid) = sys::fork() else { return 11 };
        if pid == 0 {
            sys::exit_thread(5);
        }
        // Bounded: the child exits at once; a blocking wait4(pid) would hang if not.
        let Ok(pidfd) = proc::pidfd_open(pid as u32) else { return 12 };
        let mut fds = [bare::poll::PollFd::new(pidfd, bare::poll::POLLIN)];
        if bare::poll::ppoll(&mut fds, Some((10, 0)), None) != Ok(1) {
            return 13;
        }
        match proc::reap_nohang() {
            Some((p, st)) if p == pid && libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 5 => {}
            _ => return 14,
        }
        if proc::reap_nohang().is_some() {
            return 15;
        }
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn pidfds_signal_and_duplicate_descriptors() {
    let code = in_fork(|| {
        let (r, w) = sys::pipe2(sys::O_CLOEXEC).unwrap();
        let Ok(pid) = sys::fork() else { return 10 };
        if pid == 0 {
            // Waits for a byte (or its end), then exits 0.
            let _ = sys::close(w);
            let mut b = [0u8; 1];
            let _ = sys::read(r, &mut b);
            sys::exit_thread(0);
        }
        let Ok(pidfd) = proc::pidfd_open(pid as u32) else { return 11 };
        // The child's read end, duplicated from it: same pipe as ours.
        let Ok(dup) = proc::pidfd_getfd(pidfd, r) else { return 12 };
        let (a, b) = (bare::file::fstat(dup).unwrap(), bare::file::fstat(r).unwrap());
        if a.ino != b.ino {
            return 13;
        }
        if proc::pidfd_send_signal(pidfd, libc::SIGKILL).is_err() {
            return 14;
        }
        match proc::wait_pid(pid) {
            Ok(st) if libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGKILL => {}
            _ => return 15,
        }
        // Reaped: the pidfd no longer reaches a process.
        if proc::pidfd_send_signal(pidfd, 0) != Err(Errno::ESRCH) {
            return 16;
        }
        0
    });
    assert_eq!(code, 0);
    assert_eq!(proc::pidfd_open(u32::MAX), Err(Errno::EINVAL));
}

#[test]
fn limit_proc_stat_parent_and_reopened_pipe() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit into a local struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(proc::nofile_soft_limit(), Ok(lim.rlim_cur));
    let me = std::process::id();
    let stat = proc::proc_stat(me).unwrap();
    assert!(stat.starts_with(format!("{me} (").as_bytes()));
    // pid, comm, ppid, pgrp, session: the fields that do not move meanwhile (the state
    // does: other test threads run).
    let head = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).into_owned();
        s.split(' ').take(6).enumerate().filter(|&(i, _)| i != 2).map(|(_, f)| f.to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(head(&stat), head(&std::fs::read(format!("/proc/{me}/stat")).unwrap()));
    assert!(stat.ends_with(b"\n"), "whole");
    // SAFETY: getppid has no preconditions.
    assert_eq!(proc::parent_of(me as i32), Some(unsafe { libc::getppid() }));
    assert_eq!(proc::proc_stat(u32::MAX), None);
    assert_eq!(sys::getpid() as u32, me);
    // The other end of a pipe through /proc/self/fd, blocking again.
    let (r, w) = sys::pipe2(sys::O_CLOEXEC).unwrap();
    let w2 = proc::reopen_pipe(r, true).unwrap();
    // SAFETY: F_GETFL on our own descriptor.
    assert_eq!(unsafe { libc::fcntl(w2, libc::F_GETFL) } & (libc::O_NONBLOCK | libc::O_ACCMODE), libc::O_WRONLY);
    assert_eq!(sys::write(w2, b"z"), Ok(1));
    let mut b = [0u8; 2];
    assert_eq!(sys::read(r, &mut b), Ok(1));
    assert_eq!(proc::reopen_pipe(-1, true), Err(Errno::EBADF));
    for fd in [r, w, w2] {
        sys::close(fd).unwrap();
    }
}

#[test]
fn the_clock_tick_of_the_auxiliary_vector_is_sysconfs() {
    // The harness was not started by bare's `_start`: record the kernel's vector as
    // /proc/self/auxv gives it (the same (type, value) pairs `start` keeps).
    let raw = std::fs::read("/proc/self/auxv").unwrap();
    let words: Vec<usize> = raw.chunks_exact(8).map(|c| usize::from_ne_bytes(c.try_into().unwrap())).collect();
    let words: &'static [usize] = Vec::leak(words);
    // SAFETY: a leaked (so never freed, never changed) vector ending in AT_NULL.
    unsafe { bare::start::record_auxv(words.as_ptr()) };
    // SAFETY: sysconf reads a constant.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    assert!(tck > 0);
    assert_eq!(proc::clk_tck(), tck as u64);
    // SAFETY: getauxval reads the process's vector.
    assert_eq!(bare::start::aux_value(libc::AT_PAGESZ as usize), Some(unsafe { libc::getauxval(libc::AT_PAGESZ) } as usize));
    assert_eq!(bare::start::aux_value(0xdead), None);
}

#[test]
fn boot_wall_time_is_realtime_minus_boottime() {
    let read = |clock| {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: ts is a valid out-pointer.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    };
    let expect = read(libc::CLOCK_REALTIME) - read(libc::CLOCK_BOOTTIME);
    let got = proc::boot_wall_ns();
    // The two readings are microseconds apart; the value is fixed per boot (it moves only
    // with the wall clock being set), so a second's slack cannot hide a wrong clock.
    assert!((got - expect).abs() < 1_000_000_000, "{got} vs {expect}");
    assert!(got > 0);
}
