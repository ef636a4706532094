//! Session tests over a scripted fake world: every output line, skip rule, wait rule,
//! timeout, LSB code and fatal path, without processes.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::errno::Errno;
use crate::sv::session::{CheckRun, Effects, Session, StatusError, WriteOutcome};
use crate::sv::{parse, Env, Parse, Rule};
use crate::time::{Mono, Now, Tai64n, Wall};
use crate::StepCap;

const T0: i64 = 1_000_000;

/// sv time `ms` (sv starts at 0, half a second into wall-clock second T0).
fn now(ms: u64) -> Now {
    let wall_ms = ms + 500;
    Now { mono: Mono(ms * 1_000_000), wall: Wall { unix_secs: T0 + (wall_ms / 1000) as i64, nanos: ((wall_ms % 1000) * 1_000_000) as u32 } }
}

/// A 20-byte status stamped at sv time `ms`: pid, paused, want, term, state.
fn st(ms: i64, pid: u32, paused: bool, want: u8, term: bool, state: u8) -> Vec<u8> {
    let ms = ms + 500;
    let stamp = Tai64n::from_wall(Wall { unix_secs: T0 + ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as u32 });
    let mut b = Vec::from(stamp.pack());
    b.extend_from_slice(&pid.to_le_bytes());
    b.extend_from_slice(&[paused as u8, want, term as u8, state]);
    b
}
fn run_st(ms: i64, pid: u32) -> Vec<u8> {
    st(ms, pid, false, b'u', false, 1)
}
fn down_st(ms: i64, want: u8) -> Vec<u8> {
    st(ms, 0, false, want, false, 0)
}

#[derive(Clone, Debug)]
struct Svc {
    ok: Result<(), Errno>,
    statuses: VecDeque<Result<Vec<u8>, StatusError>>,
    after_write: Option<Vec<Vec<u8>>>,
    down: Result<(), Errno>,
    check: Result<(), Errno>,
    check_result: CheckRun,
    control: Option<WriteOutcome>,
    written: Vec<Vec<u8>>,
    record: Option<Vec<u8>>,
}

impl Svc {
    fn new(status: Vec<u8>) -> Svc {
        Svc {
            ok: Ok(()),
            statuses: VecDeque::from([Ok(status)]),
            after_write: None,
            down: Err(Errno::ENOENT),
            check: Err(Errno::ENOENT),
            check_result: CheckRun::Exited(0),
            control: None,
            written: Vec::new(),
            record: None,
        }
    }
    fn then(mut self, statuses: Vec<Vec<u8>>) -> Svc {
        self.after_write = Some(statuses);
        self
    }
}

#[derive(Default)]
struct World {
    dirs: BTreeMap<String, Svc>,
    plain: BTreeSet<String>,
    files: BTreeSet<String>,
    cwd: String,
    home_fails: Option<Errno>,
    go_home_fails: Option<Errno>,
    watch_ok: bool,
    /// Services whose watch fails even when `watch_ok` (a mix of watched and polled).
    unwatchable: Vec<usize>,
    watched: Vec<usize>,
    checks: usize,
    out: Vec<String>,
    err: Vec<String>,
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            x => parts.push(x),
        }
    }
    let mut s = String::new();
    for p in parts {
        s.push('/');
        s.push_str(p);
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

impl World {
    fn new() -> World {
        let mut w = World { cwd: "/home".into(), watch_ok: true, ..World::default() };
        for d in ["/", "/home", "/svdir"] {
            w.plain.insert(d.into());
        }
        w
    }
    fn svc(mut self, path: &str, svc: Svc) -> World {
        self.dirs.insert(path.into(), svc);
        self
    }
    fn get(&self, path: &str) -> &Svc {
        &self.dirs[path]
    }
    fn here(&mut self) -> Option<&mut Svc> {
        self.dirs.get_mut(&self.cwd)
    }
    fn stdout(&self) -> String {
        self.out.concat()
    }
    fn stderr(&self) -> String {
        self.err.concat()
    }
}

impl Effects for World {
    fn open_home(&mut self) -> Result<(), Errno> {
        self.home_fails.map_or(Ok(()), Err)
    }
    fn go_home(&mut self) -> Result<(), Errno> {
        if let Some(e) = self.go_home_fails {
            return Err(e);
        }
        self.cwd = "/home".into();
        Ok(())
    }
    fn chdir(&mut self, path: &[u8]) -> Result<(), Errno> {
        let p = core::str::from_utf8(path).map_err(|_| Errno::EINVAL)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        let target = if p.starts_with('/') { normalize(p) } else { normalize(&alloc::format!("{}/{}", self.cwd, p)) };
        if self.files.contains(&target) {
            return Err(Errno::ENOTDIR);
        }
        if self.dirs.contains_key(&target) || self.plain.contains(&target) {
            self.cwd = target;
            Ok(())
        } else {
            Err(Errno::ENOENT)
        }
    }
    fn probe_ok(&mut self) -> Result<(), Errno> {
        self.here().map_or(Err(Errno::ENOENT), |s| s.ok)
    }
    fn read_status(&mut self) -> Result<Vec<u8>, StatusError> {
        let s = self.here().ok_or(StatusError::Open(Errno::ENOENT))?;
        if s.statuses.len() > 1 {
            s.statuses.pop_front().unwrap_or(Err(StatusError::Open(Errno::ENOENT)))
        } else {
            s.statuses.front().cloned().unwrap_or(Err(StatusError::Open(Errno::ENOENT)))
        }
    }
    fn stat(&mut self, file: &[u8]) -> Result<(), Errno> {
        let s = self.here().ok_or(Errno::ENOENT)?;
        match file {
            b"down" => s.down,
            b"check" => s.check,
            _ => Err(Errno::ENOENT),
        }
    }
    fn run_check(&mut self, exec_fail_line: &[u8]) -> CheckRun {
        self.checks += 1;
        assert!(exec_fail_line.starts_with(b"warning: unable to run ") && exec_fail_line.ends_with(b"/check: "));
        self.here().map_or(CheckRun::Exited(0), |s| s.check_result)
    }
    fn write_control(&mut self, bytes: &[u8]) -> WriteOutcome {
        let Some(s) = self.here() else { return WriteOutcome::OpenFailed(Errno::ENOENT) };
        if let Some(o) = s.control {
            return o;
        }
        s.written.push(bytes.to_vec());
        if let Some(next) = s.after_write.take() {
            s.statuses = next.into_iter().map(Ok).collect();
        }
        WriteOutcome::Written(bytes.len())
    }
    fn read_record(&mut self) -> Option<Vec<u8>> {
        self.here().and_then(|s| s.record.clone())
    }
    fn watch(&mut self, index: usize) -> bool {
        self.watched.push(index);
        self.watch_ok && !self.unwatchable.contains(&index)
    }
    fn stdout(&mut self, line: &[u8]) {
        assert_eq!(line.last(), Some(&b'\n'));
        self.out.push(String::from_utf8(line.to_vec()).unwrap());
    }
    fn stderr(&mut self, line: &[u8]) {
        self.err.push(String::from_utf8(line.to_vec()).unwrap());
    }
}

fn session(argv: &[&str], env: Env<'_>, rule: Rule) -> Session {
    match parse(argv, env) {
        Parse::Run(inv) => Session::new(inv, rule),
        Parse::Refuse { stderr, .. } => panic!("{}", String::from_utf8_lossy(&stderr)),
    }
}

const SVDIR: Env<'static> = Env { svdir: Some(b"/svdir/"), svwait: None };

/// Starts and then ticks at every deadline until done; returns (exit, end ms).
fn drive(s: &mut Session, w: &mut World, rule: Rule) -> (i32, u64) {
    let _ = rule;
    s.start(now(0), w);
    let mut t = 0;
    let mut cap = StepCap::new("sv session", 100_000);
    while s.finished().is_none() {
        cap.step();
        let d = s.poll_deadline().expect("a pending session has a deadline");
        assert!(d.0 >= t * 1_000_000, "deadline in the past");
        t = d.0.div_ceil(1_000_000);
        s.on_tick(now(t), w);
        assert!(t < 60_000, "runaway session");
    }
    (s.finished().unwrap(), t)
}

fn go(argv: &[&str], w: &mut World) -> (i32, u64) {
    let mut s = session(argv, SVDIR, Rule::RaceFree);
    drive(&mut s, w, Rule::RaceFree)
}

// ---- status ---------------------------------------------------------------------------

#[test]
fn test_status_running_service() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-5000, 42)));
    assert_eq!(go(&["sv", "status", "./s"], &mut w), (0, 0));
    assert_eq!(w.stdout(), "run: ./s: (pid 42) 5s\n");
}

