//! End-to-end tests of `runsv`: the real binary supervising real processes in scratch
//! directories. Commands are written straight into `supervise/control` and results read
//! from `supervise/` (so these tests depend on no `sv`); interop with runit's own `sv`
//! and daemontools lives in `interop.rs`.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::time::Duration;

use e2e::{alive, bin, eventually, Scratch};

const LIMIT: Duration = Duration::from_secs(5);

/// A runsv under test on `<scratch>/<name>`, stopped and cleaned up on drop.
struct Svc {
    sc: Scratch,
    name: String,
    runsv: u32,
}

/// A run script that records every signal it gets into `sig` and its start into `starts`.
const TRAPPING_RUN: &str = r#"echo "$(date +%s.%N)" >> starts
for s in HUP INT QUIT USR1 USR2 ALRM CONT; do trap "echo $s >> sig" $s; done
trap 'echo TERM >> sig; exit 0' TERM
echo started >> sig
while :; do sleep 0.05; done"#;

impl Svc {
    fn new(test: &str, run: &str) -> Svc {
        let sc = Scratch::new(test);
        sc.script("s/run", run);
        Svc { sc, name: "s".into(), runsv: 0 }
    }
    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.sc.join(&format!("{}/{}", self.name, rel))
    }
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }
    fn start(&mut self) {
        let name = self.name.clone();
        self.runsv = self.sc.start("runsv", &[&name], "runsv");
        let ok = self.path("supervise/ok");
        eventually!(LIMIT, ok_open(&ok), "runsv did not come up");
    }
    fn start_running(&mut self) -> u32 {
        self.start();
        eventually!(LIMIT, self.stat() == "run\n" && self.read("sig").contains("started"), "service did not start: stat={:?}", self.stat());
        self.pid()
    }
    fn stat(&self) -> String {
        self.read("supervise/stat")
    }
    fn pid(&self) -> u32 {
        self.read("supervise/pid").trim().parse().unwrap_or(0)
    }
    fn status(&self) -> Vec<u8> {
        std::fs::read(self.path("supervise/status")).unwrap_or_default()
    }
    fn send(&self, bytes: &str) {
        send_to(&self.path("supervise/control"), bytes);
    }
    fn signals(&self) -> Vec<String> {
        self.read("sig").lines().map(str::to_string).filter(|l| l != "started").collect()
    }
    fn stderr(&self) -> String {
        self.sc.read("runsv.err")
    }
}

impl Drop for Svc {
    fn drop(&mut self) {
        for rel in ["supervise/pid", "log/supervise/pid"] {
            if let Ok(p) = std::fs::read_to_string(self.path(rel)) {
                if let Ok(pid) = p.trim().parse::<i32>() {
                    self.sc.adopt(pid);
                }
            }
        }
    }
}

fn ok_open(path: &std::path::Path) -> bool {
    std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(path).is_ok()
}

use std::os::unix::fs::OpenOptionsExt;

fn send_to(control: &std::path::Path, bytes: &str) {
    use std::io::Write;
    let mut f =
        std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(control).expect("open control (is runsv running?)");
    f.write_all(bytes.as_bytes()).expect("write control");
}

#[test]
fn usage_and_bad_directories() {
    let sc = Scratch::new("runsv-usage");
    let (code, out, err) = e2e::run("runsv", &[], &sc.path, &[]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, format!("usage: {} dir\n\n", bin("runsv").display()));
    let (code, _, err) = e2e::run("runsv", &["a", "b"], &sc.path, &[]);
    assert_eq!(code, 1);
    assert!(err.starts_with("usage: "));
    let (code, _, err) = e2e::run("runsv", &["/nonexistent-runit-rs"], &sc.path, &[]);
    assert_eq!(code, 111);
    assert_eq!(err, "runsv /nonexistent-runit-rs: fatal: unable to change to directory: file does not exist\n");
    sc.write("afile", "", 0o644);
    let (code, _, err) = e2e::run("runsv", &["afile"], &sc.path, &[]);
    assert_eq!((code, err.as_str()), (111, "runsv afile: fatal: unable to change to directory: not a directory\n"));
    // supervise is a regular file
    sc.script("f/run", "exec sleep 100");
    sc.write("f/supervise", "", 0o644);
    let (code, _, err) = e2e::run("runsv", &["f"], &sc.path, &[]);
    assert_eq!((code, err.as_str()), (111, "runsv f: fatal: unable to open supervise/lock: not a directory\n"));
    // control is a regular file
    sc.script("g/run", "exec sleep 100");
    sc.write("g/supervise/control", "", 0o644);
    let (code, _, err) = e2e::run("runsv", &["g"], &sc.path, &[]);
    assert_eq!((code, err.as_str()), (111, "runsv g: fatal: supervise/control exists but is not a fifo\n"));
    // a supervise symlink whose target is too long
    sc.script("h/run", "exec sleep 100");
    std::os::unix::fs::symlink("x".repeat(300), sc.join("h/supervise")).unwrap();
    let (code, _, err) = e2e::run("runsv", &["h"], &sc.path, &[]);
    assert_eq!((code, err.as_str()), (111, "runsv h: fatal: unable to readlink ./supervise: name too long\n"));
}

