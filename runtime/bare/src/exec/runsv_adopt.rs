//! runsv's side of adoption (`model::runsv` `adopt.rs`): probing at start-up what the
//! previous runsv left running, keeping the pidfds of the adopted children, signalling
//! them through those pidfds and noticing their end. Mechanism only: the model decides
//! from the [`Resume`] facts which probes become children ([`Action::Adopt`]) and which
//! are dropped ([`Action::Release`]).
//!
//! [`Action::Adopt`]: model::runsv::Action::Adopt
//! [`Action::Release`]: model::runsv::Action::Release

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use model::errno::Errno;
use model::runsv::{candidate, Input, PipeId, Probe, Resume, Slot};

use super::driver::{Interest, Woke};
use super::syscalls::{mode_is_fifo, Syscalls};

/// What one probe holds until the model decides.
#[derive(Debug, Default)]
struct Probed {
    /// The pidfd, when `pidfd_open` worked.
    pidfd: Option<i32>,
    /// Both ends (read, write) of the pipe recovered through the process's fd 0/1.
    pipe: Option<(i32, i32)>,
}

/// Probes, adopted children (pid, pidfd) per slot, indexed main = 0, log = 1.
#[derive(Debug, Default)]
pub struct AdoptIo {
    probed: [Option<Probed>; 2],
    adopted: [Option<(u32, i32)>; 2],
}

fn index(slot: Slot) -> usize {
    match slot {
        Slot::Main => 0,
        Slot::Log => 1,
    }
}

fn close_pair(os: &mut impl Syscalls, pair: Option<(i32, i32)>) {
    if let Some((r, w)) = pair {
        let _ = os.close(r);
        let _ = os.close(w);
    }
}

/// The pipe behind `target` of the process behind `pidfd`, with both its ends: the
/// logger's fd 0 is the read end (the write end is opened beside it), the service's fd 1
/// the write end.
fn recover_pipe(os: &mut impl Syscalls, pidfd: i32, slot: Slot) -> Result<(PipeId, (i32, i32)), Errno> {
    let target = if slot == Slot::Log { 0 } else { 1 };
    let fd = os.pidfd_getfd(pidfd, target)?;
    let st = match os.fstat(fd) {
        Ok(st) => st,
        Err(e) => {
            let _ = os.close(fd);
            return Err(e);
        }
    };
    let id = PipeId { dev: st.dev, ino: st.ino, fifo: mode_is_fifo(st.mode) };
    if !id.fifo {
        let _ = os.close(fd);
        return Err(Errno::EINVAL);
    }
    let read_end = slot == Slot::Log;
    match os.reopen_pipe(fd, read_end) {
        Ok(other) if read_end => Ok((id, (fd, other))),
        Ok(other) => Ok((id, (other, fd))),
        Err(e) => {
            let _ = os.close(fd);
            Err(e)
        }
    }
}

impl AdoptIo {
    /// Probes each slot's old `status` (in the service directory, after the locks were
    /// taken, so the previous runsv is gone): the facts for [`Input::Resume`].
    pub fn probe(os: &mut impl Syscalls, has_log: bool) -> (AdoptIo, Resume) {
        let mut io = AdoptIo::default();
        let main = io.probe_slot(os, Slot::Main, has_log);
        let log = if has_log { io.probe_slot(os, Slot::Log, true) } else { None };
        (io, Resume { boot_wall_ns: os.boot_wall_ns(), clk_tck: os.clk_tck(), main, log })
    }

    fn probe_slot(&mut self, os: &mut impl Syscalls, slot: Slot, has_log: bool) -> Option<Probe> {
        let path = if slot == Slot::Log { c"log/supervise/status" } else { c"supervise/status" };
        let bytes = os.read_small(path, 64).ok()?;
        let pid = candidate(&bytes)?;
        let status = bytes.get(..model::status::STATUS_LEN)?.try_into().ok()?;
        // The pidfd first: `/proc` read afterwards describes the process it pins, or a
        // later holder of the pid (whose start time then differs).
        let pidfd = os.pidfd_open(pid);
        let proc_stat = os.proc_stat(pid);
        let mut held = Probed { pidfd: pidfd.ok(), pipe: None };
        let pipe = match (&pidfd, has_log) {
            (_, false) => None,
            (Ok(fd), true) => Some(recover_pipe(os, *fd, slot).map(|(id, pair)| {
                held.pipe = Some(pair);
                id
            })),
            (Err(e), true) => Some(Err(*e)),
        };
        self.probed[index(slot)] = Some(held);
        Some(Probe { status, pidfd: pidfd.map(|_| ()), proc_stat, pipe })
    }

    /// [`Action::Adopt`](model::runsv::Action::Adopt): the probe's pidfd now watches the
    /// slot's child; its pipe descriptors, unless taken, are closed.
    pub fn adopt(&mut self, os: &mut impl Syscalls, slot: Slot, pid: u32) {
        let Some(p) = self.probed[index(slot)].take() else { return };
        close_pair(os, p.pipe);
        if let Some(fd) = p.pidfd {
            self.adopted[index(slot)] = Some((pid, fd));
        }
    }

    /// [`Action::Release`](model::runsv::Action::Release): not adopted; close what the
    /// probe holds.
    pub fn release(&mut self, os: &mut impl Syscalls, slot: Slot) {
        if let Some(p) = self.probed[index(slot)].take() {
            close_pair(os, p.pipe);
            if let Some(fd) = p.pidfd {
                let _ = os.close(fd);
            }
        }
    }

    /// [`Action::TakeLogPipe`](model::runsv::Action::TakeLogPipe): the recovered (read,
    /// write) pair of `slot`'s probe, now the caller's.
    pub fn take_pipe(&mut self, slot: Slot) -> Option<(i32, i32)> {
        self.probed[index(slot)].as_mut()?.pipe.take()
    }

    /// [`Action::SignalPidfd`](model::runsv::Action::SignalPidfd): `pidfd_send_signal` to
    /// the slot's adopted child (nothing if it is not that pid's: it already ended).
    pub fn signal(&self, os: &mut impl Syscalls, slot: Slot, pid: u32, sig: i32) {
        if let Some((p, fd)) = self.adopted[index(slot)] {
            if p == pid {
                let _ = os.pidfd_send_signal(fd, sig);
            }
        }
    }

    /// The adopted children's pidfds: readable when they end.
    pub fn interests(&self, out: &mut Vec<Interest>) {
        out.extend(self.adopted.iter().flatten().map(|&(_, fd)| Interest::read(fd)));
    }

    /// [`Input::AdoptedExited`] for each adopted child whose pidfd is readable (its pidfd
    /// is closed: it has said all it can). `finish_present` samples `./finish`.
    pub fn gather<O: Syscalls>(&mut self, os: &mut O, woke: &Woke, finish_present: impl Fn(&mut O) -> bool, out: &mut VecDeque<Input>) {
        for entry in &mut self.adopted {
            let Some((pid, fd)) = *entry else { continue };
            if woke.ready.iter().any(|r| r.fd == fd && r.readable) {
                let _ = os.close(fd);
                *entry = None;
                out.push_back(Input::AdoptedExited { pid, finish_present: finish_present(os) });
            }
        }
    }
}
