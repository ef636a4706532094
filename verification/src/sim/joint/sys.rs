//! The fake kernel as each production executor sees it: [`JointSys`] for one runsv,
//! [`JointDirSys`] for runsvdir, [`JointClock`] for the driver's turns.

use std::cell::RefCell;
use std::ffi::CStr;
use std::rc::Rc;

use model::errno::Errno;
use model::runsvdir::watch::Effect;
use model::time::{Mono, Now, Span};
use runtime::driver::Os;
use runtime::fs::AtomicWriteError;
use runtime::latch::SignalSet;
use runtime::os::{Datagram, DirSyscalls, FileStat, Syscalls};
use runtime::process::{Reaped, SpawnSpec};
use runtime::wait::{Interest, Ready};

use super::world::*;
use super::{Check, JointFault, JointPlant};

/// runsv's view of the fake kernel: each syscall answered for this runsv (`me`) and its
/// service directory (`svc`).
pub(super) struct JointSys {
    pub(super) w: Rc<RefCell<World>>,
    pub(super) me: i32,
    pub(super) svc: u64,
}

impl JointSys {
    fn control_plan(w: &mut World) -> Result<u32, Errno> {
        if w.fault(JointFault::ControlStat, 50) {
            return Err(Errno::EACCES);
        }
        // Most services have no `control/<c>`; some have one that exits 0.
        if w.rng.chance(200) {
            Ok(0o100_755)
        } else {
            Err(Errno::ENOENT)
        }
    }
}

