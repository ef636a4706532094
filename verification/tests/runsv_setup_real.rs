//! runsv's start-up on the real OS (`RunsvIo<Real>::setup`, runtime/bare/src/exec/runsv.rs,
//! and the readiness plumbing it sets up, runtime/bare/src/exec/runsv_ready.rs with the real
//! kernel's socket calls in runtime/src/exec/runsv_ready.rs): what a user sees in
//! the service directory afterwards (`supervise/` and its modes, the lock held, the FIFOs,
//! the `supervise/notify` socket), what `./run` gets (its log pipe, its notification pipe,
//! `NOTIFY_SOCKET`), runit's messages on the error paths, and `supervise` (start-up, trace,
//! driver loop) as both runsv mains call it.
//!
//! Start-up changes the process's directory and prints warnings on fd 2, so every test holds
//! [`CWD`] while it runs; each works in its own directory under the temporary directory
//! (never the host's /service or /run) and waits for every child it starts.
//! docs/assurance.md, "Runtime executors: runsv, readiness, adoption" lists the mutants.

use std::collections::VecDeque;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use model::readiness::config::ConfigWarning;
use model::readiness::{text as rtext, Protocol};
use model::runsv::{Action, Backoff, Config, ControlOutcome, Input, Program, Slot, Stop};
use runtime::driver::{Io, Woke};
use runtime::exec::runsv::{Fatal, Handled, RunsvIo};
use runtime::latch::SignalSet;
use runtime::wait::Ready;

/// Start-up's `chdir` and the fd-2 capture are process-wide: one test at a time.
static CWD: Mutex<()> = Mutex::new(());

/// A fresh directory of this test's own, removed again on drop (after the process
/// directory is moved back to `/`).
struct Scratch {
    root: PathBuf,
    _cwd: MutexGuard<'static, ()>,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let cwd = CWD.lock().unwrap_or_else(|e| e.into_inner());
        let root = std::env::temp_dir().join(format!("runit-setup-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("scratch directory");
        Scratch { root, _cwd: cwd }
    }

    /// A service directory `rel` under the scratch directory.
    fn service(&self, rel: &str) -> PathBuf {
        let dir = self.root.join(rel);
        std::fs::create_dir_all(&dir).expect("service directory");
        dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir("/");
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn bytes(p: &Path) -> Vec<u8> {
    p.as_os_str().as_bytes().to_vec()
}

/// Writes an executable script without leaving it open for writing (no ETXTBSY at exec).
fn script(path: &Path, body: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod script");
    std::fs::rename(&tmp, path).expect("rename script");
}

/// runsv's start-up in `dir` (the argument verbatim), with what it printed on fd 2.
fn setup(dir: &Path) -> (Result<(RunsvIo, Config), Fatal>, Vec<u8>) {
    let handled = Handled { all: Vec::new(), stray_unblock: Vec::new() };
    captured(|| RunsvIo::setup(runtime::os::Real, &bytes(dir), handled))
}

/// Runs `f` with fd 2 going to a file: its result and what it printed there.
fn captured<R>(f: impl FnOnce() -> R) -> (R, Vec<u8>) {
    let log = tempfile("stderr");
    // SAFETY: dup/dup2 on fd 2 and a file this test owns; restored before returning.
    let saved = unsafe { libc::dup(2) };
    assert!(saved >= 0, "dup(2)");
    assert!(unsafe { libc::dup2(log.as_raw_fd(), 2) } == 2, "dup2");
    let r = f();
    assert!(unsafe { libc::dup2(saved, 2) } == 2, "dup2 back");
    unsafe { libc::close(saved) };
    let mut printed = Vec::new();
    let mut f = std::fs::File::open(log_path("stderr")).expect("reopen stderr capture");
    f.read_to_end(&mut printed).expect("read stderr capture");
    let _ = std::fs::remove_file(log_path("stderr"));
    (r, printed)
}

fn log_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("runit-setup-{}-{name}.out", std::process::id()))
}

fn tempfile(name: &str) -> std::fs::File {
    std::fs::File::create(log_path(name)).expect("capture file")
}

fn ok(r: (Result<(RunsvIo, Config), Fatal>, Vec<u8>)) -> (RunsvIo, Config, Vec<u8>) {
    match r {
        (Ok((io, config)), printed) => (io, config, printed),
        (Err(Fatal(m)), _) => panic!("start-up failed: {}", String::from_utf8_lossy(&m)),
    }
}

fn fatal(r: (Result<(RunsvIo, Config), Fatal>, Vec<u8>)) -> String {
    match r {
        (Ok(_), _) => panic!("start-up succeeded where runit's fails"),
        (Err(Fatal(m)), _) => String::from_utf8_lossy(&m).into_owned(),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The permission bits and the file type of `p` (not following a final symlink).
fn kind(p: &Path) -> (std::fs::FileType, u32) {
    let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.file_type(), m.permissions().mode() & 0o7777)
}

/// Whether someone holds an exclusive `flock` on `p` (runsv's lock, seen as `sv` would).
fn flocked(p: &Path) -> bool {
    let f = std::fs::OpenOptions::new().append(true).open(p).expect("open lock");
    // SAFETY: flock on a descriptor this test owns.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    r != 0
}

/// Whether a reader holds the FIFO `p` open (what `sv` checks on `supervise/ok`).
fn fifo_has_reader(p: &Path) -> bool {
    std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(p).is_ok()
}

/// Writes one byte into a control FIFO the way `sv` does.
fn send(p: &Path, byte: u8) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(p).expect("open control");
    f.write_all(&[byte]).expect("write control");
}

/// One wake-up with every descriptor the executor polls reported readable.
fn gather_all(io: &mut RunsvIo) -> Vec<Input> {
    let mut interests = Vec::new();
    io.interests(&mut interests);
    let ready = interests.iter().map(|i| Ready { fd: i.fd, readable: true, writable: false }).collect();
    let woke = Woke { ready, signals: SignalSet(0), deadline_passed: false };
    let mut out = VecDeque::new();
    io.gather(model::Now::default(), &woke, &mut out);
    out.into_iter().collect()
}

/// Starts `program` through the executor and waits for it (blocking; the script ends).
fn run(io: &mut RunsvIo, slot: Slot, program: Program) -> i32 {
    let action = Action::Spawn { slot, program: program.clone(), exec_fail_msg: b"exec failed: ".to_vec(), own_group: false };
    let pid = match io.execute(model::Now::default(), action) {
        Some(Input::Spawned(s, pid)) if s == slot => pid as i32,
        other => panic!("spawn answered {other:?}"),
    };
    let status = reap(pid as u32);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{program:?} exited with status {status:#x}");
    pid
}

/// A plain service: `supervise/` (0700), its lock held, `control` (0600) held open both
/// ways so a byte `sv` writes arrives as a command, `ok` (0600) held open for reading; the
/// process is now in the service directory; nothing printed; runit's defaults.
#[test]
fn start_up_makes_supervise_with_lock_and_fifos() {
    let s = Scratch::new("plain");
    let svc = s.service("svc");
    let (mut io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), "");
    assert_eq!(config.dir, bytes(&svc));
    assert!(!config.down && config.log.is_none(), "{config:?}");
    assert_eq!(config.readiness.protocol, Protocol::None);
    assert_eq!(std::env::current_dir().expect("cwd"), svc.canonicalize().expect("canonical"));
    let (t, mode) = kind(&svc.join("supervise"));
    assert!(t.is_dir() && mode == 0o700, "supervise: {t:?} {mode:o}");
    for fifo in ["control", "ok"] {
        let (t, mode) = kind(&svc.join("supervise").join(fifo));
        assert!(t.is_fifo() && mode == 0o600, "{fifo}: {t:?} {mode:o}");
    }
    assert!(flocked(&svc.join("supervise/lock")), "supervise/lock not held");
    assert!(fifo_has_reader(&svc.join("supervise/ok")), "supervise/ok has no reader");
    assert!(!svc.join("event").exists(), "event/ made without notification-fd");
    assert_eq!((io.stop(), io.backoff()), (Stop::RUNIT, Backoff::RUNIT));
    match io.take_resume() {
        Some(Input::Resume(r)) => assert!(r.main.is_none() && r.log.is_none(), "{r:?}"),
        other => panic!("resume: {other:?}"),
    }
    assert_eq!(gather_all(&mut io), vec![], "nothing written yet");
    send(&svc.join("supervise/control"), b'd');
    send(&svc.join("supervise/control"), b'u');
    assert_eq!(gather_all(&mut io), vec![Input::Control(Slot::Main, b'd')], "one byte per wake-up");
    assert_eq!(gather_all(&mut io), vec![Input::Control(Slot::Main, b'u')]);
    assert_eq!(gather_all(&mut io), vec![], "the FIFO never reports EOF");
}

/// `down` and a `log/` with `log/down`: the facts say so, `log/supervise/` gets its own
/// lock and FIFOs, each slot's commands arrive as that slot's, and `./run`'s output
/// reaches `log/run` through the log pipe.
#[test]
fn start_up_with_log_service_and_down_files() {
    let s = Scratch::new("log");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("log")).expect("log/");
    std::fs::write(svc.join("down"), "").expect("down");
    std::fs::write(svc.join("log/down"), "").expect("log/down");
    script(&svc.join("run"), "echo hello from run");
    script(&svc.join("log/run"), "head -n 1 > got");
    let (mut io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), "");
    assert!(config.down && config.log == Some(true), "{config:?}");
    let (t, mode) = kind(&svc.join("log/supervise"));
    assert!(t.is_dir() && mode == 0o700, "log/supervise: {t:?} {mode:o}");
    for fifo in ["control", "ok"] {
        let (t, mode) = kind(&svc.join("log/supervise").join(fifo));
        assert!(t.is_fifo() && mode == 0o600, "log {fifo}: {t:?} {mode:o}");
    }
    assert!(flocked(&svc.join("supervise/lock")) && flocked(&svc.join("log/supervise/lock")), "locks");
    assert!(fifo_has_reader(&svc.join("log/supervise/ok")), "log/supervise/ok has no reader");
    send(&svc.join("log/supervise/control"), b'x');
    send(&svc.join("supervise/control"), b'o');
    assert_eq!(gather_all(&mut io), vec![Input::Control(Slot::Main, b'o'), Input::Control(Slot::Log, b'x')]);
    run(&mut io, Slot::Main, Program::Run);
    run(&mut io, Slot::Log, Program::LogRun);
    assert_eq!(std::fs::read_to_string(svc.join("log/got")).expect("log/got"), "hello from run\n");
}

