//! End-to-end tests of runsv's readiness (docs/readiness.md §1–§3): notification-fd with
//! a shell client, sd_notify with Python's socket module and Debian's `systemd-notify`
//! (unpacked, never installed), `sv -w 5 up` returning on readiness and not before, a
//! watchdog restart, a forged `READY=1` ignored, and `sv -j status` showing it all.
//!
//! Every service waits on a FIFO `go` before it notifies, so "not before" is checked by
//! state, never by time: sv must still be waiting while the service runs unready.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{eventually, poll_until, skip, Prerequisite, Scratch};

const LIMIT: Duration = Duration::from_secs(10);

/// One service under our runsv (stderr captured in `runsv.err`). On drop: runsv first, so
/// nothing restarts, then every pid the run script recorded.
struct Svc {
    scratch: Scratch,
    runsv: Option<u32>,
}

impl Svc {
    /// A service `s` (initially down) whose run script records its pid, then `body`.
    fn new(test: &str, body: &str, files: &[(&str, &str)]) -> Svc {
        let scratch = Scratch::new(test);
        scratch.script("s/run", &format!("echo $$ >> pids\n{body}"));
        scratch.write("s/down", "", 0o644);
        for (name, content) in files {
            scratch.write(&format!("s/{name}"), content, 0o644);
        }
        let go = scratch.join("s/go");
        let c = std::ffi::CString::new(go.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo go");
        Svc { scratch, runsv: None }
    }

    fn dir(&self) -> PathBuf {
        self.scratch.join("s")
    }

    fn start(&mut self) {
        self.runsv = Some(self.scratch.start("runsv", &["s"], "runsv"));
        // `ok` is made before the first status write: wait for both.
        let (ok, status) = (self.scratch.join("s/supervise/ok"), self.scratch.join("s/supervise/status"));
        eventually!(LIMIT, ok.exists() && status.exists(), "runsv never published its status");
    }

    fn sv(&self, args: &[&str]) -> (i32, String, String) {
        e2e::run("sv", args, &self.scratch.path, &[])
    }

    /// Starts `sv <args>` in the background; its pid.
    fn sv_bg(&mut self, args: &[&str], tag: &str) -> u32 {
        self.scratch.start("sv", args, tag)
    }

    fn record(&self) -> String {
        self.scratch.read("s/supervise/status.ext")
    }

    fn field(&self, key: &str) -> Option<String> {
        let rec = self.record();
        rec.lines().find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
    }

    fn pids(&self) -> Vec<i32> {
        self.scratch.read("s/pids").lines().filter_map(|l| l.trim().parse().ok()).collect()
    }

    fn stderr(&self) -> String {
        self.scratch.read("runsv.err")
    }

    /// Lets the service past its `read < go` (fails, rather than blocks, when nothing
    /// reads the FIFO).
    fn go(&self) {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.scratch.join("s/go");
        let mut f = None;
        let opened = poll_until(LIMIT, || {
            f = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&path).ok();
            f.is_some()
        });
        assert!(opened, "nothing reads the go FIFO: {}", self.stderr());
        std::io::Write::write_all(&mut f.expect("opened"), b"go\n").expect("write go");
    }

    fn running(&self) -> bool {
        self.sv(&["status", "./s"]).1.starts_with("run: ")
    }
}

