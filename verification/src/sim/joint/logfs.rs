//! svlogd's side of the fake kernel: each service's log directory (`log/main`: files as
//! inodes, the lock, the `config`), each svlogd's descriptors, and [`JointLogSys`], the
//! kernel the **production** svlogd executor (`runtime::exec::svlogd::SvlogdIo`) runs over
//! as the service's `log/run`. Its stdin is the service's log pipe.
//!
//! What the `LogBytes` check needs is counted here: the bytes each svlogd read from the
//! pipe and wrote into files, and the bytes it reported dropped (SIGTERM on a full disk,
//! docs/divergences.md "SIGTERM ends a pause").

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::rc::Rc;

use model::errno::Errno;
use model::spawn::ChildPlan;
use model::svlogd::config::Udp;
use model::svlogd::UdpOutcome;
use model::time::{Mono, Span};
use runtime::fs::AtomicWriteError;
use runtime::os::{LogSyscalls, Syscalls};
use runtime::process::{Reaped, SpawnSpec};

use super::world::World;
use super::{Check, JointFault, JointPlant};

/// One file of a log directory.
#[derive(Clone, Debug, Default)]
pub(super) struct LogFile {
    pub(super) data: Vec<u8>,
    pub(super) mode: u32,
}

/// One service's log directory.
#[derive(Clone, Debug, Default)]
pub(super) struct LogDir {
    /// Names to inodes (`current`, `@…s`; `lock` and `config` are not listed here).
    pub(super) names: BTreeMap<Vec<u8>, u64>,
    pub(super) inodes: BTreeMap<u64, LogFile>,
    pub(super) next_ino: u64,
    /// The svlogd holding `lock`.
    pub(super) lock: Option<i32>,
    /// The disk is full until then.
    pub(super) full_until: Option<Mono>,
    /// The `config` file (empty: none).
    pub(super) config: Vec<u8>,
    /// Files rotated (`current` renamed to an `@` name).
    pub(super) rotations: usize,
}

impl LogDir {
    /// A directory whose `config` rotates at `size` bytes and never deletes an old file
    /// (`n` and `N` above anything a run produces), so every line read stays on disk.
    pub(super) fn with_size(size: u64) -> LogDir {
        LogDir { config: format!("s{size}\nn1000\nN1000\n").into_bytes(), next_ino: 1, ..LogDir::default() }
    }

    /// The named log files (`current` and the rotated ones) in creation order: oldest
    /// first.
    fn files(&self) -> impl Iterator<Item = &LogFile> {
        let mut inos: Vec<u64> = self.names.values().copied().collect();
        inos.sort_unstable();
        inos.into_iter().filter_map(|i| self.inodes.get(&i))
    }

    /// How many bytes the log files hold.
    pub(super) fn len(&self) -> usize {
        self.files().map(|f| f.data.len()).sum()
    }

    /// Where the log files, oldest first, differ from a prefix of `read` (`None`: they
    /// are one).
    pub(super) fn differs_from(&self, read: &[u8]) -> Option<usize> {
        let mut pos = 0;
        for f in self.files() {
            let end = pos + f.data.len();
            if end > read.len() || read[pos..end] != f.data[..] {
                let at = f.data.iter().zip(&read[pos.min(read.len())..]).position(|(a, b)| a != b);
                return Some(pos + at.unwrap_or(read.len().saturating_sub(pos)));
            }
            pos = end;
        }
        None
    }
}

/// An svlogd's open descriptor.
#[derive(Clone, Debug)]
enum LogFd {
    Dir,
    Lock,
    Config(usize),
    File(u64),
}

/// One svlogd process's kernel state.
#[derive(Clone, Debug, Default)]
pub(super) struct LogProc {
    pub(super) svc: u64,
    fds: BTreeMap<i32, LogFd>,
    next_fd: i32,
    /// Bytes read from the pipe.
    pub(super) consumed: usize,
    /// Bytes written into files.
    pub(super) written: usize,
    /// Bytes it reported dropped (`svlogd: warning: dropped <n> bytes after sigterm`).
    pub(super) dropped: usize,
}

