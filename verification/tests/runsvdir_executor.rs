//! runsvdir's production executor (`RunsvdirIo`) over a small fake kernel that keeps what
//! the joint simulation's kernel leaves out: the `.forced-rescan` stamp's bytes (with
//! open flags honoured and short writes on demand) and a real log pipe on fd 2 whose
//! bytes come back to runsvdir's process title. Each test drives the real `Runsvdir`
//! machine through the driver and judges what a user sees: the stamp file, runsvdir's
//! warnings, the title in `ps` (`/proc/self/cmdline`), and that runsvdir exits on TERM.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;

use model::errno::Errno;
use model::runsvdir::machine::Input;
use model::runsvdir::msg::{self, Warning};
use model::runsvdir::watch::Effect;
use model::runsvdir::Runsvdir;
use model::spawn::ChildPlan;
use model::time::{Mono, Now, Wall};
use model::Tai64n;
use runtime::driver::{self, Os, Trace, Turn};
use runtime::exec::runsvdir::{RunsvdirIo, TitleMem};
use runtime::fs::AtomicWriteError;
use runtime::latch::SignalSet;
use runtime::os::{DirSyscalls, FileStat, Syscalls};
use runtime::process::{Reaped, SpawnSpec};
use runtime::wait::{Interest, Ready};

const DIR: &[u8] = b"/svc";
const STAMP: &[u8] = b"/svc/.forced-rescan";
const LOG_READ: i32 = 30;
const LOG_WRITE: i32 = 31;
const WATCH_FD: i32 = 7;

/// The fake kernel: the service directory (its entries and mtime, readable or not), files
/// by path (only the stamp is ever written), the runsv children started, the signals
/// sent, the log pipe, stderr.
struct Kernel {
    /// `(name, is a directory, inode)` in readdir order.
    entries: Vec<(&'static str, bool, u64)>,
    mtime: i64,
    /// The directory cannot be read (mode 0311): `O_PATH` opens it, nothing else does.
    unreadable: bool,
    /// Each runsv started: its argument, the directory descriptor it `fchdir`s to.
    started: Vec<(Vec<u8>, Option<i32>)>,
    kills: Vec<(i32, i32)>,
    files: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Open file descriptors: the path and whether it was opened for writing.
    open: BTreeMap<i32, (Vec<u8>, bool)>,
    next_fd: i32,
    /// A write to a file takes at most this many bytes (a full disk's short write).
    short_write: Option<usize>,
    /// Bytes in the log pipe, not yet read.
    pipe: Vec<u8>,
    /// Every byte ever written into the log pipe.
    pipe_total: Vec<u8>,
    /// fd 2 is the log pipe's write end.
    stderr_is_pipe: bool,
    stderr: Vec<Vec<u8>>,
    /// Change notices can be had (inotify): `watch` succeeds.
    watch_ok: bool,
    /// Pending notices, as what each drain adds up to.
    notices: VecDeque<Effect>,
}

impl Default for Kernel {
    fn default() -> Kernel {
        Kernel {
            entries: vec![("a", true, 9)],
            mtime: 1,
            unreadable: false,
            started: Vec::new(),
            kills: Vec::new(),
            files: BTreeMap::new(),
            open: BTreeMap::new(),
            next_fd: 0,
            short_write: None,
            pipe: Vec::new(),
            pipe_total: Vec::new(),
            stderr_is_pipe: false,
            stderr: Vec::new(),
            watch_ok: false,
            notices: VecDeque::new(),
        }
    }
}

impl Syscalls for Kernel {
    fn spawn(&mut self, _: &SpawnSpec) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn wait_pid(&mut self, _: i32) -> Result<i32, Errno> {
        Err(Errno::ECHILD)
    }
    fn reap_nohang(&mut self) -> Option<Reaped> {
        None
    }
    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), Errno> {
        self.kills.push((pid, sig));
        Ok(())
    }
    fn stat_mode(&mut self, _: &CStr) -> Result<u32, Errno> {
        Err(Errno::ENOENT)
    }
    fn open_read(&mut self, _: &CStr) -> Result<i32, Errno> {
        Err(Errno::ENOENT)
    }
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        assert_eq!(fd, LOG_READ, "runsvdir reads only its log pipe");
        if self.pipe.is_empty() {
            return Err(Errno::EAGAIN);
        }
        // A pipe hands out what its writers wrote: chunks of 1000 here, never a whole
        // 1 KiB read (so a read count never lands on a round size by luck).
        let n = self.pipe.len().min(buf.len()).min(1000);
        buf[..n].copy_from_slice(&self.pipe[..n]);
        self.pipe.drain(..n);
        Ok(n)
    }
    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        self.open.remove(&fd);
        Ok(())
    }
    fn write_atomic(&mut self, _: &CStr, _: &CStr, _: &[u8]) -> Result<(), AtomicWriteError> {
        Err(AtomicWriteError::Open(Errno::EINVAL))
    }
    fn write_stderr(&mut self, line: &[u8]) {
        self.stderr.push(line.to_vec());
    }
    fn set_nonblock(&mut self, _: i32) -> Result<(), Errno> {
        Ok(())
    }
}