impl Drop for Svc {
    fn drop(&mut self) {
        if let Some(pid) = self.runsv {
            // SAFETY: kill by pid of the runsv this test started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            poll_until(LIMIT, || !e2e::alive(pid as i32));
        }
        for pid in self.pids() {
            // SAFETY: kill by pid of a service this test started (and its process group
            // members are its own children: each service kills only what it recorded).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

fn python3() -> Option<&'static str> {
    Path::new("/usr/bin/python3").exists().then_some("/usr/bin/python3")
}

/// `sv -w 5 up` is still waiting while the service runs unready, and exits 0 once it is
/// ready; then status.ext and `sv -j` say ready.
fn up_waits_for_readiness(s: &mut Svc) {
    let sv = s.sv_bg(&["-w", "5", "up", "./s"], "svwait");
    eventually!(LIMIT, s.running() && !s.pids().is_empty(), "the service never ran");
    assert_eq!(s.field("ready").as_deref(), Some("0"), "ready before the event: {}", s.record());
    assert!(e2e::alive(sv as i32), "sv -w up returned before readiness: {}", s.scratch.read("svwait.out"));
    s.go();
    let st = s.scratch.wait_exit(sv, LIMIT).expect("sv -w 5 up never returned");
    assert_eq!(st.code(), Some(0), "sv -w up: {}", s.scratch.read("svwait.out"));
    assert!(s.scratch.read("svwait.out").starts_with("ok: run: ./s: "), "{}", s.scratch.read("svwait.out"));
    assert_eq!(s.field("ready").as_deref(), Some("1"), "{}", s.record());
    let (code, out, _) = s.sv(&["-j", "status", "./s"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"ready\":true"), "{out}");
}

#[test]
fn notification_fd_shell_client() {
    let mut s = Svc::new("ready-nfd", "read x < go\necho ready >&3\nexec sleep 1000", &[("notification-fd", "3\n")]);
    s.start();
    up_waits_for_readiness(&mut s);
    assert_eq!(s.field("readiness").as_deref(), Some("notification-fd"));
    assert_eq!(s.stderr(), "", "no warnings");
}

#[test]
fn notification_fd_closed_without_newline_never_ready() {
    let mut s = Svc::new("ready-nfd-eof", "exec 3>&-\nread x < go\nexec sleep 1000", &[("notification-fd", "3")]);
    s.start();
    let (code, out, _) = s.sv(&["-w", "1", "up", "./s"]);
    assert_eq!(code, 1, "timed out: never ready: {out}");
    assert!(out.starts_with("timeout: run: ./s: "), "{out}");
    assert_eq!(s.field("ready").as_deref(), Some("0"));
    assert!(s.running(), "still supervised, not killed");
}

#[test]
fn notification_fd_bad_value_warns_and_runs_as_runit() {
    let mut s = Svc::new("ready-nfd-bad", "exec sleep 1000", &[("notification-fd", "1")]);
    s.start();
    eventually!(LIMIT, s.stderr().contains("warning: notification-fd must not be 0, 1 or 2"), "{}", s.stderr());
    let (code, out, _) = s.sv(&["-w", "5", "up", "./s"]);
    assert_eq!(code, 0, "{out}");
    assert!(!s.dir().join("supervise/status.ext").exists(), "no protocol: runit's files only");
}

#[test]
fn sd_notify_python_client() {
    let Some(py) = python3() else {
        skip("sd_notify_python_client", Prerequisite::Python3, "no /usr/bin/python3");
        return;
    };
    let client = format!(
        "read x < go\nexec {py} -c 'import os, socket, time\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.connect(os.environ[\"NOTIFY_SOCKET\"])\ns.send(b\"STATUS=serving\\nREADY=1\\n\")\ntime.sleep(1000)'"
    );
    let mut s = Svc::new("ready-sdn-py", &client, &[("notify-socket", "")]);
    s.start();
    up_waits_for_readiness(&mut s);
    assert_eq!(s.field("readiness").as_deref(), Some("sd_notify"));
    assert_eq!(s.field("status_text").as_deref(), Some("serving"));
    assert_eq!(s.stderr(), "", "no warnings");
}

#[test]
fn sd_notify_systemd_notify_client() {
    let Some(root) = e2e::oracle("systemd") else {
        skip("sd_notify_systemd_notify_client", Prerequisite::DebianSystemd, "apt-get download systemd failed");
        return;
    };
    let notify = ["bin/systemd-notify", "usr/bin/systemd-notify"].iter().map(|p| root.join(p)).find(|p| p.exists());
    let Some(notify) = notify else {
        skip("sd_notify_systemd_notify_client", Prerequisite::DebianSystemd, "no systemd-notify in the package");
        return;
    };
    if !Command::new(&notify).arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success()) {
        skip("sd_notify_systemd_notify_client", Prerequisite::DebianSystemd, "systemd-notify does not run from the unpacked tree");
        return;
    }
    // systemd-notify sends on behalf of its parent (./run, the shell) when it can.
    let body = format!("read x < go\n{} --ready --status=up-from-systemd-notify\nexec sleep 1000", notify.display());
    let mut s = Svc::new("ready-sdn-systemd", &body, &[("notify-socket", "")]);
    s.start();
    up_waits_for_readiness(&mut s);
    assert_eq!(s.field("status_text").as_deref(), Some("up-from-systemd-notify"));
}

#[test]
fn sd_notify_forged_ready_from_unrelated_process_ignored() {
    let mut s = Svc::new("ready-sdn-forged", "read x < go\nexec sleep 1000", &[("notify-socket", "")]);
    s.start();
    s.sv(&["u", "./s"]);
    eventually!(LIMIT, s.running() && s.field("pid").is_some_and(|p| p != "0"), "never ran");
    // This test process is not ./run nor its descendant.
    let sock = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    sock.send_to(b"READY=1\n", s.dir().join("supervise/notify")).expect("send");
    let me = std::process::id();
    eventually!(LIMIT, s.stderr().contains(&format!("notify datagram from pid {me} ignored: not this service")), "{}", s.stderr());
    assert_eq!(s.field("ready").as_deref(), Some("0"), "{}", s.record());
    let (code, out, _) = s.sv(&["-w", "1", "up", "./s"]);
    assert_eq!(code, 1, "still not ready: {out}");
    s.go();
}

#[test]
fn sd_notify_malformed_datagram_warns_and_next_one_counts() {
    let Some(py) = python3() else {
        skip("sd_notify_malformed_datagram_warns_and_next_one_counts", Prerequisite::Python3, "no /usr/bin/python3");
        return;
    };
    let client = format!(
        "read x < go\nexec {py} -c 'import os, socket, time\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.connect(os.environ[\"NOTIFY_SOCKET\"])\ns.send(b\"x\" * 5000)\ns.send(b\"READY=1\\0junk\")\n\
         s.send(b\"READY=1\")\ntime.sleep(1000)'"
    );
    let mut s = Svc::new("ready-sdn-bad", &client, &[("notify-socket", "")]);
    s.start();
    up_waits_for_readiness(&mut s);
    let err = s.stderr();
    assert!(err.contains("runsv s: warning: notify datagram dropped: "), "{err}");
    assert!(err.contains("runsv s: warning: notify datagram dropped: embedded NUL\n"), "{err}");
}

#[test]
fn watchdog_missed_restarts_the_service() {
    let Some(py) = python3() else {
        skip("watchdog_missed_restarts_the_service", Prerequisite::Python3, "no /usr/bin/python3");
        return;
    };
    // Ready, one ping, then silence: the watchdog aborts it and runsv restarts it.
    let client = format!(
        "test -s first && exec {py} -c \"$(cat pinger)\"\necho $$ > first\nexec {py} -c 'import os, socket, time\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.connect(os.environ[\"NOTIFY_SOCKET\"])\n\
         assert os.environ[\"WATCHDOG_USEC\"] == \"300000\"\ns.send(b\"READY=1\\nWATCHDOG=1\")\ntime.sleep(1000)'"
    );
    // The second child pings every 20 ms, so it stays.
    let pinger = "import os, socket, time\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
                  s.connect(os.environ[\"NOTIFY_SOCKET\"])\ns.send(b\"READY=1\")\n\
                  while True:\n    s.send(b\"WATCHDOG=1\")\n    time.sleep(0.02)\n";
    let mut s = Svc::new("ready-watchdog", &client, &[("notify-socket", ""), ("timeout-watchdog", "300\n"), ("pinger", pinger)]);
    s.start();
    s.sv(&["u", "./s"]);
    eventually!(LIMIT, s.pids().len() >= 2, "never restarted: {}\n{}", s.stderr(), s.record());
    assert!(s.stderr().contains("runsv s: warning: watchdog timeout\n"), "{}", s.stderr());
    eventually!(LIMIT, s.field("restarts").as_deref() == Some("1"), "{}", s.record());
    assert_eq!(s.field("last_exit_signal").as_deref(), Some("6"), "SIGABRT: {}", s.record());
    let (code, out, _) = s.sv(&["-w", "5", "up", "./s"]);
    assert_eq!(code, 0, "the restarted child is ready: {out}");
    assert_eq!(s.pids().len(), 2, "and stays: {}", s.stderr());
}

#[test]
fn notification_fd_s6_notifyoncheck_client() {
    let Some(root) = e2e::oracle("s6") else {
        skip("notification_fd_s6_notifyoncheck_client", Prerequisite::DebianS6, "apt-get download s6 failed");
        return;
    };
    let tool = root.join("usr/bin/s6-notifyoncheck");
    let runs = Command::new(&tool).arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.code().is_some());
    if !tool.exists() || !runs {
        skip("notification_fd_s6_notifyoncheck_client", Prerequisite::DebianS6, "s6-notifyoncheck does not run from the unpacked tree");
        return;
    }
    // s6-notifyoncheck reads ./notification-fd, polls ./data/check every 20 ms (the check
    // marks that it ran, then blocks on the FIFO until the test lets it succeed) and writes
    // the newline.
    let body = format!("exec {} -w 20 sleep 1000", tool.display());
    let mut s = Svc::new("ready-s6-noc", &body, &[("notification-fd", "3\n")]);
    s.scratch.script("s/data/check", "touch checked\nread x < go");
    s.start();
    s.sv(&["u", "./s"]);
    let refused = "s6-notifyoncheck: fatal: s6-supervise not running";
    eventually!(LIMIT, s.stderr().contains(refused) || s.dir().join("checked").exists(), "neither ran: {}", s.stderr());
    // s6_svc_ok(".") asks fcntl(F_GETLK) about supervise/lock: runsv holds a POSIX lock
    // there for a notification-fd service, so a refusal is a bug, not a missing tool.
    assert!(!s.stderr().contains(refused), "s6-notifyoncheck does not see runsv's lock: {}", s.stderr());
    assert_eq!(s.field("ready").as_deref(), Some("0"), "{}", s.record());
    s.go();
    eventually!(LIMIT, s.field("ready").as_deref() == Some("1"), "never ready: {}", s.record());
}

#[test]
fn watchdog_zero_or_absurd_warns_and_service_still_supervised() {
    for (value, warning) in [("0", "timeout-watchdog is 0, watchdog off"), ("999999999999", "timeout-watchdog above 7 days, watchdog off")]
    {
        let mut s = Svc::new("ready-wd-bad", "exec sleep 1000", &[("notify-socket", ""), ("timeout-watchdog", value)]);
        s.start();
        eventually!(LIMIT, s.stderr().contains(&format!("runsv s: warning: {warning}\n")), "{value}: {}", s.stderr());
        s.sv(&["u", "./s"]);
        eventually!(LIMIT, s.running() && s.field("state").as_deref() == Some("run"), "{value}: never ran");
        assert_eq!(s.field("readiness").as_deref(), Some("sd_notify"), "the socket still works without a watchdog");
    }
}