#[test]
fn supervise_directory_layout_and_modes() {
    let mut s = Svc::new("runsv-layout", TRAPPING_RUN);
    let pid = s.start_running();
    let meta = |rel: &str| std::fs::symlink_metadata(s.path(rel)).unwrap();
    assert_eq!(meta("supervise").permissions().mode() & 0o7777, 0o700);
    assert!(meta("supervise/control").file_type().is_fifo());
    assert!(meta("supervise/ok").file_type().is_fifo());
    assert_eq!(meta("supervise/control").permissions().mode() & 0o777, 0o600);
    assert_eq!(meta("supervise/ok").permissions().mode() & 0o777, 0o600);
    assert_eq!(meta("supervise/lock").permissions().mode() & 0o777, 0o600);
    for f in ["pid", "stat", "status"] {
        assert_eq!(meta(&format!("supervise/{f}")).permissions().mode() & 0o777, 0o644, "{f}");
    }
    assert_eq!(s.read("supervise/pid"), format!("{pid}\n"));
    let st = s.status();
    assert_eq!(st.len(), 20);
    assert_eq!(u32::from_le_bytes([st[12], st[13], st[14], st[15]]), pid);
    assert_eq!(&st[16..20], &[0, b'u', 0, 1]);
    // The stamp is the TAI64N of a moment within the last minute, nanoseconds ending in 500.
    let secs = u64::from_be_bytes(st[..8].try_into().unwrap()) - (1u64 << 62) - 10;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(now - secs < 60, "stamp {secs} vs now {now}");
    assert_eq!(u32::from_be_bytes(st[8..12].try_into().unwrap()) % 1000, 500);
    // Nothing but supervise/ was created in the service directory.
    let mut names: Vec<_> = std::fs::read_dir(s.path("")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["run", "sig", "starts", "supervise"]);
}

#[test]
fn second_runsv_refuses_to_start() {
    let mut s = Svc::new("runsv-lock", "exec sleep 100");
    s.start();
    let (code, _, err) = e2e::run("runsv", &["s"], &s.sc.path, &[]);
    assert_eq!(code, 111);
    assert_eq!(err, "runsv s: fatal: unable to lock supervise/lock: temporary failure\n");
}

#[test]
fn ok_fifo_reports_liveness() {
    let mut s = Svc::new("runsv-ok", "exec sleep 100");
    s.start();
    assert!(ok_open(&s.path("supervise/ok")));
    s.send("x");
    assert!(s.sc.wait_exit(s.runsv, LIMIT).is_some_and(|st| st.code() == Some(0)), "runsv did not exit 0 on x");
    // No reader any more: a non-blocking open for writing fails with ENXIO.
    let err = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(s.path("supervise/ok")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENXIO));
    assert_eq!(s.stat(), "down\n");
    assert_eq!(&s.status()[16..20], &[0, b'd', 0, 0], "runsv exited before its final status write");
}

#[test]
fn signal_commands_reach_the_service() {
    let mut s = Svc::new("runsv-signals", TRAPPING_RUN);
    let pid = s.start_running();
    let expect = [("h", "HUP"), ("i", "INT"), ("q", "QUIT"), ("1", "USR1"), ("2", "USR2"), ("a", "ALRM"), ("c", "CONT")];
    for (n, (byte, name)) in expect.iter().enumerate() {
        s.send(byte);
        eventually!(LIMIT, s.signals().len() == n + 1, "no {name} recorded: {:?}", s.signals());
        assert_eq!(s.signals()[n], *name);
    }
    assert_eq!(s.pid(), pid, "signals must not restart the service");
    // Signal commands do not rewrite status; c does (paused cleared) but state is unchanged.
    assert_eq!(s.stat(), "run\n");
}

