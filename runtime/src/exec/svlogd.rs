//! The svlogd executor: carries out [`model::svlogd::Action`]s with syscalls relative to
//! each log directory's fd (`openat`, `renameat`, ...), reads stdin when the machine
//! arms a read, reaps processors, and turns signals into inputs. Mechanism only: every
//! decision (what to write where, when to rotate, what to print) is the model's.

use std::collections::VecDeque;
use std::ffi::CString;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

use model::errno::Errno;
use model::spawn::Signal;
use model::svlogd::logger::{name_time, OpenStep, READ_SIZE};
use model::svlogd::spawn::processor_plan;
use model::svlogd::{Action, Input, LogName, Logger, Sig, UdpOutcome};
use model::{Now, Tai64n};
use nix::sys::socket::{sendto, socket, AddressFamily, MsgFlags, SockFlag, SockType, SockaddrIn};

use crate::driver::{Io, Woke};
use crate::os::{LogSyscalls, Real};
use crate::sys::{self, SysResult};
use crate::wait::Interest;

#[derive(Clone, Copy, Debug)]
struct DirFds {
    dir: i32,
    lock: i32,
    cur: i32,
}

/// No descriptor (a directory not open, `current` closed); [`close`] skips it.
const NONE: i32 = -1;

const CLOSED: DirFds = DirFds { dir: NONE, lock: NONE, cur: NONE };

/// The signals svlogd handles as runit does.
pub const HANDLED_SIGNALS: [i32; 4] = [libc::SIGTERM, libc::SIGCHLD, libc::SIGALRM, libc::SIGHUP];

/// What a processor child unblocks as runit does (SIGCHLD stays blocked).
const PROCESSOR_UNBLOCK: [i32; 3] = [libc::SIGTERM, libc::SIGALRM, libc::SIGHUP];

/// svlogd's signals: runit's four plus the strays it survives. INT and QUIT keep their
/// default (an svlogd run from a terminal still stops on `^C` and `^\`); call before
/// installing handlers.
pub fn handled_signals() -> (Vec<i32>, crate::signals::Strays) {
    let strays = crate::signals::strays(&HANDLED_SIGNALS, &[libc::SIGINT, libc::SIGQUIT]);
    crate::signals::ignore_reserved();
    let mut all = HANDLED_SIGNALS.to_vec();
    all.extend_from_slice(&strays.catch);
    (all, strays)
}

/// The svlogd [`Io`]: one entry per directory argument, over the kernel `S` (the real one
/// in the binary, the fake one in the joint simulation).
pub struct SvlogdIo<S: LogSyscalls = Real> {
    os: S,
    paths: Vec<Vec<u8>>,
    fds: Vec<DirFds>,
    armed: Option<usize>,
    spare: Vec<Vec<u8>>,
    finished: Option<i32>,
    /// Signals a processor sets back to default and unblocks.
    child_unblock: Vec<i32>,
}

fn cname(name: &[u8]) -> CString {
    // Names come from the model (27 hex/ASCII bytes) or are constants: never a NUL.
    CString::new(name).unwrap_or_default()
}

fn close<S: LogSyscalls>(os: &mut S, fd: i32) {
    if fd >= 0 {
        let _ = os.close(fd);
    }
}

/// Every `@` name of exactly 27 bytes in the directory, in readdir order.
fn scan<S: LogSyscalls>(os: &mut S, dir: i32) -> SysResult<Vec<LogName>> {
    let names = os.list_at(dir)?;
    Ok(names.iter().filter_map(|n| <LogName>::try_from(n.to_bytes()).ok().filter(|a| a[0] == b'@')).collect())
}

/// Sends one datagram to `udp` from a fresh non-blocking socket ([`Real`]'s `send_udp`).
pub fn send_udp(udp: model::svlogd::config::Udp, bytes: &[u8]) -> UdpOutcome {
    let Ok(sock) = socket(AddressFamily::Inet, SockType::Datagram, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, None) else {
        return UdpOutcome::NoSocket;
    };
    let to = SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::from(udp.addr), udp.port));
    // A datagram is sent whole or not at all (a short count cannot happen).
    match sendto(sock.as_raw_fd(), bytes, &to, MsgFlags::empty()) {
        Ok(_) => UdpOutcome::Sent,
        Err(_) => UdpOutcome::Failed,
    }
}

impl SvlogdIo<Real> {
    /// An executor for the given directory arguments; `strays` as found by
    /// [`handled_signals`].
    pub fn new(paths: Vec<Vec<u8>>, strays: &crate::signals::Strays) -> SvlogdIo<Real> {
        SvlogdIo::over(Real, paths, strays)
    }
}