#[test]
fn test_status_bare_name_via_svdir_and_fail() {
    let mut w = World::new().svc("/svdir/a", Svc::new(down_st(-2000, b'd')));
    assert_eq!(go(&["sv", "status", "a", "b", "sub/a"], &mut w).0, 2);
    assert_eq!(
        w.stdout(),
        "down: a: 2s, normally up\n\
         fail: b: unable to change to service directory: file does not exist\n\
         fail: sub/a: unable to change to service directory: file does not exist\n"
    );
}

#[test]
fn test_status_with_log() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-3000, 42))).svc("/home/s/log", Svc::new(down_st(0, b'u')));
    assert_eq!(go(&["sv", "status", "./s"], &mut w).0, 0);
    assert_eq!(w.stdout(), "run: ./s: (pid 42) 3s; down: log: 0s, normally up, want up\n");
}

#[test]
fn test_status_log_chdir_error() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-1000, 42)));
    w.files.insert("/home/s/log".into());
    assert_eq!(go(&["sv", "status", "./s"], &mut w).0, 1);
    assert_eq!(w.stdout(), "run: ./s: (pid 42) 1s; warning: ./s/log: unable to change directory: not a directory\n");
}

#[test]
fn test_status_log_unreadable_prints_main_bytes_as_log() {
    let mut log = Svc::new(down_st(0, b'u'));
    log.ok = Err(Errno::ENOENT);
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-1000, 42))).svc("/home/s/log", log);
    assert_eq!(go(&["sv", "status", "./s"], &mut w).0, 1);
    assert_eq!(
        w.out,
        vec![
            "run: ./s: (pid 42) 1s; warning: ./s/log: unable to open supervise/ok: file does not exist\n".to_string(),
            "run: log: (pid 42) 1s\n".to_string()
        ]
    );
}

#[test]
fn test_status_log_short_read_overlays_main_bytes() {
    // runit reads the log's 14 bytes over the start of the main record it printed.
    let mut short = down_st(0, b'u');
    short.truncate(12);
    short.extend_from_slice(&[7, 0]);
    let log = Svc::new(short);
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-1000, 42))).svc("/home/s/log", log);
    assert_eq!(go(&["sv", "status", "./s"], &mut w).0, 1);
    assert_eq!(
        w.out,
        vec![
            "run: ./s: (pid 42) 1s; warning: ./s/log: unable to read supervise/status: bad format\n".to_string(),
            "run: log: (pid 7) 0s\n".to_string()
        ]
    );
}

#[test]
fn test_status_pid_above_i32_max_sign_extended() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-1000, 0x8000_0000)));
    go(&["sv", "status", "./s"], &mut w);
    assert_eq!(w.stdout(), "run: ./s: (pid 18446744071562067968) 1s\n");
}

#[test]
fn test_status_log_not_running() {
    let mut log = Svc::new(down_st(0, b'u'));
    log.ok = Err(Errno::ENXIO);
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-1000, 42))).svc("/home/s/log", log);
    assert_eq!(go(&["sv", "status", "./s"], &mut w).0, 1);
    assert_eq!(w.stdout(), "run: ./s: (pid 42) 1s; fail: ./s/log: runsv not running\n");
}