impl DirSyscalls for Kernel {
    type Dir = ();
    type Watch = ();
    fn stat(&mut self, path: &CStr) -> Result<FileStat, Errno> {
        assert_eq!(path.to_bytes(), DIR);
        Ok(FileStat { mode: libc::S_IFDIR | 0o311, mtime: self.mtime, ino: 2, dev: 3 })
    }
    fn open(&mut self, path: &CStr, flags: i32, _mode: u32) -> Result<i32, Errno> {
        if path.to_bytes() == DIR {
            return match flags & libc::O_PATH != 0 || !self.unreadable {
                true => Ok(6),
                false => Err(Errno::EACCES),
            };
        }
        let path = path.to_bytes().to_vec();
        if !self.files.contains_key(&path) {
            if flags & libc::O_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            self.files.insert(path.clone(), Vec::new());
        }
        if flags & libc::O_TRUNC != 0 {
            self.files.insert(path.clone(), Vec::new());
        }
        let fd = self.next_fd.max(40);
        self.next_fd = fd + 1;
        self.open.insert(fd, (path, flags & libc::O_ACCMODE != libc::O_RDONLY));
        Ok(fd)
    }
    fn write(&mut self, fd: i32, bytes: &[u8]) -> Result<usize, Errno> {
        if fd == 2 && self.stderr_is_pipe {
            self.pipe.extend_from_slice(bytes);
            self.pipe_total.extend_from_slice(bytes);
            return Ok(bytes.len());
        }
        let Some((path, true)) = self.open.get(&fd) else { return Err(Errno::EBADF) };
        let n = self.short_write.unwrap_or(bytes.len()).min(bytes.len());
        self.files.get_mut(path).ok_or(Errno::EBADF)?.extend_from_slice(&bytes[..n]);
        Ok(n)
    }
    fn dup2(&mut self, from: i32, to: i32) -> Result<(), Errno> {
        assert_eq!((from, to), (LOG_WRITE, 2), "the log pipe's write end becomes fd 2");
        self.stderr_is_pipe = true;
        Ok(())
    }
    fn pipe_nonblocking(&mut self) -> Result<(i32, i32), Errno> {
        Ok((LOG_READ, LOG_WRITE))
    }
    fn spawn_plan(&mut self, plan: &ChildPlan) -> Result<i32, Errno> {
        let fchdir = plan.steps.iter().find_map(|s| match s {
            model::spawn::Step::Fchdir { fd, .. } => Some(*fd),
            _ => None,
        });
        self.started.push((plan.exec.argv.get(1).cloned().unwrap_or_default(), fchdir));
        Ok(100 + self.started.len() as i32)
    }
    fn open_dir(&mut self, path: &CStr) -> Result<(), Errno> {
        assert_eq!(path.to_bytes(), DIR);
        if self.unreadable {
            return Err(Errno::EACCES);
        }
        Ok(())
    }
    fn list_dir(&mut self, _: &mut ()) -> (Vec<CString>, Option<Errno>) {
        (self.entries.iter().map(|e| CString::new(e.0).expect("no NUL")).collect(), None)
    }
    fn dir_fd(&self, _: &()) -> i32 {
        5
    }
    fn stat_at(&mut self, dir: i32, name: &CStr) -> Result<FileStat, Errno> {
        assert_eq!(dir, 5, "entries are looked at in the scanned directory");
        let &(_, is_dir, ino) = self.entries.iter().find(|e| e.0.as_bytes() == name.to_bytes()).ok_or(Errno::ENOENT)?;
        let kind = if is_dir { libc::S_IFDIR } else { libc::S_IFREG };
        Ok(FileStat { mode: kind | 0o755, mtime: 1, ino, dev: 3 })
    }
    fn watch(&mut self, _: &[u8]) -> Option<()> {
        self.watch_ok.then_some(())
    }
    fn watch_fd(&self, _: &()) -> i32 {
        WATCH_FD
    }
    fn drain_watch(&mut self, _: &mut ()) -> Effect {
        self.notices.pop_front().unwrap_or_default()
    }
}

