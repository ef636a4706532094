//! End-to-end tests of runsv's opt-in stop files (issue 11, "Stop that ends"):
//! `timeout-kill`, `flag-timeout-killpg`, `timeout-finish`, `down-signal`, their bad
//! contents, and runit's child set-up when they are absent. Real runsv and sv binaries on
//! scratch service directories; every wait polls a condition with a cap.

use std::time::Duration;

use e2e::{alive, eventually, run, Scratch};

const LIMIT: Duration = Duration::from_secs(10);

/// One runsv on `<scratch>/s`; the processes it started are killed by pid on drop.
struct Svc {
    sc: Scratch,
    runsv: u32,
}

impl Svc {
    /// A service directory with `run` and the given extra files (name, content).
    fn new(test: &str, run: &str, files: &[(&str, &str)]) -> Svc {
        let sc = Scratch::new(test);
        sc.script("s/run", run);
        for (name, content) in files {
            sc.write(&format!("s/{name}"), content, 0o644);
        }
        Svc { sc, runsv: 0 }
    }
    fn read(&self, rel: &str) -> String {
        self.sc.read(&format!("s/{rel}"))
    }
    fn pid_in(&self, rel: &str) -> i32 {
        self.read(rel).trim().parse().unwrap_or(0)
    }
    /// Starts runsv and waits until `./run` has written `started` into `sig`.
    fn start_running(&mut self) -> i32 {
        self.runsv = self.sc.start("runsv", &["s"], "runsv");
        eventually!(LIMIT, self.read("supervise/stat") == "run\n" && self.read("sig").contains("started"), "service did not start");
        let pid = self.pid_in("supervise/pid");
        assert!(pid > 0 && alive(pid));
        self.sc.adopt(pid);
        pid
    }
    fn sv(&self, args: &[&str]) -> (i32, String, String) {
        run("sv", args, &self.sc.path, &[])
    }
    fn stderr(&self) -> String {
        self.sc.read("runsv.err")
    }
    /// `sv down ./s`, then waits until `pids` are all gone and runsv reports down.
    fn down_and_gone(&self, pids: &[i32]) {
        let (code, out, err) = self.sv(&["down", "./s"]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
        eventually!(
            LIMIT,
            pids.iter().all(|&p| !alive(p)) && self.read("supervise/stat") == "down\n",
            "still alive: {:?}, stat {:?}",
            pids.iter().filter(|&&p| alive(p)).collect::<Vec<_>>(),
            self.read("supervise/stat")
        );
    }
}

/// The process group of `pid` (field 5 of /proc/PID/stat).
fn pgid(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(2)).and_then(|g| g.parse().ok()).unwrap_or(-1)
}

