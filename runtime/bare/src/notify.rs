//! The sd_notify socket without libc (`supervise/notify`): binding it as
//! `runtime::exec::runsv_ready` does (`getcwd`, `socket`, `unlink`, `bind`,
//! `SO_PASSCRED`) and receiving one datagram with the `Datagram` semantics of
//! `runtime::os` (the sender's pid from `SCM_CREDENTIALS`; descriptors passed along
//! counted and closed at once; the truncation flag).

use core::ffi::CStr;

use alloc::vec::Vec;
use model::errno::Errno;

use crate::sys::{self, syscall6, SysResult};

const NR_SOCKET: usize = 41;
const NR_RECVMSG: usize = 47;
const NR_BIND: usize = 49;
const NR_SETSOCKOPT: usize = 54;
const AF_UNIX: usize = 1;
const SOCK_DGRAM: usize = 2;
const SOL_SOCKET: i32 = 1;
const SO_PASSCRED: usize = 16;
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;
const MSG_TRUNC: i32 = 0x20;
const MSG_DONTWAIT: usize = 0x40;
const MSG_CMSG_CLOEXEC: usize = 0x4000_0000;
/// Linux's `sizeof(sun_path)`: an absolute socket path must be shorter (room for its NUL).
pub const SUN_PATH_MAX: usize = 108;

/// One received sd_notify datagram: the executor's type ([`crate::exec::syscalls`]), so
/// [`recv_datagram`] is `Syscalls::recv_datagram` as it stands.
pub use crate::exec::syscalls::Datagram;

/// `socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)`, `unlink(rel)`,
/// `bind(rel)` (address length: the path without its NUL, as nix's), `setsockopt(
/// SO_PASSCRED, 1)`: the bound socket; closed again on a failure.
pub fn bind_socket(rel: &CStr) -> SysResult<i32> {
    let path = rel.to_bytes();
    if path.len() >= SUN_PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    // SAFETY: plain number arguments.
    let fd = sys::result(unsafe { syscall6(NR_SOCKET, [AF_UNIX, SOCK_DGRAM | sys::O_CLOEXEC | sys::O_NONBLOCK, 0, 0, 0, 0]) })? as i32;
    let _ = crate::file::unlink(rel);
    let mut addr = [0u8; 2 + SUN_PATH_MAX];
    addr[0] = AF_UNIX as u8;
    addr[2..2 + path.len()].copy_from_slice(path);
    let one = 1i32;
    // SAFETY: addr is a `struct sockaddr_un` of at least the length passed; `one` an int.
    let r = unsafe {
        sys::result(syscall6(NR_BIND, [fd as usize, addr.as_ptr() as usize, 2 + path.len(), 0, 0, 0])).and_then(|_| {
            sys::result(syscall6(NR_SETSOCKOPT, [fd as usize, SOL_SOCKET as usize, SO_PASSCRED, &one as *const i32 as usize, 4, 0]))
        })
    };
    match r {
        Ok(_) => Ok(fd),
        Err(e) => {
            let _ = sys::close(fd);
            Err(e)
        }
    }
}

/// runsv's `bind_notify_socket`: the current directory (`getcwd`, a 512-byte buffer)
/// first, then [`bind_socket`] of `rel`; the socket and the `NOTIFY_SOCKET` value (the
/// absolute path when it fits in `sun_path`, else `rel`, as for a directory too long for
/// the buffer).
pub fn bind_notify_socket(rel: &CStr) -> SysResult<(i32, Vec<u8>)> {
    const ERANGE: Errno = Errno(34);
    let mut cwd = [0u8; 512];
    // A directory of 512 bytes or more does not fit: std's `current_dir` (the std runsv)
    // grows its buffer and succeeds, and its path is then too long for `sun_path` anyway,
    // so that case is the relative name, not a failure. Other errors (a removed
    // directory, a path over PATH_MAX) are std's too.
    let abs = match crate::file::getcwd(&mut cwd) {
        Ok(n) => {
            let mut abs = Vec::with_capacity(n + 1 + rel.to_bytes().len());
            abs.extend_from_slice(&cwd[..n]);
            abs.push(b'/');
            abs.extend_from_slice(rel.to_bytes());
            Some(abs)
        }
        Err(ERANGE) => None,
        Err(e) => return Err(e),
    };
    let fd = bind_socket(rel)?;
    let path = match abs {
        Some(abs) if abs.len() < SUN_PATH_MAX => abs,
        _ => rel.to_bytes().to_vec(),
    };
    Ok((fd, path))
}