impl Syscalls for JointSys {
    fn spawn(&mut self, spec: &SpawnSpec) -> Result<i32, Errno> {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return Err(Errno::EAGAIN);
        }
        w.note(("spawn", self.me, spec.path.as_bytes()));
        if spec.path.as_bytes().starts_with(b"control/") {
            return Ok(CONTROL_PID);
        }
        let kind = match (spec.path.as_bytes(), spec.chdir.is_some()) {
            (_, true) => Kind::LogRun,
            (b"./finish", _) => Kind::Finish,
            _ => Kind::Run,
        };
        if w.fault(JointFault::RunsvFork, 40) {
            if kind != Kind::LogRun {
                w.fork_failed.insert(self.me, w.now.mono);
            }
            return Err(Errno::EAGAIN);
        }
        let now = w.now.mono;
        let exit_at = match kind {
            Kind::Run => match w.rng.below(10) {
                0..=1 => Some(now + Span::from_millis(w.rng.below(900))),
                2..=4 => Some(now + Span::from_millis(1000 + w.rng.below(20_000))),
                _ => None,
            },
            Kind::Finish => Some(now + Span::from_millis(w.rng.below(1500))),
            Kind::LogRun => None,
        };
        let pid = w.pid();
        let ignores_term = kind == Kind::Run && w.rng.chance(100);
        let to_pipe =
            spec.stdout == Some(LOG_PIPE_W) || spec.stdout.is_some_and(|fd| w.adopt_fds.get(&fd) == Some(&AdoptFd::Pipe(self.svc, true)));
        let next_line = (kind == Kind::Run).then(|| now + Span::from_millis(w.rng.below(300)));
        if kind == Kind::Run {
            w.service_starts += 1;
        }
        if kind == Kind::LogRun && w.cfg.plant == JointPlant::LoseLogOnHandOver {
            if let Some(s) = w.svcs.get_mut(&self.svc) {
                if !s.pipe.is_empty() {
                    s.pipe.clear();
                    w.plant_fired = true;
                }
            }
        }
        let notify = if kind == Kind::Run { w.draw_notify(self.svc, pid, spec) } else { Notify::default() };
        let p = Proc {
            parent: self.me,
            svc: self.svc,
            kind,
            exit_at,
            exit_status: 0,
            ignores_term,
            stopped: false,
            zombie: None,
            next_line,
            to_pipe,
            seq: 0,
            notify,
            started: now,
            unsupervised: None,
        };
        w.procs.insert(pid, p);
        if kind == Kind::LogRun {
            w.logs.insert(pid, super::logfs::LogProc::new(self.svc));
        }
        if kind == Kind::Run && notify.socket && w.cfg.plant == JointPlant::ForgedCredentials {
            // The lie: a stranger's `READY=1` arrives with the new service's credentials.
            let d = Datagram { payload: b"READY=1".to_vec(), pid: Some(pid), fds: 0, truncated: false };
            w.sockets.entry(self.me).or_default().push_back(d);
            w.plant_fired = true;
        }
        if kind != Kind::LogRun {
            w.fork_failed.remove(&self.me);
        }
        // Killed between the fork and recording the child: it runs, nobody knows its pid.
        w.crash_point(self.me, "mid-fork", 3);
        Ok(pid)
    }

    fn wait_pid(&mut self, pid: i32) -> Result<i32, Errno> {
        self.w.borrow_mut().crash_point(self.me, "during a control script", 20);
        if pid == CONTROL_PID {
            Ok(0)
        } else {
            Err(Errno::ECHILD)
        }
    }

    fn reap_nohang(&mut self) -> Option<Reaped> {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return None;
        }
        let pid = w.procs.iter().find(|(_, p)| p.parent == self.me && p.zombie.is_some()).map(|(&pid, _)| pid)?;
        let p = w.procs.remove(&pid)?;
        w.note(("reap", self.me, pid));
        Some(Reaped { pid, status: p.zombie.unwrap_or(0) })
    }

    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), Errno> {
        let w = &mut *self.w.borrow_mut();
        let target = pid.abs();
        if w.dead.contains(&self.me) {
            return Ok(());
        }
        w.note(("kill", self.me, pid, sig));
        match w.procs.get(&target) {
            Some(p) if p.parent == self.me => {
                let hung = p.notify.hang_at.is_some_and(|h| h <= w.now.mono);
                if w.cfg.plant == JointPlant::AbortLost && (sig == libc::SIGABRT || sig == libc::SIGKILL) && hung {
                    // The signal is lost and the hung service hangs on (no exit of its own).
                    w.plant_fired = true;
                    if let Some(p) = w.procs.get_mut(&target) {
                        (p.exit_at, p.ignores_term) = (None, true);
                    }
                    return Ok(());
                }
                w.deliver(target, sig);
                Ok(())
            }
            _ => {
                w.violate(Check::SignalsOnlyToChildren, format!("runsv {} sent {sig} to {pid}, not its child", self.me));
                Err(Errno::ESRCH)
            }
        }
    }

    fn stat_mode(&mut self, _path: &CStr) -> Result<u32, Errno> {
        Self::control_plan(&mut self.w.borrow_mut())
    }

    fn open_read(&mut self, path: &CStr) -> Result<i32, Errno> {
        let w = self.w.borrow();
        match (path.to_bytes(), w.svcs.get(&self.svc)) {
            (b"finish", Some(s)) if s.finish_present => Ok(FINISH_FD),
            _ => Err(Errno::ENOENT),
        }
    }

    fn read(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return Err(Errno::EAGAIN);
        }
        if let Some(p) = w.npipes.get_mut(&fd) {
            let n = p.buf.len().min(buf.len());
            if n > 0 {
                buf[..n].copy_from_slice(&p.buf[..n]);
                p.buf.drain(..n);
                return Ok(n);
            }
            let writer = p.writer;
            let alive = writer.is_some_and(|pid| w.procs.get(&pid).is_some_and(|p| p.zombie.is_none()));
            return if alive { Err(Errno::EAGAIN) } else { Ok(0) };
        }
        let i = match fd {
            MAIN_CONTROL_FD => 0,
            LOG_CONTROL_FD => 1,
            _ => return Err(Errno::EBADF),
        };
        let byte = w.svcs.get_mut(&self.svc).and_then(|s| s.fifo[i].pop_front());
        match (byte, buf.first_mut()) {
            (Some(b), Some(out)) => {
                *out = b;
                Ok(1)
            }
            _ => Err(Errno::EAGAIN),
        }
    }

    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return Ok(());
        }
        if w.npipes.get(&fd).is_some_and(|p| p.owner == self.me) {
            w.npipes.remove(&fd);
        }
        // The log pipe's write end: the fresh one start-up made, or, once `TakeLogPipe`
        // closed that one in the first turn, the recovered one (duplicates closed in the
        // first turn are not the last writer runsv holds).
        let recovered_w = w.adopt_fds.remove(&fd) == Some(AdoptFd::Pipe(self.svc, true));
        let first = w.first_turn.contains(&self.me);
        if fd == LOG_PIPE_W && first && w.pipe_recovered.contains(&self.me) {
            w.pipe_taken.insert(self.me);
            return Ok(());
        }
        let taken = w.pipe_taken.contains(&self.me);
        if (fd == LOG_PIPE_W && !taken) || (recovered_w && taken && !first) {
            // svlogd reads EOF once it has drained the pipe, and exits.
            if let Some(s) = w.svcs.get_mut(&self.svc) {
                s.pipe_closed = true;
            }
        }
        Ok(())
    }

    fn write_atomic(&mut self, _tmp: &CStr, dest: &CStr, bytes: &[u8]) -> Result<(), AtomicWriteError> {
        let w = &mut *self.w.borrow_mut();
        // Killed after writing `x.new`, before the rename: `x` keeps its old bytes.
        if w.dead.contains(&self.me) || w.crash_point(self.me, "mid-status-write", 3) {
            return Ok(());
        }
        if w.fault(JointFault::StatusWrite, 15) {
            return Err(match w.rng.below(3) {
                0 => AtomicWriteError::Open(Errno::EMFILE),
                1 => AtomicWriteError::Write(Errno::ENOSPC),
                _ => AtomicWriteError::Rename(Errno::EIO),
            });
        }
        if let Some(s) = w.svcs.get_mut(&self.svc) {
            s.files.insert(dest.to_bytes().to_vec(), bytes.to_vec());
        }
        Ok(())
    }

    fn write_stderr(&mut self, line: &[u8]) {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return;
        }
        w.stderr_lines += 1;
        w.note(("stderr", line));
        // The documented warning of a takeover given up for the log pipe (an injected
        // `EPERM`, or a service whose fd 1 is not the pipe: runsv had closed it to drain
        // its logger when `u` started it again).
        if line.windows(32).any(|x| x == b"unable to take over the log pipe") {
            w.pipe_refused.insert(self.me);
        }
    }

    fn pipe(&mut self) -> Result<(i32, i32), Errno> {
        let w = &mut *self.w.borrow_mut();
        let r = w.next_fd;
        w.next_fd += 2;
        w.npipes.insert(r, NPipe { owner: self.me, w: r + 1, buf: Vec::new(), writer: None });
        Ok((r, r + 1))
    }

    fn set_nonblock(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }

    fn recv_datagram(&mut self, fd: i32) -> Option<Datagram> {
        let w = &mut *self.w.borrow_mut();
        if fd != SOCKET_FD || w.dead.contains(&self.me) {
            return None;
        }
        let d = w.sockets.get_mut(&self.me)?.pop_front()?;
        w.note(("datagram", self.me, &d.payload, d.pid));
        Some(d)
    }

    fn parent_of(&mut self, pid: i32) -> Option<i32> {
        let w = self.w.borrow();
        match w.procs.get(&pid) {
            Some(p) => Some(p.parent),
            None if w.runsv_of.contains_key(&pid) => Some(RUNSVDIR_PID),
            None if pid == RUNSVDIR_PID => Some(1),
            None => None,
        }
    }

    fn read_small(&mut self, path: &CStr, max: usize) -> Result<Vec<u8>, Errno> {
        let w = self.w.borrow();
        let f = w.svcs.get(&self.svc).and_then(|s| s.files.get(path.to_bytes())).ok_or(Errno::ENOENT)?;
        Ok(f[..f.len().min(max)].to_vec())
    }

    fn pidfd_open(&mut self, pid: u32) -> Result<i32, Errno> {
        let w = &mut *self.w.borrow_mut();
        let pid = pid as i32;
        // A zombie can still be opened (its pidfd is readable at once).
        let started = w.procs.get(&pid).map(|p| p.started).ok_or(Errno::ESRCH)?;
        let fd = w.next_fd;
        w.next_fd += 1;
        w.adopt_fds.insert(fd, AdoptFd::Pidfd(pid, started));
        w.note(("pidfd_open", self.me, pid, fd));
        Ok(fd)
    }

    fn pidfd_send_signal(&mut self, pidfd: i32, sig: i32) -> Result<(), Errno> {
        let w = &mut *self.w.borrow_mut();
        if w.dead.contains(&self.me) {
            return Ok(());
        }
        let Some(AdoptFd::Pidfd(pid, started)) = w.adopt_fds.get(&pidfd).copied() else { return Err(Errno::EBADF) };
        w.note(("pidfd_send_signal", self.me, pid, sig));
        if w.pidfd_ended(pidfd) {
            return Err(Errno::ESRCH);
        }
        if w.procs.get(&pid).is_some_and(|p| p.svc != self.svc || p.started != started) {
            w.violate(Check::AdoptOnlyTheSame, format!("runsv {} signalled {pid}, not a process of its service, through a pidfd", self.me));
        }
        w.deliver(pid, sig);
        Ok(())
    }

    fn pidfd_getfd(&mut self, pidfd: i32, target: i32) -> Result<i32, Errno> {
        let w = &mut *self.w.borrow_mut();
        let Some(AdoptFd::Pidfd(pid, _)) = w.adopt_fds.get(&pidfd).copied() else { return Err(Errno::EBADF) };
        if w.pidfd_ended(pidfd) {
            return Err(Errno::ESRCH);
        }
        let p = w.procs.get(&pid).ok_or(Errno::ESRCH)?;
        // Under the planted bug the stranger's fd 1 is the orphan's log pipe too.
        let pipe = w.lying_pipe.get(&pid).copied().unwrap_or(p.svc);
        let end = match (p.kind, target) {
            (Kind::LogRun, 0) => AdoptFd::Pipe(pipe, false),
            (Kind::Run | Kind::Finish, 1) if p.to_pipe => AdoptFd::Pipe(pipe, true),
            _ => return Err(Errno::EBADF),
        };
        if w.fault(JointFault::AdoptNoPipe, 100) {
            return Err(Errno::EPERM);
        }
        let fd = w.next_fd;
        w.next_fd += 1;
        w.adopt_fds.insert(fd, end);
        w.pipe_recovered.insert(self.me);
        Ok(fd)
    }

    fn fstat(&mut self, fd: i32) -> Result<FileStat, Errno> {
        match self.w.borrow().adopt_fds.get(&fd) {
            Some(&AdoptFd::Pipe(svc, _)) => Ok(FileStat { mode: libc::S_IFIFO | 0o600, mtime: 0, ino: svc, dev: 9 }),
            _ => Err(Errno::EBADF),
        }
    }

    fn reopen_pipe(&mut self, fd: i32, write: bool) -> Result<i32, Errno> {
        let w = &mut *self.w.borrow_mut();
        let Some(AdoptFd::Pipe(svc, _)) = w.adopt_fds.get(&fd).copied() else { return Err(Errno::EBADF) };
        let other = w.next_fd;
        w.next_fd += 1;
        w.adopt_fds.insert(other, AdoptFd::Pipe(svc, write));
        Ok(other)
    }

    fn proc_stat(&mut self, pid: u32) -> Option<Vec<u8>> {
        self.w.borrow().proc_stat(pid as i32)
    }

    fn boot_wall_ns(&mut self) -> i64 {
        // Boot was at `Mono(0)`: the wall clock now minus the time since boot (a clock
        // step moves it, as `CLOCK_REALTIME - CLOCK_BOOTTIME` moves).
        let now = self.w.borrow().now;
        now.wall.unix_secs * 1_000_000_000 + i64::from(now.wall.nanos) - now.mono.0 as i64
    }

    fn clk_tck(&mut self) -> u64 {
        CLK_TCK
    }
}

