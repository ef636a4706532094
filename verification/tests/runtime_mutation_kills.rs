//! Tests that kill mutants of the runtime's executors (runtime/src/exec/) the fake-kernel
//! suites cannot reach: the small real-kernel pieces behind `os::Real` (the sd_notify
//! datagram receiver, `/proc` parent lookup, runsvdir's inotify watcher, svlogd's UDP
//! send) and the platform signal numbers. Each runs on this process's own descriptors and
//! a private directory under the temporary directory; nothing outside them is touched.
//! docs/assurance.md, "Runtime executors" lists the mutants they were written for.

use std::os::unix::ffi::OsStrExt;

use model::readiness::notify::NOTIFY_BUFFER_MAX;
use model::runsv::Sig;
use model::runsvdir::watch::Effect;
use model::svlogd::config::Udp;
use model::svlogd::UdpOutcome;
use runtime::exec::runsvdir::Watcher;
use runtime::os::{Real, Syscalls};

/// A fresh, empty directory of this test's own (removed again by [`Scratch::drop`]).
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("runit-mutkill-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("scratch directory");
        Scratch(p)
    }
    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bytes(p: &std::path::Path) -> Vec<u8> {
    p.as_os_str().as_bytes().to_vec()
}

/// runsv's `signo` is the platform number for every signal the model names (`sv`'s
/// commands reach the service with these numbers).
#[test]
fn runsv_signo_is_the_platform_number() {
    let table = [
        (Sig::Term, libc::SIGTERM),
        (Sig::Cont, libc::SIGCONT),
        (Sig::Stop, libc::SIGSTOP),
        (Sig::Hup, libc::SIGHUP),
        (Sig::Alrm, libc::SIGALRM),
        (Sig::Int, libc::SIGINT),
        (Sig::Quit, libc::SIGQUIT),
        (Sig::Usr1, libc::SIGUSR1),
        (Sig::Usr2, libc::SIGUSR2),
        (Sig::Kill, libc::SIGKILL),
        (Sig::Abrt, libc::SIGABRT),
    ];
    for (sig, n) in table {
        assert_eq!(runtime::exec::runsv::signo(sig), n, "{sig:?}");
    }
}

/// runit's PID 1 catches CHLD CONT INT ALRM PWR (TERM too in container mode) and blocks
/// HUP PIPE (and TERM otherwise): spec/runit.md.
#[test]
fn stage_signal_sets_are_runits() {
    use runtime::exec::stage::{blocked_signals, handled_signals};
    let base = vec![libc::SIGCHLD, libc::SIGCONT, libc::SIGINT, libc::SIGALRM, libc::SIGPWR];
    assert_eq!(handled_signals(false), base);
    assert_eq!(handled_signals(true), [base.clone(), vec![libc::SIGTERM]].concat());
    assert_eq!(blocked_signals(false), vec![libc::SIGHUP, libc::SIGPIPE, libc::SIGTERM]);
    assert_eq!(blocked_signals(true), vec![libc::SIGHUP, libc::SIGPIPE]);
}

/// A connected datagram pair whose receiving end asks for the sender's credentials
/// (what `supervise/notify` does with `SO_PASSCRED`).
fn passcred_pair() -> (i32, i32) {
    let mut sv = [0i32; 2];
    // SAFETY: plain socketpair(2) into a valid array.
    assert_eq!(unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) }, 0);
    let one: libc::c_int = 1;
    // SAFETY: valid option pointer and size.
    let r = unsafe { libc::setsockopt(sv[0], libc::SOL_SOCKET, libc::SO_PASSCRED, (&one as *const libc::c_int).cast(), 4) };
    assert_eq!(r, 0);
    (sv[0], sv[1])
}

fn close(fd: i32) {
    // SAFETY: closing a descriptor this test opened.
    unsafe { libc::close(fd) };
}

fn send(fd: i32, payload: &[u8]) {
    // SAFETY: payload is readable for its length.
    let n = unsafe { libc::send(fd, payload.as_ptr().cast(), payload.len(), 0) };
    assert_eq!(n, payload.len() as isize);
}

/// Sends `payload` with one descriptor attached (SCM_RIGHTS).
fn send_with_fd(fd: i32, payload: &[u8], pass: i32) {
    let mut iov = libc::iovec { iov_base: payload.as_ptr() as *mut libc::c_void, iov_len: payload.len() };
    let mut cbuf = [0u64; 8];
    // SAFETY: zeroed msghdr is valid; the buffers outlive the call; CMSG macros walk cbuf,
    // which is large enough for one descriptor.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(4) as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), pass);
        assert_eq!(libc::sendmsg(fd, &msg, 0), payload.len() as isize);
    }
}