#[test]
fn test_status_liveness_and_read_errors() {
    let mut nr = Svc::new(run_st(0, 1));
    nr.ok = Err(Errno::ENXIO);
    let mut short = Svc::new(vec![0; 19]);
    short.ok = Ok(());
    let mut missing = Svc::new(vec![]);
    missing.statuses = VecDeque::from([Err(StatusError::Open(Errno::ENOENT))]);
    let mut eio = Svc::new(vec![]);
    eio.statuses = VecDeque::from([Err(StatusError::Read(Errno::EIO))]);
    let mut w = World::new().svc("/home/nr", nr).svc("/home/short", short).svc("/home/missing", missing).svc("/home/eio", eio);
    w.plain.insert("/home/empty".into());
    assert_eq!(go(&["sv", "status", "./nr", "./short", "./missing", "./eio", "./empty"], &mut w).0, 5);
    assert_eq!(
        w.stdout(),
        "fail: ./nr: runsv not running\n\
         warning: ./short: unable to read supervise/status: bad format\n\
         warning: ./missing: unable to open supervise/status: file does not exist\n\
         warning: ./eio: unable to read supervise/status: input/output error\n\
         warning: ./empty: unable to open supervise/ok: file does not exist\n"
    );
}

#[test]
fn test_status_stat_down_error_prints_nothing() {
    let mut s = Svc::new(run_st(0, 1));
    s.down = Err(Errno::ELOOP);
    let mut w = World::new().svc("/home/s", s);
    assert_eq!(go(&["sv", "status", "./s"], &mut w).0, 0);
    assert_eq!(w.stdout(), "\n");
    assert_eq!(w.stderr(), "warning: unable to stat ./s/down: symbolic link loop\n");
}

#[test]
fn test_status_failures_capped_at_99() {
    let names: Vec<String> = (0..120).map(|i| alloc::format!("./m{i}")).collect();
    let mut argv = vec!["sv", "status"];
    argv.extend(names.iter().map(String::as_str));
    let mut w = World::new();
    assert_eq!(go(&argv, &mut w).0, 99);
}

#[test]
fn test_status_never_waits() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(0, 1)));
    assert_eq!(go(&["sv", "-w", "3", "status", "./s"], &mut w), (0, 0));
    assert!(w.watched.is_empty());
}

// ---- control --------------------------------------------------------------------------

#[test]
fn test_control_skip_rule() {
    let mut w = World::new()
        .svc("/home/up", Svc::new(run_st(0, 1)))
        .svc("/home/dterm", Svc::new(st(0, 5, false, b'd', true, 1)))
        .svc("/home/ddown", Svc::new(down_st(0, b'd')))
        .svc("/home/x", Svc::new(run_st(0, 1)));
    assert_eq!(go(&["sv", "up", "./up"], &mut w).0, 0);
    assert!(w.get("/home/up").written.is_empty(), "up not re-sent to want-up");
    assert_eq!(go(&["sv", "down", "./dterm", "./ddown"], &mut w).0, 0);
    assert!(w.get("/home/dterm").written.is_empty(), "d skipped when want d and got TERM");
    assert_eq!(w.get("/home/ddown").written, vec![b"d".to_vec()]);
    assert_eq!(go(&["sv", "o", "./up"], &mut w).0, 0);
    assert_eq!(w.get("/home/up").written, vec![b"o".to_vec()]);
    assert_eq!(go(&["sv", "exit", "./x"], &mut w).0, 0);
    assert_eq!(w.get("/home/x").written, vec![b"x".to_vec()]);
    assert_eq!(w.stdout(), "");
}

#[test]
fn test_control_all_bytes_in_one_write() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-5000, 1)).then(vec![run_st(100, 2)]));
    assert_eq!(go(&["sv", "restart", "./s"], &mut w).0, 0);
    assert_eq!(w.get("/home/s").written, vec![b"tcu".to_vec()]);
    assert_eq!(w.stdout(), "ok: run: ./s: (pid 2) 0s\n");
}

#[test]
fn test_control_not_running_ok_for_exit_fail_otherwise() {
    let mut a = Svc::new(run_st(0, 1));
    a.ok = Err(Errno::ENXIO);
    let mut w = World::new().svc("/home/a", a);
    assert_eq!(go(&["sv", "exit", "./a"], &mut w).0, 0);
    assert_eq!(go(&["sv", "Exit", "./a"], &mut w).0, 0);
    assert_eq!(go(&["sv", "force-shutdown", "./a"], &mut w).0, 0);
    assert_eq!(go(&["sv", "term", "./a"], &mut w).0, 1);
    assert_eq!(
        w.stdout(),
        "ok: ./a: runsv not running\nok: ./a: runsv not running\nok: ./a: runsv not running\nfail: ./a: runsv not running\n"
    );
}

#[test]
fn test_control_write_errors() {
    let mut a = Svc::new(run_st(0, 1));
    a.control = Some(WriteOutcome::OpenFailed(Errno::EACCES));
    let mut b = Svc::new(run_st(0, 1));
    b.control = Some(WriteOutcome::WriteFailed(Errno::EPIPE));
    let mut c = Svc::new(run_st(0, 1));
    c.control = Some(WriteOutcome::Written(1));
    let mut d = Svc::new(run_st(0, 1));
    d.control = Some(WriteOutcome::OpenFailed(Errno::ENXIO));
    let mut w = World::new().svc("/home/a", a).svc("/home/b", b).svc("/home/c", c).svc("/home/d", d);
    assert_eq!(go(&["sv", "-v", "restart", "./a", "./b", "./c", "./d"], &mut w).0, 4);
    assert_eq!(
        w.stdout(),
        "warning: ./a: unable to open supervise/control: access denied\n\
         warning: ./b: unable to write to supervise/control: broken pipe\n\
         warning: ./c: unable to write to supervise/control\n\
         fail: ./d: runsv not running\n"
    );
}

// ---- waiting --------------------------------------------------------------------------

