//! The one blocking wait: `ppoll` on the given fds plus the wake-up eventfd, with the handled
//! signals unblocked only for its duration, until a monotonic deadline.

use model::{Mono, Now};

use crate::signals::Signals;

/// What to watch and what was ready (the types live with the driver in `bare`).
pub use bare::exec::driver::{Interest, Ready};

/// Sleeps until an fd is ready, a signal arrives, or `deadline` passes (never, if `None`).
/// Returns the ready fds (the eventfd is not included; take signals afterwards).
pub fn wait(signals: &Signals, interests: &[Interest], now: Now, deadline: Option<Mono>) -> Vec<Ready> {
    let mut pfds: Vec<libc::pollfd> = Vec::with_capacity(interests.len() + 1);
    pfds.push(libc::pollfd { fd: signals.wake_fd(), events: libc::POLLIN, revents: 0 });
    for i in interests {
        let mut ev = 0;
        if i.read {
            ev |= libc::POLLIN;
        }
        if i.write {
            ev |= libc::POLLOUT;
        }
        pfds.push(libc::pollfd { fd: i.fd, events: ev, revents: 0 });
    }
    let ts = deadline.map(|d| {
        let span = d - now.mono;
        libc::timespec { tv_sec: (span.0 / 1_000_000_000) as libc::time_t, tv_nsec: (span.0 % 1_000_000_000) as libc::c_long }
    });
    // SAFETY: an empty sigset for the duration of ppoll unblocks the handled signals.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        let r = libc::ppoll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, tsp, &empty);
        if r <= 0 {
            return Vec::new();
        }
    }
    pfds[1..]
        .iter()
        .filter(|p| p.revents != 0)
        .map(|p| Ready {
            fd: p.fd,
            readable: p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0,
            writable: p.revents & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0,
        })
        .collect()
}
