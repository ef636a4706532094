//! inotify through nix's safe wrapper: one reader of the kernel's event records for
//! runsvdir (its directory and symlink chain). sv reads its own (`bare::sv`, no libc).

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
