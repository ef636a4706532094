//! inotify through nix's safe wrapper: one reader of the kernel's event records for
//! runsvdir (its directory and symlink chain) and sv (`supervise/` of each service).

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;

use model::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::sys::SysResult;

/// One event: the watch it came from, its mask (`IN_*` bits) and the name inside the
/// watched directory (empty for the directory itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Watch descriptor.
    pub wd: i32,
    /// `IN_*` bits.
    pub mask: u32,
    /// Name of the entry, without its NUL padding.
    pub name: Vec<u8>,
}

/// A non-blocking, close-on-exec inotify instance.
#[derive(Debug)]
pub struct Notify(Inotify);

impl Notify {
    /// A new instance.
    pub fn new() -> SysResult<Notify> {
        Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).map(Notify).map_err(|e| Errno(e as i32))
    }

    /// Watches `path` for the `IN_*` bits of `mask`; the watch descriptor.
    pub fn watch(&self, path: &std::ffi::CStr, mask: u32) -> SysResult<i32> {
        self.0.add_watch(path, AddWatchFlags::from_bits_retain(mask)).map(|wd| wd.as_raw()).map_err(|e| Errno(e as i32))
    }

    /// The descriptor to wait on.
    pub fn fd(&self) -> i32 {
        self.0.as_fd().as_raw_fd()
    }

    /// Every queued event, in order (none once the queue is empty or unreadable).
    pub fn drain(&self) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            match self.0.read_events() {
                Ok(events) if !events.is_empty() => out.extend(events.into_iter().map(|e| Event {
                    wd: e.wd.as_raw(),
                    mask: e.mask.bits(),
                    name: e.name.map(|n| n.as_bytes().to_vec()).unwrap_or_default(),
                })),
                Err(nix::errno::Errno::EINTR) => continue,
                _ => return out,
            }
        }
    }
}

/// Moves the cost of tearing down the inotify instance `keep` off this process's exit:
/// forks a *holder* child that keeps only `keep` and waits for this process to end.
///
/// Why: the last close of an inotify instance that held a watch waits for the kernel's
/// fsnotify mark reaper (a delayed work item, then an SRCU grace period): 10–25 ms on a
/// loaded machine (`strace -T`: `close(inotify) = 0 <0.021>`; docs/performance.md). A
/// process's exit closes its descriptors *before* its parent is told, so sv, which exits
/// right after the change it waited for, would pay it on every `-w` in the watch phase.
/// With the holder, sv's close only drops a reference; the holder's close is the last.
///
/// Nothing a caller can observe changes: the holder closes every other descriptor
/// (sv's stdout and stderr included) *before* this function returns, so a caller
/// reading sv's output until EOF gets it when sv exits; it needs no waiting, blocks on a
/// close-on-exec pipe whose only writer is this process (so `./check` scripts do not
/// keep it alive) and exits on its own as soon as this process has exited (or been
/// killed), without writing anything. If the fork fails, nothing is lost but the speed.
pub fn hold_until_exit(keep: i32) -> SysResult<()> {
    let (hold_r, hold_w) = crate::sys::pipe(false)?;
    let (gone_r, gone_w) = match crate::sys::pipe(false) {
        Ok(p) => p,
        Err(e) => {
            let _ = crate::sys::close(hold_r);
            let _ = crate::sys::close(hold_w);
            return Err(e);
        }
    };
    // SAFETY: sv is single-threaded; the child makes only raw syscalls (close_range,
    // close, read, _exit) and never returns into the caller.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // Step 1: drop everything but `keep`, the hold pipe and the "gone" pipe. The
        // descriptors (stdout among them) are released before this syscall returns.
        close_all_except(&[keep, hold_r, gone_w]);
        // Step 2: only now tell the parent that its stdout and stderr are no longer held.
        // SAFETY: plain syscalls on descriptors this child owns.
        unsafe {
            libc::close(gone_w);
            let mut byte = 0u8;
            // Blocks until every writer of the hold pipe (the parent) is gone.
            while libc::read(hold_r, (&mut byte as *mut u8).cast(), 1) < 0 && *libc::__errno_location() == libc::EINTR {}
            // Exit closes `keep`: the teardown happens here, after the parent has exited.
            libc::_exit(0)
        }
    }
    let _ = crate::sys::close(hold_r);
    let _ = crate::sys::close(gone_w);
    if pid < 0 {
        let e = crate::sys::last_errno();
        let _ = crate::sys::close(hold_w);
        let _ = crate::sys::close(gone_r);
        return Err(e);
    }
    // Wait for step 2 (end of file on the "gone" pipe): the holder has let go of stdio.
    let mut byte = [0u8; 1];
    while matches!(crate::sys::read(gone_r, &mut byte), Err(Errno(libc::EINTR))) {}
    let _ = crate::sys::close(gone_r);
    // `hold_w` stays open (close-on-exec) for the rest of this process's life: its close
    // at exit is what lets the holder go.
    Ok(())
}

/// Closes every descriptor but those of `keep` (async-signal-safe: for a child after
/// `fork`). `close_range(2)` where the kernel has it, else one `close` per number.
fn close_all_except(keep: &[i32; 3]) {
    let mut sorted = *keep;
    sorted.sort_unstable();
    let mut from: u32 = 0;
    for &k in &sorted {
        close_span(from, k as u32);
        from = k as u32 + 1;
    }
    close_span(from, u32::MAX);
}

/// Closes descriptors `from..to` (exclusive; `to` = `u32::MAX` means "all above").
fn close_span(from: u32, to: u32) {
    if from >= to {
        return;
    }
    let last = if to == u32::MAX { u32::MAX } else { to - 1 };
    // SAFETY: close_range takes two numbers and a flag word.
    if unsafe { libc::syscall(libc::SYS_close_range, from, last, 0) } == 0 {
        return;
    }
    // SAFETY: sysconf has no preconditions.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.clamp(1024, 1 << 20) as u32;
    for fd in from..=last.min(max - 1) {
        // SAFETY: closing a number this child may or may not have open.
        unsafe { libc::close(fd as i32) };
    }
}
