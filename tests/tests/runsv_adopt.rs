//! Adoption (issue 11, docs/divergences.md "Adoption"): a runsv killed with SIGKILL under
//! runsvdir leaves its service and logger running; the runsv that runsvdir starts next takes
//! them over instead of starting second copies, and takes the log pipe back so that no line
//! is lost or duplicated. runsvdir runs in a private PID namespace (`unshare --pid --fork
//! --kill-child --mount-proc`), so killing `unshare` ends every process of the test.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{bin_dir, eventually, Scratch};

const LIMIT: Duration = Duration::from_secs(20);
const LINES: usize = 100_000;

/// Host pids of the processes named `comm` whose working directory is `dir`, leaving out a
/// shell's own fork that has not exec'd yet (e.g. `run` forking for `sleep 0.03` is briefly
/// a second `run` in the same directory, whose parent is the first).
fn procs(comm: &str, dir: &Path) -> Vec<i32> {
    let all = procs_with_forks(comm, dir);
    all.iter().copied().filter(|&pid| !all.contains(&parent_of(pid))).collect()
}

/// The parent pid of `pid` from `/proc/PID/stat` (the field after the parenthesised name).
fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0)
}

/// Every process named `comm` whose working directory is `dir`.
fn procs_with_forks(comm: &str, dir: &Path) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
        if name.trim_end() == comm && cwd.as_deref() == Some(dir) && e2e::alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// The one runsv supervising `dir` (host pid), once there is exactly one.
fn the_runsv(dir: &Path) -> Option<i32> {
    match procs("runsv", dir)[..] {
        [pid] => Some(pid),
        _ => None,
    }
}

/// runsvdir on `sv/` as the child of a shell that is PID 1 of a new PID namespace (so the
/// orphans of a killed runsv go to runsvdir, the subreaper, not to that shell); `None`
/// after a recorded skip when namespaces are unavailable.
fn start_runsvdir(sc: &mut Scratch, test: &str) -> Option<u32> {
    let ok = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child", "--mount-proc", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        e2e::skip(test, e2e::Prerequisite::MountNamespace, "unshare --pid --mount-proc failed");
        return None;
    }
    let err = std::fs::File::create(sc.join("runsvdir.err")).expect("err file");
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--kill-child", "--mount-proc", "/bin/sh", "-c", "runsvdir \"$1\" & wait", "sh"])
        .arg(sc.join("sv"))
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir().display()))
        .current_dir(&sc.path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
    Some(sc.spawn(cmd))
}

fn sv(sc: &Scratch, args: &[&str]) -> (i32, String) {
    let (code, out, err) = e2e::run("sv", args, &sc.path, &[]);
    (code, out + &err)
}

fn lines(sc: &Scratch, rel: &str) -> Vec<String> {
    sc.read(rel).lines().map(str::to_string).collect()
}

/// Kills the runsv of `svc` with SIGKILL and waits until runsvdir's next runsv supervises
/// it; returns (old, new) host pids.
fn kill_runsv(sc: &Scratch, svc: &Path) -> (i32, i32) {
    // runsv renames `status` in after `stat` and `pid`, and after the child may already
    // have written: wait until each status record names a pid, or the kill can land
    // before it and leave nothing to adopt.
    let status_pid = |f: &Path| std::fs::read(f).ok().filter(|b| b.len() == 20).map(|b| u32::from_le_bytes([b[12], b[13], b[14], b[15]]));
    let statuses = [svc.join("supervise/status"), svc.join("log/supervise/status")];
    eventually!(
        LIMIT,
        statuses.iter().all(|f| !f.exists() || status_pid(f).is_some_and(|p| p != 0)),
        "no status record names the running service in {}",
        svc.display()
    );
    let old = the_runsv(svc).expect("one runsv");
    // SAFETY: kill by pid of a runsv of this test (its cwd is the test's service dir).
    assert_eq!(unsafe { libc::kill(old, libc::SIGKILL) }, 0);
    let mut new = None;
    eventually!(
        LIMIT,
        {
            new = the_runsv(svc).filter(|&p| p != old);
            new.is_some()
        },
        "no new runsv on {}",
        svc.display()
    );
    eventually!(LIMIT, sv(sc, &["status", &svc.display().to_string()]).0 == 0, "not supervised");
    (old, new.unwrap())
}