/// A `log/` without `log/down` is a log slot wanting up.
#[test]
fn start_up_log_without_down() {
    let s = Scratch::new("logup");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("log")).expect("log/");
    let (_io, config, _) = ok(setup(&svc));
    assert!(!config.down && config.log == Some(false), "{config:?}");
}

/// A `log` that is not a directory: runit's warning, and no log slot.
#[test]
fn log_that_is_a_file_is_warned_about_and_ignored() {
    let s = Scratch::new("logfile");
    let svc = s.service("svc");
    std::fs::write(svc.join("log"), "").expect("log file");
    let (_io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), format!("runsv {}: warning: ./log: not a directory.\n", svc.display()));
    assert_eq!(config.log, None);
}

/// Another runsv holds `supervise/lock`: runit's fatal message (runsv then exits 111).
#[test]
fn lock_held_elsewhere_is_runits_fatal() {
    let s = Scratch::new("locked");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("supervise")).expect("supervise/");
    let holder = std::fs::File::create(svc.join("supervise/lock")).expect("lock file");
    // SAFETY: flock on this test's own descriptor (held until `holder` drops).
    assert_eq!(unsafe { libc::flock(holder.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0);
    let msg = fatal(setup(&svc));
    assert_eq!(msg, format!("runsv {}: fatal: unable to lock supervise/lock: temporary failure\n", svc.display()));
}

/// A directory that does not exist.
#[test]
fn missing_directory_is_fatal() {
    let s = Scratch::new("missing");
    let svc = s.root.join("nowhere");
    let msg = fatal(setup(&svc));
    assert_eq!(msg, format!("runsv {}: fatal: unable to change to directory: file does not exist\n", svc.display()));
}

/// `supervise` as a dangling symlink: runsv creates its target (for the log slot, relative
/// to `log/`, where the link is) and works there.
#[test]
fn supervise_symlinks_get_their_targets_created() {
    let s = Scratch::new("symlink");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("log")).expect("log/");
    std::os::unix::fs::symlink("main-sup", svc.join("supervise")).expect("symlink");
    std::os::unix::fs::symlink("log-sup", svc.join("log/supervise")).expect("log symlink");
    let (_io, _config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), "");
    for dir in ["main-sup", "log/log-sup"] {
        let (t, mode) = kind(&svc.join(dir));
        assert!(t.is_dir() && mode == 0o700, "{dir}: {t:?} {mode:o}");
        assert!(flocked(&svc.join(dir).join("lock")), "{dir}/lock not held");
        assert!(kind(&svc.join(dir).join("control")).0.is_fifo(), "{dir}/control");
    }
    assert!(!svc.join("log-sup").exists(), "the log target was made beside the main one");
    assert_eq!(std::env::current_dir().expect("cwd"), svc.canonicalize().expect("canonical"), "back in the service directory");
}

/// A `supervise` symlink whose target does not fit runit's 256-byte buffer.
#[test]
fn supervise_symlink_too_long_is_fatal() {
    let s = Scratch::new("longlink");
    let svc = s.service("svc");
    std::os::unix::fs::symlink("x".repeat(300), svc.join("supervise")).expect("symlink");
    let msg = fatal(setup(&svc));
    assert_eq!(msg, format!("runsv {}: fatal: unable to readlink ./supervise: name too long\n", svc.display()));
}