impl LogProc {
    pub(super) fn new(svc: u64) -> LogProc {
        LogProc { svc, next_fd: 10, ..LogProc::default() }
    }

    /// What it read and has not written: lost if it dies now.
    pub(super) fn held(&self) -> usize {
        self.consumed - self.written
    }

    fn open(&mut self, f: LogFd) -> i32 {
        self.next_fd += 1;
        self.fds.insert(self.next_fd, f);
        self.next_fd
    }
}

/// svlogd `me`'s view of the fake kernel, for service directory `svc`.
pub(super) struct JointLogSys {
    pub(super) w: Rc<RefCell<World>>,
    pub(super) me: i32,
    pub(super) svc: u64,
}

/// A prefix of `pipe` of at most `max` bytes made of whole lines, or `max` bytes when no
/// line fits (a read may return less than is there; lines are written atomically).
fn read_len(pipe: &[u8], max: usize) -> usize {
    let upto = &pipe[..pipe.len().min(max)];
    match upto.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => upto.len(),
    }
}

fn parse_dropped(line: &[u8]) -> Option<usize> {
    let rest = line.strip_prefix(b"svlogd: warning: dropped ")?;
    let end = rest.iter().position(|&b| b == b' ')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

impl JointLogSys {
    fn with<T>(&mut self, f: impl FnOnce(&mut World, &mut LogProc) -> T) -> Option<T> {
        let w = &mut *self.w.borrow_mut();
        let mut p = w.logs.remove(&self.me)?;
        let r = f(w, &mut p);
        w.logs.insert(self.me, p);
        Some(r)
    }

    fn dir(w: &mut World, svc: u64) -> Option<&mut LogDir> {
        w.svcs.get_mut(&svc).map(|s| &mut s.log)
    }
}

impl Syscalls for JointLogSys {
    fn spawn(&mut self, _spec: &SpawnSpec) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn wait_pid(&mut self, _pid: i32) -> Result<i32, Errno> {
        Err(Errno::ECHILD)
    }
    fn reap_nohang(&mut self) -> Option<Reaped> {
        None
    }
    fn kill(&mut self, _pid: i32, _sig: i32) -> Result<(), Errno> {
        Err(Errno::ESRCH)
    }
    fn stat_mode(&mut self, _path: &CStr) -> Result<u32, Errno> {
        Err(Errno::ENOENT)
    }
    fn open_read(&mut self, _path: &CStr) -> Result<i32, Errno> {
        Err(Errno::ENOENT)
    }
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        let svc = self.svc;
        self.with(|w, p| {
            let Some(LogFd::Config(pos)) = p.fds.get(&fd).cloned() else { return Err(Errno::EBADF) };
            let config = w.svcs.get(&svc).map(|s| s.log.config.clone()).unwrap_or_default();
            let n = config.len().saturating_sub(pos).min(buf.len());
            buf[..n].copy_from_slice(&config[pos..pos + n]);
            p.fds.insert(fd, LogFd::Config(pos + n));
            Ok(n)
        })
        .unwrap_or(Err(Errno::EBADF))
    }
    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        let (me, svc) = (self.me, self.svc);
        self.with(|w, p| match p.fds.remove(&fd) {
            Some(LogFd::Lock) => {
                if let Some(d) = Self::dir(w, svc).filter(|d| d.lock == Some(me)) {
                    d.lock = None;
                }
                Ok(())
            }
            Some(_) => Ok(()),
            None => Err(Errno::EBADF),
        })
        .unwrap_or(Err(Errno::EBADF))
    }
    fn write_atomic(&mut self, _tmp: &CStr, _dest: &CStr, _bytes: &[u8]) -> Result<(), AtomicWriteError> {
        Err(AtomicWriteError::Open(Errno::EINVAL))
    }
    fn write_stderr(&mut self, line: &[u8]) {
        let me = self.me;
        self.with(|w, p| {
            p.dropped += parse_dropped(line).unwrap_or(0);
            w.stderr_lines += 1;
            w.note(("svlogd stderr", me, line));
        });
    }
    fn set_nonblock(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }
}

