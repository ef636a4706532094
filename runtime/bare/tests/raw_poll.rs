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