/// `down: ./s: <n>s, normally up` as runit's sv prints it (polled: runsv writes `stat`
/// just before `status`).
fn assert_sv_status_down(svc: &Svc) {
    eventually!(LIMIT, svc.sv(&["status", "./s"]).1.starts_with("down: "), "sv status never says down");
    let (code, out, err) = svc.sv(&["status", "./s"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.starts_with("down: ./s: ") && out.ends_with("s, normally up\n"), "{out:?}");
}

#[test]
fn term_ignoring_service_is_killed_at_timeout_kill() {
    let mut svc = Svc::new("stop-tk", "trap '' TERM\necho started > sig\nexec sleep 100000", &[("timeout-kill", "300\n")]);
    let pid = svc.start_running();
    svc.down_and_gone(&[pid]);
    assert_sv_status_down(&svc);
    assert_eq!(svc.stderr(), "", "no warning for valid files");
}

#[test]
fn forking_service_children_are_gone_after_down_with_killpg() {
    let run = "sleep 100000 & echo $! > child1\n\
               sh -c 'trap \"\" TERM; while :; do sleep 0.05; done' & echo $! > child2\n\
               echo started > sig\nwait";
    let mut svc = Svc::new("stop-killpg", run, &[("flag-timeout-killpg", "")]);
    let pid = svc.start_running();
    let children = [svc.pid_in("child1"), svc.pid_in("child2")];
    for &c in &children {
        svc.sc.adopt(c);
    }
    for &c in &children {
        assert!(c > 0 && alive(c), "child {c} runs");
        assert_eq!(pgid(c), pid, "children share the service's own group");
    }
    assert_eq!(pgid(pid), pid, "./run leads its own process group");
    svc.down_and_gone(&[pid, children[0], children[1]]);
    assert_sv_status_down(&svc);
}

#[test]
fn hanging_finish_is_killed_at_timeout_finish() {
    let mut svc = Svc::new("stop-tf", "echo started > sig\nexec sleep 100000", &[("timeout-finish", "300")]);
    svc.sc.script("s/finish", "echo $$ > finishpid\ntrap '' TERM\nexec sleep 100000");
    let pid = svc.start_running();
    svc.down_and_gone(&[pid]);
    let finish = svc.pid_in("finishpid");
    svc.sc.adopt(finish);
    assert!(finish > 0, "./finish ran");
    assert!(!alive(finish), "./finish was killed");
    assert!(svc.stderr().ends_with("runsv s: warning: ./finish timed out, sending SIGKILL\n"), "{:?}", svc.stderr());
    assert_sv_status_down(&svc);
}

#[test]
fn down_signal_replaces_term() {
    let run = "trap 'echo HUP >> sig; exit 0' HUP\ntrap 'echo TERM >> sig' TERM\necho started >> sig\nwhile :; do sleep 0.05; done";
    let mut svc = Svc::new("stop-ds", run, &[("down-signal", "SIGHUP\n")]);
    let pid = svc.start_running();
    svc.down_and_gone(&[pid]);
    let sig = svc.read("sig");
    assert!(sig.contains("HUP") && !sig.contains("TERM"), "{sig:?}");
}

#[test]
fn bad_contents_warn_and_keep_runit_behaviour() {
    let run = "trap 'echo TERM >> sig; exit 0' TERM\necho started >> sig\nwhile :; do sleep 0.05; done";
    let files = [("down-signal", "SIGFOO\n"), ("timeout-kill", "-1\n"), ("timeout-finish", "5s")];
    let mut svc = Svc::new("stop-bad", run, &files);
    let pid = svc.start_running();
    assert_eq!(
        svc.stderr(),
        "runsv s: warning: invalid down-signal: not a signal sv can send, using the default\n\
         runsv s: warning: invalid timeout-kill: not a number, using the default\n\
         runsv s: warning: invalid timeout-finish: not a number, using the default\n"
    );
    assert_eq!(pgid(pid), pgid(svc.runsv as i32), "runit's set-up: ./run stays in runsv's group");
    svc.down_and_gone(&[pid]);
    assert!(svc.read("sig").contains("TERM"), "runit's TERM");
}

#[test]
fn without_files_run_stays_in_runsvs_group() {
    let mut svc = Svc::new("stop-none", "echo started > sig\nexec sleep 100000", &[]);
    let pid = svc.start_running();
    assert_eq!(pgid(pid), pgid(svc.runsv as i32));
    assert_ne!(pgid(pid), pid);
    svc.down_and_gone(&[pid]);
    assert_eq!(svc.stderr(), "");
}

#[test]
fn force_stop_ends_when_runsv_escalation_ends_the_service() {
    let mut svc = Svc::new("stop-force", "trap '' TERM\necho started > sig\nexec sleep 100000", &[("timeout-kill", "200")]);
    let pid = svc.start_running();
    let (code, out, err) = svc.sv(&["-w", "5", "force-stop", "./s"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.starts_with("ok: down: ./s: "), "{out:?}");
    assert!(!alive(pid));
    let (code, out, _) = svc.sv(&["-w", "5", "down", "./s"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: down: ./s: "), "{out:?}");
}
