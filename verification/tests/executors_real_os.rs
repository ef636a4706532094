//! The pieces of runsvdir's, svlogd's and PID 1's executors that only the real kernel can
//! judge (no fake stands behind them): the signal dispositions the binaries set up, PID
//! 1's console (`point_at_console`, `say_line`), its final child, and the answers to "am
//! I PID 1" and "am I in a container". Each test runs in a forked child (its descriptors,
//! signal dispositions and session are its own) and, where PID 1 or a container must be
//! real, in a new PID or mount namespace; the host's console, `/proc` and Ctrl-Alt-Del
//! setting are never touched (namespaces are checked with raw `getpid` before anything
//! PID-1-only runs). The checks are what a user sees: bytes on the console file, the
//! descriptors left open, a process surviving a signal, a command's exit code.
//!
//! Tests run as root (the namespaces need it); without it they print `SKIP:` and pass.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use model::stage::msg::Msg;
use model::stage::{FinalPlan, FinalStep, Paths};
use runtime::exec::stage;

/// Exit codes a child uses to say what went wrong (the parent names them).
const SKIPPED: i32 = 77;
/// A child's exit code: the first child in a new PID namespace was not its PID 1.
const NOT_PID1: i32 = 78;

/// A private scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("runit-rs-real-os-{}-{}", name, std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("scratch dir");
        Scratch(p)
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
    fn c(&self, rel: &str) -> CString {
        CString::new(self.path(rel).as_os_str().as_bytes()).expect("no NUL")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How a forked child ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Exited(i32),
    Killed(i32),
}

fn wait(pid: i32) -> End {
    let mut st = 0;
    // SAFETY: waits for our own child into a local.
    let r = unsafe { libc::waitpid(pid, &mut st, 0) };
    assert_eq!(r, pid, "waitpid({pid})");
    if libc::WIFEXITED(st) {
        End::Exited(libc::WEXITSTATUS(st))
    } else {
        End::Killed(libc::WTERMSIG(st))
    }
}

/// Runs `f` in a forked child; its return value is the exit code (a panic exits 101).
/// The closure runs in a copy of this process: glibc's fork leaves malloc usable there.
fn in_child(f: impl FnOnce() -> i32) -> End {
    // SAFETY: fork; the child never returns into the test harness (it `_exit`s).
    match unsafe { libc::fork() } {
        -1 => panic!("fork failed"),
        0 => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
            // SAFETY: leaves the child without running the harness's exit handlers.
            unsafe { libc::_exit(code) }
        }
        pid => wait(pid),
    }
}

/// Runs `f` as PID 1 of a new PID namespace (a grandchild); `SKIPPED` if the namespace
/// cannot be made. `f` runs only after raw `getpid()` says 1, so nothing PID-1-only ever
/// runs in the host's namespace.
fn as_pid1(f: impl FnOnce() -> i32) -> End {
    in_child(|| {
        // SAFETY: unshare in a single-threaded child.
        if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
            return SKIPPED;
        }
        match in_child(|| {
            // SAFETY: getpid has no preconditions.
            if unsafe { libc::getpid() } != 1 {
                // The namespace was made: a first child that is not its PID 1 is a failure
                // of this harness, not a missing prerequisite.
                return NOT_PID1;
            }
            f()
        }) {
            End::Exited(c) => c,
            End::Killed(s) => 128 + s,
        }
    })
}

/// `End::Exited(0)`, or a skip recorded as runit-e2e's `skip` does (same line on the
/// stderr handle, same `RUNIT_SKIP_LOG` file, key `mount-namespace`: root's namespaces).
fn passed(what: &str, end: End) {
    if end == End::Exited(SKIPPED) {
        use std::io::Write;
        let line = format!("SKIP: executors_real_os {what}: mount-namespace: no new namespace (not root?)\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
        if let Some(log) = std::env::var_os("RUNIT_SKIP_LOG") {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("open RUNIT_SKIP_LOG");
            f.write_all(line.as_bytes()).expect("append to RUNIT_SKIP_LOG");
        }
        return;
    }
    assert_eq!(end, End::Exited(0), "{what}");
}

fn write(fd: i32, b: &[u8]) -> isize {
    // SAFETY: writes a live buffer.
    unsafe { libc::write(fd, b.as_ptr().cast(), b.len()) }
}

fn open_append(p: &CString) -> i32 {
    // SAFETY: a NUL-terminated path.
    unsafe { libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT, 0o600) }
}