#[test]
fn test_wait_down_satisfied_on_change() {
    let s = Svc::new(run_st(-9000, 7)).then(vec![st(-9000, 7, false, b'd', true, 1)]);
    let mut w = World::new().svc("/home/s", s);
    let mut sess = session(&["sv", "-v", "down", "./s"], SVDIR, Rule::RaceFree);
    sess.start(now(0), &mut w);
    assert_eq!(sess.finished(), None);
    // Fast phase: polled every millisecond, not watched yet.
    assert!(w.watched.is_empty());
    assert_eq!(sess.poll_deadline(), Some(Mono(1_000_000)));
    let mut t = 0;
    let mut cap = StepCap::new("fast phase", 1_000);
    while t < 100 {
        cap.step();
        t = sess.poll_deadline().unwrap().0 / 1_000_000;
        sess.on_tick(now(t), &mut w);
    }
    assert_eq!(t, 100);
    assert_eq!(w.watched, vec![0], "watched once the fast phase is over");
    // Watched: only the 420 ms full round remains scheduled.
    assert_eq!(sess.poll_deadline(), Some(Mono(420_000_000)));
    // A change event re-reads at once.
    if let Some(svc) = w.dirs.get_mut("/home/s") {
        svc.statuses = VecDeque::from([Ok(down_st(150, b'd'))]);
    }
    sess.on_changed(now(151), Some(0), &mut w);
    assert_eq!(sess.finished(), Some(0));
    assert_eq!(w.stdout(), "ok: down: ./s: 0s, normally up\n");
}

#[test]
fn test_wait_restart_race_free_vs_runit() {
    // The service was started 100 ms before sv ran, in the same second.
    let old = run_st(-100, 41);
    let mk = || World::new().svc("/home/s", Svc::new(old.clone()).then(vec![old.clone(), old.clone(), run_st(700, 42)]));
    let mut w = mk();
    let mut s = session(&["sv", "restart", "./s"], SVDIR, Rule::Runit);
    s.start(now(0), &mut w);
    assert_eq!(s.finished(), Some(0));
    assert_eq!(w.stdout(), "ok: run: ./s: (pid 41) 0s\n", "runit is satisfied by the old process");

    let mut w = mk();
    // Round 1 sees the old record, the 1 ms poll too, the 2 ms poll the new run.
    assert_eq!(go(&["sv", "restart", "./s"], &mut w), (0, 2));
    assert_eq!(w.stdout(), "ok: run: ./s: (pid 42) 0s\n");
}

#[test]
fn test_wait_timeout_at_limit_and_exit_at_once() {
    let hard = st(-3000, 9, false, b'd', true, 1);
    let mut w = World::new().svc("/home/h", Svc::new(run_st(-3000, 9)).then(vec![hard]));
    let (code, end) = go(&["sv", "-w", "1", "down", "./h"], &mut w);
    assert_eq!(code, 1);
    assert_eq!(end, 1001, "timeout round right after the limit");
    assert_eq!(w.stdout(), "timeout: run: ./h: (pid 9) 4s, want down, got TERM\n");
}

/// The limit is `-w`'s over `SVWAIT`'s, `SVWAIT`'s over the 7 s default: the timeout round
/// comes right after the limit in force, on the fake clock (the e2e test shows the same
/// without a clock, by a service that goes down 3 s after TERM).
#[test]
fn test_wait_limit_in_force_w_over_svwait_over_default() {
    for (argv, svwait, end) in [
        (&["sv", "-w", "1", "down", "./h"][..], Some(&b"30"[..]), 1001),
        (&["sv", "-w", "30", "down", "./h"][..], Some(&b"1"[..]), 30_001),
        (&["sv", "-v", "down", "./h"][..], Some(&b"2"[..]), 2001),
        (&["sv", "-v", "down", "./h"][..], None, 7001),
    ] {
        let hard = st(-3000, 9, false, b'd', true, 1);
        let mut w = World::new().svc("/home/h", Svc::new(run_st(-3000, 9)).then(vec![hard]));
        let mut s = session(argv, Env { svdir: None, svwait: svwait.map(|v| v as &[u8]) }, Rule::RaceFree);
        assert_eq!(drive(&mut s, &mut w, Rule::RaceFree), (1, end), "{argv:?} SVWAIT={svwait:?}");
        assert!(w.stdout().starts_with("timeout: run: ./h: (pid 9) "), "{}", w.stdout());
    }
}

#[test]
fn test_wait_zero_limit_ok_if_already_satisfied() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-3000, 9)));
    assert_eq!(go(&["sv", "-w", "0", "up", "./s"], &mut w), (0, 0));
    assert_eq!(w.stdout(), "ok: run: ./s: (pid 9) 3s\n");
    let mut w = World::new().svc("/home/s", Svc::new(down_st(-3000, b'd')));
    let mut s = session(&["sv", "-v", "up", "./s"], Env { svdir: None, svwait: Some(b"abc") }, Rule::RaceFree);
    assert_eq!(drive(&mut s, &mut w, Rule::RaceFree), (1, 1));
    assert_eq!(w.stdout(), "timeout: down: ./s: 3s, normally up\n");
}

#[test]
fn test_wait_force_kill_sends_k() {
    let hard = st(-3000, 9, false, b'd', true, 1);
    let mut w = World::new().svc("/home/h", Svc::new(run_st(-3000, 9)).then(vec![hard]));
    assert_eq!(go(&["sv", "-w", "2", "force-stop", "./h"], &mut w).0, 1);
    assert_eq!(w.stdout(), "kill: run: ./h: (pid 9) 5s, want down, got TERM\n");
    assert_eq!(w.get("/home/h").written, vec![b"d".to_vec(), b"k".to_vec()]);
}

