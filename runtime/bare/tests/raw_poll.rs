//! bare's `ppoll` against the real kernel: timeout, readiness, writability.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use bare::poll::{ppoll, timespec, PollFd, POLLIN, POLLOUT};
use bare::sys;

#[test]
fn ppoll_times_out_with_nothing_ready_then_sees_readable_and_writable() {
    let (r, w) = sys::pipe2(sys::O_CLOEXEC).unwrap();
    let mut fds = [PollFd::new(r, POLLIN)];
    assert_eq!(ppoll(&mut fds, Some(timespec(20_000_000)), None), Ok(0));
    assert_eq!(fds[0].revents, 0);
    let mut fds = [PollFd::new(r, POLLIN), PollFd::new(w, POLLOUT)];
    assert_eq!(ppoll(&mut fds, Some((0, 0)), None), Ok(1));
    assert!(!fds[0].readable() && fds[1].writable());
    assert_eq!(sys::write(w, b"x"), Ok(1));
    let mut fds = [PollFd::new(-1, POLLIN), PollFd::new(r, POLLIN)];
    // No timeout: returns because the pipe is readable.
    assert_eq!(ppoll(&mut fds, None, None), Ok(1));
    assert!(fds[1].readable() && fds[0].revents == 0);
    sys::close(w).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(sys::read(r, &mut buf), Ok(1));
    // Hung up: readable, so the loop reads the end.
    let mut fds = [PollFd::new(r, POLLIN)];
    assert_eq!(ppoll(&mut fds, Some((0, 0)), None), Ok(1));
    assert!(fds[0].readable());
    sys::close(r).unwrap();
    assert_eq!(timespec(3_000_000_001), (3, 1));
}

/// Audit: the timeouts the loop may compute. `timespec` never makes an invalid one (its
/// largest is valid, not wrapped negative); the kernel refuses a negative or
/// out-of-range one with EINVAL rather than waiting; a huge valid one still returns at
/// once for a ready descriptor.
#[test]
fn timeouts_huge_negative_and_out_of_range() {
    assert_eq!(timespec(u64::MAX), (18_446_744_073, 709_551_615));
    let (r, w) = sys::pipe2(sys::O_CLOEXEC).unwrap();
    let mut fds = [PollFd::new(r, POLLIN)];
    assert_eq!(ppoll(&mut fds, Some((-1, 0)), None), Err(model::errno::Errno::EINVAL));
    assert_eq!(ppoll(&mut fds, Some((0, 1_000_000_000)), None), Err(model::errno::Errno::EINVAL));
    assert_eq!(sys::write(w, b"x"), Ok(1));
    for t in [timespec(u64::MAX), (i64::MAX, 999_999_999)] {
        let mut fds = [PollFd::new(r, POLLIN)];
        assert_eq!(ppoll(&mut fds, Some(t), None), Ok(1), "{t:?}");
        assert!(fds[0].readable());
    }
    sys::close(r).unwrap();
    sys::close(w).unwrap();
}
