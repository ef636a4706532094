//! runsv's executor and what it stands on, as `no_std` + `alloc` code generic over the
//! system calls it makes: the same code runs over the fake kernels of `verification/`
//! (the simulators and mutation tests), over the host OS through `runtime::os::Real`
//! (std, nix/libc) and over raw system calls in the freestanding runsv (x86_64 Linux).
//!
//! | module | what |
//! |---|---|
//! | [`syscalls`] | the [`Syscalls`](syscalls::Syscalls) trait an executor runs over, and its types |
//! | [`setup`] | the start-up calls of runsv as a trait ([`SetupSys`](setup::SetupSys)) |
//! | [`spawn`] | [`SpawnSpec`](spawn::SpawnSpec): one child's set-up, and its steps in order |
//! | [`driver`] | the generic loop: drain actions, answer obligations, wait, gather inputs |
//! | [`runsv`] | runsv's start-up and its [`Io`](driver::Io) |
//! | [`runsv_ready`] | runsv's readiness plumbing (notification-fd, sd_notify) |
//! | [`runsv_adopt`] | runsv's adoption of what a previous runsv left running |
//! | [`linux`] | the Linux numbers the executors use (checked against libc in runtime) |
//!
//! The other programs' executors (runsvdir, svlogd, runit) stay in `runtime::exec`, over
//! the same [`syscalls::Syscalls`] and [`driver`].

pub mod driver;
pub mod linux;
pub mod runsv;
pub mod runsv_adopt;
pub mod runsv_ready;
pub mod setup;
pub mod spawn;
pub mod syscalls;