/// The kernel's `struct msghdr`.
#[repr(C)]
struct MsgHdr {
    name: usize,
    namelen: u32,
    iov: usize,
    iovlen: usize,
    control: usize,
    controllen: usize,
    flags: i32,
}

/// Room for the credentials and up to 16 descriptors, aligned as `cmsghdr` needs.
#[repr(C, align(8))]
struct ControlBuf([u8; 256]);

/// Receives one datagram of at most `max` bytes (`recvmsg(fd, MSG_DONTWAIT |
/// MSG_CMSG_CLOEXEC)`); `None` when none is queued (or on any error). Descriptors passed
/// along are closed at once.
pub fn recv_datagram(fd: i32, max: usize) -> Option<Datagram> {
    let mut buf = alloc::vec![0u8; max];
    let mut cbuf = ControlBuf([0; 256]);
    let iov = [buf.as_mut_ptr() as usize, buf.len()];
    let mut msg = MsgHdr {
        name: 0,
        namelen: 0,
        iov: iov.as_ptr() as usize,
        iovlen: 1,
        control: cbuf.0.as_mut_ptr() as usize,
        controllen: core::mem::size_of::<ControlBuf>(),
        flags: 0,
    };
    // SAFETY: msg describes live buffers (payload, one iovec, control) for the call.
    let n = sys::result(unsafe {
        syscall6(NR_RECVMSG, [fd as usize, &mut msg as *mut MsgHdr as usize, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, 0, 0, 0])
    })
    .ok()?;
    let (pid, fds) = parse_control(&cbuf.0[..msg.controllen.min(cbuf.0.len())], true);
    buf.truncate(n);
    Some(Datagram { payload: buf, pid, fds, truncated: msg.flags & MSG_TRUNC != 0 })
}

/// Walks control messages (`cmsghdr`: u64 length, i32 level, i32 type, data at 16,
/// each padded to 8 bytes): the credentials' pid and the count of descriptors passed
/// (each closed when `close` is set). A malformed header ends the walk.
pub fn parse_control(control: &[u8], close: bool) -> (Option<i32>, usize) {
    const HDR: usize = 16;
    let word = |at: usize, len: usize| -> Option<u64> {
        let b = control.get(at..at + len)?;
        let mut v = [0u8; 8];
        v[..len].copy_from_slice(b);
        Some(u64::from_ne_bytes(v))
    };
    let (mut pid, mut fds, mut at) = (None, 0usize, 0usize);
    // At most one header per 16 bytes: the walk is bounded by the buffer.
    for _ in 0..control.len() / HDR {
        let (Some(len), Some(level), Some(kind)) = (word(at, 8), word(at + 8, 4), word(at + 12, 4)) else { break };
        // `at` is within the buffer (its header was read): compare against what is left,
        // so a length near `u64::MAX` ends the walk instead of overflowing `at + len`.
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len < HDR || len > control.len() - at {
            break;
        }
        let data = &control[at + HDR..at + len];
        if level as i32 == SOL_SOCKET && kind as i32 == SCM_CREDENTIALS && data.len() >= 12 {
            pid = Some(i32::from_ne_bytes([data[0], data[1], data[2], data[3]]));
        } else if level as i32 == SOL_SOCKET && kind as i32 == SCM_RIGHTS {
            for f in data.chunks_exact(4) {
                if close {
                    let _ = sys::close(i32::from_ne_bytes([f[0], f[1], f[2], f[3]]));
                }
                fds += 1;
            }
        }
        at += (len + 7) & !7;
    }
    (pid, fds)
}