#[test]
fn pause_and_continue_stop_the_process() {
    let mut s = Svc::new("runsv-pause", "exec sleep 100");
    s.start();
    eventually!(LIMIT, s.stat() == "run\n", "not running");
    let pid = s.pid();
    let state =
        || std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().rsplit(')').next().unwrap_or("").trim().chars().next();
    s.send("p");
    eventually!(LIMIT, state() == Some('T'), "not stopped");
    eventually!(LIMIT, s.stat() == "run, paused\n" && s.status().get(16) == Some(&1), "stat {:?}", s.stat());
    assert_eq!(s.status()[16], 1);
    s.send("c");
    eventually!(LIMIT, state() == Some('S'), "not continued");
    eventually!(LIMIT, s.stat() == "run\n", "stat {:?}", s.stat());
}

#[test]
fn down_sends_term_then_cont_and_up_restarts() {
    let mut s = Svc::new("runsv-down", TRAPPING_RUN);
    let pid = s.start_running();
    s.send("d");
    eventually!(LIMIT, s.stat() == "down\n" && s.status().get(19) == Some(&0), "not down: {:?}", s.stat());
    assert!(!alive(pid as i32));
    assert_eq!(s.signals(), ["TERM"]);
    assert_eq!(s.read("supervise/pid"), "");
    assert_eq!(&s.status()[12..20], &[0, 0, 0, 0, 0, b'd', 0, 0]);
    s.send("u");
    eventually!(LIMIT, s.stat() == "run\n" && s.pid() != 0 && s.pid() != pid, "not restarted");
}

#[test]
fn term_flag_shown_while_service_ignores_term() {
    let mut s = Svc::new("runsv-ignore-term", "trap '' TERM; echo started >> sig; while :; do sleep 0.05; done");
    s.start_running();
    s.send("d");
    eventually!(LIMIT, s.stat() == "run, got TERM, want down\n" && s.status().get(18) == Some(&1), "stat {:?}", s.stat());
    assert_eq!(&s.status()[16..20], &[0, b'd', 1, 1]);
    s.send("k");
    eventually!(LIMIT, s.stat() == "down\n", "kill did not bring it down: {:?}", s.stat());
}

#[test]
fn once_runs_without_restart() {
    let mut s = Svc::new("runsv-once", "echo ran >> ran; exit 0");
    s.sc.write("s/down", "", 0o644);
    s.start();
    eventually!(LIMIT, s.stat() == "down\n", "not down initially");
    assert_eq!(s.read("ran"), "");
    s.send("o");
    eventually!(LIMIT, s.read("ran") == "ran\n", "did not run once");
    eventually!(LIMIT, s.stat() == "down\n", "not down after once");
    // Well past the throttle: still ran exactly once.
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(s.read("ran"), "ran\n");
}

#[test]
fn finish_gets_runit_arguments() {
    let mut s = Svc::new(
        "runsv-finish",
        "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; if [ $n = 0 ]; then exit 3; else exec sleep 100; fi",
    );
    s.sc.script("s/finish", "echo \"$@\" >> finish_args");
    s.start();
    eventually!(LIMIT, s.read("finish_args") == "3 0\n", "finish args: {:?}", s.read("finish_args"));
    eventually!(LIMIT, s.stat() == "run\n", "not restarted after finish");
    let pid = s.pid();
    s.send("k");
    eventually!(LIMIT, s.read("finish_args") == "3 0\n-1 9\n", "finish args: {:?}", s.read("finish_args"));
    eventually!(LIMIT, s.stat() == "run\n" && s.pid() != pid, "not restarted after kill");
}

#[test]
fn missing_run_reported_every_second() {
    let sc = Scratch::new("runsv-norun");
    std::fs::create_dir_all(sc.join("s")).unwrap();
    let mut s = Svc { sc, name: "s".into(), runsv: 0 };
    s.start();
    let line = "runsv s: fatal: unable to start ./run: file does not exist\n";
    eventually!(LIMIT, s.stderr().matches(line).count() >= 2, "stderr: {:?}", s.stderr());
    assert!(ok_open(&s.path("supervise/ok")), "runsv must keep running");
}

#[test]
fn restart_throttle_spaces_starts_by_one_second_and_serves_commands() {
    let mut s = Svc::new("runsv-throttle", "echo \"$(date +%s.%N)\" >> starts; exit 0");
    s.start();
    eventually!(LIMIT, s.read("starts").lines().count() >= 3, "not restarting");
    let starts: Vec<f64> = s.read("starts").lines().map(|l| l.parse().unwrap()).collect();
    // The throttle's promise is a lower bound (that the restart then comes promptly is
    // a latency figure: tests/bench/runsv_throttle.sh, docs/performance.md).
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= 0.99, "starts {w:?} closer than 1 s");
    }
    // During a throttle pause, a command is served at once (runit sleeps through the pause,
    // starts `./run` once more, and only then reads the command): `d` sent in the pause
    // means no further start.
    eventually!(LIMIT, s.stat() == "down\n", "never down");
    let before = s.read("starts").lines().count();
    s.send("d");
    eventually!(LIMIT, s.status().get(17) == Some(&b'd'), "want down never published: {:?}", s.status());
    assert_eq!(s.read("starts").lines().count(), before, "`./run` started again before the command was served (runit's order)");
}

