//! svlogd's production executor (`SvlogdIo`) over a fake file system precise where the
//! executor's correctness lives: descriptors (which are open, which one is the log
//! directory, which one holds the lock), open flags (`O_WRONLY`, `O_APPEND`, `O_CREAT`,
//! `O_NOFOLLOW` behave as the kernel's), the lock, and a symbolic link at `current`.
//! Each test drives the real `Logger` machine through the driver and judges what a user
//! sees: the bytes in `current`, the file a link points to, the lock while svlogd runs,
//! its warnings, and the descriptors it leaves open or closes.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::{CStr, CString};

use model::errno::Errno;
use model::spawn::ChildPlan;
use model::svlogd::config::Udp;
use model::svlogd::options::{parse, Parsed};
use model::svlogd::{Input, Logger, UdpOutcome};
use model::time::{Mono, Now, Wall};
use runtime::driver::{self, Os, Trace, Turn};
use runtime::exec::svlogd::SvlogdIo;
use runtime::fs::AtomicWriteError;
use runtime::latch::SignalSet;
use runtime::os::{LogSyscalls, Syscalls};
use runtime::process::{Reaped, SpawnSpec};
use runtime::wait::{Interest, Ready};

/// A node in the one log directory `main`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    File {
        data: Vec<u8>,
        mode: u32,
    },
    /// A symbolic link to another name in the same directory.
    Link(Vec<u8>),
    /// A named pipe nobody has open: opening it blocks forever unless `O_NONBLOCK` (then
    /// a reader gets end-of-file, a writer `ENXIO`).
    Fifo,
}

/// What an open descriptor refers to.
#[derive(Clone, Debug)]
enum Open {
    Dir,
    File { name: Vec<u8>, readable: bool, writable: bool, append: bool, pos: usize },
}

/// The fake kernel: the directory `main`, its open descriptors, the lock, stdin, stderr,
/// and every misuse the real kernel would answer with `EBADF` (recorded, so a test sees
/// it even where the executor ignores the error).
#[derive(Default)]
struct Fs {
    nodes: BTreeMap<Vec<u8>, Node>,
    fds: BTreeMap<i32, Open>,
    next_fd: i32,
    /// The descriptor holding `lock`'s `flock`, if any.
    lock_holder: Option<i32>,
    stdin: Vec<u8>,
    stderr: Vec<Vec<u8>>,
    /// Calls the kernel refused with EBADF (a descriptor svlogd did not open).
    bad_fds: Vec<String>,
    /// Writes to `current` while no lock was held.
    unlocked_writes: usize,
    /// `main` can be opened this many more times (None: always).
    opens_left: Option<usize>,
    /// Processors started: (pid, the file it reads).
    processors: Vec<(i32, Vec<u8>)>,
    /// Children exited, for the next SIGCHLD.
    exited: VecDeque<Reaped>,
    /// `write(2)`s so far (a step cap: a loop that never ends fails, it does not hang).
    writes: usize,
}

impl Fs {
    fn new() -> Fs {
        Fs { next_fd: 10, ..Fs::default() }
    }

    fn with(mut self, name: &str, node: Node) -> Fs {
        self.nodes.insert(name.as_bytes().to_vec(), node);
        self
    }

    fn file(&self, name: &str) -> Option<(&[u8], u32)> {
        match self.nodes.get(name.as_bytes()) {
            Some(Node::File { data, mode }) => Some((data, *mode)),
            _ => None,
        }
    }

    fn bad(&mut self, what: String) -> Errno {
        self.bad_fds.push(what);
        Errno::EBADF
    }

    fn dir(&mut self, fd: i32, call: &str) -> Result<(), Errno> {
        match self.fds.get(&fd) {
            Some(Open::Dir) => Ok(()),
            _ => Err(self.bad(format!("{call} on fd {fd}, not an open directory"))),
        }
    }

    fn alloc(&mut self, o: Open) -> i32 {
        let fd = self.next_fd;
        self.next_fd += 1;
        self.fds.insert(fd, o);
        fd
    }
}

