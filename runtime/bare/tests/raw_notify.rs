//! bare's sd_notify socket against the real kernel: binding (`SO_PASSCRED` on), one
//! datagram with the sender's credentials, descriptors passed along (counted, closed),
//! truncation, an empty queue, and the control-message walk on made-up buffers.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;

use bare::notify::{bind_notify_socket, bind_socket, parse_control, recv_datagram};
use bare::sys;
use common::{c, in_fork, scratch};

#[test]
fn a_datagram_comes_with_the_senders_pid_and_truncation_is_flagged() {
    let dir = scratch("notify");
    let path = dir.join("notify");
    let fd = bind_socket(&c(&path)).unwrap();
    let mut on = 0i32;
    let mut len = 4u32;
    // SAFETY: getsockopt into a local int.
    unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PASSCRED, (&mut on as *mut i32).cast(), &mut len) };
    assert_eq!(on, 1);
    assert_eq!(recv_datagram(fd, 64), None, "nothing queued: no wait");
    let tx = UnixDatagram::unbound().unwrap();
    tx.send_to(b"READY=1", &path).unwrap();
    let d = recv_datagram(fd, 64).unwrap();
    assert_eq!(d.payload, b"READY=1");
    assert_eq!(d.pid, Some(std::process::id() as i32));
    assert_eq!((d.fds, d.truncated), (0, false));
    tx.send_to(&[b'x'; 100], &path).unwrap();
    let d = recv_datagram(fd, 10).unwrap();
    assert_eq!((d.payload.len(), d.truncated), (10, true));
    // Binding again over the old socket file works (it is unlinked first).
    let fd2 = bind_socket(&c(&path)).unwrap();
    sys::close(fd2).unwrap();
    sys::close(fd).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn passed_descriptors_are_counted_and_closed() {
    let dir = scratch("notify-fds");
    let path = dir.join("notify");
    let p2 = path.clone();
    // In a forked child: it counts its own open descriptors before and after.
    let code = in_fork(move || {
        let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
        let fd = bind_socket(&c(&p2)).unwrap();
        let tx = UnixDatagram::unbound().unwrap();
        tx.connect(&p2).unwrap();
        let (r, w) = sys::pipe2(sys::O_CLOEXEC).unwrap();
        let before = count();
        // sendmsg with SCM_RIGHTS of both pipe ends.
        let fds = [r, w];
        let mut cbuf = [0u64; 8];
        let mut iov = libc::iovec { iov_base: b"STATUS=x".as_ptr() as *mut _, iov_len: 8 };
        // SAFETY: a msghdr over local buffers, filled with libc's CMSG macros.
        let sent = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(8) as usize;
            let cm = libc::CMSG_FIRSTHDR(&msg);
            (*cm).cmsg_level = libc::SOL_SOCKET;
            (*cm).cmsg_type = libc::SCM_RIGHTS;
            (*cm).cmsg_len = libc::CMSG_LEN(8) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(cm), 8);
            libc::sendmsg(tx.as_raw_fd(), &msg, 0)
        };
        if sent != 8 {
            return 10;
        }
        let Some(d) = recv_datagram(fd, 64) else { return 11 };
        if d.payload != b"STATUS=x" || d.fds != 2 || d.pid != Some(std::process::id() as i32) {
            return 12;
        }
        // The two received copies are closed again: as many descriptors as before.
        if count() != before {
            return 13;
        }
        0
    });
    assert_eq!(code, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_notify_socket_path_is_absolute_when_it_fits() {
    let dir = scratch("notify-path");
    let d2 = dir.clone();
    let code = in_fork(move || {
        std::env::set_current_dir(&d2).unwrap();
        std::fs::create_dir("supervise").unwrap();
        let Ok((fd, path)) = bind_notify_socket(c"supervise/notify") else { return 10 };
        let want = d2.join("supervise/notify");
        if path != want.as_os_str().as_encoded_bytes() || !want.exists() {
            return 11;
        }
        let _ = sys::close(fd);
        // A directory too deep for sun_path: the relative name.
        let deep = d2.join("d".repeat(100));
        std::fs::create_dir_all(deep.join("supervise")).unwrap();
        std::env::set_current_dir(&deep).unwrap();
        match bind_notify_socket(c"supervise/notify") {
            Ok((fd, p)) if p == b"supervise/notify" => {
                let _ = sys::close(fd);
                0
            }
            _ => 12,
        }
    });
    assert_eq!(code, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One control message: header (length, level, type), data, padding to 8.
fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((16 + data.len()) as u64).to_ne_bytes());
    v.extend_from_slice(&level.to_ne_bytes());
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(data);
    while v.len() % 8 != 0 {
        v.push(0);
    }
    v
}

#[test]
fn the_control_walk_reads_credentials_counts_rights_and_stops_at_garbage() {
    let cred: Vec<u8> = [4242i32, 0, 0].iter().flat_map(|v| v.to_ne_bytes()).collect();
    let rights: Vec<u8> = [100i32, 101, 102].iter().flat_map(|v| v.to_ne_bytes()).collect();
    let mut buf = cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &rights);
    buf.extend(cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &cred));
    assert_eq!(parse_control(&buf, false), (Some(4242), 3));
    // Another level is skipped; a length past the end stops the walk.
    let mut other = cmsg(6, libc::SCM_CREDENTIALS, &cred);
    other.extend(cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &cred));
    assert_eq!(parse_control(&other, false), (Some(4242), 0));
    let mut bad = cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &cred);
    bad[0] = 200;
    assert_eq!(parse_control(&bad, false), (None, 0));
    assert_eq!(parse_control(&[], false), (None, 0));
    // Short credentials are not read.
    assert_eq!(parse_control(&cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &cred[..8]), false), (None, 0));
}