impl LogSyscalls for JointLogSys {
    fn open_dir_fd(&mut self, path: &CStr) -> Result<i32, Errno> {
        if path.to_bytes() != b"main" {
            return Err(Errno::ENOENT);
        }
        self.with(|_, p| Ok(p.open(LogFd::Dir))).unwrap_or(Err(Errno::EBADF))
    }
    fn fstat_mode(&mut self, _fd: i32) -> Result<u32, Errno> {
        Ok(libc::S_IFDIR | 0o755)
    }
    fn openat(&mut self, _dir: i32, name: &CStr, flags: i32, mode: u32) -> Result<i32, Errno> {
        let svc = self.svc;
        self.with(|w, p| match name.to_bytes() {
            b"lock" => Ok(p.open(LogFd::Lock)),
            b"config" => {
                let present = w.svcs.get(&svc).is_some_and(|s| !s.log.config.is_empty());
                if present {
                    Ok(p.open(LogFd::Config(0)))
                } else {
                    Err(Errno::ENOENT)
                }
            }
            b"current" => {
                if w.fault(JointFault::LogOpen, 20) {
                    return Err(Errno::EMFILE);
                }
                let d = Self::dir(w, svc).ok_or(Errno::ENOENT)?;
                let ino = match d.names.get(&b"current"[..]) {
                    Some(&ino) => ino,
                    None if flags & libc::O_CREAT != 0 => {
                        d.next_ino += 1;
                        let ino = d.next_ino;
                        d.inodes.insert(ino, LogFile { data: Vec::new(), mode });
                        d.names.insert(b"current".to_vec(), ino);
                        ino
                    }
                    None => return Err(Errno::ENOENT),
                };
                Ok(p.open(LogFd::File(ino)))
            }
            _ => Err(Errno::ENOENT),
        })
        .unwrap_or(Err(Errno::EBADF))
    }
    fn lock_nowait(&mut self, _fd: i32) -> Result<(), Errno> {
        let (me, svc) = (self.me, self.svc);
        let w = &mut *self.w.borrow_mut();
        let holder_alive = |pid: i32| w.logs.contains_key(&pid);
        let holder = w.svcs.get(&svc).and_then(|s| s.log.lock);
        if holder.is_some_and(|h| h != me && holder_alive(h)) {
            return Err(Errno::EAGAIN);
        }
        if let Some(d) = Self::dir(w, svc) {
            d.lock = Some(me);
        }
        Ok(())
    }
    fn list_at(&mut self, _dir: i32) -> Result<Vec<CString>, Errno> {
        let w = self.w.borrow();
        let d = &w.svcs.get(&self.svc).ok_or(Errno::ENOENT)?.log;
        Ok(d.names.keys().filter_map(|n| CString::new(n.clone()).ok()).collect())
    }
    fn lstat_at(&mut self, _dir: i32, name: &CStr) -> Result<(u32, u64), Errno> {
        let w = self.w.borrow();
        let d = &w.svcs.get(&self.svc).ok_or(Errno::ENOENT)?.log;
        let f = d.names.get(name.to_bytes()).and_then(|i| d.inodes.get(i)).ok_or(Errno::ENOENT)?;
        Ok((libc::S_IFREG | f.mode, f.data.len() as u64))
    }
    fn write_fd(&mut self, fd: i32, bytes: &[u8]) -> Result<usize, Errno> {
        let svc = self.svc;
        self.with(|w, p| {
            let Some(LogFd::File(ino)) = p.fds.get(&fd).cloned() else { return Err(Errno::EBADF) };
            let now = w.now.mono;
            let full = w.svcs.get(&svc).and_then(|s| s.log.full_until).is_some_and(|t| t > now);
            if full {
                return Err(Errno::ENOSPC);
            }
            if w.fault(JointFault::LogDiskFull, 8) {
                let until = now + Span::from_millis(w.rng.below(8000));
                if let Some(d) = Self::dir(w, svc) {
                    d.full_until = Some(until);
                }
                return Err(Errno::ENOSPC);
            }
            let lie = w.cfg.plant == JointPlant::LogWriteLost && p.written > 0 && w.rng.chance(20);
            w.plant_fired |= lie;
            let f = Self::dir(w, svc).and_then(|d| d.inodes.get_mut(&ino)).ok_or(Errno::EBADF)?;
            if !lie {
                f.data.extend_from_slice(bytes);
            }
            p.written += bytes.len();
            w.note(("svlogd write", svc, bytes.len()));
            Ok(bytes.len())
        })
        .unwrap_or(Err(Errno::EBADF))
    }
    fn renameat(&mut self, _dir: i32, from: &CStr, to: &CStr) -> Result<(), Errno> {
        let w = &mut *self.w.borrow_mut();
        if w.fault(JointFault::LogRename, 20) {
            return Err(Errno::EIO);
        }
        w.note(("svlogd rename", self.me, from.to_bytes(), to.to_bytes()));
        let d = Self::dir(w, self.svc).ok_or(Errno::ENOENT)?;
        let ino = d.names.remove(from.to_bytes()).ok_or(Errno::ENOENT)?;
        // Like rename(2): a file already under the new name is replaced (its bytes gone).
        d.names.insert(to.to_bytes().to_vec(), ino);
        if from.to_bytes() == b"current" && to.to_bytes().first() == Some(&b'@') {
            d.rotations += 1;
        }
        Ok(())
    }
    fn unlinkat(&mut self, _dir: i32, name: &CStr) -> Result<(), Errno> {
        let w = &mut *self.w.borrow_mut();
        w.note(("svlogd unlink", self.me, name.to_bytes()));
        let d = Self::dir(w, self.svc).ok_or(Errno::ENOENT)?;
        d.names.remove(name.to_bytes()).map(|_| ()).ok_or(Errno::ENOENT)
    }
    fn fchmodat(&mut self, _dir: i32, name: &CStr, mode: u32) -> Result<(), Errno> {
        let w = &mut *self.w.borrow_mut();
        let d = Self::dir(w, self.svc).ok_or(Errno::ENOENT)?;
        let ino = *d.names.get(name.to_bytes()).ok_or(Errno::ENOENT)?;
        if let Some(f) = d.inodes.get_mut(&ino) {
            f.mode = mode;
        }
        Ok(())
    }
    fn fchmod(&mut self, fd: i32, mode: u32) -> Result<(), Errno> {
        let svc = self.svc;
        self.with(|w, p| {
            let Some(LogFd::File(ino)) = p.fds.get(&fd).cloned() else { return Err(Errno::EBADF) };
            if let Some(f) = Self::dir(w, svc).and_then(|d| d.inodes.get_mut(&ino)) {
                f.mode = mode;
            }
            Ok(())
        })
        .unwrap_or(Err(Errno::EBADF))
    }
    fn fsync(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn spawn_processor(&mut self, _plan: &ChildPlan) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn send_udp(&mut self, _udp: Udp, _bytes: &[u8]) -> UdpOutcome {
        UdpOutcome::NoSocket
    }
    fn read_append(&mut self, fd: i32, buf: &mut Vec<u8>, max: usize) -> Result<usize, Errno> {
        if fd != 0 {
            return Err(Errno::EBADF);
        }
        let svc = self.svc;
        self.with(|w, p| {
            if w.pipe_eof(svc) {
                let writers = w.pipe_writers(svc);
                if writers > 0 {
                    w.plant_fired = true;
                    w.violate(Check::EofOnlyWithoutWriters, format!("directory {svc}: EOF read with {writers} writers left"));
                }
                return Ok(0);
            }
            let s = w.svcs.get_mut(&svc).ok_or(Errno::EBADF)?;
            if s.pipe.is_empty() {
                return Err(Errno::EAGAIN);
            }
            let n = read_len(&s.pipe, max);
            let bytes: Vec<u8> = s.pipe.drain(..n).collect();
            s.logged.extend_from_slice(&bytes);
            buf.extend_from_slice(&bytes);
            p.consumed += n;
            w.note(("svlogd read", p.svc, n));
            Ok(n)
        })
        .unwrap_or(Err(Errno::EBADF))
    }
}