/// The lowest free descriptor (what the next `open` returns).
fn lowest_free() -> i32 {
    // SAFETY: dup of fd 0 into the lowest free slot, then closed again.
    unsafe {
        let fd = libc::fcntl(0, libc::F_DUPFD, 0);
        libc::close(fd);
        fd
    }
}

fn is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD only queries.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

fn read(p: PathBuf) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

/// Points 0, 1, 2 at `before`, then calls `point_at_console(console, all)` and writes
/// `0`, `1`, `2` to the three descriptors; exit 3 if the console's descriptor was left
/// open beside them, 4 if fd 2 is not non-blocking (runit opens the console so).
fn console_child(s: &Scratch, all: bool, close_2_first: bool) -> End {
    let (before, console) = (s.c("before"), s.c("console"));
    in_child(move || {
        let b = open_append(&before);
        for fd in 0..3 {
            // SAFETY: dup2 of a descriptor we own.
            unsafe { libc::dup2(b, fd) };
        }
        // SAFETY: closes our own descriptors.
        unsafe { libc::close(b) };
        if close_2_first {
            // SAFETY: as above.
            unsafe { libc::close(2) };
        }
        let next = lowest_free();
        stage::point_at_console(&console, all);
        for (fd, b) in [(0, b"0"), (1, b"1"), (2, b"2")] {
            write(fd, b);
        }
        if next > 2 && is_open(next) {
            return 3;
        }
        // SAFETY: F_GETFL only queries.
        if unsafe { libc::fcntl(2, libc::F_GETFL) } & libc::O_NONBLOCK == 0 {
            return 4;
        }
        0
    })
}

/// runit points 0, 1 and 2 at the console at start-up: all three write there, and the
/// descriptor it opened is not left open beside them.
#[test]
fn point_at_console_all_three() {
    let s = Scratch::new("console-all");
    std::fs::write(s.path("console"), b"").expect("console file");
    assert_eq!(console_child(&s, true, false), End::Exited(0), "console's descriptor closed, fd 2 non-blocking");
    assert_eq!(read(s.path("console")), b"012");
    assert_eq!(read(s.path("before")), b"");
}

/// After every wake-up runit re-points only fd 2: 0 and 1 keep what they were.
#[test]
fn point_at_console_only_fd_2() {
    let s = Scratch::new("console-2");
    std::fs::write(s.path("console"), b"").expect("console file");
    assert_eq!(console_child(&s, false, false), End::Exited(0), "console's descriptor closed, fd 2 non-blocking");
    assert_eq!(read(s.path("console")), b"2");
    assert_eq!(read(s.path("before")), b"01");
}

/// With fd 2 closed, the console opens as fd 2 itself: it must stay open.
#[test]
fn point_at_console_when_it_opens_as_fd_2() {
    let s = Scratch::new("console-is-2");
    std::fs::write(s.path("console"), b"").expect("console file");
    assert_eq!(console_child(&s, false, true), End::Exited(0));
    assert_eq!(read(s.path("console")), b"2");
    assert_eq!(read(s.path("before")), b"01");
}

/// A console that cannot be opened leaves the inherited descriptors (as runit).
#[test]
fn point_at_console_missing_keeps_the_old_descriptors() {
    let s = Scratch::new("console-missing");
    // 4: fd 2 is still `before`, opened blocking.
    assert_eq!(console_child(&s, true, false), End::Exited(4), "fd 2 unchanged");
    assert_eq!(read(s.path("before")), b"012");
    assert!(!s.path("console").exists(), "the console is never created");
}