/// runsvdir's view of the fake kernel: the services directory `/service`, its runsv
/// children, its change notices.
pub(super) struct JointDirSys(pub(super) Rc<RefCell<World>>);

/// A scanned directory: the names and inodes at the time of the scan.
pub(super) struct ScannedDir(Vec<(std::ffi::CString, u64)>);

impl Syscalls for JointDirSys {
    fn spawn(&mut self, _spec: &SpawnSpec) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn wait_pid(&mut self, _pid: i32) -> Result<i32, Errno> {
        Err(Errno::ECHILD)
    }
    fn reap_nohang(&mut self) -> Option<Reaped> {
        let w = &mut *self.0.borrow_mut();
        let pid = w.runsv_zombies.pop_front()?;
        w.note(("runsvdir reaps", pid));
        Some(Reaped { pid, status: 0 })
    }
    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), Errno> {
        let w = &mut *self.0.borrow_mut();
        w.note(("runsvdir kill", pid, sig));
        if !w.runsv_of.contains_key(&pid) {
            return Err(Errno::ESRCH);
        }
        w.latch(pid, sig);
        Ok(())
    }
    fn stat_mode(&mut self, _path: &CStr) -> Result<u32, Errno> {
        Err(Errno::ENOENT)
    }
    fn open_read(&mut self, _path: &CStr) -> Result<i32, Errno> {
        Err(Errno::ENOENT)
    }
    fn read(&mut self, _fd: i32, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EAGAIN)
    }
    fn close(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn write_atomic(&mut self, _tmp: &CStr, _dest: &CStr, _bytes: &[u8]) -> Result<(), AtomicWriteError> {
        Ok(())
    }
    fn write_stderr(&mut self, line: &[u8]) {
        self.0.borrow_mut().note(("runsvdir stderr", line));
    }
    fn set_nonblock(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }
}

