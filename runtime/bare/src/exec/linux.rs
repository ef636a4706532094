//! The Linux numbers the executors use, without a C library: signals, `st_mode` bits,
//! errno values beyond [`model::errno`]'s. `runtime`'s tests check each against libc
//! (`runtime/tests/bare_linux_numbers.rs`).

/// `SIGHUP`.
pub const SIGHUP: i32 = 1;
/// `SIGINT`.
pub const SIGINT: i32 = 2;
/// `SIGQUIT`.
pub const SIGQUIT: i32 = 3;
/// `SIGABRT`.
pub const SIGABRT: i32 = 6;
/// `SIGKILL`.
pub const SIGKILL: i32 = 9;
/// `SIGUSR1`.
pub const SIGUSR1: i32 = 10;
/// `SIGUSR2`.
pub const SIGUSR2: i32 = 12;
/// `SIGPIPE`.
pub const SIGPIPE: i32 = 13;
/// `SIGALRM`.
pub const SIGALRM: i32 = 14;
/// `SIGTERM`.
pub const SIGTERM: i32 = 15;
/// `SIGCHLD`.
pub const SIGCHLD: i32 = 17;
/// `SIGCONT`.
pub const SIGCONT: i32 = 18;
/// `SIGSTOP`.
pub const SIGSTOP: i32 = 19;

/// `S_IFMT`: the file-type bits of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
/// `S_IFDIR`: a directory.
pub const S_IFDIR: u32 = 0o040000;
/// `S_IFIFO`: a FIFO (or a pipe).
pub const S_IFIFO: u32 = 0o010000;
/// `S_IXUSR`: owner-execute.
pub const S_IXUSR: u32 = 0o100;

/// `ENOSYS`: a call the kernel (or a fake kernel) does not have.
pub const ENOSYS: i32 = 38;
/// `ERANGE`: a buffer too small (`getcwd`'s, for the service directory's path).
pub const ERANGE: i32 = 34;