#[test]
fn test_wait_exit_until_runsv_gone() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-3000, 9)));
    let mut s = session(&["sv", "-v", "exit", "./s"], SVDIR, Rule::RaceFree);
    s.start(now(0), &mut w);
    assert_eq!(s.finished(), None);
    if let Some(svc) = w.dirs.get_mut("/home/s") {
        svc.ok = Err(Errno::ENXIO);
    }
    s.on_changed(now(3), Some(0), &mut w);
    assert_eq!(s.finished(), Some(0));
    assert_eq!(w.stdout(), "ok: ./s: runsv not running\n");
}

#[test]
fn test_wait_runsv_disappears() {
    let mut w = World::new().svc("/home/s", Svc::new(down_st(-3000, b'd')));
    let mut s = session(&["sv", "-v", "up", "./s"], SVDIR, Rule::RaceFree);
    s.start(now(0), &mut w);
    if let Some(svc) = w.dirs.get_mut("/home/s") {
        svc.ok = Err(Errno::ENXIO);
    }
    s.on_tick(now(420), &mut w);
    assert_eq!(s.finished(), Some(1));
    assert_eq!(w.stdout(), "fail: ./s: runsv not running\n");
}

#[test]
fn test_wait_check_command() {
    let mut d = Svc::new(down_st(-1000, b'd'));
    d.down = Ok(());
    let mut w = World::new().svc("/home/d", d);
    assert_eq!(go(&["sv", "-w", "2", "check", "./d"], &mut w), (0, 0));
    assert_eq!(w.stdout(), "ok: down: ./d: 1s\n");
    assert!(w.get("/home/d").written.is_empty());
    assert_eq!(w.checks, 0);
}

#[test]
fn test_wait_check_script_rerun_every_interval() {
    let mut s = Svc::new(run_st(-1000, 3));
    s.check = Ok(());
    s.check_result = CheckRun::Exited(1 << 8);
    let mut w = World::new().svc("/home/s", s);
    assert_eq!(go(&["sv", "-w", "1", "check", "./s"], &mut w), (1, 1001));
    // Rounds at 0, 420, 840 and the timeout round at 1001.
    assert_eq!(w.checks, 4);
    assert_eq!(w.stdout(), "timeout: run: ./s: (pid 3) 2s\n");
}

#[test]
fn test_wait_check_killed_by_signal_passes() {
    let mut s = Svc::new(run_st(-1000, 3));
    s.check = Ok(());
    s.check_result = CheckRun::Exited(9);
    let mut w = World::new().svc("/home/s", s);
    assert_eq!(go(&["sv", "check", "./s"], &mut w).0, 0);
}

#[test]
fn test_wait_check_stat_and_fork_errors() {
    let mut a = Svc::new(run_st(-1000, 3));
    a.check = Err(Errno::ELOOP);
    let mut b = Svc::new(run_st(-1000, 3));
    b.check = Ok(());
    b.check_result = CheckRun::ForkFailed(Errno::EAGAIN);
    let mut w = World::new().svc("/home/a", a).svc("/home/b", b);
    assert_eq!(go(&["sv", "-w", "0", "check", "./a", "./b"], &mut w).0, 2);
    assert!(w.err.contains(&"warning: unable to stat ./a/check: symbolic link loop\n".to_string()), "{:?}", w.err);
    assert!(w.err.contains(&"warning: unable to fork for ./b/check: temporary failure\n".to_string()), "{:?}", w.err);
}

#[test]
fn test_wait_changed_event_with_same_bytes_runs_no_check() {
    let mut s = Svc::new(run_st(-1000, 3));
    s.check = Ok(());
    s.check_result = CheckRun::Exited(1 << 8);
    let mut w = World::new().svc("/home/s", s);
    let mut sess = session(&["sv", "check", "./s"], SVDIR, Rule::RaceFree);
    sess.start(now(0), &mut w);
    assert_eq!(w.checks, 1);
    sess.on_changed(now(10), Some(0), &mut w);
    sess.on_changed(now(20), None, &mut w);
    assert_eq!(w.checks, 1, "unchanged status: no re-evaluation");
    sess.on_tick(now(420), &mut w);
    assert_eq!(w.checks, 2);
}

#[test]
fn test_wait_polls_when_unwatched() {
    let mut w = World::new().svc("/home/s", Svc::new(down_st(-5000, b'd')));
    w.watch_ok = false;
    let mut s = session(&["sv", "-v", "up", "./s"], SVDIR, Rule::RaceFree);
    s.start(now(0), &mut w);
    let mut t = 0;
    let mut cap = StepCap::new("fast phase", 1_000);
    while t < 100 {
        cap.step();
        assert_eq!(s.poll_deadline(), Some(Mono((t + 1) * 1_000_000)), "1 ms polls in the fast phase");
        t += 1;
        s.on_tick(now(t), &mut w);
    }
    assert_eq!(w.watched, vec![0], "tried once");
    assert_eq!(s.poll_deadline(), Some(Mono(110_000_000)), "10 ms polls without inotify");
    if let Some(svc) = w.dirs.get_mut("/home/s") {
        svc.statuses = VecDeque::from([Ok(run_st(105, 8))]);
    }
    s.on_tick(now(110), &mut w);
    assert_eq!(s.finished(), Some(0));
    assert_eq!(w.stdout(), "ok: run: ./s: (pid 8) 0s\n");
    assert_eq!(w.checks, 0);
}

#[test]
fn test_wait_fast_poll_period_scales_with_services() {
    let names = ["./a", "./b", "./c", "./d"];
    let mut w = World::new();
    for n in names {
        w.dirs.insert(alloc::format!("/home/{}", &n[2..]), Svc::new(down_st(-5000, b'd')));
    }
    let mut argv = vec!["sv", "-v", "up"];
    argv.extend(names);
    let mut s = session(&argv, SVDIR, Rule::RaceFree);
    s.start(now(0), &mut w);
    assert_eq!(s.poll_deadline(), Some(Mono(4_000_000)));
    let names: Vec<String> = (0..20).map(|i| alloc::format!("./m{i}")).collect();
    let mut w = World::new();
    for i in 0..20 {
        w.dirs.insert(alloc::format!("/home/m{i}"), Svc::new(down_st(-5000, b'd')));
    }
    let mut argv = vec!["sv", "-v", "up"];
    argv.extend(names.iter().map(String::as_str));
    let mut s = session(&argv, SVDIR, Rule::RaceFree);
    s.start(now(0), &mut w);
    assert_eq!(s.poll_deadline(), Some(Mono(10_000_000)), "capped at the fallback period");
}