#[test]
fn kill_9_of_runsv_keeps_one_service_one_logger_and_every_line() {
    let test = "kill_9_of_runsv_keeps_one_service_one_logger_and_every_line";
    let mut sc = Scratch::new("adopt-lines");
    // The service writes LINES numbered lines in bursts (3 s in all), once; the logger
    // appends what it reads. Each start of either is recorded.
    sc.script(
        "sv/a/run",
        &format!(
            "exec 2>&1\necho $$ >> ../../starts\n[ -e ../../wrote ] && exec sleep 3600\ni=1\nwhile [ $i -le {LINES} ]; do\n  echo \"line $i\"\n  [ $((i % 1000)) -eq 0 ] && sleep 0.03\n  i=$((i+1))\ndone\n: > ../../wrote\nexec sleep 3600"
        ),
    );
    sc.script("sv/a/log/run", "echo $$ >> ../../../logstarts\nexec cat >> ../../../out");
    let Some(_ns) = start_runsvdir(&mut sc, test) else { return };
    let svc = sc.join("sv/a");
    eventually!(LIMIT, lines(&sc, "out").len() >= 2000, "the service did not start writing");
    assert!(!sc.join("wrote").exists(), "the writer must still be writing when runsv is killed");
    let run_before = procs("run", &svc);
    let cat_before = procs("cat", &sc.join("sv/a/log"));
    assert_eq!((run_before.len(), cat_before.len()), (1, 1), "one service, one logger before");
    let (old, new) = kill_runsv(&sc, &svc);
    assert_ne!(old, new);
    let status = sv(&sc, &["status", &svc.display().to_string()]).1;
    let ns_pid = lines(&sc, "starts")[0].clone();
    assert!(status.starts_with(&format!("run: {}: (pid {ns_pid}) ", svc.display())), "adopted service's status: {status}");
    eventually!(LIMIT, sc.join("wrote").exists(), "the writer did not finish");
    eventually!(LIMIT, lines(&sc, "out").len() >= LINES, "lines missing: {} of {LINES}", lines(&sc, "out").len());
    let out = lines(&sc, "out");
    let expect: Vec<String> = (1..=LINES).map(|i| format!("line {i}")).collect();
    assert_eq!(out.len(), LINES, "no line duplicated");
    assert!(out == expect, "every line once and in order");
    assert_eq!(lines(&sc, "starts").len(), 1, "exactly one ./run ever started");
    assert_eq!(lines(&sc, "logstarts").len(), 1, "exactly one log/run ever started");
    assert_eq!(procs("sleep", &svc), run_before, "the same service process (now exec'd into sleep), alone");
    assert_eq!(procs("cat", &sc.join("sv/a/log")), cat_before, "the same logger, alone");
    let err = sc.read("runsvdir.err");
    assert!(!err.contains("warning"), "no fallback: {err}");
}

#[test]
fn adopted_service_goes_down_up_and_restarts_with_finish_and_its_old_logger() {
    let test = "adopted_service_goes_down_up_and_restarts_with_finish_and_its_old_logger";
    let mut sc = Scratch::new("adopt-cmds");
    sc.script("sv/a/run", "echo \"start $$\"\necho $$ >> ../../starts\nexec sleep 3600");
    sc.script("sv/a/finish", "echo \"finish $1 $2\"\necho \"$1 $2\" >> ../../finished");
    sc.script("sv/a/log/run", "echo $$ >> ../../../logstarts\nexec cat >> ../../../out");
    let Some(_ns) = start_runsvdir(&mut sc, test) else { return };
    let svc = sc.join("sv/a");
    let name = svc.display().to_string();
    eventually!(LIMIT, lines(&sc, "out").len() == 1, "not started");
    kill_runsv(&sc, &svc);
    let first = procs("sleep", &svc);
    assert_eq!(first.len(), 1, "the old service still runs: {first:?}");

    // sv down: TERM through the pidfd; ./finish learns the status is unknown.
    let (code, text) = sv(&sc, &["-v", "down", &name]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with(&format!("ok: down: {name}: ")), "{text}");
    eventually!(LIMIT, lines(&sc, "finished") == ["-1 0"], "finish args: {:?}", lines(&sc, "finished"));
    eventually!(LIMIT, !e2e::alive(first[0]), "the adopted service was not stopped");

    // sv up: a new ./run writes into the old pipe, read by the adopted logger.
    let (code, text) = sv(&sc, &["-v", "up", &name]);
    assert_eq!(code, 0, "{text}");
    eventually!(LIMIT, lines(&sc, "starts").len() == 2, "not restarted");
    eventually!(LIMIT, lines(&sc, "out").iter().filter(|l| l.starts_with("start ")).count() == 2, "second start not logged");

    // sv restart of the runsv's own child: its status is known again.
    let (code, text) = sv(&sc, &["-v", "restart", &name]);
    assert_eq!(code, 0, "{text}");
    eventually!(LIMIT, lines(&sc, "starts").len() == 3, "not restarted");
    eventually!(LIMIT, lines(&sc, "finished") == ["-1 0", "-1 15"], "finish args: {:?}", lines(&sc, "finished"));
    eventually!(LIMIT, lines(&sc, "out").iter().filter(|l| l.starts_with("start ")).count() == 3, "third start not logged");
    assert_eq!(lines(&sc, "logstarts").len(), 1, "the logger was adopted, never restarted");
    assert!(lines(&sc, "out").contains(&"finish -1 0".to_string()), "./finish writes into the old pipe too");
}

/// This boot's wall time (ns): CLOCK_REALTIME - CLOCK_BOOTTIME.
fn boot_wall_ns() -> i128 {
    let read = |c| {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid out-pointer.
        unsafe { libc::clock_gettime(c, &mut ts) };
        ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
    };
    let boot = read(libc::CLOCK_BOOTTIME);
    read(libc::CLOCK_REALTIME) - boot
}