/// One message line reaches the console whole, also when the console is a slow pipe that
/// fills up (a busy serial line): runit-rs waits for room instead of dropping the rest.
#[test]
fn say_line_waits_for_a_busy_console() {
    let mut fds = [0; 2];
    // SAFETY: a pipe into a local array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (r, w) = (fds[0], fds[1]);
    let line: Vec<u8> = (0..3 * 65536).map(|i| b'a' + (i % 26) as u8).collect();
    let expect = line.clone();
    // SAFETY: fork; the child writes the line to its non-blocking fd 2 and exits.
    let pid = match unsafe { libc::fork() } {
        -1 => panic!("fork"),
        0 => unsafe {
            libc::close(r);
            libc::dup2(w, 2);
            libc::close(w);
            libc::fcntl(2, libc::F_SETFL, libc::O_NONBLOCK);
            stage::say_line(&line);
            libc::_exit(0)
        },
        pid => pid,
    };
    // SAFETY: our own write end.
    unsafe { libc::close(w) };
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        // SAFETY: reads into a local buffer.
        let n = unsafe { libc::read(r, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        got.extend_from_slice(&buf[..n as usize]);
    }
    // SAFETY: our own read end.
    unsafe { libc::close(r) };
    assert_eq!(wait(pid), End::Exited(0));
    assert_eq!(got.len(), expect.len(), "the whole line arrived");
    assert!(got == expect, "in order");
}

/// A console that stays full (nobody reads it), or is closed, costs at most a bounded
/// wait: PID 1 drops the line and goes on. (A watchdog of 30 s, thirty times the
/// documented one-second bound per message, turns a PID 1 stuck forever into a failure.)
#[test]
fn say_line_gives_up_on_a_stuck_or_closed_console() {
    let end = in_child(|| {
        // SAFETY: a child's own alarm, pipe and descriptors.
        unsafe {
            libc::alarm(30);
            let mut fds = [0; 2];
            libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK);
            libc::dup2(fds[1], 2);
            let fill = [b'x'; 4096];
            let mut filled = 0usize;
            while libc::write(2, fill.as_ptr().cast(), fill.len()) > 0 {
                filled += 1;
                if filled > 4096 {
                    return 5;
                }
            }
            stage::say_line(b"runit: this line is dropped\n");
            let mut avail: libc::c_int = 0;
            libc::ioctl(fds[0], libc::FIONREAD, &mut avail);
            if avail as usize != filled * 4096 {
                return 6;
            }
            libc::close(2);
            stage::say_line(b"runit: no console at all\n");
        }
        0
    });
    assert_eq!(end, End::Exited(0), "say_line returned (killed by 14 = the 30 s watchdog: it never gave up)");
}

/// The final plan's messages reach the console in order, in runit (fork failed) and in
/// the final child, whose pid `spawn_final` returns and which exits 0.
#[test]
fn final_plan_says_its_lines_inline_and_in_the_final_child() {
    let s = Scratch::new("final");
    let console = s.c("console");
    let paths = Paths::under(b"");
    let plan = FinalPlan(vec![FinalStep::Say(Msg::Booting), FinalStep::Sync, FinalStep::Say(Msg::SkippingStage2)]);
    let (p2, plan2) = (paths.clone(), plan.clone());
    let end = in_child(move || {
        let fd = open_append(&console);
        // SAFETY: our own descriptor onto fd 2.
        unsafe { libc::dup2(fd, 2) };
        stage::run_final(&p2, &plan2);
        let pid = match stage::spawn_final(&p2, &plan2) {
            Ok(pid) => pid,
            Err(_) => return 7,
        };
        // SAFETY: getpid has no preconditions.
        if pid <= 0 || pid == unsafe { libc::getpid() } {
            return 8;
        }
        match wait(pid) {
            End::Exited(0) => 0,
            _ => 9,
        }
    });
    assert_eq!(end, End::Exited(0), "the final child is a real child that exits 0");
    let one: Vec<u8> = [model::stage::msg::line(Msg::Booting, &paths), model::stage::msg::line(Msg::SkippingStage2, &paths)].concat();
    assert_eq!(read(s.path("console")), [one.clone(), one].concat(), "inline, then from the final child");
}

/// runit refuses to run unless it is PID 1: the answer is yes only in PID 1.
#[test]
fn is_pid1_only_in_pid_1() {
    assert!(!stage::is_pid1(), "the test process is not PID 1");
    let end = as_pid1(|| if stage::is_pid1() { 0 } else { 1 });
    passed("is_pid1 as PID 1 of a new namespace", end);
}