/// `supervise` that is a plain file: the lock cannot be opened.
#[test]
fn supervise_that_is_a_file_is_fatal() {
    let s = Scratch::new("supfile");
    let svc = s.service("svc");
    std::fs::write(svc.join("supervise"), "").expect("supervise file");
    let msg = fatal(setup(&svc));
    assert_eq!(msg, format!("runsv {}: fatal: unable to open supervise/lock: not a directory\n", svc.display()));
}

/// `supervise/control` that is not a FIFO.
#[test]
fn control_that_is_not_a_fifo_is_fatal() {
    let s = Scratch::new("ctlfile");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("supervise")).expect("supervise/");
    std::fs::write(svc.join("supervise/control"), "").expect("control file");
    let msg = fatal(setup(&svc));
    assert_eq!(msg, format!("runsv {}: fatal: supervise/control exists but is not a fifo\n", svc.display()));
}

/// The stop and backoff files are read at start-up (the machine gets their values); one
/// that cannot be read is a warning and counts as absent.
#[test]
fn stop_and_backoff_files_are_read() {
    let s = Scratch::new("stopfiles");
    let svc = s.service("svc");
    std::fs::write(svc.join("down-signal"), "HUP\n").expect("down-signal");
    std::fs::write(svc.join("timeout-kill"), "2500\n").expect("timeout-kill");
    std::fs::write(svc.join("flag-timeout-killpg"), "").expect("flag");
    std::fs::write(svc.join("restart-delay"), "2000\n").expect("restart-delay");
    std::fs::write(svc.join("restart-limit-count"), "3\n").expect("restart-limit-count");
    std::fs::create_dir(svc.join("timeout-finish")).expect("timeout-finish as a directory");
    let dir = bytes(&svc);
    let (io, _config, printed) = ok(setup(&svc));
    let (stop, _) = Stop::from_files(&dir, Some(b"HUP\n"), Some(b"2500\n"), None, true);
    assert_eq!(io.stop(), stop);
    assert_ne!(stop, Stop::RUNIT);
    let (backoff, _) = Backoff::from_files(&dir, Some(b"2000\n"), None, None, None, Some(b"3\n"));
    assert_eq!(io.backoff(), backoff);
    assert_ne!(backoff, Backoff::RUNIT);
    assert_eq!(text(&printed), format!("runsv {}: warning: unable to read timeout-finish: is a directory\n", svc.display()));
}

/// The soft `RLIMIT_NOFILE` (start-up checks `notification-fd` against it).
fn nofile() -> u64 {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: a valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) }, 0);
    rl.rlim_cur
}

/// `notification-fd`: `./run` gets the write end of a pipe on that number, and what it
/// writes there arrives as that child's notification; s6's `event/` fifodir appears.
#[test]
fn notification_fd_reaches_run() {
    let s = Scratch::new("nfd");
    let svc = s.service("svc");
    std::fs::write(svc.join("notification-fd"), "5\n").expect("notification-fd");
    script(&svc.join("run"), "printf 'ready\\n' >&5");
    let (mut io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), "");
    assert_eq!(config.readiness.protocol, Protocol::NotificationFd);
    let (t, _) = kind(&svc.join("event"));
    assert!(t.is_dir(), "event/ fifodir: {t:?}");
    let pid = run(&mut io, Slot::Main, Program::Run) as u32;
    assert_eq!(gather_all(&mut io), vec![Input::NotificationFd { pid, chunk: b"ready\n".to_vec() }]);
}

/// `notification-fd` is checked against the process's real descriptor limit: one below
/// it is accepted, the limit itself is not (runit-rs's warning).
#[test]
fn notification_fd_is_checked_against_the_descriptor_limit() {
    let s = Scratch::new("nfdlimit");
    let limit = nofile();
    assert!(limit > 3, "RLIMIT_NOFILE {limit}");
    let below = s.service("below");
    std::fs::write(below.join("notification-fd"), format!("{}\n", limit - 1)).expect("notification-fd");
    let (_io, config, printed) = ok(setup(&below));
    assert_eq!(text(&printed), "");
    assert_eq!(config.readiness.protocol, Protocol::NotificationFd, "limit - 1 = {} refused", limit - 1);
    let at = s.service("at");
    std::fs::write(at.join("notification-fd"), format!("{limit}\n")).expect("notification-fd");
    let (_io, config, printed) = ok(setup(&at));
    assert_eq!(printed, rtext::config_warning(&bytes(&at), ConfigWarning::NotificationFdTooLarge(limit)));
    assert_eq!(config.readiness.protocol, Protocol::None);
}

/// A `notification-fd` that cannot be read is a warning and no readiness.
#[test]
fn notification_fd_unreadable_is_a_warning() {
    let s = Scratch::new("nfddir");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("notification-fd")).expect("notification-fd as a directory");
    let (_io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), format!("runsv {}: warning: unable to read notification-fd: is a directory\n", svc.display()));
    assert_eq!(config.readiness.protocol, Protocol::None);
}

