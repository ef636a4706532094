//! runsv's readiness plumbing (docs/readiness.md): reads the service directory's readiness
//! files at start-up, owns the notification-fd pipe of the current `./run` and the
//! `supervise/notify` datagram socket, and turns what arrives on them into
//! [`Input::NotificationFd`] / [`Input::Notify`]. Every decision (what a value means, who
//! may notify, what a message does) is the model's.

use alloc::collections::VecDeque;
use alloc::ffi::CString;
use alloc::vec;
use alloc::vec::Vec;

use model::readiness::config::{self, FileValue, READ_MAX};
use model::readiness::notify::{Sender, ANCESTRY_MAX};
use model::readiness::{pipe::CHUNK, text as rtext, Protocol, NOTIFICATION_FD_FILE, NOTIFY_SOCKET_FILE, NOTIFY_SOCKET_PATH, WATCHDOG_FILE};
use model::runsv::{Input, Readiness};

use super::driver::{Interest, Woke};
use super::setup::{Present, SetupSys};
use super::spawn::{cstr, SpawnSpec};
use super::syscalls::{Datagram, Syscalls};

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

/// Reads up to [`READ_MAX`] bytes of a service-directory file (one `read`) into `buf`.
fn read_file(os: &mut impl Syscalls, name: &[u8], buf: &mut Vec<u8>) -> Result<(), model::errno::Errno> {
    let path = cstr(name)?;
    let fd = os.open_read(&path)?;
    let mut chunk = vec![0u8; READ_MAX];
    let r = os.read(fd, &mut chunk);
    let _ = os.close(fd);
    let n = r?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn file_value<'a>(os: &mut impl Syscalls, name: &[u8], buf: &'a mut Vec<u8>, present: &Present) -> FileValue<'a> {
    if !present.may_exist(name) {
        return FileValue::Missing;
    }
    match read_file(os, name, buf) {
        Ok(()) => FileValue::Content(buf),
        Err(model::errno::Errno::ENOENT) => FileValue::Missing,
        Err(e) => FileValue::Unreadable(e),
    }
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
    pub fn setup(os: &mut impl SetupSys, dir: &[u8], present: &Present) -> (ReadyIo, Readiness) {
        let warn = |os: &mut _, w: Option<config::ConfigWarning>| {
            if let Some(w) = w {
                Syscalls::write_stderr(os, &rtext::config_warning(dir, w));
            }
        };
        let (mut b1, mut b2, mut b3) = (Vec::new(), Vec::new(), Vec::new());
        let nfd_file = file_value(os, NOTIFICATION_FD_FILE, &mut b1, present);
        let limit = if matches!(nfd_file, FileValue::Missing) { 0 } else { os.fd_limit() };
        let nfd = config::notification_fd(nfd_file, limit);
        warn(os, nfd.warning());
        let notify = config::notify_socket(file_value(os, NOTIFY_SOCKET_FILE, &mut b2, present));
        warn(os, notify.warning());
        let mut io = ReadyIo { notification_fd: nfd.value().map(|n| n as i32), ..ReadyIo::default() };
        if notify.value().is_some() {
            match bind_notify_socket(os) {
                Ok((fd, path)) => {
                    io.socket = Some(fd);
                    io.env.push((b"NOTIFY_SOCKET", path));
                }
                Err(e) => {
                    os.write_stderr(&model::msg::line(&[b"runsv ", dir, b": warning: unable to bind ", NOTIFY_SOCKET_PATH, b": "], Some(e)))
                }
            }
        }
        let watchdog = config::watchdog(file_value(os, WATCHDOG_FILE, &mut b3, present), io.socket.is_some());
        warn(os, watchdog.warning());
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
            let ours: [&[u8]; 3] = [b"NOTIFY_SOCKET", b"WATCHDOG_USEC", b"WATCHDOG_PID"];
            let mut env: Vec<CString> = os
                .environment()
                .into_iter()
                .filter(|(k, _)| !ours.contains(&&k[..]))
                .filter_map(|(k, v)| CString::new([&k[..], b"=", &v[..]].concat()).ok())
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

/// Binds `supervise/notify` (relative to the service directory, the current one): the
/// socket, and the path `./run` gets in `NOTIFY_SOCKET` (absolute where it fits).
fn bind_notify_socket(os: &mut impl SetupSys) -> Result<(i32, Vec<u8>), model::errno::Errno> {
    let mut abs = os.getcwd()?;
    abs.push(b'/');
    abs.extend_from_slice(NOTIFY_SOCKET_PATH);
    let rel = NOTIFY_SOCKET_PATH;
    let sock = os.bind_notify_socket(&cstr(rel)?)?;
    let path = if abs.len() < SUN_PATH_MAX { abs } else { rel.to_vec() };
    Ok((sock, path))
}

/// The input for one received datagram, with the sender's ancestry.
fn notify_input(os: &mut impl Syscalls, d: Datagram) -> Input {
    let sender = d.pid.map(|pid| Sender { pid, ancestors: ancestors(os, pid) });
    Input::Notify { sender, payload: d.payload, fds: d.fds, truncated: d.truncated }
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

/// Field 4 of a `/proc/<pid>/stat` (after the last `)`, as `comm` may hold anything): the
/// parent. One parse for every kernel's [`Syscalls::parent_of`] (raw and std).
pub fn parent_in_stat(stat: &[u8]) -> Option<i32> {
    let close = stat.iter().rposition(|&c| c == b')')?;
    let rest = core::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parent_in_stat;

    #[test]
    fn parent_is_field_four_after_the_last_paren() {
        assert_eq!(parent_in_stat(b"42 (a) b) S 7 42 42 0"), Some(7));
        assert_eq!(parent_in_stat(b"42 (sh) S 1 42"), Some(1));
        assert_eq!(parent_in_stat(b"42 (sh) S"), None);
        assert_eq!(parent_in_stat(b"42 sh S 1"), None);
    }
}
