//! runsv's readiness plumbing (docs/readiness.md): reads the service directory's readiness
//! files at start-up, owns the notification-fd pipe of the current `./run` and the
//! `supervise/notify` datagram socket, and turns what arrives on them into
//! [`Input::NotificationFd`] / [`Input::Notify`]. Every decision (what a value means, who
//! may notify, what a message does) is the model's.

use std::collections::VecDeque;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use model::readiness::config::{self, FileValue, READ_MAX};
use model::readiness::notify::{Sender, ANCESTRY_MAX, NOTIFY_BUFFER_MAX};
use model::readiness::{pipe::CHUNK, text as rtext, Protocol, NOTIFICATION_FD_FILE, NOTIFY_SOCKET_FILE, NOTIFY_SOCKET_PATH, WATCHDOG_FILE};
use model::runsv::{Input, Readiness};

use crate::driver::Woke;
use crate::os::{Datagram, Syscalls};
use crate::process::SpawnSpec;
use crate::sys;
use crate::wait::Interest;

/// The readiness descriptors of one runsv.
#[derive(Debug, Default)]
pub struct ReadyIo {
    /// `notification-fd`'s number, when valid.
    notification_fd: Option<i32>,
    /// Read end of the current child's pipe, with the child's pid (0 until forked).
    pipe: Option<(i32, u32)>,
    /// Write end between pipe creation and the fork's return.
    pipe_w: Option<i32>,
    /// The bound `supervise/notify` socket.
    socket: Option<i32>,
    /// Variables `./run` gets on top of runsv's environment.
    env: Vec<(&'static [u8], Vec<u8>)>,
}

/// Reads up to [`READ_MAX`] bytes of a service-directory file.
fn read_file(name: &[u8], buf: &mut Vec<u8>) -> Result<(), model::errno::Errno> {
    let path = sys::cstr(name)?;
    let fd = crate::fs::open_read(&path)?;
    let r = sys::read_append(fd, buf, READ_MAX);
    let _ = sys::close(fd);
    r.map(|_| ())
}

fn file_value<'a>(name: &[u8], buf: &'a mut Vec<u8>, present: &crate::fs::Present) -> FileValue<'a> {
    if !present.may_exist(name) {
        return FileValue::Missing;
    }
    match read_file(name, buf) {
        Ok(()) => FileValue::Content(buf),
        Err(model::errno::Errno::ENOENT) => FileValue::Missing,
        Err(e) => FileValue::Unreadable(e),
    }
}

/// The soft `RLIMIT_NOFILE` (`notification-fd` must be below it); 1024 if unknown.
fn fd_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft)
}

impl ReadyIo {
    /// Readiness plumbing whose start-up is done (the simulator's runsv): `notification_fd`
    /// is the number `./run` gets its pipe on, `socket` the bound `supervise/notify`.
    pub fn started(notification_fd: Option<i32>, socket: Option<i32>) -> ReadyIo {
        ReadyIo { notification_fd, socket, ..ReadyIo::default() }
    }

    /// Reads `notification-fd`, `notify-socket` and `timeout-watchdog` (in the service
    /// directory, the current directory), prints the warnings the model formats, and binds
    /// `supervise/notify` when sd_notify is on. A socket that cannot be bound is a warning
    /// and sd_notify is off.
    pub fn setup(dir: &[u8], present: &crate::fs::Present) -> (ReadyIo, Readiness) {
        let warn = |w: Option<config::ConfigWarning>| {
            if let Some(w) = w {
                crate::diag::write_stderr(&rtext::config_warning(dir, w));
            }
        };
        let (mut b1, mut b2, mut b3) = (Vec::new(), Vec::new(), Vec::new());
        let nfd_file = file_value(NOTIFICATION_FD_FILE, &mut b1, present);
        let limit = if matches!(nfd_file, FileValue::Missing) { 0 } else { fd_limit() };
        let nfd = config::notification_fd(nfd_file, limit);
        warn(nfd.warning());
        let notify = config::notify_socket(file_value(NOTIFY_SOCKET_FILE, &mut b2, present));
        warn(notify.warning());
        let mut io = ReadyIo { notification_fd: nfd.value().map(|n| n as i32), ..ReadyIo::default() };
        if notify.value().is_some() {
            match bind_notify_socket() {
                Ok((fd, path)) => {
                    io.socket = Some(fd);
                    io.env.push((b"NOTIFY_SOCKET", path));
                }
                Err(e) => crate::diag::write_stderr(&model::msg::line(
                    &[b"runsv ", dir, b": warning: unable to bind ", NOTIFY_SOCKET_PATH, b": "],
                    Some(e),
                )),
            }
        }
        let watchdog = config::watchdog(file_value(WATCHDOG_FILE, &mut b3, present), io.socket.is_some());
        warn(watchdog.warning());
        if let Some(period) = watchdog.value() {
            // WATCHDOG_PID is not exported: the child's pid is not known before the fork,
            // and without it sd_watchdog_enabled() accepts any process (sd-daemon.c).
            let [(k, v), _] = config::watchdog_env(period, 0);
            io.env.push((k, v));
        }
        let readiness =
            Readiness { protocol: Protocol::from_switches(io.notification_fd.is_some(), io.socket.is_some()), watchdog: watchdog.value() };
        (io, readiness)
    }