/// The real receiver reports the payload, the sender's pid from its credentials, how
/// many descriptors came along and whether the payload was cut; `None` when nothing is
/// queued.
#[test]
fn recv_datagram_reports_payload_sender_fds_and_truncation() {
    let (r, w) = passcred_pair();
    let mut os = Real;
    assert_eq!(os.recv_datagram(r), None, "nothing queued");
    send(w, b"READY=1");
    let d = os.recv_datagram(r).expect("one datagram");
    assert_eq!(d.payload, b"READY=1");
    assert_eq!(d.pid, Some(std::process::id() as i32));
    assert_eq!((d.fds, d.truncated), (0, false));

    let (a, b) = passcred_pair();
    send_with_fd(w, b"FDSTORE=1", a);
    let d = os.recv_datagram(r).expect("datagram with a descriptor");
    assert_eq!((d.payload.as_slice(), d.fds, d.truncated), (&b"FDSTORE=1"[..], 1, false));
    assert_eq!(d.pid, Some(std::process::id() as i32));

    let big = vec![b'x'; NOTIFY_BUFFER_MAX + 10];
    send(w, &big);
    let d = os.recv_datagram(r).expect("oversized datagram");
    assert!(d.truncated, "a payload longer than the buffer is reported truncated");
    assert_eq!(d.payload.len(), NOTIFY_BUFFER_MAX);
    assert_eq!(os.recv_datagram(r), None, "queue drained");
    for fd in [r, w, a, b] {
        close(fd);
    }
}

/// The parent lookup reads field 4 of `/proc/<pid>/stat`: this process's parent, and no
/// parent for a pid that does not exist.
#[test]
fn parent_of_reads_proc_stat() {
    let mut os = Real;
    // SAFETY: getpid/getppid cannot fail.
    let (me, parent) = unsafe { (libc::getpid(), libc::getppid()) };
    assert_eq!(os.parent_of(me), Some(parent));
    assert_eq!(os.parent_of(i32::MAX), None);
}

fn drain_effect(w: &mut Watcher) -> Effect {
    w.drain()
}

/// Whether `fd` names an inotify instance of this process.
fn is_inotify(fd: i32) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok_and(|t| t.as_os_str().as_bytes() == b"anon_inode:inotify")
}

/// runsvdir's watcher on a plain directory: a new entry asks for a look, the directory
/// going asks for a rebuild; its descriptor is the inotify instance.
#[test]
fn watcher_on_a_directory_sees_entries_and_the_directory_going() {
    let s = Scratch::new("watch-dir");
    let dir = s.path("service");
    std::fs::create_dir(&dir).unwrap();
    let mut w = Watcher::build(&bytes(&dir)).expect("inotify available");
    assert!(is_inotify(w.fd()), "fd() is the inotify descriptor");
    assert_eq!(drain_effect(&mut w), Effect::default(), "nothing happened yet");
    std::fs::create_dir(dir.join("a")).unwrap();
    assert_eq!(drain_effect(&mut w), Effect { changed: true, rebuild: false });
    std::fs::create_dir(s.path("unrelated")).unwrap();
    assert_eq!(drain_effect(&mut w), Effect::default(), "another name in the parent is ignored");
    // Each event kind of the directory's mask on its own: moved out, moved in, deleted.
    std::fs::rename(dir.join("a"), s.path("a")).unwrap();
    assert_eq!(drain_effect(&mut w), Effect { changed: true, rebuild: false }, "moved out");
    std::fs::rename(s.path("a"), dir.join("a")).unwrap();
    assert_eq!(drain_effect(&mut w), Effect { changed: true, rebuild: false }, "moved in");
    std::fs::write(dir.join("f"), b"").unwrap();
    let _ = drain_effect(&mut w);
    std::fs::remove_file(dir.join("f")).unwrap();
    assert_eq!(drain_effect(&mut w), Effect { changed: true, rebuild: false }, "deleted");
    // The directory itself moved away: rebuild.
    std::fs::rename(&dir, s.path("moved")).unwrap();
    assert_eq!(drain_effect(&mut w), Effect { changed: true, rebuild: true }, "directory moved: rebuild");
    std::fs::rename(s.path("moved"), &dir).unwrap();
    let mut w = Watcher::build(&bytes(&dir)).expect("inotify available");
    std::fs::remove_dir(dir.join("a")).unwrap();
    let _ = drain_effect(&mut w);
    std::fs::remove_dir(&dir).unwrap();
    assert_eq!(drain_effect(&mut w), Effect { changed: true, rebuild: true }, "directory gone: rebuild");
}