/// A 20-byte runit status record: run, want up, `pid`, stamped `unix_ns`.
fn status_record(pid: u32, unix_ns: i128) -> [u8; 20] {
    let mut b = [0u8; 20];
    let secs = (unix_ns / 1_000_000_000) as u64 + 4_611_686_018_427_387_914; // TAI64 label
    b[..8].copy_from_slice(&secs.to_be_bytes());
    b[8..12].copy_from_slice(&((unix_ns % 1_000_000_000) as u32).to_be_bytes());
    b[12..16].copy_from_slice(&pid.to_le_bytes());
    b[17] = b'u';
    b[19] = 1;
    b
}

/// A service directory whose `supervise/status` names `pid` as its running `./run`,
/// started at `stamp_ns`; runsv is started on it and left to decide.
fn runsv_on_faked_status(sc: &mut Scratch, svc: &str, pid: u32, stamp_ns: i128) -> u32 {
    sc.script(&format!("{svc}/run"), &format!("echo $$ >> ../{svc}.starts\nexec sleep 3600"));
    std::fs::create_dir_all(sc.join(&format!("{svc}/supervise"))).unwrap();
    std::fs::write(sc.join(&format!("{svc}/supervise/status")), status_record(pid, stamp_ns)).unwrap();
    sc.start("runsv", &[svc], svc)
}

#[test]
fn an_unrelated_process_with_the_old_pid_is_never_adopted() {
    let mut sc = Scratch::new("adopt-reuse");
    let mut sleeper = Command::new("sleep");
    sleeper.arg("3600");
    let other = sc.spawn(sleeper);
    let ticks = e2e::process_start_time(other as i32).expect("start time");
    // SAFETY: sysconf reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as i128;
    let started_ns = boot_wall_ns() + ticks as i128 * 1_000_000_000 / hz;

    // The old ./run started 10 s before this process got its pid: not the same process.
    let rsv = runsv_on_faked_status(&mut sc, "reused", other, started_ns - 10_000_000_000);
    eventually!(LIMIT, lines(&sc, "reused.starts").len() == 1, "no fresh ./run started beside the unrelated process");
    let status = sv(&sc, &["status", "./reused"]).1;
    assert!(!status.contains(&format!("(pid {other})")), "{status}");
    let (code, text) = sv(&sc, &["down", "./reused"]);
    assert_eq!(code, 0, "{text}");
    assert!(e2e::alive(other as i32), "the unrelated process was signalled");

    // Control: with its real start time the same pid *is* taken for the old ./run (so the
    // refusal above is the identity check at work, not a failure to probe).
    let rsv2 = runsv_on_faked_status(&mut sc, "same", other, started_ns + 1_000_000);
    eventually!(LIMIT, sv(&sc, &["status", "./same"]).1.starts_with(&format!("run: ./same: (pid {other}) ")), "not adopted");
    assert!(lines(&sc, "same.starts").is_empty(), "no ./run beside the adopted process");
    let (code, text) = sv(&sc, &["down", "./same"]);
    assert_eq!(code, 0, "{text}");
    let mut st = 0;
    // SAFETY: waiting for our own child, which sv down stopped through runsv's pidfd.
    assert_eq!(unsafe { libc::waitpid(other as i32, &mut st, 0) }, other as i32);
    assert!(libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGTERM, "TERM through the pidfd: {st:#x}");
    e2e::end_supervision(&[rsv as i32, rsv2 as i32], [sc.join("reused/supervise/pid")], &sc.path, LIMIT);
}

#[test]
fn without_the_log_pipe_nothing_is_adopted_and_runsv_says_so() {
    let test = "without_the_log_pipe_nothing_is_adopted_and_runsv_says_so";
    let mut sc = Scratch::new("adopt-nopipe");
    // The service's stdout is not the log pipe: the two ends cannot be proven one pipe.
    sc.script("sv/a/run", "echo $$ >> ../../starts\nexec >/dev/null\nexec sleep 3600");
    sc.script("sv/a/log/run", "echo $$ >> ../../../logstarts\nexec cat >> ../../../out");
    let Some(_ns) = start_runsvdir(&mut sc, test) else { return };
    let svc = sc.join("sv/a");
    eventually!(LIMIT, lines(&sc, "starts").len() == 1 && lines(&sc, "logstarts").len() == 1, "not started");
    eventually!(LIMIT, sv(&sc, &["status", &svc.display().to_string()]).1.contains("; run: log: "), "not up");
    kill_runsv(&sc, &svc);
    // runit's behaviour: new processes beside the old ones, and one line saying why.
    eventually!(LIMIT, lines(&sc, "starts").len() == 2 && lines(&sc, "logstarts").len() == 2, "runit's behaviour expected");
    let want = "runsv a: warning: unable to take over the log pipe, starting new processes: ";
    eventually!(LIMIT, sc.read("runsvdir.err").contains(want), "no warning: {:?}", sc.read("runsvdir.err"));
}