impl<S: LogSyscalls> SvlogdIo<S> {
    /// An executor over the kernel `os` (the joint simulation passes its fake one).
    pub fn over(os: S, paths: Vec<Vec<u8>>, strays: &crate::signals::Strays) -> SvlogdIo<S> {
        let n = paths.len();
        let child_unblock = PROCESSOR_UNBLOCK.iter().chain(&strays.unblock_in_child).copied().collect();
        SvlogdIo { os, paths, fds: vec![CLOSED; n], armed: None, spare: Vec::new(), finished: None, child_unblock }
    }

    /// The kernel it runs over (the simulation inspects its fake).
    pub fn os(&self) -> &S {
        &self.os
    }

    /// The kernel it runs over, to change (a test feeds its fake's stdin).
    pub fn os_mut(&mut self) -> &mut S {
        &mut self.os
    }

    fn open_dir(&mut self, d: usize) -> Result<Option<Tai64n>, (OpenStep, Errno)> {
        let path = sys::cstr(&self.paths[d]).map_err(|e| (OpenStep::Open, e))?;
        let dir = self.os.open_dir_fd(&path).map_err(|e| (OpenStep::Open, e))?;
        let mode = match self.os.fstat_mode(dir) {
            Ok(mode) => mode,
            Err(e) => {
                close(&mut self.os, dir);
                return Err((OpenStep::Chdir, e));
            }
        };
        if mode & libc::S_IFMT != libc::S_IFDIR {
            close(&mut self.os, dir);
            return Err((OpenStep::Chdir, Errno::ENOTDIR));
        }
        let lock = match self.os.openat(dir, c"lock", libc::O_WRONLY | libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT, 0o600) {
            Ok(l) => l,
            Err(e) => {
                close(&mut self.os, dir);
                return Err((OpenStep::Lock, e));
            }
        };
        if let Err(e) = self.os.lock_nowait(lock) {
            close(&mut self.os, lock);
            close(&mut self.os, dir);
            return Err((OpenStep::Lock, e));
        }
        self.fds[d] = DirFds { dir, lock, cur: NONE };
        let max = scan(&mut self.os, dir).ok().and_then(|names| names.iter().filter_map(name_time).max());
        Ok(max)
    }