/// Through a symlink (relative and absolute), replacing the link on the way to the
/// directory asks for a rebuild; the parent of the link's target is watched too.
#[test]
fn watcher_follows_the_symlink_chain() {
    let s = Scratch::new("watch-link");
    std::fs::create_dir_all(s.path("real/one")).unwrap();
    std::fs::create_dir_all(s.path("real/two")).unwrap();
    std::fs::create_dir_all(s.path("links")).unwrap();
    // links/cur -> ../real/one (relative), abs -> <scratch>/links/cur (absolute).
    std::os::unix::fs::symlink("../real/one", s.path("links/cur")).unwrap();
    std::os::unix::fs::symlink(s.path("links/cur"), s.path("abs")).unwrap();
    let mut w = Watcher::build(&bytes(&s.path("abs"))).expect("inotify available");
    assert_eq!(drain_effect(&mut w), Effect::default());
    // runsvchdir's move: a new link renamed over links/cur.
    std::os::unix::fs::symlink("../real/two", s.path("links/new")).unwrap();
    assert_eq!(drain_effect(&mut w), Effect::default(), "links/new is not on the chain");
    std::fs::rename(s.path("links/new"), s.path("links/cur")).unwrap();
    assert_eq!(drain_effect(&mut w), Effect { changed: true, rebuild: true }, "the link on the chain was replaced");
    // A change next to the final directory (in its parent real/) is not on the chain.
    std::fs::create_dir(s.path("real/three")).unwrap();
    assert_eq!(drain_effect(&mut w), Effect::default(), "another name next to the target");
    let mut w2 = Watcher::build(&bytes(&s.path("abs"))).expect("inotify available");
    std::fs::remove_dir(s.path("real/two")).unwrap();
    let e = drain_effect(&mut w2);
    assert!(e.changed && e.rebuild, "the target directory removed: {e:?}");
    // The link on the chain deleted (only its parent's watch sees it).
    std::fs::create_dir(s.path("real/two")).unwrap();
    let mut w3 = Watcher::build(&bytes(&s.path("abs"))).expect("inotify available");
    std::fs::remove_file(s.path("links/cur")).unwrap();
    assert_eq!(drain_effect(&mut w3), Effect { changed: true, rebuild: true }, "the link on the chain deleted");
}

/// svlogd's UDP send reaches a listener and says so.
#[test]
fn send_udp_reaches_a_listener() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("loopback UDP");
    let port = sock.local_addr().unwrap().port();
    let out = runtime::exec::svlogd::send_udp(Udp { addr: [127, 0, 0, 1], port }, b"a line\n");
    assert_eq!(out, UdpOutcome::Sent);
    let mut buf = [0u8; 64];
    let n = sock.recv(&mut buf).expect("the datagram arrived");
    assert_eq!(&buf[..n], b"a line\n");
}

/// `TitleMem` finds this process's argv in memory and overwrites an argument in place
/// (runsvdir's log line in `ps`), never beyond its length.
#[test]
fn title_mem_overwrites_the_argument_in_place() {
    use runtime::exec::runsvdir::TitleMem;
    let argv: Vec<Vec<u8>> = std::env::args_os().map(|a| a.as_bytes().to_vec()).collect();
    assert!(TitleMem::locate(&argv, argv.len()).is_none(), "no such argument");
    let mut wrong = argv.clone();
    wrong[0].push(b'x');
    assert!(TitleMem::locate(&wrong, 0).is_none(), "argv must match the memory");
    let last = argv.len() - 1;
    let t = TitleMem::locate(&argv, last).expect("argv found via /proc/self/stat");
    let cmdline = || std::fs::read("/proc/self/cmdline").unwrap();
    let before = cmdline();
    let fill = vec![b'#'; argv[last].len() + 5];
    t.show(&fill);
    let after = cmdline();
    t.show(&argv[last]);
    let mut expect = Vec::new();
    for (i, a) in argv.iter().enumerate() {
        expect.extend_from_slice(if i == last { &fill[..a.len()] } else { a });
        expect.push(0);
    }
    assert_eq!(after, expect, "only argv[{last}] changed, within its length");
    assert_eq!(cmdline(), before, "restored");
}

/// A kernel that only queues sd_notify datagrams and answers `/proc` parent lookups:
/// enough to drive [`runtime::exec::runsv_ready::ReadyIo::gather`] directly. Every other
/// call fails with ENOSYS (the readiness reader never makes them).
#[derive(Default)]
struct NotifyOnly {
    queue: std::collections::VecDeque<runtime::os::Datagram>,
    parents: std::collections::BTreeMap<i32, i32>,
}

