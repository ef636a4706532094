//! runsv's readiness plumbing: the executor's part (reading the files, the pipe, turning
//! datagrams into inputs) lives in `bare::exec::runsv_ready`, generic over the system
//! calls, re-exported here. What stays is the real kernel's side of the sd_notify socket
//! (binding it, receiving a datagram with its credentials) and `/proc`'s parent pid, behind
//! [`crate::os::Real`].

use std::ffi::CStr;

use model::readiness::notify::NOTIFY_BUFFER_MAX;

pub use bare::exec::runsv_ready::*;

use crate::os::Datagram;
use crate::sys;

/// The real kernel's [`crate::os::SetupSys::bind_notify_socket`]: a datagram socket
/// (close-on-exec, non-blocking) bound at `rel` after unlinking what is there, with
/// `SO_PASSCRED`.
pub(crate) fn bind_notify_socket(rel: &CStr) -> Result<i32, model::errno::Errno> {
    use nix::sys::socket::{bind, setsockopt, socket, sockopt::PassCred, AddressFamily, SockFlag, SockType, UnixAddr};
    use std::os::fd::{AsRawFd, IntoRawFd};
    let errno = |e: nix::errno::Errno| model::errno::Errno(e as i32);
    // Closed again on every early return (an `OwnedFd`).
    let sock = socket(AddressFamily::Unix, SockType::Datagram, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK, None).map_err(errno)?;
    let _ = sys::unlink(rel);
    bind(sock.as_raw_fd(), &UnixAddr::new(rel.to_bytes()).map_err(errno)?).map_err(errno)?;
    setsockopt(&sock, PassCred, &true).map_err(errno)?;
    Ok(sock.into_raw_fd())
}

/// Room for the credentials and up to 16 descriptors, aligned as `cmsghdr` needs: its
/// length is the buffer's own size, so the two cannot disagree.
#[repr(C, align(8))]
struct ControlBuf([u8; 256]);

/// Receives one datagram (the real kernel's [`Syscalls::recv_datagram`]); `None` when
/// none is queued. Descriptors passed along are closed at once.
pub(crate) fn recv_datagram(fd: i32) -> Option<Datagram> {
    let mut buf = vec![0u8; NOTIFY_BUFFER_MAX];
    let mut cbuf = ControlBuf([0; 256]);
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: zeroed msghdr is valid; pointers set below stay alive for the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of::<ControlBuf>() as _;
    // SAFETY: msg describes valid buffers.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return None;
    }
    let mut pid = None;
    let mut fds = 0usize;
    // SAFETY: walking the control messages the kernel wrote, with libc's macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            let payload = (*c).cmsg_len as usize - (data as usize - c as usize);
            if (*c).cmsg_level == libc::SOL_SOCKET
                && (*c).cmsg_type == libc::SCM_CREDENTIALS
                && payload >= std::mem::size_of::<libc::ucred>()
            {
                let cred: libc::ucred = std::ptr::read_unaligned(data.cast());
                pid = Some(cred.pid);
            } else if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let count = payload / 4;
                for i in 0..count {
                    let f: i32 = std::ptr::read_unaligned(data.cast::<i32>().add(i));
                    libc::close(f);
                    fds += 1;
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    let truncated = msg.msg_flags & libc::MSG_TRUNC != 0;
    buf.truncate(n as usize);
    Some(Datagram { payload: buf, pid, fds, truncated })
}

/// Field 4 of `/proc/<pid>/stat` (after the last `)`, as `comm` may contain anything):
/// the real kernel's [`Syscalls::parent_of`].
pub(crate) fn parent_of(pid: i32) -> Option<i32> {
    parent_in_stat(&std::fs::read(format!("/proc/{pid}/stat")).ok()?)
}