/// What `./run` finds in its environment (`NOTIFY_SOCKET`, `WATCHDOG_USEC`), after checking
/// that it inherited the rest of runsv's (`PATH`) and not runsv's own sd_notify variables.
fn run_env(io: &mut RunsvIo, svc: &Path) -> String {
    script(
        &svc.join("run"),
        "echo \"NOTIFY_SOCKET=$NOTIFY_SOCKET WATCHDOG_USEC=$WATCHDOG_USEC\" > env.out; echo \"${PATH:+PATH} WATCHDOG_PID=$WATCHDOG_PID\" > rest.out
for f in /proc/$$/fd/*; do l=$(readlink \"$f\"); case \"$l\" in socket:*) echo \"$f $l\";; esac; done > sockets.out",
    );
    run(io, Slot::Main, Program::Run);
    assert_eq!(std::fs::read_to_string(svc.join("rest.out")).expect("rest.out"), "PATH WATCHDOG_PID=\n", "./run's inherited environment");
    assert_eq!(
        std::fs::read_to_string(svc.join("sockets.out")).expect("sockets.out"),
        "",
        "./run inherited a socket (supervise/notify is close-on-exec)"
    );
    std::fs::read_to_string(svc.join("env.out")).expect("env.out")
}

/// runsv's own environment carries a stale `NOTIFY_SOCKET` and `WATCHDOG_PID` (as if it
/// were itself run by an sd_notify supervisor): `./run` gets runsv's socket instead, and no
/// `WATCHDOG_PID`. Set only while [`CWD`] is held (the other tests wait).
struct StaleNotifyEnv;

impl StaleNotifyEnv {
    fn set() -> StaleNotifyEnv {
        std::env::set_var("NOTIFY_SOCKET", "/stale/socket");
        std::env::set_var("WATCHDOG_PID", "1");
        StaleNotifyEnv
    }
}

impl Drop for StaleNotifyEnv {
    fn drop(&mut self) {
        std::env::remove_var("NOTIFY_SOCKET");
        std::env::remove_var("WATCHDOG_PID");
    }
}

/// Sends one datagram to the socket at `path` from this process.
fn notify(path: &Path, payload: &[u8]) {
    let sock = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    sock.send_to(payload, path).expect("send to supervise/notify");
}

/// `notify-socket`: `supervise/notify` is a datagram socket bound at start-up (a stale file
/// there is replaced), `./run` gets its absolute path, and a datagram sent there arrives
/// with the sender's pid from the kernel's credentials.
#[test]
fn notify_socket_is_bound_and_passed_to_run() {
    let s = Scratch::new("sdnotify");
    let svc = s.service("svc");
    std::fs::write(svc.join("notify-socket"), "").expect("notify-socket");
    std::fs::write(svc.join("timeout-watchdog"), "1500\n").expect("timeout-watchdog");
    std::fs::create_dir(svc.join("supervise")).expect("supervise/");
    std::fs::write(svc.join("supervise/notify"), "stale").expect("stale file");
    let (mut io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), "");
    assert_eq!(config.readiness.protocol, Protocol::SdNotify);
    assert!(config.readiness.watchdog.is_some(), "{config:?}");
    assert!(!svc.join("event").exists(), "event/ made without notification-fd");
    let (t, _) = kind(&svc.join("supervise/notify"));
    assert!(t.is_socket(), "supervise/notify: {t:?}");
    let abs = svc.canonicalize().expect("canonical").join("supervise/notify");
    let _stale = StaleNotifyEnv::set();
    assert_eq!(run_env(&mut io, &svc), format!("NOTIFY_SOCKET={} WATCHDOG_USEC=1500000\n", abs.display()));
    notify(&svc.join("supervise/notify"), b"READY=1");
    match gather_all(&mut io).as_slice() {
        [Input::Notify { sender: Some(sender), payload, fds: 0, truncated: false }] => {
            assert_eq!(sender.pid, std::process::id() as i32);
            assert_eq!(payload, b"READY=1");
        }
        other => panic!("after one datagram: {other:?}"),
    }
}

/// A service directory whose absolute socket path does not fit `sun_path`: `./run` gets the
/// relative `supervise/notify` (its working directory is the service directory).
#[test]
fn notify_socket_path_too_long_for_sun_path_is_relative() {
    let s = Scratch::new("sdlong");
    let svc = s.service(&format!("{}/svc", "d".repeat(120)));
    std::fs::write(svc.join("notify-socket"), "").expect("notify-socket");
    let (mut io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), "");
    assert_eq!(config.readiness.protocol, Protocol::SdNotify);
    assert_eq!(run_env(&mut io, &svc), "NOTIFY_SOCKET=supervise/notify WATCHDOG_USEC=\n");
}

/// The longest absolute socket path that still fits `sun_path` with its NUL is passed
/// absolute; one byte more and it is relative.
#[test]
fn notify_socket_path_at_the_sun_path_bound() {
    let s = Scratch::new("sdedge");
    let base = s.root.canonicalize().expect("canonical");
    // `<base>/<pad>/supervise/notify` is exactly `len` bytes.
    let fit = |len: usize| len - base.as_os_str().len() - "/".len() - "/supervise/notify".len();
    for (len, absolute) in [(107, true), (108, false)] {
        let svc = s.service(&"p".repeat(fit(len)));
        std::fs::write(svc.join("notify-socket"), "").expect("notify-socket");
        let (mut io, _config, printed) = ok(setup(&svc));
        assert_eq!(text(&printed), "");
        let want = if absolute {
            format!("{}/supervise/notify", svc.canonicalize().expect("canonical").display())
        } else {
            "supervise/notify".into()
        };
        assert_eq!(want.len(), if absolute { len } else { 16 });
        assert_eq!(run_env(&mut io, &svc), format!("NOTIFY_SOCKET={want} WATCHDOG_USEC=\n"), "path of {len} bytes");
    }
}

/// `supervise/notify` that cannot be replaced (a directory): a warning, and no sd_notify.
#[test]
fn notify_socket_that_cannot_be_bound_is_a_warning() {
    let s = Scratch::new("sdbusy");
    let svc = s.service("svc");
    std::fs::write(svc.join("notify-socket"), "").expect("notify-socket");
    std::fs::create_dir_all(svc.join("supervise/notify")).expect("supervise/notify as a directory");
    let (_io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), format!("runsv {}: warning: unable to bind supervise/notify: address already used\n", svc.display()));
    assert_eq!(config.readiness.protocol, Protocol::None);
}

/// `dir/status` as the previous runsv left it: `pid` running, wanted up.
fn old_status(dir: &Path, pid: u32) {
    use model::status::{RunState, StatusRecord, Want};
    std::fs::create_dir_all(dir).expect("supervise/");
    let record = StatusRecord::new(model::Tai64n::default(), pid, false, Want::Up, false, RunState::Run);
    std::fs::write(dir.join("status"), record.encode()).expect("old status");
}

/// A pipe of this test's own: (read end, write end), close-on-exec.
fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: a valid out-array of two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0, "pipe2");
    // SAFETY: both descriptors were just created and are owned here only.
    unsafe { (std::os::fd::OwnedFd::from_raw_fd(fds[0]), std::os::fd::OwnedFd::from_raw_fd(fds[1])) }
}

/// Waits for `pid` (a child of this test) to end: its raw wait status. A pid that is not
/// a child of this process fails the test at once (nothing is signalled); a child still
/// there after 30 s (a mutant that lost a signal or a pipe) is killed and the test fails,
/// instead of hanging.
fn reap(pid: u32) -> i32 {
    let mut status = 0;
    // SAFETY: a non-blocking wait for `pid`; ECHILD when it is not this process's child.
    let r = unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
    assert!(r >= 0 && pid > 0, "{pid} is not a child of this test");
    if r == pid as i32 {
        return status;
    }
    // SAFETY: pidfd_open(2) on a child of this test (not yet reaped).
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as i32;
    assert!(pidfd >= 0, "pidfd_open {pid}");
    let mut p = libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd; the 30 s are a hang guard, not a timing assertion.
    let ended = unsafe { libc::poll(&mut p, 1, 30_000) } == 1;
    // SAFETY: closing the pidfd opened above; signalling our own child if it is stuck.
    unsafe {
        libc::close(pidfd);
        if !ended {
            kill_one(pid as i32);
        }
    }
    // SAFETY: waiting for a child this test started.
    assert_eq!(unsafe { libc::waitpid(pid as i32, &mut status, 0) }, pid as i32, "waitpid {pid}");
    assert!(ended, "child {pid} did not end");
    status
}

/// Adoption on the real kernel: a restarted runsv finds the previous one's `./run` and
/// logger through their old `status` files, recovers the log pipe between them from the
/// processes themselves, and then (doing what the model decides on such facts) the
/// logger keeps receiving: a new `./run`'s output reaches it through the recovered pipe.
/// Signals reach the adopted `./run` only through its own pidfd, and its end is noticed.
#[test]
fn adoption_recovers_the_previous_runsvs_children_and_log_pipe() {
    use std::os::unix::fs::MetadataExt;
    use std::process::{Command, Stdio};
    let s = Scratch::new("adopt");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("log")).expect("log/");
    script(&svc.join("run"), "echo new output");
    let (r, w) = pipe();
    let pipe_id = std::fs::metadata(format!("/proc/self/fd/{}", r.as_raw_fd())).expect("fstat pipe");
    let mut old_run = Command::new("sleep").arg("600").stdout(Stdio::from(w)).spawn().expect("old ./run");
    let mut old_log =
        Command::new("sh").args(["-c", "head -n 1 > got"]).current_dir(svc.join("log")).stdin(Stdio::from(r)).spawn().expect("old log/run");
    let (run_pid, log_pid) = (old_run.id(), old_log.id());
    old_status(&svc.join("supervise"), run_pid);
    old_status(&svc.join("log/supervise"), log_pid);

    let pidfds_before = pidfds();
    let (mut io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), "");
    assert_eq!(config.log, Some(false));
    let resume = match io.take_resume() {
        Some(Input::Resume(r)) => r,
        other => panic!("resume: {other:?}"),
    };
    assert!(resume.clk_tck > 0 && resume.boot_wall_ns > 0, "{resume:?}");
    for (slot, probe, pid) in [("main", &resume.main, run_pid), ("log", &resume.log, log_pid)] {
        let probe = probe.as_ref().unwrap_or_else(|| panic!("{slot}: no probe"));
        assert_eq!(probe.pidfd, Ok(()), "{slot}: pidfd");
        let stat = model::runsv::parse_proc_stat(probe.proc_stat.as_deref().expect("proc stat")).expect("parsable /proc stat");
        assert_ne!(stat.state, b'Z', "{slot}");
        assert_eq!(model::runsv::candidate(&probe.status), Some(pid), "{slot}: status");
        match probe.pipe {
            Some(Ok(id)) => assert!(id.fifo && id.ino == pipe_id.ino() && id.dev == pipe_id.dev(), "{slot}: {id:?} vs the pipe"),
            other => panic!("{slot}: pipe {other:?}"),
        }
    }

    let now = model::Now::default();
    for action in
        [Action::TakeLogPipe(Slot::Log), Action::Adopt { slot: Slot::Main, pid: run_pid }, Action::Adopt { slot: Slot::Log, pid: log_pid }]
    {
        assert_eq!(io.execute(now, action), None);
    }
    assert_eq!(fds_on_pipe(pipe_id.ino()), 2, "runsv holds the taken pair only (the main probe's pair closed)");
    assert_eq!(pidfds(), pidfds_before + 2, "the two adopted children's pidfds");
    // A new `./run` writes into the recovered pipe; the old logger reads it and ends.
    run(&mut io, Slot::Main, Program::Run);
    assert_eq!(reap(log_pid), 0, "old logger's exit");
    let _ = old_log.try_wait();
    assert_eq!(std::fs::read_to_string(svc.join("log/got")).expect("log/got"), "new output\n");

    // The logger's end is noticed through its pidfd, the running `./run`'s is not.
    assert_eq!(wake(&mut io), vec![Input::AdoptedExited { pid: log_pid, finish_present: false }], "after the logger ended");

    // A signal for another pid is not sent; the adopted child's is.
    io.execute(now, Action::SignalPidfd(Slot::Main, run_pid + 1, model::runsv::Sig::Kill));
    io.execute(now, Action::SignalPidfd(Slot::Main, run_pid, model::runsv::Sig::Term));
    let status = reap(run_pid);
    let _ = old_run.try_wait();
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGTERM, "old ./run ended with {status:#x}");
    let polled = polled_fds(&io);
    assert_eq!(wake(&mut io), vec![Input::AdoptedExited { pid: run_pid, finish_present: false }], "after ./run ended");
    assert_eq!(polled_fds(&io).len(), polled.len() - 1, "an ended child's pidfd is still polled");
    assert_eq!(wake(&mut io), vec![], "each end is reported once");
}

/// The descriptors the executor polls.
fn polled_fds(io: &RunsvIo) -> Vec<i32> {
    let mut interests = Vec::new();
    io.interests(&mut interests);
    interests.iter().map(|i| i.fd).collect()
}

/// One wake-up with what the kernel reports ready now (`poll` without waiting; the tests
/// call it once the process they expect to see has been reaped).
fn wake(io: &mut RunsvIo) -> Vec<Input> {
    let mut polled: Vec<libc::pollfd> =
        polled_fds(io).into_iter().map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    // SAFETY: a valid array of pollfd; timeout 0.
    let n = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, 0) };
    assert!(n >= 0, "poll");
    let ready = polled.iter().filter(|p| p.revents != 0).map(|p| Ready { fd: p.fd, readable: true, writable: false }).collect();
    let woke = Woke { ready, signals: SignalSet(0), deadline_passed: false };
    let mut out = VecDeque::new();
    io.gather(model::Now::default(), &woke, &mut out);
    out.into()
}

/// The open descriptors of this process that name the pipe with inode `ino`.
fn fds_on_pipe(ino: u64) -> usize {
    let want = format!("pipe:[{ino}]");
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.as_os_str().as_bytes() == want.as_bytes())
        .count()
}

/// The inode of the pipe on descriptor `fd` of process `pid`.
fn pipe_inode(pid: u32, fd: i32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/fd/{fd}")).expect("fd of the child").ino()
}

/// When runsv lets go of the log pipe (the log slot is gone for good), it closes both of its
/// ends: the logger then reads EOF. Here: no descriptor of this process names the pipe.
#[test]
fn closing_the_log_pipe_closes_both_ends() {
    let s = Scratch::new("closepipe");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("log")).expect("log/");
    script(&svc.join("run"), "l=$(readlink /proc/$$/fd/1); echo \"$l\" > fd1.out");
    let (mut io, _config, _) = ok(setup(&svc));
    run(&mut io, Slot::Main, Program::Run);
    let link = std::fs::read_to_string(svc.join("fd1.out")).expect("fd1.out");
    let ino: u64 = link
        .trim()
        .strip_prefix("pipe:[")
        .and_then(|l| l.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("./run's stdout is not a pipe: {link:?}"));
    assert_eq!(fds_on_pipe(ino), 2, "runsv holds both ends of the log pipe");
    assert_eq!(io.execute(model::Now::default(), Action::CloseLogPipe), None);
    assert_eq!(fds_on_pipe(ino), 0, "an end of the log pipe is still open");
}

/// Sends `payload` with `pass` attached (SCM_RIGHTS) from `fd`.
fn send_with_fds(fd: i32, payload: &[u8], pass: &[i32]) {
    let mut iov = libc::iovec { iov_base: payload.as_ptr() as *mut libc::c_void, iov_len: payload.len() };
    let mut cbuf = [0u64; 16];
    let bytes = std::mem::size_of_val(pass) as u32;
    // SAFETY: zeroed msghdr is valid; the buffers outlive the call; CMSG macros walk cbuf,
    // which is large enough for the few descriptors passed here.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(bytes) as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(bytes) as _;
        for (i, &f) in pass.iter().enumerate() {
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>().add(i), f);
        }
        assert_eq!(libc::sendmsg(fd, &msg, 0), payload.len() as isize);
    }
}

/// A datagram to `supervise/notify` carrying three descriptors (sd_notify's FDSTORE): it
/// arrives with the sender's pid and a count of three, and runsv keeps none of them open.
#[test]
fn notify_datagram_with_three_descriptors() {
    let s = Scratch::new("sdfds");
    let svc = s.service("svc");
    std::fs::write(svc.join("notify-socket"), "").expect("notify-socket");
    let (mut io, _config, _) = ok(setup(&svc));
    let (r, w) = pipe();
    let ino = pipe_inode(std::process::id(), r.as_raw_fd());
    let sock = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    sock.connect(svc.join("supervise/notify")).expect("connect to supervise/notify");
    send_with_fds(sock.as_raw_fd(), b"FDSTORE=1", &[r.as_raw_fd(), w.as_raw_fd(), r.as_raw_fd()]);
    drop((r, w));
    match gather_all(&mut io).as_slice() {
        [Input::Notify { sender: Some(sender), payload, fds: 3, truncated: false }] => {
            assert_eq!(sender.pid, std::process::id() as i32);
            assert_eq!(payload, b"FDSTORE=1");
        }
        other => panic!("after a datagram with three descriptors: {other:?}"),
    }
    assert_eq!(fds_on_pipe(ino), 0, "a passed descriptor was kept open");
}

/// The notification pipe while `./run` holds it open without writing: a wake-up reads
/// nothing and reports nothing (not an end of notifications); when `./run` dies, the end of
/// the pipe is reported as an empty chunk.
#[test]
fn notification_pipe_is_quiet_until_run_ends() {
    let s = Scratch::new("nfdquiet");
    let svc = s.service("svc");
    std::fs::write(svc.join("notification-fd"), "5\n").expect("notification-fd");
    script(&svc.join("run"), "exec sleep 600");
    let (mut io, _config, _) = ok(setup(&svc));
    let action = Action::Spawn { slot: Slot::Main, program: Program::Run, exec_fail_msg: b"exec failed: ".to_vec(), own_group: false };
    let Some(Input::Spawned(_, pid)) = io.execute(model::Now::default(), action) else { panic!("spawn") };
    let quiet = gather_all(&mut io);
    kill_one(pid as i32);
    reap(pid);
    assert_eq!(quiet, vec![], "a wake-up without data");
    assert_eq!(gather_all(&mut io), vec![Input::NotificationFd { pid, chunk: Vec::new() }], "./run gone: the pipe's end");
}

/// How many pidfds this process holds.
fn pidfds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.as_os_str().as_bytes() == b"anon_inode:[pidfd]")
        .count()
}

/// Probes the model does not adopt are released: runsv keeps no descriptor of theirs (no
/// pidfd, neither end of the recovered pipe), and the processes are left alone.
#[test]
fn released_probes_keep_nothing_open() {
    use std::process::{Command, Stdio};
    let s = Scratch::new("release");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("log")).expect("log/");
    let (r, w) = pipe();
    let ino = pipe_inode(std::process::id(), r.as_raw_fd());
    let spawn = |io: Stdio, out: Stdio| Command::new("sleep").arg("600").stdin(io).stdout(out).spawn().expect("sleep");
    let mut old_run = spawn(Stdio::null(), Stdio::from(w));
    let mut old_log = spawn(Stdio::from(r), Stdio::null());
    old_status(&svc.join("supervise"), old_run.id());
    old_status(&svc.join("log/supervise"), old_log.id());
    let before = pidfds();
    let (mut io, _config, _) = ok(setup(&svc));
    let probed = (pidfds(), fds_on_pipe(ino));
    for slot in [Slot::Main, Slot::Log] {
        assert_eq!(io.execute(model::Now::default(), Action::Release(slot)), None);
    }
    let released = (pidfds(), fds_on_pipe(ino));
    let mut interests = Vec::new();
    io.interests(&mut interests);
    for child in [&mut old_run, &mut old_log] {
        kill_one(child.id() as i32);
        reap(child.id());
        let _ = child.try_wait();
    }
    assert_eq!(probed, (before + 2, 4), "while probed: two pidfds and both pairs");
    assert_eq!(released, (before, 0), "after release");
    assert_eq!(interests.len(), 2, "only the two control FIFOs are polled: {interests:?}");
}

/// Adoption when only the old `./run` survived (its logger is gone): runsv recovers the
/// log pipe from the service's fd 1, and a new `log/run` reads what the old `./run` writes.
#[test]
fn adoption_recovers_the_log_pipe_from_the_service_alone() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let s = Scratch::new("adoptrun");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("log")).expect("log/");
    script(&svc.join("log/run"), "head -n 1 > got");
    let (log_r, log_w) = pipe();
    let ino = pipe_inode(std::process::id(), log_r.as_raw_fd());
    let (in_r, in_w) = pipe();
    // The old `./run` copies what the test writes to it into the log pipe.
    let mut old_run = Command::new("cat").stdin(Stdio::from(in_r)).stdout(Stdio::from(log_w)).spawn().expect("old ./run");
    drop(log_r);
    let run_pid = old_run.id();
    old_status(&svc.join("supervise"), run_pid);

    let (mut io, _config, _) = ok(setup(&svc));
    let resume = match io.take_resume() {
        Some(Input::Resume(r)) => r,
        other => panic!("resume: {other:?}"),
    };
    assert!(resume.log.is_none(), "no old logger: {resume:?}");
    match resume.main.as_ref().and_then(|p| p.pipe) {
        Some(Ok(id)) => assert!(id.fifo && id.ino == ino, "{id:?}"),
        other => panic!("main probe's pipe: {other:?}"),
    }
    let now = model::Now::default();
    assert_eq!(io.execute(now, Action::TakeLogPipe(Slot::Main)), None);
    assert_eq!(io.execute(now, Action::Adopt { slot: Slot::Main, pid: run_pid }), None);
    assert_eq!(fds_on_pipe(ino), 2, "runsv holds both ends of the recovered pipe");

    let spawn = Action::Spawn { slot: Slot::Log, program: Program::LogRun, exec_fail_msg: b"exec failed: ".to_vec(), own_group: false };
    let Some(Input::Spawned(_, logger)) = io.execute(now, spawn) else { panic!("spawn log/run") };
    let mut in_w = std::fs::File::from(in_w);
    in_w.write_all(b"from the old run\n").expect("write to the old ./run");
    drop(in_w);
    assert_eq!(reap(logger), 0, "new logger's exit");
    assert_eq!(std::fs::read_to_string(svc.join("log/got")).expect("log/got"), "from the old run\n");
    assert_eq!(reap(run_pid), 0, "old ./run's exit at the end of its input");
    let _ = old_run.try_wait();
    assert_eq!(wake(&mut io), vec![Input::AdoptedExited { pid: run_pid, finish_present: false }]);
}

/// `down` and `flag-timeout-killpg` count only when `stat` finds them, as in runit: a
/// dangling symlink of either name is no file.
#[test]
fn dangling_down_and_killpg_links_are_no_files() {
    let s = Scratch::new("dangling");
    let svc = s.service("svc");
    std::os::unix::fs::symlink("nowhere", svc.join("down")).expect("down link");
    std::os::unix::fs::symlink("nowhere", svc.join("flag-timeout-killpg")).expect("flag link");
    let (io, config, printed) = ok(setup(&svc));
    assert_eq!(text(&printed), "");
    assert!(!config.down, "a dangling down link counted as down");
    assert_eq!(io.stop(), Stop::RUNIT, "a dangling flag-timeout-killpg link counted");
}

/// `control/<c>` overrides: none, one that is not executable (runit: not an override),
/// one that runs (its wait status is the outcome).
#[test]
fn control_scripts_run_only_when_executable() {
    let s = Scratch::new("control");
    let svc = s.service("svc");
    std::fs::create_dir(svc.join("control")).expect("control/");
    std::fs::write(svc.join("control/d"), "#!/bin/sh\nexit 0\n").expect("control/d");
    std::fs::set_permissions(svc.join("control/d"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    script(&svc.join("control/t"), "exit 3");
    let (mut io, _config, _) = ok(setup(&svc));
    let now = model::Now::default();
    let mut outcome = |byte: u8| match io.execute(now, Action::RunControl(byte)) {
        Some(Input::ControlDone(o)) => o,
        other => panic!("control/{}: {other:?}", byte as char),
    };
    assert_eq!(outcome(b'u'), ControlOutcome::Absent, "no such file");
    assert_eq!(outcome(b'd'), ControlOutcome::Absent, "not executable");
    match outcome(b't') {
        ControlOutcome::Exited(st) => assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 3, "{st:#x}"),
        other => panic!("control/t: {other:?}"),
    }
}

fn write_status(io: &mut RunsvIo) -> Vec<u8> {
    let action = Action::WriteStatus { slot: Slot::Main, pid: Some(b"42\n".to_vec()), stat: b"run\n".to_vec(), status: [7; 20], ext: None };
    let (r, printed) = captured(|| io.execute(model::Now::default(), action));
    assert_eq!(r, None);
    printed
}

/// A status update whose `pid` cannot be written stops there, as runit's does (`stat` and
/// `status` keep their old contents); one whose `stat` cannot be written goes on to
/// `status`. Each failure is runit's warning.
#[test]
fn status_update_stops_only_at_a_failed_pid_write() {
    let s = Scratch::new("statusfail");
    let svc = s.service("svc");
    let (mut io, _config, _) = ok(setup(&svc));
    let sup = svc.join("supervise");
    std::fs::create_dir(sup.join("pid.new")).expect("pid.new as a directory");
    let printed = write_status(&mut io);
    assert_eq!(text(&printed), format!("runsv {}: warning: unable to open supervise/pid.new: is a directory\n", svc.display()));
    assert!(!sup.join("stat").exists() && !sup.join("status").exists(), "the update went on after the pid file failed");

    std::fs::remove_dir(sup.join("pid.new")).expect("rmdir pid.new");
    std::fs::create_dir(sup.join("stat.new")).expect("stat.new as a directory");
    let printed = write_status(&mut io);
    assert_eq!(text(&printed), format!("runsv {}: warning: unable to open supervise/stat.new: is a directory\n", svc.display()));
    assert_eq!(std::fs::read(sup.join("pid")).expect("pid"), b"42\n");
    assert!(!sup.join("stat").exists(), "stat written through a directory");
    assert_eq!(std::fs::read(sup.join("status")).expect("status"), [7; 20], "status skipped after stat failed");
}

/// Blocks until child `pid` has exited, leaving it to be reaped (30 s hang guard).
fn await_exit(pid: u32) {
    // SAFETY: pidfd_open(2) on a child of this test (not yet reaped).
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as i32;
    assert!(pidfd >= 0, "pidfd_open {pid}");
    let mut p = libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd; closing the pidfd opened above.
    let ended = unsafe { libc::poll(&mut p, 1, 30_000) } == 1;
    unsafe { libc::close(pidfd) };
    if !ended {
        reap(pid);
    }
    assert!(ended, "child {pid} did not end");
}

/// A child's exit is reaped in the wake-up that follows it, with whether `./finish` is
/// there at that moment (runit samples it when it reaps).
#[test]
fn exits_are_reaped_with_finish_sampled() {
    let s = Scratch::new("finish");
    let svc = s.service("svc");
    script(&svc.join("run"), "exit 5");
    let (mut io, _config, _) = ok(setup(&svc));
    let now = model::Now::default();
    for finish in [true, false] {
        if finish {
            script(&svc.join("finish"), "exit 0");
        } else {
            std::fs::remove_file(svc.join("finish")).expect("rm finish");
        }
        let action = Action::Spawn { slot: Slot::Main, program: Program::Run, exec_fail_msg: b"exec failed: ".to_vec(), own_group: false };
        let Some(Input::Spawned(_, pid)) = io.execute(now, action) else { panic!("spawn") };
        await_exit(pid);
        match wake(&mut io).as_slice() {
            [Input::ChildExited { pid: p, status, finish_present }] => {
                assert_eq!((*p, *finish_present), (pid, finish), "finish present: {finish}");
                assert!(libc::WIFEXITED(*status) && libc::WEXITSTATUS(*status) == 5, "{status:#x}");
            }
            other => panic!("after ./run exited: {other:?}"),
        }
    }
}

/// Whether process `pid` (not necessarily a child of this test) has ended; waits up to
/// 30 s for it (a hang guard).
fn gone(pid: i32) -> bool {
    // SAFETY: pidfd_open(2); ESRCH means the process is already gone.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if pidfd < 0 {
        return true;
    }
    let mut p = libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd; closing the pidfd opened above.
    let ended = unsafe { libc::poll(&mut p, 1, 30_000) } == 1;
    unsafe { libc::close(pidfd) };
    ended
}

/// With `flag-timeout-killpg` the service runs in its own process group and a stop signal
/// goes to the whole group: a background process `./run` started ends with it.
#[test]
fn group_signal_reaches_the_whole_process_group() {
    let s = Scratch::new("killpg");
    let svc = s.service("svc");
    let bg_file = svc.join("bg.pid");
    script(&svc.join("run"), "sleep 600 & echo $! > bg.tmp; mv bg.tmp bg.pid; wait");
    let (mut io, _config, _) = ok(setup(&svc));
    let now = model::Now::default();
    let action = Action::Spawn { slot: Slot::Main, program: Program::Run, exec_fail_msg: b"exec failed: ".to_vec(), own_group: true };
    let Some(Input::Spawned(_, pid)) = io.execute(now, action) else { panic!("spawn") };
    // The group signal below goes to `-pid`: only ever a real child's group.
    assert!(pid > 1 && pid != std::process::id(), "spawn answered pid {pid}");
    // Waits (at most 3000 polls of 10 ms) until `./run` has started its background process
    // and renamed its pid into place.
    let bg: i32 = (0..3000)
        .find_map(|_| {
            let found = std::fs::read_to_string(&bg_file).ok().and_then(|t| t.trim().parse().ok());
            if found.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            found
        })
        .expect("./run never wrote its background pid");
    assert_eq!(io.execute(now, Action::SignalGroup(Slot::Main, pid, model::runsv::Sig::Term)), None);
    let status = reap(pid);
    let bg_gone = gone(bg);
    if !bg_gone {
        kill_one(bg);
    }
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGTERM, "./run: {status:#x}");
    assert!(bg_gone, "the background process of ./run's group survived the group signal");
}

/// An empty datagram (with a descriptor attached) is still a datagram: it is reported, its
/// descriptor is closed, and the datagram queued behind it is read in the same wake-up.
#[test]
fn empty_notify_datagram_is_reported_and_its_descriptor_closed() {
    let s = Scratch::new("sdempty");
    let svc = s.service("svc");
    std::fs::write(svc.join("notify-socket"), "").expect("notify-socket");
    let (mut io, _config, _) = ok(setup(&svc));
    let (r, w) = pipe();
    let ino = pipe_inode(std::process::id(), r.as_raw_fd());
    let sock = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    sock.connect(svc.join("supervise/notify")).expect("connect to supervise/notify");
    send_with_fds(sock.as_raw_fd(), b"", &[r.as_raw_fd()]);
    sock.send(b"READY=1").expect("second datagram");
    drop((r, w));
    let got: Vec<(Vec<u8>, usize)> = gather_all(&mut io)
        .into_iter()
        .map(|i| match i {
            Input::Notify { payload, fds, .. } => (payload, fds),
            other => panic!("not a datagram: {other:?}"),
        })
        .collect();
    assert_eq!(got, vec![(Vec::new(), 1), (b"READY=1".to_vec(), 0)]);
    assert_eq!(fds_on_pipe(ino), 0, "the passed descriptor was kept open");
}

/// The inode of the pipe `./run` found on descriptor 5 (it writes it to `nfd.out`).
fn run_notification_pipe(io: &mut RunsvIo, svc: &Path) -> u64 {
    run(io, Slot::Main, Program::Run);
    let link = std::fs::read_to_string(svc.join("nfd.out")).expect("nfd.out");
    link.trim()
        .strip_prefix("pipe:[")
        .and_then(|l| l.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("fd 5: {link:?}"))
}

/// Each `./run` gets a fresh notification pipe; runsv keeps only its read end, and lets go
/// of it when told to and when the next `./run` starts (no descriptor piles up).
#[test]
fn notification_pipes_are_not_leaked() {
    let s = Scratch::new("nfdleak");
    let svc = s.service("svc");
    std::fs::write(svc.join("notification-fd"), "5\n").expect("notification-fd");
    script(&svc.join("run"), "l=$(readlink /proc/$$/fd/5); echo \"$l\" > nfd.out");
    let (mut io, _config, _) = ok(setup(&svc));
    let first = run_notification_pipe(&mut io, &svc);
    assert_eq!(fds_on_pipe(first), 1, "runsv holds the read end");
    let second = run_notification_pipe(&mut io, &svc);
    assert_ne!(first, second, "a fresh pipe per ./run");
    assert_eq!((fds_on_pipe(first), fds_on_pipe(second)), (0, 1), "the previous pipe closed at the next start");
    assert_eq!(io.execute(model::Now::default(), Action::CloseNotificationFd), None);
    assert_eq!(fds_on_pipe(second), 0, "closed when the model says so");
}

/// SIGKILL to one process this test started, by pid; refuses anything that would name a
/// group or everything (a pid of 0 or -1 from a mutant) and this process itself.
fn kill_one(pid: i32) {
    assert!(pid > 1 && pid as u32 != std::process::id(), "refusing to signal pid {pid}");
    // SAFETY: kill(2) of one positive pid, checked above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0, "kill {pid}");
}

/// The clock and wait of [`supervise_runs_start_up_then_the_loop_until_exit`]: the first
/// wait writes `x` into `supervise/control` the way `sv` would and reports every polled
/// descriptor readable; a loop that waits more than [`MAX_WAITS`] times fails the test.
struct ExitOnFirstWait {
    waits: usize,
}

const MAX_WAITS: usize = 10;

impl runtime::driver::Os for ExitOnFirstWait {
    fn now(&mut self) -> model::Now {
        model::Now::default()
    }
    fn wait(
        &mut self,
        interests: &[runtime::driver::Interest],
        _now: model::Now,
        _deadline: Option<model::Mono>,
    ) -> (Vec<Ready>, SignalSet) {
        self.waits += 1;
        assert!(self.waits <= MAX_WAITS, "runsv did not exit after `x` on a down service");
        if self.waits == 1 {
            send(Path::new("supervise/control"), b'x');
        }
        (interests.iter().filter(|i| i.read).map(|i| Ready { fd: i.fd, readable: true, writable: false }).collect(), SignalSet(0))
    }
}

/// A trace kept in memory, shared with the test.
struct SharedTrace(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl runtime::driver::TraceSink for SharedTrace {
    fn line(&mut self, line: &[u8]) {
        self.0.borrow_mut().extend_from_slice(line);
    }
}

/// `supervise`, the one call both runsv mains make: start-up in the directory (its
/// `supervise/` and status appear), the trace opened after it with the start-up note, then
/// the driver loop over the given clock and wait until the machine exits — here a `down`
/// service told `x`, runsv's exit 0 after one wait.
#[test]
fn supervise_runs_start_up_then_the_loop_until_exit() {
    let s = Scratch::new("supervise");
    let svc = s.service("svc");
    std::fs::write(svc.join("down"), "").expect("down");
    let lines = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = SharedTrace(lines.clone());
    let mut os = ExitOnFirstWait { waits: 0 };
    let handled = Handled { all: Vec::new(), stray_unblock: Vec::new() };
    let (r, printed) = captured(|| {
        runtime::exec::runsv::supervise(runtime::os::Real, &bytes(&svc), handled, &mut os, || runtime::driver::Trace::to(Box::new(sink)))
    });
    match r {
        Ok(code) => assert_eq!(code, 0, "runsv's exit code after `x`"),
        Err(Fatal(m)) => panic!("start-up failed: {}", text(&m)),
    }
    assert_eq!(text(&printed), "");
    assert_eq!(os.waits, 1, "the loop waited once, then read `x`");
    let (t, mode) = kind(&svc.join("supervise"));
    assert!(t.is_dir() && mode == 0o700, "supervise: {t:?} {mode:o}");
    assert_eq!(std::fs::read(svc.join("supervise/status")).expect("supervise/status").len(), 20, "status written");
    let trace = text(&lines.borrow());
    assert!(trace.starts_with("note "), "the trace starts with the start-up note: {trace}");
    assert!(trace.contains("Control(Main, 120)"), "`x` fed to the machine: {trace}");
}