impl Syscalls for Fs {
    fn spawn(&mut self, _: &SpawnSpec) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn wait_pid(&mut self, _: i32) -> Result<i32, Errno> {
        Err(Errno::ECHILD)
    }
    fn reap_nohang(&mut self) -> Option<Reaped> {
        self.exited.pop_front()
    }
    fn kill(&mut self, _: i32, _: i32) -> Result<(), Errno> {
        Err(Errno::ESRCH)
    }
    fn stat_mode(&mut self, _: &CStr) -> Result<u32, Errno> {
        Err(Errno::ENOENT)
    }
    fn open_read(&mut self, _: &CStr) -> Result<i32, Errno> {
        Err(Errno::ENOENT)
    }
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        let Some(Open::File { name, readable: true, pos, .. }) = self.fds.get_mut(&fd) else {
            return Err(self.bad(format!("read on fd {fd}")));
        };
        let Some(Node::File { data, .. }) = self.nodes.get(name.as_slice()) else { return Ok(0) };
        let n = data.len().saturating_sub(*pos).min(buf.len());
        buf[..n].copy_from_slice(&data[*pos..*pos + n]);
        *pos += n;
        Ok(n)
    }
    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        if self.fds.remove(&fd).is_none() {
            return Err(self.bad(format!("close of fd {fd}")));
        }
        if self.lock_holder == Some(fd) {
            self.lock_holder = None;
        }
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