/// In a new PID namespace runit sees a container (its TERM then means halt); with no
/// `/proc` (a real boot before stage 1 mounts it) it sees none.
#[test]
fn in_child_pid_namespace_sees_a_new_namespace_and_not_a_missing_proc() {
    let end = as_pid1(|| if stage::in_child_pid_namespace() { 0 } else { 1 });
    passed("in a new PID namespace", end);
    let end = in_child(|| {
        // SAFETY: a new private mount namespace of this child only; tmpfs over its /proc.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return SKIPPED;
            }
            if libc::mount(c"none".as_ptr(), c"/".as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) != 0 {
                return SKIPPED;
            }
            if libc::mount(c"none".as_ptr(), c"/proc".as_ptr(), c"tmpfs".as_ptr(), 0, std::ptr::null()) != 0 {
                return SKIPPED;
            }
        }
        if stage::in_child_pid_namespace() {
            1
        } else {
            0
        }
    });
    passed("without /proc", end);
}

/// runit's start-up makes PID 1 a session leader (and turns Ctrl-Alt-Del into SIGINT,
/// refused harmlessly inside a PID namespace). Run only as PID 1 of a new namespace.
#[test]
fn take_over_console_makes_a_session() {
    let end = as_pid1(|| {
        // SAFETY: getsid/getpid have no preconditions.
        let leader = || unsafe { libc::getsid(0) == libc::getpid() };
        if leader() {
            return 2;
        }
        stage::take_over_console_and_cad();
        if leader() {
            0
        } else {
            1
        }
    });
    passed("PID 1 leads its own session", end);
}

/// `block` blocks the signals it is given: a blocked SIGUSR1 does not end the process
/// and stays pending.
#[test]
fn block_blocks() {
    let end = in_child(|| {
        stage::block(&[libc::SIGUSR1]);
        // SAFETY: raise/sigpending on this child.
        unsafe {
            libc::raise(libc::SIGUSR1);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigpending(&mut set);
            if libc::sigismember(&set, libc::SIGUSR1) == 1 {
                0
            } else {
                1
            }
        }
    });
    assert_eq!(end, End::Exited(0), "SIGUSR1 blocked and pending");
}

/// runsvdir's and svlogd's signal set-up: runit's four signals are handled, and a stray
/// fatal signal (SIGUSR1) no longer kills the process (runit dies and leaves its services
/// unsupervised); svlogd keeps `^C` (SIGINT) at its default.
#[test]
fn runsvdir_and_svlogd_survive_stray_signals() {
    fn child(which: &'static str) -> End {
        in_child(move || {
            let (all, _strays) = match which {
                "runsvdir" => runtime::exec::runsvdir::handled_signals(),
                _ => runtime::exec::svlogd::handled_signals(),
            };
            for s in [libc::SIGTERM, libc::SIGHUP, libc::SIGALRM, libc::SIGCHLD] {
                if !all.contains(&s) {
                    return 10 + s;
                }
            }
            if !all.contains(&libc::SIGUSR1) {
                return 2;
            }
            // SAFETY: queries and raises on this child.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old);
                if which == "svlogd" && (all.contains(&libc::SIGINT) || old.sa_sigaction != libc::SIG_DFL) {
                    return 3;
                }
                libc::raise(libc::SIGUSR1);
            }
            0
        })
    }
    assert_eq!(child("runsvdir"), End::Exited(0), "runsvdir");
    assert_eq!(child("svlogd"), End::Exited(0), "svlogd");
}

/// `runsvdir /etc/service/` (a trailing slash, as people type it) watches the same chain
/// as without it: replacing the link on the way (runsvchdir's rename over `current`) asks
/// for a rebuild. Run in a child with a 30 s watchdog (a path walk that never ends is a
/// failure, not a hang).
#[test]
fn watcher_with_a_trailing_slash_sees_the_link_replaced() {
    use model::runsvdir::watch::Effect;
    use runtime::exec::runsvdir::Watcher;
    let s = Scratch::new("watch-slash");
    for d in ["real/one", "real/two", "links"] {
        std::fs::create_dir_all(s.path(d)).expect("scratch dirs");
    }
    std::os::unix::fs::symlink("../real/one", s.path("links/cur")).expect("link");
    let mut arg = s.path("links/cur").as_os_str().as_bytes().to_vec();
    arg.extend_from_slice(b"//");
    let (new, cur) = (s.path("links/new"), s.path("links/cur"));
    let end = in_child(move || {
        // SAFETY: the child's own alarm.
        unsafe { libc::alarm(30) };
        let Some(mut w) = Watcher::build(&arg) else { return 2 };
        if w.drain() != Effect::default() {
            return 3;
        }
        if std::os::unix::fs::symlink("../real/two", &new).is_err() || std::fs::rename(&new, &cur).is_err() {
            return 4;
        }
        match w.drain() {
            Effect { changed: true, rebuild: true } => 0,
            _ => 1,
        }
    });
    assert_eq!(end, End::Exited(0), "1: the replaced link was not seen; killed by 14: the walk never ended");
}