#[test]
fn down_file_keeps_service_down_until_up() {
    let mut s = Svc::new("runsv-downfile", TRAPPING_RUN);
    s.sc.write("s/down", "", 0o644);
    s.start();
    // `stat` is renamed into place just before `status` (runit's order): wait for both.
    eventually!(LIMIT, s.stat() == "down\n" && s.status().len() == 20, "stat {:?}", s.stat());
    assert_eq!(s.status()[17], b'd');
    assert_eq!(s.read("sig"), "");
    s.send("u");
    eventually!(LIMIT, s.stat() == "run\n" && s.read("sig").contains("started"), "not started by u");
}

#[test]
fn control_overrides_replace_signals() {
    let mut s = Svc::new("runsv-control", TRAPPING_RUN);
    s.sc.script("s/control/h", "echo h >> overrides; exit 0");
    s.sc.script("s/control/q", "echo q >> overrides; exit 1");
    s.sc.script("s/control/t", "echo t >> overrides; exit 0");
    s.sc.script("s/control/d", "echo d >> overrides");
    s.sc.script("s/control/u", "echo u >> overrides");
    s.sc.write("s/control/i", "#!/bin/sh\necho i >> overrides\n", 0o644); // not executable: ignored
    s.start_running();
    eventually!(LIMIT, s.read("overrides") == "u\n", "control/u not run before ./run: {:?}", s.read("overrides"));
    s.send("h");
    eventually!(LIMIT, s.read("overrides") == "u\nh\n", "control/h not run");
    s.send("q");
    eventually!(LIMIT, s.signals() == ["QUIT"], "control/q exit 1 must still send QUIT: {:?}", s.signals());
    s.send("i");
    eventually!(LIMIT, s.signals() == ["QUIT", "INT"], "non-executable control/i must be ignored: {:?}", s.signals());
    // control/t exiting 0 replaces TERM: `d` sends only CONT, then runs control/d.
    s.send("d");
    eventually!(LIMIT, s.read("overrides") == "u\nh\nq\nt\nd\n", "overrides: {:?}", s.read("overrides"));
    eventually!(LIMIT, s.signals() == ["QUIT", "INT", "CONT"], "signals: {:?}", s.signals());
    assert_eq!(s.stat(), "run, want down\n");
}

#[test]
fn log_service_gets_the_output_and_flushes_on_exit() {
    let mut s = Svc::new("runsv-log", "i=0; while [ $i -lt 5 ]; do echo line$i; i=$((i+1)); done; exec sleep 100");
    s.sc.script("s/log/run", "echo logstart >> ../logstarts; exec cat >> ../logged");
    s.start();
    eventually!(LIMIT, s.sc.read("s/logged").lines().count() == 5, "log got {:?}", s.sc.read("s/logged"));
    eventually!(LIMIT, s.read("log/supervise/stat") == "run\n", "log stat {:?}", s.read("log/supervise/stat"));
    // Restarting the logger loses nothing written meanwhile: the pipe is held by runsv.
    let log_pid: i32 = s.read("log/supervise/pid").trim().parse().unwrap();
    send_to(&s.path("log/supervise/control"), "d");
    eventually!(LIMIT, !alive(log_pid) && s.read("log/supervise/stat") == "down\n", "log not down");
    let main_pid = s.pid();
    send_to(&s.path("supervise/control"), "k");
    eventually!(LIMIT, s.read("supervise/stat") == "run\n" && s.pid() != main_pid, "main not restarted");
    send_to(&s.path("log/supervise/control"), "u");
    eventually!(
        LIMIT,
        s.sc.read("s/logged").lines().count() == 10,
        "lines written while the log was down were lost: {:?}",
        s.sc.read("s/logged")
    );
    // Orderly exit: main stops, then the log sees EOF and runsv exits 0.
    s.send("x");
    let st = s.sc.wait_exit(s.runsv, LIMIT).expect("runsv did not exit");
    assert_eq!(st.code(), Some(0));
    assert_eq!(s.read("log/supervise/stat"), "down\n");
    assert_eq!(s.sc.read("s/logstarts"), "logstart\nlogstart\n", "stderr: {}", s.stderr());
}