impl LogSyscalls for Fs {
    fn open_dir_fd(&mut self, path: &CStr) -> Result<i32, Errno> {
        match path.to_bytes() {
            b"main" if self.opens_left != Some(0) => {
                self.opens_left = self.opens_left.map(|n| n - 1);
                Ok(self.alloc(Open::Dir))
            }
            _ => Err(Errno::ENOENT),
        }
    }
    fn fstat_mode(&mut self, fd: i32) -> Result<u32, Errno> {
        match self.fds.get(&fd) {
            Some(Open::Dir) => Ok(libc::S_IFDIR | 0o755),
            Some(Open::File { .. }) => Ok(libc::S_IFREG | 0o644),
            None => Err(self.bad(format!("fstat on fd {fd}"))),
        }
    }
    fn openat(&mut self, dir: i32, name: &CStr, flags: i32, mode: u32) -> Result<i32, Errno> {
        self.dir(dir, "openat")?;
        let mut name = name.to_bytes().to_vec();
        if let Some(Node::Link(target)) = self.nodes.get(&name) {
            if flags & libc::O_NOFOLLOW != 0 {
                return Err(Errno::ELOOP);
            }
            name = target.clone();
        }
        if self.nodes.get(&name) == Some(&Node::Fifo) {
            assert!(flags & libc::O_NONBLOCK != 0, "svlogd blocks forever opening the FIFO {}", String::from_utf8_lossy(&name));
            if flags & libc::O_ACCMODE != libc::O_RDONLY {
                return Err(Errno(libc::ENXIO));
            }
        }
        if !self.nodes.contains_key(&name) {
            if flags & libc::O_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            self.nodes.insert(name.clone(), Node::File { data: Vec::new(), mode });
        }
        let acc = flags & libc::O_ACCMODE;
        let open = Open::File {
            name,
            readable: acc == libc::O_RDONLY || acc == libc::O_RDWR,
            writable: acc == libc::O_WRONLY || acc == libc::O_RDWR,
            append: flags & libc::O_APPEND != 0,
            pos: 0,
        };
        Ok(self.alloc(open))
    }
    fn lock_nowait(&mut self, fd: i32) -> Result<(), Errno> {
        match self.fds.get(&fd) {
            Some(Open::File { name, .. }) if name == b"lock" => {
                self.lock_holder = Some(fd);
                Ok(())
            }
            _ => Err(self.bad(format!("flock on fd {fd}, not the lock file"))),
        }
    }
    fn list_at(&mut self, dir: i32) -> Result<Vec<CString>, Errno> {
        self.dir(dir, "list")?;
        Ok(self.nodes.keys().map(|k| CString::new(k.clone()).expect("names without NUL")).collect())
    }
    fn lstat_at(&mut self, dir: i32, name: &CStr) -> Result<(u32, u64), Errno> {
        self.dir(dir, "lstat")?;
        match self.nodes.get(name.to_bytes()) {
            Some(Node::File { data, mode }) => Ok((libc::S_IFREG | mode, data.len() as u64)),
            Some(Node::Link(t)) => Ok((libc::S_IFLNK | 0o777, t.len() as u64)),
            Some(Node::Fifo) => Ok((libc::S_IFIFO | 0o644, 0)),
            None => Err(Errno::ENOENT),
        }
    }
    fn write_fd(&mut self, fd: i32, bytes: &[u8]) -> Result<usize, Errno> {
        self.writes += 1;
        assert!(self.writes < 10_000, "svlogd keeps writing: a write loop that never ends");
        if self.lock_holder.is_none() {
            self.unlocked_writes += 1;
        }
        let Some(Open::File { name, writable: true, append, pos, .. }) = self.fds.get_mut(&fd) else {
            return Err(self.bad(format!("write on fd {fd}")));
        };
        let Some(Node::File { data, .. }) = self.nodes.get_mut(name.as_slice()) else { return Err(Errno::ENOENT) };
        if *append {
            *pos = data.len();
        }
        let end = *pos + bytes.len();
        if data.len() < end {
            data.resize(end, 0);
        }
        data[*pos..end].copy_from_slice(bytes);
        *pos = end;
        Ok(bytes.len())
    }
    fn renameat(&mut self, dir: i32, from: &CStr, to: &CStr) -> Result<(), Errno> {
        self.dir(dir, "rename")?;
        let node = self.nodes.remove(from.to_bytes()).ok_or(Errno::ENOENT)?;
        self.nodes.insert(to.to_bytes().to_vec(), node);
        Ok(())
    }
    fn unlinkat(&mut self, dir: i32, name: &CStr) -> Result<(), Errno> {
        self.dir(dir, "unlink")?;
        self.nodes.remove(name.to_bytes()).map(|_| ()).ok_or(Errno::ENOENT)
    }
    fn fchmodat(&mut self, dir: i32, name: &CStr, m: u32) -> Result<(), Errno> {
        self.dir(dir, "chmod")?;
        match self.nodes.get_mut(name.to_bytes()) {
            Some(Node::File { mode, .. }) => {
                *mode = m;
                Ok(())
            }
            _ => Err(Errno::ENOENT),
        }
    }
    fn fchmod(&mut self, fd: i32, m: u32) -> Result<(), Errno> {
        let Some(Open::File { name, .. }) = self.fds.get(&fd) else {
            return Err(self.bad(format!("fchmod on fd {fd}")));
        };
        if let Some(Node::File { mode, .. }) = self.nodes.get_mut(name.as_slice()) {
            *mode = m;
        }
        Ok(())
    }
    fn fsync(&mut self, fd: i32) -> Result<(), Errno> {
        match self.fds.get(&fd) {
            Some(Open::File { .. }) => Ok(()),
            _ => Err(self.bad(format!("fsync on fd {fd}"))),
        }
    }
    /// The processor "runs" at once: it writes `PROCESSED` to its output (fd 1) and an
    /// empty `newstate` (fd 5); its exit is the test's to deliver.
    fn spawn_processor(&mut self, plan: &ChildPlan) -> Result<i32, Errno> {
        let file_on = |fd: i32| {
            plan.steps.iter().find_map(|st| match st {
                model::spawn::Step::Open { path, to, .. } if *to == fd => Some(path.clone()),
                _ => None,
            })
        };
        let (Some(input), Some(output)) = (file_on(0), file_on(1)) else { return Err(Errno::EINVAL) };
        self.nodes.insert(output, file(b"PROCESSED", 0o644));
        self.nodes.insert(b"newstate".to_vec(), file(b"", 0o644));
        let pid = 500 + self.processors.len() as i32;
        self.processors.push((pid, input));
        Ok(pid)
    }
    fn send_udp(&mut self, _: Udp, _: &[u8]) -> UdpOutcome {
        UdpOutcome::NoSocket
    }
    fn read_append(&mut self, fd: i32, buf: &mut Vec<u8>, max: usize) -> Result<usize, Errno> {
        assert_eq!(fd, 0, "svlogd reads only stdin");
        if self.stdin.is_empty() {
            return Err(Errno::EAGAIN);
        }
        let n = self.stdin.len().min(max);
        buf.extend(self.stdin.drain(..n));
        Ok(n)
    }
}

/// Seconds since the start; both clocks move on one second at every wake-up (so each
/// rotation gets a name of its own).
struct Clock(u64);