#[test]
fn test_wait_watch_lost_falls_back_to_polling_and_rearms() {
    let mut w = World::new().svc("/home/s", Svc::new(down_st(-5000, b'd')));
    let mut s = session(&["sv", "-v", "up", "./s"], SVDIR, Rule::RaceFree);
    s.start(now(0), &mut w);
    let mut cap = StepCap::new("fast phase", 1_000);
    while w.watched.is_empty() {
        cap.step();
        let t = s.poll_deadline().unwrap().0 / 1_000_000;
        s.on_tick(now(t), &mut w);
    }
    assert_eq!(s.poll_deadline(), Some(Mono(420_000_000)));
    s.on_watch_lost(now(200), 0);
    assert_eq!(s.poll_deadline(), Some(Mono(210_000_000)));
    s.on_tick(now(210), &mut w);
    assert_eq!(w.watched, vec![0, 0], "re-armed");
    assert_eq!(s.poll_deadline(), Some(Mono(420_000_000)));
    s.on_watch_lost(now(300), 7); // unknown index: ignored
    assert_eq!(s.poll_deadline(), Some(Mono(420_000_000)));
}

#[test]
fn test_wait_once_race_free() {
    // Down service whose stamp is from this second: runit's `o` check passes at once.
    let down = down_st(-100, b'd');
    let mk = || World::new().svc("/home/s", Svc::new(down.clone()).then(vec![down.clone(), st(500, 5, false, b'd', false, 1)]));
    let mut w = mk();
    let mut s = session(&["sv", "-v", "once", "./s"], SVDIR, Rule::Runit);
    s.start(now(0), &mut w);
    assert_eq!(s.finished(), Some(0));
    let mut w = mk();
    let r = go(&["sv", "-v", "once", "./s"], &mut w);
    assert_eq!(r, (0, 1), "seen by the first fast poll: {}", w.stdout());
    assert_eq!(w.stdout(), "ok: run: ./s: (pid 5) 0s, want down\n");
}

#[test]
fn test_wait_pass_trailing_slash_quirk() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-1000, 3)));
    assert_eq!(go(&["sv", "-v", "term", "s/"], &mut w).0, 1);
    assert_eq!(w.get("/home/s").written, vec![b"t".to_vec()]);
    assert_eq!(w.stdout(), "fail: s/: unable to change to service directory: file does not exist\n");
}

#[test]
fn test_wait_reload_satisfied_at_once() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(-1000, 3)));
    assert_eq!(go(&["sv", "reload", "./s"], &mut w), (0, 0));
    assert_eq!(w.get("/home/s").written, vec![b"h".to_vec()]);
    assert_eq!(w.stdout(), "ok: run: ./s: (pid 3) 1s\n");
}

// ---- fatal and LSB ----------------------------------------------------------------------

#[test]
fn test_fatal_paths() {
    let mut w = World::new().svc("/home/s", Svc::new(run_st(0, 1)));
    w.home_fails = Some(Errno::EACCES);
    assert_eq!(go(&["sv", "status", "./s"], &mut w).0, 100);
    assert_eq!(w.stderr(), "fatal: unable to open current directory: access denied\n");
    let mut w = World::new().svc("/home/s", Svc::new(run_st(0, 1)));
    w.go_home_fails = Some(Errno::ENOENT);
    assert_eq!(go(&["sv", "status", "./s", "./s"], &mut w).0, 100);
    assert_eq!(w.out.len(), 1, "stops at the first failed return");
    assert_eq!(w.stderr(), "fatal: unable to change to original directory: file does not exist\n");
    let mut w = World::new().svc("/svdir/s", Svc::new(run_st(0, 1)));
    w.go_home_fails = Some(Errno::ENOENT);
    assert_eq!(go(&["/etc/init.d/s", "up"], &mut w).0, 151);
}

fn lsb(name: &str, cmd: &str, w: &mut World) -> i32 {
    let mut s = session(&[name, cmd], SVDIR, Rule::RaceFree);
    drive(&mut s, w, Rule::RaceFree).0
}

#[test]
fn test_lsb_status_codes() {
    let mut bad = Svc::new(run_st(0, 1));
    bad.ok = Err(Errno::ENOENT);
    let mut nr = Svc::new(run_st(0, 1));
    nr.ok = Err(Errno::ENXIO);
    let mut w = World::new()
        .svc("/svdir/run", Svc::new(run_st(0, 1)))
        .svc("/svdir/down", Svc::new(down_st(0, b'd')))
        .svc("/svdir/bad", bad)
        .svc("/svdir/nr", nr)
        .svc("/svdir/m", Svc::new(down_st(0, b'd')))
        .svc("/svdir/m/log", Svc::new(run_st(0, 5)))
        .svc("/svdir/n", Svc::new(down_st(0, b'd')))
        .svc("/svdir/n/log", Svc::new(down_st(0, b'd')));
    assert_eq!(lsb("/etc/init.d/run", "status", &mut w), 0);
    assert_eq!(lsb("/etc/init.d/down", "status", &mut w), 3);
    assert_eq!(lsb("/etc/init.d/bad", "status", &mut w), 4);
    assert_eq!(lsb("/etc/init.d/nr", "status", &mut w), 1);
    assert_eq!(lsb("/etc/init.d/nosuch", "status", &mut w), 1);
    // Quirk: the code follows the log service.
    assert_eq!(lsb("/etc/init.d/m", "status", &mut w), 0);
    assert_eq!(lsb("/etc/init.d/n", "status", &mut w), 3);
    assert_eq!(
        w.stdout(),
        "run: run: (pid 1) 0s\n\
         down: down: 0s, normally up\n\
         warning: bad: unable to open supervise/ok: file does not exist\n\
         fail: nr: runsv not running\n\
         fail: nosuch: unable to change to service directory: file does not exist\n\
         down: m: 0s, normally up; run: log: (pid 5) 0s\n\
         down: n: 0s, normally up; down: log: 0s, normally up\n"
    );
}