#[test]
fn sigterm_is_an_orderly_exit() {
    let mut s = Svc::new("runsv-sigterm", TRAPPING_RUN);
    s.start_running();
    // SAFETY: signalling the runsv this test started.
    unsafe { libc::kill(s.runsv as i32, libc::SIGTERM) };
    let st = s.sc.wait_exit(s.runsv, LIMIT).expect("runsv did not exit on SIGTERM");
    assert_eq!(st.code(), Some(0));
    assert!(s.signals().contains(&"TERM".to_string()));
}

#[test]
fn stray_signals_do_not_orphan_the_service() {
    let mut s = Svc::new("runsv-stray", TRAPPING_RUN);
    let pid = s.start_running();
    for sig in [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGALRM, libc::SIGPIPE] {
        // SAFETY: signalling the runsv this test started.
        unsafe { libc::kill(s.runsv as i32, sig) };
    }
    // runsv still answers commands and the service is still its child.
    s.send("h");
    eventually!(LIMIT, s.signals() == ["HUP"], "runsv died or stalled: {:?}", s.signals());
    assert!(alive(s.runsv as i32));
    assert_eq!(s.pid(), pid);
    // The service itself got the default dispositions back (HUP reached its trap above).
}

#[test]
fn supervise_symlink_target_created() {
    let mut s = Svc::new("runsv-symlink", "exec sleep 100");
    std::os::unix::fs::symlink(s.sc.join("supdir"), s.path("supervise")).unwrap();
    std::fs::create_dir_all(s.path("log")).unwrap();
    s.sc.script("s/log/run", "exec cat > /dev/null");
    std::os::unix::fs::symlink("../../suplog", s.path("log/supervise")).unwrap();
    s.start();
    eventually!(LIMIT, s.sc.read("supdir/stat") == "run\n", "main supervise target not used");
    eventually!(LIMIT, s.sc.read("suplog/stat") == "run\n", "log supervise target not used");
}

#[test]
fn log_not_a_directory_warns_and_runs_without_log() {
    let mut s = Svc::new("runsv-lognotdir", "echo out; exec sleep 100");
    s.sc.write("s/log", "", 0o644);
    s.start();
    eventually!(LIMIT, s.stat() == "run\n", "not running");
    eventually!(LIMIT, s.stderr().contains("runsv s: warning: ./log: not a directory.\n"), "stderr {:?}", s.stderr());
    eventually!(LIMIT, s.sc.read("runsv.out").contains("out"), "without a log, stdout is inherited");
}

#[test]
fn unknown_control_bytes_are_ignored() {
    let mut s = Svc::new("runsv-unknown", TRAPPING_RUN);
    let pid = s.start_running();
    s.send("e\nzZ\u{1}h");
    eventually!(LIMIT, s.signals() == ["HUP"], "bytes after unknown ones not served: {:?}", s.signals());
    assert_eq!(s.pid(), pid);
}

#[test]
fn no_extra_wakeups_while_idle() {
    let mut s = Svc::new("runsv-idle", "exec sleep 100");
    s.start();
    eventually!(LIMIT, s.stat() == "run\n", "not running");
    let ctxt = |pid: u32| -> u64 {
        let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        st.lines().filter(|l| l.contains("ctxt_switches")).filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()).sum()
    };
    // Let start-up finish: wait until the count stops moving for 200 ms.
    let mut before = ctxt(s.runsv);
    // A runsv that never settles (a busy loop) fails here instead of hanging the test.
    let mut cap = model::StepCap::new("runsv settling after start-up", 50);
    loop {
        cap.step();
        std::thread::sleep(Duration::from_millis(200));
        let c = ctxt(s.runsv);
        if c == before {
            break;
        }
        before = c;
    }
    std::thread::sleep(Duration::from_millis(1500));
    let after = ctxt(s.runsv);
    assert!(after - before <= 1, "runsv woke {} times while idle", after - before);
}

/// The service gets the signal dispositions runsv inherited: in particular SIGPIPE is not
/// ignored (a Rust `main` would ignore it before our code runs, and services would inherit
/// that: `yes | head` in a run script would then spin on EPIPE instead of dying).
#[test]
fn service_inherits_default_sigpipe() {
    let mut s = Svc::new("runsv-sigpipe", "grep SigIgn /proc/self/status > sigign; exec sleep 100");
    s.start();
    eventually!(LIMIT, !s.read("sigign").is_empty(), "service did not start");
    let mask = u64::from_str_radix(s.read("sigign").split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(mask & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE ignored in the service: SigIgn {mask:x}");
}