/// Monotonic time that moves on to the machine's deadline at every wake-up; the wall clock
/// stands still, so the stamp text is known.
struct Clock(Mono);

const WALL: Wall = Wall { unix_secs: 1_700_000_000, nanos: 0 };

impl Os for Clock {
    fn now(&mut self) -> Now {
        Now { mono: self.0, wall: WALL }
    }
    fn wait(&mut self, _: &[Interest], _: Now, _: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        (Vec::new(), SignalSet::default())
    }
}

/// runsvdir on `/svc` (one service, `a`) over `k`, with an optional log argument and title.
struct Run {
    m: Runsvdir,
    io: RunsvdirIo<Kernel>,
    queue: VecDeque<Input>,
    turn: Turn,
    clock: Clock,
}

impl Run {
    fn start(k: Kernel, log: Option<&[u8]>, title: Option<TitleMem>) -> Run {
        let strays = runtime::signals::Strays { catch: Vec::new(), unblock_in_child: Vec::new() };
        let io = RunsvdirIo::over(k, DIR, false, None, title, &strays).expect("a path without NUL");
        let mut run = Run {
            m: Runsvdir::new(log),
            io,
            queue: VecDeque::from([Input::Start]),
            turn: Turn::Finished(-1),
            clock: Clock(Mono(1_000_000_000)),
        };
        run.settle();
        run
    }

    fn settle(&mut self) {
        self.turn = driver::settle(&mut self.m, &mut self.io, &mut self.clock, &mut self.queue, &mut Trace::none());
    }

    fn wake(&mut self, signals: SignalSet) {
        let Turn::Waiting { deadline, .. } = self.turn else { panic!("runsvdir exited early: {:?}", self.k().stderr) };
        let pending = !self.io.os().pipe.is_empty();
        let noticed = !self.io.os().notices.is_empty();
        let mut interests = Vec::new();
        runtime::driver::Io::<Runsvdir>::interests(&self.io, &mut interests);
        let ready = interests
            .iter()
            .filter(|i| (i.fd == LOG_READ && pending) || (i.fd == WATCH_FD && noticed))
            .map(|i| Ready { fd: i.fd, readable: true, writable: false })
            .collect();
        // The wait ends at the machine's deadline (or two seconds on, if it has none).
        self.clock.0 = deadline.map_or(Mono(self.clock.0 .0 + 2_000_000_000), |d| Mono(d.0.max(self.clock.0 .0)));
        driver::woken::<Runsvdir, _, _>(&mut self.io, &mut self.clock, deadline, ready, signals, &mut self.queue);
        self.settle();
    }

    fn k(&mut self) -> &mut Kernel {
        self.io.os()
    }
}

fn sig(s: i32) -> SignalSet {
    SignalSet(1 << s)
}

fn stamp_text() -> [u8; 25] {
    Tai64n::from_wall(WALL).to_text()
}

/// SIGALRM forces a rescan and runsvdir writes the scan's stamp into `.forced-rescan`,
/// replacing what the file held; then TERM ends runsvdir with exit code 0.
#[test]
fn alarm_writes_the_stamp_and_term_exits() {
    let mut k = Kernel::default();
    k.files.insert(STAMP.to_vec(), b"an older and much longer stamp text\n".to_vec());
    let mut run = Run::start(k, None, None);
    assert!(matches!(run.turn, Turn::Waiting { .. }), "runsvdir runs: {:?}", run.k().stderr);
    run.wake(sig(libc::SIGALRM));
    assert_eq!(run.k().files.get(STAMP).map(Vec::as_slice), Some(&stamp_text()[..]), "the stamp, alone in the file");
    assert!(run.k().open.is_empty(), "the stamp's descriptor is closed");
    assert_eq!(run.k().stderr, Vec::<Vec<u8>>::new(), "no warning");
    run.wake(sig(libc::SIGTERM));
    assert!(matches!(run.turn, Turn::Finished(0)), "runsvdir exits 0 on TERM");
}

/// A short write of the stamp (a full disk) is warned about as runit does.
#[test]
fn a_short_stamp_write_is_warned_about() {
    let k = Kernel { short_write: Some(10), ..Kernel::default() };
    let mut run = Run::start(k, None, None);
    run.wake(sig(libc::SIGALRM));
    assert_eq!(run.k().files.get(STAMP).map(Vec::len), Some(10), "the kernel took ten bytes");
    let want = msg::format(DIR, &Warning::StampWrite(stamp_text()));
    assert_eq!(run.k().stderr, vec![want], "one warning");
}