#[test]
fn test_lsb_other_commands() {
    let mut w = World::new().svc("/svdir/s", Svc::new(run_st(-2000, 1)).then(vec![down_st(100, b'd')]));
    assert_eq!(lsb("s", "stop", &mut w), 0);
    assert_eq!(w.stdout(), "ok: down: s: 0s, normally up\n");
    assert_eq!(lsb("s", "up", &mut w), 0);
}

/// The inotify wake filter the runtime applies to every event in a watched `supervise/`:
/// only runsv's new `status` (renamed in or written and closed) and the close of `ok`
/// by an exiting runsv wake a wait; sv's own probes (opening `ok` for writing, reading
/// `status`) and every other file or event kind must not, or sv would spin.
#[test]
fn event_wakes_only_for_status_changes_and_ok_closing() {
    use crate::sv::session::{event_wakes, DirEvent};
    let names: [&[u8]; 7] = [b"status", b"ok", b"lock", b"control", b"pid", b"stat", b"status.new"];
    let events = [DirEvent::MovedTo, DirEvent::ClosedWrite, DirEvent::ClosedNoWrite, DirEvent::Other];
    let mut woken = Vec::new();
    for name in names {
        for event in events {
            if event_wakes(name, event) {
                woken.push((String::from_utf8_lossy(name).into_owned(), event));
            }
        }
    }
    let want = vec![
        ("status".to_string(), DirEvent::MovedTo),
        ("status".to_string(), DirEvent::ClosedWrite),
        ("ok".to_string(), DirEvent::ClosedNoWrite),
    ];
    assert_eq!(woken, want);
}

// ---- readiness (docs/readiness.md §4) -------------------------------------------------

/// The extended record a runsv with readiness writes for the 20 bytes `status`.
fn ext(status: &[u8], readiness: crate::readiness::Protocol, ready: bool) -> Vec<u8> {
    let st = crate::status::StatusRecord::decode(status).unwrap();
    let main = crate::record::SlotRecord {
        state: st.state().unwrap(),
        pid: st.pid,
        since: st.stamp,
        wanted: if st.want == b'u' { crate::status::Want::Up } else { crate::status::Want::Down },
        normally_up: true,
        paused: st.paused,
        got_term: st.got_term,
        readiness,
        ready,
        ready_since: if ready { Some(st.stamp) } else { None },
        last_exit: None,
        restarts: 0,
        quick_deaths: 0,
        status_text: Vec::new(),
        backoff: None,
    };
    crate::record::encode(&crate::record::Record { main, log: None })
}

#[test]
fn test_wait_up_waits_for_readiness_event() {
    use crate::readiness::Protocol;
    let running = run_st(-100, 42);
    let mut svc = Svc::new(running.clone());
    svc.record = Some(ext(&running, Protocol::NotificationFd, false));
    let mut w = World::new().svc("/home/s", svc);
    let mut sess = session(&["sv", "-w", "5", "up", "./s"], SVDIR, Rule::RaceFree);
    sess.start(now(0), &mut w);
    assert_eq!(sess.finished(), None, "running but not ready: still waiting");
    assert_eq!(w.checks, 0, "./check is not run before readiness");
    // Same 20 bytes; only the record changes (runsv rewrites status.ext on readiness).
    w.dirs.get_mut("/home/s").unwrap().record = Some(ext(&running, Protocol::NotificationFd, true));
    sess.on_changed(now(3), Some(0), &mut w);
    assert_eq!(sess.finished(), Some(0));
    assert_eq!(w.stdout(), "ok: run: ./s: (pid 42) 0s\n");
}

#[test]
fn test_wait_up_not_ready_times_out_and_check_waits_too() {
    use crate::readiness::Protocol;
    let running = run_st(-100, 42);
    let mut svc = Svc::new(running.clone());
    svc.record = Some(ext(&running, Protocol::SdNotify, false));
    let mut w = World::new().svc("/home/s", svc.clone());
    assert_eq!(go(&["sv", "-w", "1", "up", "./s"], &mut w).0, 1);
    assert_eq!(w.stdout(), "timeout: run: ./s: (pid 42) 1s\n");
    let mut w = World::new().svc("/home/s", svc);
    assert_eq!(go(&["sv", "-w", "1", "check", "./s"], &mut w).0, 1);
}

#[test]
fn test_wait_up_record_without_protocol_or_disagreeing_changes_nothing() {
    use crate::readiness::Protocol;
    let running = run_st(-100, 42);
    // No protocol declared: ready at start, as without a record.
    let mut svc = Svc::new(running.clone());
    svc.record = Some(ext(&running, Protocol::None, true));
    let mut w = World::new().svc("/home/s", svc);
    assert_eq!(go(&["sv", "-w", "5", "up", "./s"], &mut w), (0, 0));
    // A record left over from another pid (e.g. runsv replaced by runit's): re-read, then
    // ignored.
    let mut svc = Svc::new(running.clone());
    svc.record = Some(ext(&run_st(-100, 41), Protocol::SdNotify, false));
    let mut w = World::new().svc("/home/s", svc);
    assert_eq!(go(&["sv", "-w", "5", "up", "./s"], &mut w), (0, 0));
    assert_eq!(w.stdout(), "ok: run: ./s: (pid 42) 0s\n");
    // Garbage: ignored.
    let mut svc = Svc::new(running);
    svc.record = Some(b"version=9\n".to_vec());
    let mut w = World::new().svc("/home/s", svc);
    assert_eq!(go(&["sv", "-w", "5", "up", "./s"], &mut w), (0, 0));
}