impl Os for Clock {
    fn now(&mut self) -> Now {
        Now { mono: Mono((1 + self.0) * 1_000_000_000), wall: Wall { unix_secs: 1_700_000_000 + self.0 as i64, nanos: 0 } }
    }
    fn wait(&mut self, _: &[Interest], _: Now, _: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        (Vec::new(), SignalSet::default())
    }
}

/// svlogd on `main` over `fs`: the machine, its executor and where the driver stands.
struct Run {
    m: Logger,
    io: SvlogdIo<Fs>,
    queue: VecDeque<Input>,
    turn: Turn,
    clock: Clock,
}

impl Run {
    fn start(fs: Fs) -> Run {
        let Parsed::Run(settings) = parse(&[&b"svlogd"[..], b"main"]) else { panic!("svlogd main parses") };
        let strays = runtime::signals::Strays { catch: Vec::new(), unblock_in_child: Vec::new() };
        let io = SvlogdIo::over(fs, settings.dirs.clone(), &strays);
        let mut run =
            Run { m: Logger::new(settings), io, queue: VecDeque::from([Input::Start]), turn: Turn::Finished(-1), clock: Clock(0) };
        run.settle();
        run
    }

    fn settle(&mut self) {
        self.turn = driver::settle(&mut self.m, &mut self.io, &mut self.clock, &mut self.queue, &mut Trace::none());
    }

    /// One wake-up: `stdin` appended and readable (if not empty), `signals` delivered.
    fn wake(&mut self, stdin: &[u8], signals: SignalSet) {
        let Turn::Waiting { deadline, .. } = self.turn else { panic!("svlogd exited early: {:?}", self.stderr()) };
        self.io.os_mut().stdin.extend_from_slice(stdin);
        let ready = if stdin.is_empty() { Vec::new() } else { vec![Ready { fd: 0, readable: true, writable: false }] };
        self.clock.0 += 1;
        driver::woken::<Logger, _, _>(&mut self.io, &mut self.clock, deadline, ready, signals, &mut self.queue);
        self.settle();
    }

    fn term(&mut self) {
        self.wake(b"", SignalSet(1 << libc::SIGTERM));
    }

    fn turn_code(&self) -> Option<i32> {
        match self.turn {
            Turn::Finished(c) => Some(c),
            _ => None,
        }
    }

    fn fs(&self) -> &Fs {
        self.io.os()
    }

    fn stderr(&self) -> Vec<String> {
        self.fs().stderr.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect()
    }

    /// The kernel saw no misuse: no descriptor svlogd did not open, no write unlocked.
    fn assert_clean(&self) {
        assert_eq!(self.fs().bad_fds, Vec::<String>::new(), "calls on descriptors svlogd never opened");
        assert_eq!(self.fs().unlocked_writes, 0, "writes to current without the directory's lock");
    }
}

fn file(data: &[u8], mode: u32) -> Node {
    Node::File { data: data.to_vec(), mode }
}

/// A complete `current` (owner-executable) is appended to, under the lock, and made
/// complete again when svlogd stops; every descriptor is closed at exit.
#[test]
fn appends_to_a_complete_current_under_the_lock_and_closes_everything() {
    let mut run = Run::start(Fs::new().with("current", file(b"an older line\n", 0o744)));
    assert!(matches!(run.turn, Turn::Waiting { .. }), "svlogd runs: {:?}", run.stderr());
    let holder = run.fs().lock_holder.expect("svlogd holds main/lock while it runs");
    assert!(matches!(run.fs().fds.get(&holder), Some(Open::File { name, .. }) if name == b"lock"));
    run.wake(b"new\n", SignalSet::default());
    run.term();
    assert!(matches!(run.turn, Turn::Finished(0)), "svlogd exits 0 on TERM: {:?}", run.stderr());
    assert_eq!(run.fs().file("current"), Some((&b"an older line\nnew\n"[..], 0o744)), "appended, complete");
    assert!(run.fs().fds.is_empty(), "descriptors left open at exit: {:?}", run.fs().fds);
    assert_eq!(run.fs().lock_holder, None, "lock released");
    run.assert_clean();
}