/// With a log argument, everything runsvdir's children write to its stderr (the log
/// pipe) scrolls through the argument's bytes in argv: `ps` shows the latest bytes. The
/// argument is this test process's own last argv entry (the only writable argv memory a
/// test has); it is restored at the end.
#[test]
fn the_log_pipe_scrolls_through_the_process_title() {
    let argv: Vec<Vec<u8>> = std::env::args_os().map(|a| a.as_bytes().to_vec()).collect();
    let last = argv.len() - 1;
    let arg = argv[last].clone();
    assert!(model::runsvdir::title::usable(&arg), "argv[{last}] is long enough for a log: {arg:?}");
    let mut forged = argv.clone();
    forged[last][0] ^= 1;
    assert!(TitleMem::locate(&forged, last).is_none(), "an argv of the same size but other bytes is not ours");
    let title = TitleMem::locate(&argv, last).expect("argv found via /proc/self/stat");
    let restore = TitleMem::locate(&argv, last).expect("argv found via /proc/self/stat");
    let mut run = Run::start(Kernel::default(), Some(&arg), Some(title));
    assert!(run.k().stderr_is_pipe, "fd 2 is the log pipe: {:?}", run.k().stderr);
    let mut interests = Vec::new();
    runtime::driver::Io::<Runsvdir>::interests(&run.io, &mut interests);
    assert!(interests.iter().any(|i| i.fd == LOG_READ && i.read), "runsvdir wakes for its log pipe: {interests:?}");
    // Two chunks from "children" (more than two 1 KiB reads' worth), a wake-up after each.
    let a: Vec<u8> = (0..1500).map(|i| b'a' + (i % 26) as u8).collect();
    let b: Vec<u8> = b"runsv b: fatal: unable to start ./run\n".repeat(80);
    for chunk in [&a, &b] {
        run.k().pipe.extend_from_slice(chunk);
        run.k().pipe_total.extend_from_slice(chunk);
        run.wake(SignalSet::default());
        assert!(run.k().pipe.is_empty(), "one wake-up reads all the pipe holds (under 64 KiB)");
    }
    let cmdline = std::fs::read("/proc/self/cmdline").expect("/proc/self/cmdline");
    restore.show(&arg);
    // runit's readproctitle: the first five bytes stay, the rest shows the newest bytes.
    let total = &run.k().pipe_total;
    let want = [&arg[..5], &total[total.len() - (arg.len() - 5)..]].concat();
    let shown: Vec<u8> = cmdline.split(|&b| b == 0).nth(last).expect("argv[last] in cmdline").to_vec();
    assert_eq!(String::from_utf8_lossy(&shown), String::from_utf8_lossy(&want), "ps shows the latest bytes");
}