/// runsv renames `status.ext` in just before `status`: a reader in between sees the new
/// record with the old 20 bytes, re-reads, and after the tries gives up on the record. The
/// status it then judges must be one it compared with a record, never a re-read that came
/// after the last comparison (that one could be the new "run" with no "ready" checked).
#[test]
fn test_wait_up_never_judges_a_status_reread_after_the_last_record_comparison() {
    use crate::readiness::Protocol;
    let old = down_st(-100, b'd');
    let running = run_st(-1, 42);
    for stale_reads in 1..=6 {
        let mut then = vec![old.clone(); stale_reads];
        then.push(running.clone());
        let mut svc = Svc::new(old.clone()).then(then);
        svc.record = Some(ext(&running, Protocol::SdNotify, false));
        let mut w = World::new().svc("/home/s", svc);
        let mut sess = session(&["sv", "-w", "5", "up", "./s"], SVDIR, Rule::RaceFree);
        sess.start(now(0), &mut w);
        assert_eq!(sess.finished(), None, "{stale_reads} stale reads: running but not ready, still waiting: {}", w.stdout());
    }
}

#[test]
fn test_wait_down_ignores_readiness() {
    use crate::readiness::Protocol;
    let down = down_st(-100, b'd');
    let mut svc = Svc::new(down.clone());
    svc.record = Some(ext(&down, Protocol::SdNotify, false));
    let mut w = World::new().svc("/home/s", svc);
    assert_eq!(go(&["sv", "-w", "5", "down", "./s"], &mut w), (0, 0));
}

#[test]
fn test_status_record_changes_wake_the_wait() {
    use crate::sv::session::{event_wakes, DirEvent};
    assert!(event_wakes(b"status.ext", DirEvent::MovedTo));
    assert!(!event_wakes(b"status.ext.new", DirEvent::ClosedWrite));
    assert!(event_wakes(b"status", DirEvent::MovedTo) && event_wakes(b"status", DirEvent::ClosedWrite));
    assert!(event_wakes(b"status.ext", DirEvent::ClosedWrite));
    assert!(!event_wakes(b"stat", DirEvent::MovedTo) && !event_wakes(b"pid", DirEvent::MovedTo));
    assert!(!event_wakes(b"status", DirEvent::ClosedNoWrite) && !event_wakes(b"status", DirEvent::Other));
    assert!(event_wakes(b"ok", DirEvent::ClosedNoWrite) && !event_wakes(b"ok", DirEvent::ClosedWrite));
}

// ---- backoff: the give-up state (issue 11) --------------------------------------------

/// The record of a runsv with backoff files for the 20 bytes `status`.
fn ext_backoff(status: &[u8], given_up: bool) -> Vec<u8> {
    let mut rec = crate::record::decode(&ext(status, crate::readiness::Protocol::None, false)).unwrap();
    rec.main.backoff = Some(crate::record::BackoffRecord { given_up, restart_delay_ms: 0 });
    crate::record::encode(&rec)
}

#[test]
fn test_status_given_up_only_when_the_record_says_so() {
    let down = down_st(-12_000, b'd');
    let mut svc = Svc::new(down.clone());
    svc.record = Some(ext_backoff(&down, true));
    let mut w = World::new().svc("/home/s", svc).svc("/home/s/log", Svc::new(run_st(-3000, 7)));
    assert_eq!(go(&["sv", "status", "./s"], &mut w), (0, 0));
    assert_eq!(w.stdout(), "down: ./s: 12s, normally up, given up; run: log: (pid 7) 3s\n");
    for record in [Some(ext_backoff(&down, false)), Some(ext_backoff(&down_st(-11_000, b'd'), true)), Some(b"junk\n".to_vec()), None] {
        let mut svc = Svc::new(down.clone());
        svc.record = record.clone();
        let mut w = World::new().svc("/home/s", svc);
        go(&["sv", "status", "./s"], &mut w);
        assert_eq!(w.stdout(), "down: ./s: 12s, normally up\n", "runit's line for {record:?}");
    }
}

/// A poll tick re-reads only the services that cannot be watched: a watched service's
/// change is taken from its watch (`on_changed`) or the next full round, not from the
/// polls meant for the others (kills `&& -> ||` in `on_tick`'s poll filter).
#[test]
fn test_wait_poll_tick_reads_only_unwatched() {
    let mut w = World::new().svc("/home/a", Svc::new(down_st(-5000, b'd'))).svc("/home/b", Svc::new(down_st(-5000, b'd')));
    w.unwatchable = vec![1];
    let mut s = session(&["sv", "-v", "up", "./a", "./b"], SVDIR, Rule::RaceFree);
    s.start(now(0), &mut w);
    let mut cap = StepCap::new("fast phase", 1_000);
    let mut t = 0;
    while w.watched.len() < 2 {
        cap.step();
        t = s.poll_deadline().expect("pending").0 / 1_000_000;
        s.on_tick(now(t), &mut w);
    }
    assert_eq!(w.watched, vec![0, 1]);
    assert_eq!(s.finished(), None);
    for (name, pid) in [("/home/a", 8), ("/home/b", 9)] {
        if let Some(svc) = w.dirs.get_mut(name) {
            svc.statuses = VecDeque::from([Ok(run_st(t as i64 + 1, pid))]);
        }
    }
    let poll = s.poll_deadline().expect("b is polled").0 / 1_000_000;
    assert_eq!(poll, t + 10, "the fallback poll for ./b, before the full round");
    s.on_tick(now(poll), &mut w);
    assert_eq!(w.stdout(), "ok: run: ./b: (pid 9) 0s\n", "only ./b was re-read");
    assert_eq!(s.finished(), None, "./a's change is not seen by ./b's poll");
    s.on_changed(now(poll + 1), Some(0), &mut w);
    assert_eq!(s.finished(), Some(0));
    assert_eq!(w.stdout(), "ok: run: ./b: (pid 9) 0s\nok: run: ./a: (pid 8) 0s\n");
}