impl Syscalls for NotifyOnly {
    fn spawn(&mut self, _: &runtime::process::SpawnSpec) -> Result<i32, model::errno::Errno> {
        Err(model::errno::Errno(libc::ENOSYS))
    }
    fn wait_pid(&mut self, _: i32) -> Result<i32, model::errno::Errno> {
        Err(model::errno::Errno(libc::ENOSYS))
    }
    fn reap_nohang(&mut self) -> Option<runtime::process::Reaped> {
        None
    }
    fn kill(&mut self, _: i32, _: i32) -> Result<(), model::errno::Errno> {
        Err(model::errno::Errno(libc::ENOSYS))
    }
    fn stat_mode(&mut self, _: &std::ffi::CStr) -> Result<u32, model::errno::Errno> {
        Err(model::errno::Errno(libc::ENOSYS))
    }
    fn open_read(&mut self, _: &std::ffi::CStr) -> Result<i32, model::errno::Errno> {
        Err(model::errno::Errno(libc::ENOSYS))
    }
    fn read(&mut self, _: i32, _: &mut [u8]) -> Result<usize, model::errno::Errno> {
        Err(model::errno::Errno(libc::ENOSYS))
    }
    fn close(&mut self, _: i32) -> Result<(), model::errno::Errno> {
        Ok(())
    }
    fn write_atomic(&mut self, _: &std::ffi::CStr, _: &std::ffi::CStr, _: &[u8]) -> Result<(), runtime::fs::AtomicWriteError> {
        Ok(())
    }
    fn write_stderr(&mut self, _: &[u8]) {}
    fn pipe(&mut self) -> Result<(i32, i32), model::errno::Errno> {
        Err(model::errno::Errno(libc::ENOSYS))
    }
    fn set_nonblock(&mut self, _: i32) -> Result<(), model::errno::Errno> {
        Err(model::errno::Errno(libc::ENOSYS))
    }
    fn recv_datagram(&mut self, _: i32) -> Option<runtime::os::Datagram> {
        self.queue.pop_front()
    }
    fn parent_of(&mut self, pid: i32) -> Option<i32> {
        self.parents.get(&pid).copied()
    }
}

const SOCKET: i32 = 7;

fn woke(readable: bool) -> runtime::driver::Woke {
    runtime::driver::Woke {
        ready: vec![runtime::wait::Ready { fd: SOCKET, readable, writable: false }],
        signals: runtime::latch::SignalSet::default(),
        deadline_passed: false,
    }
}

fn datagram(pid: i32) -> runtime::os::Datagram {
    runtime::os::Datagram { payload: b"READY=1".to_vec(), pid: Some(pid), fds: 0, truncated: false }
}

fn senders(out: &std::collections::VecDeque<model::runsv::Input>) -> Vec<Option<model::readiness::Sender>> {
    out.iter()
        .map(|i| match i {
            model::runsv::Input::Notify { sender, .. } => sender.clone(),
            other => panic!("not a notification: {other:?}"),
        })
        .collect()
}

/// runsv accepts a notification from the child's descendants, so each datagram carries
/// the sender's ancestry: parent, grandparent, … up to pid 1, stopping where a parent
/// is unknown or 0, and at most `ANCESTRY_MAX` long.
#[test]
fn notify_carries_the_senders_ancestry() {
    use model::readiness::notify::ANCESTRY_MAX;
    use model::readiness::Sender;
    let mut os = NotifyOnly::default();
    os.parents.extend([(500, 400), (400, 300), (300, 1), (1, 0), (600, 0), (700, 650)]);
    let long_top = 1000 + 2 * ANCESTRY_MAX as i32;
    for p in 1001..=long_top {
        os.parents.insert(p, p - 1);
    }
    for pid in [500, 600, 700, 1, long_top] {
        os.queue.push_back(datagram(pid));
    }
    let mut io = runtime::exec::runsv_ready::ReadyIo::started(None, Some(SOCKET));
    let mut out = std::collections::VecDeque::new();
    io.gather(&mut os, &woke(true), &mut out);
    let long: Vec<i32> = (0..ANCESTRY_MAX as i32).map(|i| long_top - 1 - i).collect();
    assert_eq!(
        senders(&out),
        vec![
            Some(Sender { pid: 500, ancestors: vec![400, 300, 1] }),
            Some(Sender { pid: 600, ancestors: vec![] }),
            Some(Sender { pid: 700, ancestors: vec![650] }),
            Some(Sender { pid: 1, ancestors: vec![] }),
            Some(Sender { pid: long_top, ancestors: long }),
        ]
    );
}

/// The socket is read only when it is reported readable, and at most 64 datagrams per
/// wake-up (the rest wait for the next one).
#[test]
fn notify_socket_read_only_when_readable_and_bounded() {
    let mut os = NotifyOnly::default();
    for _ in 0..70 {
        os.queue.push_back(datagram(42));
    }
    let mut io = runtime::exec::runsv_ready::ReadyIo::started(None, Some(SOCKET));
    let mut out = std::collections::VecDeque::new();
    io.gather(&mut os, &woke(false), &mut out);
    assert!(out.is_empty(), "not readable: not read");
    io.gather(&mut os, &woke(true), &mut out);
    assert_eq!(out.len(), 64);
    assert_eq!(os.queue.len(), 6);
}