/// Without `current`, svlogd creates it, writes the lines, and leaves the other files
/// alone; `lock` is created for the lock.
#[test]
fn creates_current_when_missing() {
    let mut run = Run::start(Fs::new().with("config", file(b"", 0o644)));
    run.wake(b"first\nsecond\n", SignalSet::default());
    run.term();
    assert!(matches!(run.turn, Turn::Finished(0)), "{:?}", run.stderr());
    assert_eq!(run.fs().file("current"), Some((&b"first\nsecond\n"[..], 0o744)));
    assert!(run.fs().file("lock").is_some(), "lock created");
    assert!(run.fs().fds.is_empty(), "descriptors left open: {:?}", run.fs().fds);
    run.assert_clean();
}

/// A symbolic link at `current` is refused ("unable to stat current", ELOOP's text) and
/// the file it points to is never written or chmodded; the directory is given up, so
/// svlogd (with no other directory) stops with runit's fatal error.
#[test]
fn a_link_at_current_is_refused_and_its_target_untouched() {
    let fs = Fs::new().with("current", Node::Link(b"victim".to_vec())).with("victim", file(b"precious\n", 0o600));
    let mut run = Run::start(fs);
    if let Turn::Waiting { .. } = run.turn {
        run.wake(b"line\n", SignalSet::default());
        run.term();
    }
    assert_eq!(run.fs().file("victim"), Some((&b"precious\n"[..], 0o600)), "the link's target untouched");
    assert_eq!(run.fs().nodes.get(&b"current"[..]), Some(&Node::Link(b"victim".to_vec())), "the link stays");
    let want = String::from_utf8_lossy(&model::svlogd::diag::warn2("unable to stat current", b"main", Errno::ELOOP)).into_owned();
    assert!(run.stderr().contains(&want), "warns {want:?}; stderr {:?}", run.stderr());
    assert!(run.fs().fds.is_empty(), "descriptors left open: {:?}", run.fs().fds);
    run.assert_clean();
}

/// An incomplete `current` (not owner-executable, not empty) is kept as a `@...u` file,
/// a fresh `current` takes the new lines.
#[test]
fn an_incomplete_current_is_set_aside() {
    let mut run = Run::start(Fs::new().with("current", file(b"cut sh", 0o644)));
    run.wake(b"after\n", SignalSet::default());
    run.term();
    assert!(matches!(run.turn, Turn::Finished(0)), "{:?}", run.stderr());
    assert_eq!(run.fs().file("current"), Some((&b"after\n"[..], 0o744)));
    let aside: Vec<_> = run.fs().nodes.iter().filter(|(k, _)| k.first() == Some(&b'@') && k.ends_with(b".u")).collect();
    assert_eq!(aside.len(), 1, "one @...u file: {:?}", run.fs().nodes.keys().collect::<Vec<_>>());
    assert!(matches!(aside[0].1, Node::File { data, .. } if data == b"cut sh"));
    run.assert_clean();
}

/// A directory that is gone when SIGHUP reopens it: svlogd says so and, with no other
/// directory left, stops with runit's fatal error, closing what it had open and never
/// a descriptor it does not own.
#[test]
fn a_directory_gone_at_hangup() {
    let mut fs = Fs::new().with("current", file(b"", 0o744));
    fs.opens_left = Some(1);
    let mut run = Run::start(fs);
    run.wake(b"kept\n", SignalSet::default());
    run.wake(b"", SignalSet(1 << libc::SIGHUP));
    if let Turn::Waiting { .. } = run.turn {
        run.wake(b"", SignalSet(1 << libc::SIGHUP));
    }
    if let Turn::Waiting { .. } = run.turn {
        run.term();
    }
    assert_eq!(run.turn_code(), Some(111), "svlogd stops: {:?}", run.stderr());
    assert_eq!(run.stderr().last().map(String::as_str), Some("svlogd: fatal: no functional log directories.\n"));
    assert_eq!(run.fs().file("current"), Some((&b"kept\n"[..], 0o744)), "the line kept, current complete");
    assert!(run.fs().fds.is_empty(), "descriptors left open: {:?}", run.fs().fds);
    run.assert_clean();
}