    /// Prepares the spawn of `./run`: a fresh pipe on `notification-fd`, the sd_notify
    /// variables. Any previous pipe is closed (each start gets a fresh one).
    pub fn prepare_run(&mut self, os: &mut impl Syscalls, spec: &mut SpawnSpec) -> Result<(), model::errno::Errno> {
        self.close_pipe(os);
        if let Some(n) = self.notification_fd {
            let (r, w) = os.pipe()?;
            let _ = os.set_nonblock(r);
            self.pipe = Some((r, 0));
            self.pipe_w = Some(w);
            spec.extra_fd = Some((w, n));
        }
        if !self.env.is_empty() {
            let ours: Vec<&[u8]> = [&b"NOTIFY_SOCKET"[..], b"WATCHDOG_USEC", b"WATCHDOG_PID"].to_vec();
            let mut env: Vec<CString> = std::env::vars_os()
                .filter(|(k, _)| !ours.contains(&k.as_bytes()))
                .filter_map(|(k, v)| {
                    let mut kv: OsString = k;
                    kv.push("=");
                    kv.push(v);
                    CString::new(kv.into_vec()).ok()
                })
                .collect();
            for (k, v) in &self.env {
                env.extend(CString::new([*k, b"=", v].concat()).ok());
            }
            spec.env = Some(env);
        }
        Ok(())
    }

    /// The fork of `./run` returned: the parent's copy of the write end goes, and the read
    /// end is now that child's (`None` = the fork failed: the pipe goes too).
    pub fn spawned(&mut self, os: &mut impl Syscalls, pid: Option<u32>) {
        if let Some(w) = self.pipe_w.take() {
            let _ = os.close(w);
        }
        match (pid, &mut self.pipe) {
            (Some(p), Some((_, owner))) => *owner = p,
            (None, Some(_)) => self.close_pipe(os),
            (_, None) => {}
        }
    }

    /// Closes the read end of the current child's pipe (the model's
    /// `CloseNotificationFd`).
    pub fn close_pipe(&mut self, os: &mut impl Syscalls) {
        if let Some((r, _)) = self.pipe.take() {
            let _ = os.close(r);
        }
    }

    /// The descriptors to poll.
    pub fn interests(&self, out: &mut Vec<Interest>) {
        if let Some((r, pid)) = self.pipe {
            if pid != 0 {
                out.push(Interest::read(r));
            }
        }
        if let Some(s) = self.socket {
            out.push(Interest::read(s));
        }
    }

    /// Reads what woke: one chunk of the pipe, every queued datagram.
    pub fn gather(&mut self, os: &mut impl Syscalls, woke: &Woke, out: &mut VecDeque<Input>) {
        let ready = |fd: i32| woke.ready.iter().any(|r| r.fd == fd && r.readable);
        if let Some((r, pid)) = self.pipe {
            if pid != 0 && ready(r) {
                let mut buf = [0u8; CHUNK];
                match os.read(r, &mut buf) {
                    Ok(n) => out.push_back(Input::NotificationFd { pid, chunk: buf[..n].to_vec() }),
                    Err(model::errno::Errno::EAGAIN) | Err(model::errno::Errno::EINTR) => {}
                    Err(_) => out.push_back(Input::NotificationFd { pid, chunk: Vec::new() }),
                }
            }
        }
        if let Some(s) = self.socket {
            if ready(s) {
                // Bounded: at most this many datagrams per wake-up, the rest next time.
                for _ in 0..64 {
                    match os.recv_datagram(s) {
                        Some(d) => out.push_back(notify_input(os, d)),
                        None => break,
                    }
                }
            }
        }
    }
}

/// Linux's `sizeof(sun_path)`: an absolute socket path must be shorter (room for its NUL).
const SUN_PATH_MAX: usize = 108;

fn bind_notify_socket() -> Result<(i32, Vec<u8>), model::errno::Errno> {
    use nix::sys::socket::{bind, setsockopt, socket, sockopt::PassCred, AddressFamily, SockFlag, SockType, UnixAddr};
    use std::os::fd::{AsRawFd, IntoRawFd};
    let errno = |e: nix::errno::Errno| model::errno::Errno(e as i32);
    let cwd = std::env::current_dir().map_err(|e| model::errno::Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let mut abs = cwd.as_os_str().as_bytes().to_vec();
    abs.push(b'/');
    abs.extend_from_slice(NOTIFY_SOCKET_PATH);
    let rel = NOTIFY_SOCKET_PATH;
    // Closed again on every early return (an `OwnedFd`).
    let sock = socket(AddressFamily::Unix, SockType::Datagram, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK, None).map_err(errno)?;
    let _ = sys::unlink(&sys::cstr(rel)?);
    bind(sock.as_raw_fd(), &UnixAddr::new(rel).map_err(errno)?).map_err(errno)?;
    setsockopt(&sock, PassCred, &true).map_err(errno)?;
    let path = if abs.len() < SUN_PATH_MAX { abs } else { rel.to_vec() };
    Ok((sock.into_raw_fd(), path))
}

/// Room for the credentials and up to 16 descriptors, aligned as `cmsghdr` needs: its
/// length is the buffer's own size, so the two cannot disagree.
#[repr(C, align(8))]
struct ControlBuf([u8; 256]);

/// The input for one received datagram, with the sender's ancestry.
fn notify_input(os: &mut impl Syscalls, d: Datagram) -> Input {
    let sender = d.pid.map(|pid| Sender { pid, ancestors: ancestors(os, pid) });
    Input::Notify { sender, payload: d.payload, fds: d.fds, truncated: d.truncated }
}

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

/// The parent chain of `pid` from `/proc` (at most [`ANCESTRY_MAX`]).
fn ancestors(os: &mut impl Syscalls, pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut p = pid;
    while out.len() < ANCESTRY_MAX && p > 1 {
        match os.parent_of(p) {
            Some(pp) if pp > 0 => {
                out.push(pp);
                p = pp;
            }
            _ => break,
        }
    }
    out
}

/// Field 4 of `/proc/<pid>/stat` (after the last `)`, as `comm` may contain anything):
/// the real kernel's [`Syscalls::parent_of`].
pub(crate) fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&c| c == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}