    fn read_config(&mut self, d: usize) -> Result<Option<Vec<u8>>, Errno> {
        let fd = match self.os.openat(self.fds[d].dir, c"config", libc::O_RDONLY | libc::O_NONBLOCK, 0) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let r = loop {
            match self.os.read(fd, &mut buf) {
                Ok(0) => break Ok(Some(out)),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e),
            }
        };
        close(&mut self.os, fd);
        r
    }

    /// Stats `current` without following a link: a symbolic link there is reported as
    /// `ELOOP`, as `O_NOFOLLOW` would (runit appends to, and chmods, whatever it points to).
    fn stat_current(&mut self, d: usize) -> Result<Option<(u64, bool)>, Errno> {
        let (mode, size) = match self.os.lstat_at(self.fds[d].dir, c"current") {
            Ok(st) => st,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        if mode & libc::S_IFMT == libc::S_IFLNK {
            return Err(Errno::ELOOP);
        }
        Ok(Some((size, mode & libc::S_IXUSR != 0)))
    }

    fn write(&mut self, d: usize, bytes: &[u8]) -> (Result<(), Errno>, usize) {
        let mut done = 0;
        while done < bytes.len() {
            match self.os.write_fd(self.fds[d].cur, &bytes[done..]) {
                Ok(0) => return (Err(Errno::EIO), done),
                Ok(n) => done += n,
                Err(e) => return (Err(e), done),
            }
        }
        (Ok(()), done)
    }

    /// One read of at most `max` bytes from stdin, as the input it becomes.
    fn read_stdin(&mut self, max: usize, out: &mut VecDeque<Input>) {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        let max = max.min(READ_SIZE.max(1));
        match self.os.read_append(0, &mut buf, max) {
            Ok(0) => {
                self.armed = None;
                out.push_back(Input::Eof);
            }
            Ok(_) => {
                self.armed = None;
                out.push_back(Input::Data(buf));
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => self.spare.push(buf),
            Err(e) => {
                self.armed = None;
                out.push_back(Input::ReadError(e));
            }
        }
    }

    fn start_processor(&mut self, d: usize, input: &LogName, command: &[u8]) -> Result<i32, Errno> {
        let reset = self.child_unblock.iter().map(|&s| Signal(s)).collect();
        self.os.spawn_processor(&processor_plan(&self.paths[d], self.fds[d].dir, input, command, reset))
    }
}

impl<S: LogSyscalls> Io<Logger> for SvlogdIo<S> {
    fn execute(&mut self, _now: Now, action: Action) -> Option<Input> {
        match action {
            Action::OpenDir { dir } => Some(Input::DirOpened(self.open_dir(dir))),
            Action::ReadConfig { dir } => Some(Input::ConfigRead(self.read_config(dir))),
            Action::StatCurrent { dir } => Some(Input::CurrentStat(self.stat_current(dir))),
            Action::ScanDir { dir } => Some(Input::Scanned(scan(&mut self.os, self.fds[dir].dir))),
            Action::RenameCurrent { dir, to } => Some(Input::Done(self.os.renameat(self.fds[dir].dir, c"current", &cname(&to)))),
            Action::OpenCurrent { dir } => {
                // O_NOFOLLOW: never append to (and later chmod) a file a link points to.
                let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT | libc::O_NOFOLLOW;
                let r = self.os.openat(self.fds[dir].dir, c"current", flags, 0o600);
                Some(Input::Done(r.map(|fd| {
                    close(&mut self.os, self.fds[dir].cur);
                    self.fds[dir].cur = fd;
                })))
            }
            Action::ChmodCurrent { dir, mode } => Some(Input::Done(self.os.fchmod(self.fds[dir].cur, mode))),
            Action::FsyncCurrent { dir } => Some(Input::Done(self.os.fsync(self.fds[dir].cur))),
            Action::CloseCurrent { dir } => {
                close(&mut self.os, self.fds[dir].cur);
                self.fds[dir].cur = NONE;
                None
            }
            Action::CloseDir { dir } => {
                let f = self.fds[dir];
                close(&mut self.os, f.cur);
                close(&mut self.os, f.lock);
                close(&mut self.os, f.dir);
                self.fds[dir] = CLOSED;
                None
            }
            Action::Write { dir, bytes } => {
                let (result, written) = self.write(dir, &bytes);
                Some(Input::Wrote { result, written, buf: bytes })
            }
            Action::Unlink { dir, name } => {
                let r = self.os.unlinkat(self.fds[dir].dir, &cname(&name));
                Some(Input::Done(r))
            }
            Action::RenameFile { dir, from, to } => Some(Input::Done(self.os.renameat(self.fds[dir].dir, &cname(&from), &cname(&to)))),
            Action::ChmodFile { dir, name, mode } => {
                let r = self.os.fchmodat(self.fds[dir].dir, &cname(&name), mode);
                Some(Input::Done(r))
            }
            Action::RenameState { dir } => Some(Input::Done(self.os.renameat(self.fds[dir].dir, c"newstate", c"state"))),
            Action::StartProcessor { dir, input, command } => Some(Input::Spawned(self.start_processor(dir, &input, &command))),
            Action::SendUdp { udp, bytes } => Some(Input::UdpSent(self.os.send_udp(udp, &bytes))),
            Action::Stderr(line) => {
                self.os.write_stderr(&line);
                None
            }
            Action::ArmRead { max } => {
                self.armed = Some(max);
                None
            }
            Action::DisarmRead => {
                self.armed = None;
                None
            }
            Action::Recycle(buf) => {
                if self.spare.len() < 2 {
                    self.spare.push(buf);
                }
                None
            }
            Action::Exit(code) => {
                self.finished = Some(code);
                None
            }
        }
    }

    fn interests(&self, out: &mut Vec<Interest>) {
        if self.armed.is_some() {
            out.push(Interest::read(0));
        }
    }

    fn gather(&mut self, _now: Now, woke: &Woke, out: &mut VecDeque<Input>) {
        if woke.deadline_passed {
            out.push_back(Input::Tick);
        }
        // stdin before the signals: bytes read in the same wake as a SIGTERM are out of
        // the pipe, so the machine must take them before the TERM that ends it (it would
        // exit without writing them; found by the joint simulation, seed 7). runit too
        // handles what its read returned before acting on the signal.
        // stdin is svlogd's only interest (for reading): a ready entry for fd 0 means
        // readable (`wait` reports POLLIN, HUP, ERR and NVAL as readable).
        if let Some(max) = self.armed.filter(|_| woke.ready.iter().any(|r| r.fd == 0)) {
            self.read_stdin(max, out);
        }
        if woke.signals.contains(libc::SIGCHLD) {
            out.push_back(Input::Signal(Sig::Chld));
            while let Some(r) = self.os.reap_nohang() {
                out.push_back(Input::ChildExited { pid: r.pid, status: r.status });
            }
        }
        if woke.signals.contains(libc::SIGALRM) {
            out.push_back(Input::Signal(Sig::Alrm));
        }
        if woke.signals.contains(libc::SIGHUP) {
            out.push_back(Input::Signal(Sig::Hup));
        }
        if woke.signals.contains(libc::SIGTERM) {
            out.push_back(Input::Signal(Sig::Term));
        }
    }

    fn finished(&self) -> Option<i32> {
        self.finished
    }
}