/// Rotation by size keeps `n` old files: with `s100` and `n2`, a stream of lines leaves
/// `current` and the two newest `@...s` files, every byte of them in order, the old files
/// read-only and complete (`0744`), the oldest deleted.
#[test]
fn rotation_keeps_the_newest_files() {
    let mut run = Run::start(Fs::new().with("config", file(b"s100\nn2\n", 0o644)));
    let lines: Vec<Vec<u8>> = (0..30).map(|i| format!("line {i:02} of the rotation test\n").into_bytes()).collect();
    for l in &lines {
        run.wake(l, SignalSet::default());
    }
    run.term();
    assert!(matches!(run.turn, Turn::Finished(0)), "{:?}", run.stderr());
    let fs = run.fs();
    let old: Vec<(&Vec<u8>, &Node)> = fs.nodes.iter().filter(|(k, _)| k.first() == Some(&b'@')).collect();
    assert_eq!(old.len(), 2, "two old files kept: {:?}", fs.nodes.keys().map(|k| String::from_utf8_lossy(k)).collect::<Vec<_>>());
    let mut kept = Vec::new();
    for (name, node) in &old {
        assert!(name.ends_with(b".s"), "a rotated file: {}", String::from_utf8_lossy(name));
        let Node::File { data, mode } = node else { panic!("a file") };
        assert_eq!(*mode, 0o744, "complete");
        assert!(data.len() <= 100 + lines[0].len(), "about s bytes: {}", data.len());
        kept.extend_from_slice(data);
    }
    kept.extend_from_slice(fs.file("current").expect("current").0);
    let all = lines.concat();
    assert!(all.ends_with(&kept), "the newest bytes, in order, nothing lost between the kept files");
    assert!(kept.len() > 200, "three files' worth kept: {}", kept.len());
    assert!(fs.fds.is_empty(), "descriptors left open: {:?}", fs.fds);
    run.assert_clean();
}

/// A processor (`!cmd` in config) runs on each rotated file; when it exits 0, svlogd
/// keeps its output as the `@...s` file and its `newstate` as `state`.
#[test]
fn a_processors_output_replaces_the_rotated_file() {
    let mut run = Run::start(Fs::new().with("config", file(b"s100\n!tr a-z A-Z\n", 0o644)));
    run.wake(&b"a line long enough to pass the size limit of one hundred bytes at once, twice over\n".repeat(2), SignalSet::default());
    let (pid, _) = run.fs().processors.first().cloned().expect("a processor started");
    run.io.os_mut().exited.push_back(Reaped { pid, status: 0 });
    run.wake(b"", SignalSet(1 << libc::SIGCHLD));
    run.term();
    assert!(matches!(run.turn, Turn::Finished(0)), "{:?}", run.stderr());
    let fs = run.fs();
    let done: Vec<_> = fs.nodes.iter().filter(|(k, _)| k.first() == Some(&b'@') && k.ends_with(b".s")).collect();
    assert_eq!(done.len(), 1, "one processed file: {:?}", fs.nodes.keys().map(|k| String::from_utf8_lossy(k)).collect::<Vec<_>>());
    assert!(matches!(done[0].1, Node::File { data, .. } if data == b"PROCESSED"), "the processor's output kept");
    assert!(fs.nodes.contains_key(&b"state"[..]) && !fs.nodes.contains_key(&b"newstate"[..]), "newstate became state");
    run.assert_clean();
}

/// A named pipe at `config` (nobody writes it) reads as an empty config: svlogd neither
/// blocks nor gives up, and logs.
#[test]
fn a_fifo_at_config_reads_as_empty() {
    let mut run = Run::start(Fs::new().with("config", Node::Fifo));
    run.wake(b"line\n", SignalSet::default());
    run.term();
    assert!(matches!(run.turn, Turn::Finished(0)), "{:?}", run.stderr());
    assert_eq!(run.fs().file("current"), Some((&b"line\n"[..], 0o744)));
    run.assert_clean();
}

/// A named pipe at `lock`: svlogd cannot lock the directory (ENXIO, nobody reads the pipe)
/// and, without another directory, stops with runit's fatal error instead of hanging.
#[test]
fn a_fifo_at_lock_is_refused_without_blocking() {
    let run = Run::start(Fs::new().with("lock", Node::Fifo));
    assert!(matches!(run.turn, Turn::Finished(111)), "{:?}", run.stderr());
    assert_eq!(run.stderr().last().map(String::as_str), Some("svlogd: fatal: no functional log directories.\n"));
    assert!(run.fs().fds.is_empty(), "descriptors left open: {:?}", run.fs().fds);
    run.assert_clean();
}