impl DirSyscalls for JointDirSys {
    type Dir = ScannedDir;
    type Watch = ();
    fn stat(&mut self, _path: &CStr) -> Result<FileStat, Errno> {
        let w = self.0.borrow();
        Ok(FileStat { mode: libc::S_IFDIR | 0o755, mtime: w.mtime, ino: 2, dev: 1 })
    }
    fn open(&mut self, _path: &CStr, _flags: i32, _mode: u32) -> Result<i32, Errno> {
        Ok(STAMP_FD)
    }
    fn write(&mut self, _fd: i32, bytes: &[u8]) -> Result<usize, Errno> {
        Ok(bytes.len())
    }
    fn dup2(&mut self, _from: i32, _to: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn pipe_nonblocking(&mut self) -> Result<(i32, i32), Errno> {
        Err(Errno::EMFILE)
    }
    fn spawn_plan(&mut self, plan: &model::spawn::ChildPlan) -> Result<i32, Errno> {
        let w = &mut *self.0.borrow_mut();
        let name = plan.exec.argv.get(1).cloned().unwrap_or_default();
        w.note(("runsvdir fork", &name));
        if w.fault(JointFault::RunsvdirFork, 40) {
            return Err(Errno::EAGAIN);
        }
        // `runsv <name>` after `fchdir` to the scanned directory: the directory of that name.
        let Some(&ino) = w.dir.get(&name) else {
            w.violate(Check::Orderly, format!("runsvdir started runsv for {:?}, not in the directory", String::from_utf8_lossy(&name)));
            return Err(Errno::ENOENT);
        };
        let pid = w.pid();
        w.runsv_of.insert(pid, ino);
        w.runsv_starts += 1;
        Ok(pid)
    }
    fn open_dir(&mut self, _path: &CStr) -> Result<ScannedDir, Errno> {
        let w = self.0.borrow();
        Ok(ScannedDir(w.dir.iter().filter_map(|(n, &ino)| Some((std::ffi::CString::new(n.clone()).ok()?, ino))).collect()))
    }
    fn list_dir(&mut self, dir: &mut ScannedDir) -> (Vec<std::ffi::CString>, Option<Errno>) {
        (dir.0.iter().map(|(n, _)| n.clone()).collect(), None)
    }
    fn dir_fd(&self, _dir: &ScannedDir) -> i32 {
        SCAN_FD
    }
    fn stat_at(&mut self, _dir: i32, name: &CStr) -> Result<FileStat, Errno> {
        let w = self.0.borrow();
        match w.dir.get(name.to_bytes()) {
            Some(&ino) => Ok(FileStat { mode: libc::S_IFDIR | 0o755, mtime: 0, ino, dev: 1 }),
            None => Err(Errno::ENOENT),
        }
    }
    fn watch(&mut self, _dir: &[u8]) -> Option<()> {
        Some(())
    }
    fn watch_fd(&self, _w: &()) -> i32 {
        WATCH_FD
    }
    fn drain_watch(&mut self, _w: &mut ()) -> Effect {
        Effect { changed: std::mem::take(&mut self.0.borrow_mut().dir_changed), rebuild: false }
    }
}

/// The clock for the driver's turn functions (the scheduler does the waiting).
pub(super) struct JointClock(pub(super) Rc<RefCell<World>>);

impl Os for JointClock {
    fn now(&mut self) -> Now {
        self.0.borrow().now
    }
    /// Never called: the scheduler decides when a process wakes and calls
    /// `driver::woken` itself.
    fn wait(&mut self, _interests: &[Interest], _now: Now, _deadline: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        (Vec::new(), SignalSet::default())
    }
}