/// The title is found for a log argument after other arguments (runsvdir's `-P dir log`):
/// this test binary runs itself with several arguments and the child overwrites its last
/// one (`title_in_a_child_with_several_arguments`).
#[test]
fn the_title_is_found_after_other_arguments() {
    let exe = std::env::current_exe().expect("this test binary");
    let out = std::process::Command::new(exe)
        .args(["title_in_a_child_with_several_arguments", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 passed"), "the child test ran: {stdout}");
}

/// Run by [`the_title_is_found_after_other_arguments`] with five arguments.
#[test]
#[ignore = "run as a child with several arguments by the_title_is_found_after_other_arguments"]
fn title_in_a_child_with_several_arguments() {
    let argv: Vec<Vec<u8>> = std::env::args_os().map(|a| a.as_bytes().to_vec()).collect();
    assert!(argv.len() >= 3, "several arguments: {argv:?}");
    let last = argv.len() - 1;
    let t = TitleMem::locate(&argv, last).expect("argv found via /proc/self/stat");
    let fill = vec![b'#'; argv[last].len()];
    t.show(&fill);
    let cmdline = std::fs::read("/proc/self/cmdline").expect("/proc/self/cmdline");
    t.show(&argv[last]);
    let mut expect = Vec::new();
    for (i, a) in argv.iter().enumerate() {
        expect.extend_from_slice(if i == last { &fill } else { a });
        expect.push(0);
    }
    assert_eq!(String::from_utf8_lossy(&cmdline), String::from_utf8_lossy(&expect), "only the last argument changed");
}

fn started(k: &mut Kernel) -> Vec<(String, Option<i32>)> {
    k.started.iter().map(|(n, fd)| (String::from_utf8_lossy(n).into_owned(), *fd)).collect()
}

/// runsvdir starts one runsv per service directory (never for a file), each in the
/// scanned directory; a directory added later is started at the next look once the
/// directory's stamp changed; an unchanged directory is not rescanned (after the one
/// rescan runit makes after starting something).
#[test]
fn services_are_started_per_directory_and_new_ones_at_the_next_look() {
    let mut run = Run::start(Kernel::default(), None, None);
    assert_eq!(started(run.k()), vec![("a".to_string(), Some(5))]);
    run.wake(SignalSet::default());
    run.k().entries.extend([("README", false, 10), ("b", true, 11)]);
    run.wake(SignalSet::default());
    assert_eq!(started(run.k()).len(), 1, "the stamp did not change: no rescan");
    run.k().mtime = 2;
    run.wake(SignalSet::default());
    assert_eq!(started(run.k()), vec![("a".to_string(), Some(5)), ("b".to_string(), Some(5))], "b started, README not");
}

/// SIGHUP: runsvdir sends TERM to each runsv it started (by the pid it got), then exits
/// 111.
#[test]
fn hangup_terms_each_runsv_and_exits_111() {
    let mut k = Kernel::default();
    k.entries.push(("b", true, 11));
    let mut run = Run::start(k, None, None);
    run.wake(sig(libc::SIGHUP));
    assert!(matches!(run.turn, Turn::Finished(111)), "exit 111 on HUP");
    let mut kills = run.k().kills.clone();
    kills.sort();
    assert_eq!(kills, vec![(101, libc::SIGTERM), (102, libc::SIGTERM)]);
}

/// A directory runsvdir can enter but not read: runit's chdir succeeds and its opendir
/// fails, so the warning is "unable to open directory" (not "unable to change to").
#[test]
fn an_unreadable_directory_is_warned_about_as_runit() {
    let k = Kernel { unreadable: true, ..Kernel::default() };
    let mut run = Run::start(k, None, None);
    assert_eq!(run.k().stderr, vec![msg::format(DIR, &Warning::OpenDir(Errno::EACCES))]);
    assert!(run.k().started.is_empty());
}

/// A child flooding runsvdir's stderr cannot keep it reading: one wake-up takes a bounded
/// amount (64 KiB and at most one read more) and leaves the rest for the next, so
/// runsvdir goes back to supervising; nothing is lost.
#[test]
fn a_flood_on_the_log_pipe_is_read_in_bounded_steps() {
    let mut run = Run::start(Kernel::default(), Some(b"log: ........"), None);
    let flood = vec![b'x'; 1 << 20];
    run.k().pipe.extend_from_slice(&flood);
    run.k().pipe_total.extend_from_slice(&flood);
    let mut steps = Vec::new();
    for _ in 0..40 {
        let before = run.k().pipe.len();
        if before == 0 {
            break;
        }
        run.wake(SignalSet::default());
        steps.push(before - run.k().pipe.len());
    }
    assert!(run.k().pipe.is_empty(), "all read in the end: {steps:?}");
    let (first, rest) = steps.split_first().expect("a step");
    assert!(*first > 64 * 1024 && *first <= 64 * 1024 + 1024, "one wake-up reads 64 KiB and a little: {first}");
    assert!(rest.iter().all(|&n| n <= 64 * 1024 + 1024), "every step bounded: {steps:?}");
}

/// With change notices runsvdir makes no periodic looks; when a rebuild of the watches
/// fails (the directory was replaced and inotify is gone), it must fall back to polling:
/// a service added afterwards is still started.
#[test]
fn losing_the_watch_falls_back_to_polling() {
    let k = Kernel { watch_ok: true, ..Kernel::default() };
    let mut run = Run::start(k, None, None);
    run.wake(SignalSet::default());
    assert!(matches!(run.turn, Turn::Waiting { deadline: None, .. }), "watching: no periodic look: {:?}", run.turn);
    run.k().watch_ok = false;
    run.k().notices.push_back(Effect { changed: true, rebuild: true });
    run.wake(SignalSet::default());
    // The look the notice asked for, then runsvdir settles.
    for _ in 0..3 {
        run.wake(SignalSet::default());
    }
    run.k().entries.push(("b", true, 11));
    run.k().mtime = 2;
    for _ in 0..3 {
        run.wake(SignalSet::default());
    }
    let names: Vec<String> = started(run.k()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["a", "b"], "b found by polling");
}
