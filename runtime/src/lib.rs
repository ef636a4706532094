//! The thin syscall shell.
//!
//! This crate turns the world into model inputs and carries out model actions. It decides
//! nothing about supervision: every `if` about semantics lives in `model`. What is here is
//! mechanism only:
//!
//! | module | mechanism |
//! |---|---|
//! | [`clock`] | reading both clocks into a [`model::Now`] |
//! | [`signals`] | the signal latch + eventfd wake-up hand-off (checked under loom) |
//! | [`fs`] | FIFOs, locks, atomic `x.new` + rename writes, runit's open modes |
//! | [`process`] | fork/exec with fds wired and signals reset, reaping |
//! | [`wait`] | the one blocking wait: `ppoll` on fds + the wake-up eventfd until a deadline |
//! | [`driver`] | the generic loop: drain actions, answer obligations, wait, gather inputs |
//! | [`notify`] | inotify: watches and their events |
//! | [`os`] | the executors' syscalls as a trait: the real kernel, or the simulator's fake |
//! | [`pidfd`] | pidfds, the child-subreaper flag, a process's start time |
//! | [`diag`] | writing one diagnostic line per `write(2)` to fd 2 |
#![warn(missing_docs)]

pub mod clock;
pub mod diag;
pub mod driver;
pub mod fs;
pub mod latch;
pub mod notify;
pub mod os;
pub mod pidfd;
pub mod process;
pub mod signals;
pub mod sys;
pub mod wait;

pub mod exec;
