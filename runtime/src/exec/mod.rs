//! Executors: for each machine, the [`Io`](crate::driver::Io) that carries out its
//! actions with syscalls and gathers its inputs. Mechanism only; no policy.

pub mod runsv;
pub mod runsv_adopt;
pub mod runsv_ready;
pub mod runsvdir;
pub mod stage;
pub mod sv;
pub mod svlogd;
pub mod utmp;