/// Audit: a length near the top of `u64` after a good message overflowed `at + len`
/// (a panic in a debug build, an out-of-order slice in a release one); it must end the
/// walk like any other length past the end.
#[test]
fn a_control_length_near_u64_max_ends_the_walk_without_a_panic() {
    let cred: Vec<u8> = [4242i32, 0, 0].iter().flat_map(|v| v.to_ne_bytes()).collect();
    let rights: Vec<u8> = [100i32, 101].iter().flat_map(|v| v.to_ne_bytes()).collect();
    for huge in [u64::MAX, u64::MAX - 7, u64::MAX - 31, (usize::MAX / 2) as u64 + 1] {
        let mut buf = cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &cred);
        let mut bad = cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &rights);
        bad[..8].copy_from_slice(&huge.to_ne_bytes());
        buf.extend(bad);
        assert_eq!(parse_control(&buf, false), (Some(4242), 0), "length {huge:#x}");
    }
}

/// Audit: more descriptors than the control buffer holds (60, 52 fit): the kernel keeps
/// the rest, those that arrive are counted, and every one is closed again.
#[test]
fn many_passed_descriptors_are_all_closed() {
    let dir = scratch("notify-many-fds");
    let path = dir.join("notify");
    let p2 = path.clone();
    let code = in_fork(move || {
        let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
        let fd = bind_socket(&c(&p2)).unwrap();
        let tx = UnixDatagram::unbound().unwrap();
        tx.connect(&p2).unwrap();
        let (r, w) = sys::pipe2(sys::O_CLOEXEC).unwrap();
        let before = count();
        let fds = [r; 60];
        let space = 16 + 60 * 4;
        let mut cbuf = vec![0u64; space / 8 + 1];
        let mut iov = libc::iovec { iov_base: b"READY=1".as_ptr() as *mut _, iov_len: 7 };
        // SAFETY: a msghdr over local buffers, filled with libc's CMSG macros.
        let sent = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(60 * 4) as usize;
            let cm = libc::CMSG_FIRSTHDR(&msg);
            (*cm).cmsg_level = libc::SOL_SOCKET;
            (*cm).cmsg_type = libc::SCM_RIGHTS;
            (*cm).cmsg_len = libc::CMSG_LEN(60 * 4) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(cm), 60 * 4);
            libc::sendmsg(tx.as_raw_fd(), &msg, 0)
        };
        if sent != 7 {
            return 10;
        }
        let Some(d) = recv_datagram(fd, 64) else { return 11 };
        if d.payload != b"READY=1" || d.pid != Some(std::process::id() as i32) || d.fds == 0 || d.fds > 60 {
            return 12;
        }
        if count() != before {
            return 13;
        }
        let _ = (sys::close(r), sys::close(w), sys::close(fd));
        0
    });
    assert_eq!(code, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Audit: a service directory whose path does not fit `getcwd`'s 512-byte buffer
/// (ERANGE) made the bind fail (sd_notify off, a warning) where the std runsv, whose
/// `current_dir` grows its buffer, binds and passes the relative name.
#[test]
fn a_directory_longer_than_the_getcwd_buffer_still_binds_with_the_relative_name() {
    let dir = scratch("notify-long-cwd");
    let d2 = dir.clone();
    let code = in_fork(move || {
        let deep = d2.join("a".repeat(200)).join("b".repeat(200)).join("c".repeat(200));
        std::fs::create_dir_all(deep.join("supervise")).unwrap();
        std::env::set_current_dir(&deep).unwrap();
        if std::env::current_dir().unwrap().as_os_str().len() < 512 {
            return 9;
        }
        match bind_notify_socket(c"supervise/notify") {
            Ok((fd, p)) if p == b"supervise/notify" && deep.join("supervise/notify").exists() => {
                let _ = sys::close(fd);
                0
            }
            Ok(_) => 10,
            Err(e) => 100 + e.0,
        }
    });
    assert_eq!(code, 0, "100 + errno: the bind failed");
    std::fs::remove_dir_all(&dir).unwrap();
}