/// runsvdir (not root) watching a directory whose parent it may enter but not read: the
/// parent cannot be watched, so the directory's own watch must say that the directory was
/// moved away (or deleted): a rebuild. The watcher is built with the effective uid of
/// `nobody`, then root moves the directory.
#[test]
fn watcher_without_the_parent_sees_the_directory_go() {
    use model::runsvdir::watch::Effect;
    use runtime::exec::runsvdir::Watcher;
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new("watch-noparent");
    std::fs::create_dir_all(s.path("closed/service")).expect("scratch dirs");
    std::fs::set_permissions(s.path("closed"), std::fs::Permissions::from_mode(0o711)).expect("chmod");
    std::fs::set_permissions(s.path("closed/service"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let arg = s.path("closed/service").as_os_str().as_bytes().to_vec();
    let (from, to) = (s.path("closed/service"), s.path("closed/moved"));
    let end = in_child(move || {
        // SAFETY: the child's own effective ids (the saved uid stays 0 to come back).
        if unsafe { libc::setegid(65534) != 0 || libc::seteuid(65534) != 0 } {
            return SKIPPED;
        }
        let w = Watcher::build(&arg);
        // SAFETY: back to root (saved uid 0).
        if unsafe { libc::seteuid(0) != 0 || libc::setegid(0) != 0 } {
            return 5;
        }
        let Some(mut w) = w else { return 2 };
        if std::fs::rename(&from, &to).is_err() {
            return 4;
        }
        if w.drain() != (Effect { changed: true, rebuild: true }) {
            return 1;
        }
        // Moved back, watched again, then deleted.
        if std::fs::rename(&to, &from).is_err() {
            return 4;
        }
        // SAFETY: as above.
        let w = unsafe {
            libc::seteuid(65534);
            let w = Watcher::build(&arg);
            libc::seteuid(0);
            w
        };
        let Some(mut w) = w else { return 2 };
        if std::fs::remove_dir(&from).is_err() {
            return 4;
        }
        match w.drain() {
            Effect { changed: true, rebuild: true } => 0,
            _ => 3,
        }
    });
    passed("watcher as nobody: the directory moved (1) or deleted (3) is seen", end);
}

/// A relative link on the chain is resolved against the link's own directory, not
/// runsvdir's working directory: with `cur -> default` (relative) and `default -> /abs`,
/// replacing `default` (the second link) asks for a rebuild.
#[test]
fn watcher_resolves_a_relative_link_in_its_directory() {
    use model::runsvdir::watch::Effect;
    use runtime::exec::runsvdir::Watcher;
    let s = Scratch::new("watch-rel");
    for d in ["real/one", "real/two", "links"] {
        std::fs::create_dir_all(s.path(d)).expect("scratch dirs");
    }
    std::os::unix::fs::symlink(s.path("real/one"), s.path("links/default")).expect("link");
    std::os::unix::fs::symlink("default", s.path("links/cur")).expect("link");
    let arg = s.path("links/cur").as_os_str().as_bytes().to_vec();
    let (new, default, two) = (s.path("links/new"), s.path("links/default"), s.path("real/two"));
    let end = in_child(move || {
        // Somewhere without a `default` of its own.
        if std::env::set_current_dir("/").is_err() {
            return 5;
        }
        let Some(mut w) = Watcher::build(&arg) else { return 2 };
        if w.drain() != Effect::default() {
            return 3;
        }
        if std::os::unix::fs::symlink(&two, &new).is_err() || std::fs::rename(&new, &default).is_err() {
            return 4;
        }
        match w.drain() {
            Effect { changed: true, rebuild: true } => 0,
            _ => 1,
        }
    });
    assert_eq!(end, End::Exited(0), "1: replacing the second link was not seen");
}
