//! End-to-end tests of `runsvdir` (spec/runsvdir.md): the real binary watching scratch
//! directories, with a real runsv found by PATH.
//!
//! The runsv under test is chosen in one place, [`runsv_under_test`]: ours when it is
//! built and working, else Debian's from the oracle package; `RUNSVDIR_TEST_RUNSV`
//! overrides both.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{alive, bin, eventually, poll_until, Scratch};

/// The one place that decides which runsv runsvdir starts in these tests.
fn runsv_under_test() -> PathBuf {
    if let Some(p) = std::env::var_os("RUNSVDIR_TEST_RUNSV") {
        return PathBuf::from(p);
    }
    let ours = bin("runsv");
    let usable = Command::new(&ours)
        .output()
        .map(|o| o.status.code() == Some(1) && String::from_utf8_lossy(&o.stderr).starts_with("usage:"))
        .unwrap_or(false);
    if usable {
        return ours;
    }
    e2e::oracle("runit").map(|r| r.join("usr/bin/runsv")).expect("neither our runsv nor the oracle's is available")
}

/// A PATH whose first element holds only `runsv` (a link to the one under test).
fn test_path(s: &Scratch) -> String {
    let d = s.join("pathbin");
    std::fs::create_dir_all(&d).unwrap();
    let link = d.join("runsv");
    if !link.exists() {
        std::os::unix::fs::symlink(runsv_under_test(), &link).unwrap();
    }
    format!("{}:/usr/bin:/bin", d.display())
}

/// Kills runsvdir and everything seen below it (by pid) when dropped; declare it after
/// the `Scratch` so it runs first.
struct Reaper {
    root: i32,
    root_start: Option<u64>,
    /// (pid, start time): a pid is signalled only while it still names the same process.
    seen: std::cell::RefCell<HashSet<(i32, u64)>>,
}

use e2e::process_start_time as start_time;

impl Reaper {
    fn new(root: u32) -> Reaper {
        Reaper { root: root as i32, root_start: start_time(root as i32), seen: Default::default() }
    }
    /// Records every current descendant.
    fn scan(&self) -> Vec<i32> {
        let d = descendants(self.root);
        self.seen.borrow_mut().extend(d.iter().filter_map(|&p| Some((p, start_time(p)?))));
        d
    }
    /// Sends `sig` to `pid` if it is still the process that was seen.
    fn signal(pid: i32, start: Option<u64>, sig: i32) {
        if start.is_some() && start_time(pid) == start {
            // SAFETY: kill by pid of a process this test started (checked by start time).
            unsafe { libc::kill(pid, sig) };
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // Freeze the tree first (a stopped process cannot fork), then kill it, all by pid
        // of processes this test started, directly or below runsvdir.
        for _ in 0..3 {
            Reaper::signal(self.root, self.root_start, libc::SIGSTOP);
            self.scan();
            for &(pid, start) in self.seen.borrow().iter() {
                Reaper::signal(pid, Some(start), libc::SIGSTOP);
            }
        }
        Reaper::signal(self.root, self.root_start, libc::SIGKILL);
        for &(pid, start) in self.seen.borrow().iter() {
            Reaper::signal(pid, Some(start), libc::SIGKILL);
        }
    }
}

fn ppid_of(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = s.rsplit_once(')')?.1;
    after.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` has a handler installed for `sig` (the SigCgt mask in /proc): before
/// that, SIGALRM's default action would kill it.
fn catches(pid: i32, sig: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mask = status.lines().find_map(|l| l.strip_prefix("SigCgt:")).and_then(|m| u64::from_str_radix(m.trim(), 16).ok());
    mask.is_some_and(|m| m & (1u64 << (sig - 1)) != 0)
}

/// Whether `pid` holds an inotify descriptor (runsvdir builds its watch before its first
/// scan, so from then on a change is noticed at once).
fn watching(pid: i32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok()).any(|l| l.to_string_lossy().contains("inotify"))
}

fn cmdline(pid: i32) -> Vec<u8> {
    std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default()
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc").map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()).unwrap_or_default()
}

fn descendants(root: i32) -> Vec<i32> {
    let pairs: Vec<(i32, i32)> = all_pids().into_iter().filter_map(|p| Some((p, ppid_of(p)?))).collect();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(c, pp) in &pairs {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

/// Live `runsv <name>` children of runsvdir, as (pid, name).
fn runsvs(rsd: u32) -> Vec<(i32, String)> {
    let pairs: Vec<i32> = all_pids().into_iter().filter(|&p| ppid_of(p) == Some(rsd as i32) && alive(p)).collect();
    pairs
        .into_iter()
        .filter_map(|p| {
            let c = cmdline(p);
            let mut parts = c.split(|&b| b == 0);
            (parts.next()? == b"runsv").then(|| (p, String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned()))
        })
        .collect()
}

fn runsv_named(rsd: u32, name: &str) -> Vec<i32> {
    runsvs(rsd).into_iter().filter(|(_, n)| n == name).map(|(p, _)| p).collect()
}

/// A service directory whose run script records its pid and sleeps.
fn service(s: &Scratch, rel: &str) {
    let marker = s.join(&format!("{}.pid", rel.replace('/', "_")));
    s.script(&format!("{rel}/run"), &format!("echo $$ > {}\nexec sleep 1000", marker.display()));
}

fn start_runsvdir(s: &mut Scratch, args: &[&str], path: &str) -> u32 {
    let out = std::fs::File::create(s.join("rsd.out")).unwrap();
    let err = std::fs::File::create(s.join("rsd.err")).unwrap();
    let mut cmd = Command::new(bin("runsvdir"));
    cmd.args(args).current_dir(&s.path).env("PATH", path).stdin(std::process::Stdio::null()).stdout(out).stderr(err);
    s.spawn(cmd)
}

const T: Duration = Duration::from_secs(10);

#[test]
fn usage_and_exit_codes() {
    let s = Scratch::new("rsd-usage");
    // spec/runsvdir.md §9: `usage: <argv0> [-P] dir` and a blank line, exit 1.
    let usage = format!("usage: {} [-P] dir\n\n", e2e::bin("runsvdir").display());
    for args in [&[][..], &["-P"][..]] {
        let (code, out, err) = e2e::run("runsvdir", args, &s.path, &[]);
        assert_eq!((code, out.as_str(), err.as_str()), (1, "", usage.as_str()), "{args:?}");
    }
}

#[test]
fn add_remove_readd_at_once() {
    let mut s = Scratch::new("rsd-add");
    std::fs::create_dir_all(s.join("sv")).unwrap();
    let path = test_path(&s);
    let rsd = start_runsvdir(&mut s, &["-P", "sv"], &path);
    let r = Reaper::new(rsd);
    // Once runsvdir watches, add a service: noticed through the watch (runit: at its next
    // 5-s look). How fast is a figure: tests/bench/runsvdir.sh, docs/performance.md.
    eventually!(T, watching(rsd as i32), "inotify watch");
    service(&s, "stage/a");
    std::fs::rename(s.join("stage/a"), s.join("sv/a")).unwrap();
    eventually!(T, runsv_named(rsd, "a").len() == 1, "runsv a started");
    eventually!(T, s.join("stage_a.pid").exists(), "./run ran");
    r.scan();
    let first = runsv_named(rsd, "a")[0];
    // -P: runsv leads its own session and process group.
    // SAFETY: getsid/getpgid of a live pid.
    assert_eq!(unsafe { libc::getpgid(first) }, first);
    assert_eq!(unsafe { libc::getsid(first) }, first);

    std::fs::remove_dir_all(s.join("sv/a")).unwrap();
    eventually!(T, !alive(first), "removed service's runsv got TERM and exited");
    assert!(runsv_named(rsd, "a").is_empty());

    service(&s, "stage/a");
    std::fs::rename(s.join("stage/a"), s.join("sv/a")).unwrap();
    eventually!(T, runsv_named(rsd, "a").len() == 1, "re-added service started again");
    assert_ne!(runsv_named(rsd, "a")[0], first);
    r.scan();
}

#[test]
fn rename_keeps_runsv_and_symlinks_dedup() {
    let mut s = Scratch::new("rsd-rename");
    std::fs::create_dir_all(s.join("sv")).unwrap();
    service(&s, "sv/a");
    service(&s, "store/x");
    std::os::unix::fs::symlink(s.join("store/x"), s.join("sv/link1")).unwrap();
    std::os::unix::fs::symlink(s.join("store/x"), s.join("sv/link2")).unwrap();
    let path = test_path(&s);
    let rsd = start_runsvdir(&mut s, &["sv"], &path);
    let r = Reaper::new(rsd);
    eventually!(T, runsvs(rsd).len() == 2, "a and one of the links: {:?}", runsvs(rsd));
    r.scan();
    let names: HashSet<String> = runsvs(rsd).into_iter().map(|(_, n)| n).collect();
    assert!(names.contains("a"));
    assert_eq!(names.iter().filter(|n| n.starts_with("link")).count(), 1, "one runsv per directory: {names:?}");
    let a = runsv_named(rsd, "a")[0];
    std::fs::rename(s.join("sv/a"), s.join("sv/renamed")).unwrap();
    // A service added after the rename: once its runsv runs, a scan has seen the rename.
    service(&s, "stage/b");
    std::fs::rename(s.join("stage/b"), s.join("sv/b")).unwrap();
    eventually!(T, runsv_named(rsd, "b").len() == 1, "a scan after the rename");
    assert!(alive(a), "renaming keeps the runsv; runsvs now {:?}; runsvdir stderr: {}", runsvs(rsd), s.read("rsd.err"));
    assert_eq!(runsv_named(rsd, "a"), vec![a], "it keeps its old name");
    assert!(runsv_named(rsd, "renamed").is_empty());
    r.scan();
}

#[test]
fn ignored_entries_and_warnings() {
    let mut s = Scratch::new("rsd-bad");
    std::fs::create_dir_all(s.join("sv")).unwrap();
    service(&s, "sv/.hidden");
    s.write("sv/afile", "x", 0o644);
    s.write("sv/odd\x01name/run", "#!/bin/sh\nexec sleep 1000\n", 0o755);
    std::fs::create_dir_all(s.join("sv/norun")).unwrap();
    std::os::unix::fs::symlink("/nonexistent-target", s.join("sv/dang")).unwrap();
    service(&s, "sv/good");
    let path = test_path(&s);
    let rsd = start_runsvdir(&mut s, &["sv"], &path);
    let r = Reaper::new(rsd);
    eventually!(T, runsv_named(rsd, "good").len() == 1, "good service unaffected");
    eventually!(T, runsv_named(rsd, "odd\x01name").len() == 1, "odd bytes in a name are fine");
    eventually!(T, runsv_named(rsd, "norun").len() == 1, "a directory without run still gets a runsv");
    eventually!(
        T,
        s.read("rsd.err").contains("runsvdir sv: warning: unable to stat dang: file does not exist\n"),
        "dangling symlink warned: {}",
        s.read("rsd.err")
    );
    r.scan();
    assert!(runsv_named(rsd, ".hidden").is_empty() && runsv_named(rsd, "afile").is_empty());
    assert!(!s.join("sv_.hidden.pid").exists());
    assert!(alive(rsd as i32));
}

#[test]
fn runsv_killed_is_restarted_once() {
    let mut s = Scratch::new("rsd-kill");
    service(&s, "sv/a");
    let path = test_path(&s);
    let rsd = start_runsvdir(&mut s, &["-P", "sv"], &path);
    let r = Reaper::new(rsd);
    eventually!(T, runsv_named(rsd, "a").len() == 1, "started");
    eventually!(T, s.join("sv_a.pid").exists(), "run ran");
    r.scan();
    let first = runsv_named(rsd, "a")[0];
    // SAFETY: kill by pid of the runsv started above.
    unsafe { libc::kill(first, libc::SIGKILL) };
    eventually!(T, runsv_named(rsd, "a").iter().any(|&p| p != first), "restarted");
    r.scan();
    // A service added now: once its runsv runs, later scans have had their chance to
    // start a second runsv for a.
    service(&s, "stage/b");
    std::fs::rename(s.join("stage/b"), s.join("sv/b")).unwrap();
    eventually!(T, runsv_named(rsd, "b").len() == 1, "a later scan");
    assert_eq!(runsv_named(rsd, "a").len(), 1, "exactly one runsv for the service");
    r.scan();
}

#[test]
fn sigterm_leaves_runsv_and_sighup_terms_them() {
    let mut s = Scratch::new("rsd-sig");
    service(&s, "sv/a");
    service(&s, "sv/b");
    let path = test_path(&s);
    let rsd = start_runsvdir(&mut s, &["-P", "sv"], &path);
    let r = Reaper::new(rsd);
    eventually!(T, runsvs(rsd).len() == 2, "two runsv");
    r.scan();
    let pids: Vec<i32> = runsvs(rsd).into_iter().map(|(p, _)| p).collect();
    // SAFETY: signal by pid of the runsvdir this test started.
    unsafe { libc::kill(rsd as i32, libc::SIGHUP) };
    let st = s.wait_exit(rsd, T).expect("exits on HUP");
    assert_eq!(st.code(), Some(111));
    for p in &pids {
        eventually!(T, !alive(*p), "runsv {p} got TERM");
    }

    let mut s2 = Scratch::new("rsd-sig2");
    service(&s2, "sv/a");
    let path = test_path(&s2);
    let rsd2 = start_runsvdir(&mut s2, &["-P", "sv"], &path);
    let r2 = Reaper::new(rsd2);
    eventually!(T, runsvs(rsd2).len() == 1, "one runsv");
    // Record the service too: after runsvdir exits its runsv is no longer below it.
    eventually!(T, s2.join("sv_a.pid").exists() && descendants(rsd2 as i32).len() >= 2, "service running");
    r2.scan();
    let p = runsvs(rsd2)[0].0;
    unsafe { libc::kill(rsd2 as i32, libc::SIGTERM) };
    let st = s2.wait_exit(rsd2, T).expect("exits on TERM");
    assert_eq!(st.code(), Some(0));
    assert!(alive(p), "SIGTERM leaves runsv running");
    drop(r);
}

#[test]
fn sigalrm_forces_rescan_with_stamp() {
    let mut s = Scratch::new("rsd-alrm");
    std::fs::create_dir_all(s.join("sv")).unwrap();
    let path = test_path(&s);
    let rsd = start_runsvdir(&mut s, &["sv"], &path);
    let _r = Reaper::new(rsd);
    eventually!(T, catches(rsd as i32, libc::SIGALRM), "SIGALRM handler installed");
    // SAFETY: signal by pid of the runsvdir this test started.
    unsafe { libc::kill(rsd as i32, libc::SIGALRM) };
    // The stamp is written with open-truncate + write (as runit): wait for its 25 bytes.
    eventually!(T, std::fs::read(s.join("sv/.forced-rescan")).is_ok_and(|b| b.len() == 25), "stamp written");
    let stamp = std::fs::read(s.join("sv/.forced-rescan")).unwrap();
    assert_eq!(stamp.len(), 25);
    assert!(stamp.starts_with(b"@4000"), "{stamp:?}");
    assert!(alive(rsd as i32), "ALRM does not kill runsvdir");
}

#[test]
fn log_argument_scrolls_in_process_title() {
    let mut s = Scratch::new("rsd-log");
    std::fs::create_dir_all(s.join("sv")).unwrap();
    let path = test_path(&s);
    let log = format!("log: {}", ".".repeat(120));
    let rsd = start_runsvdir(&mut s, &["sv", &log], &path);
    let _r = Reaper::new(rsd);
    eventually!(T, watching(rsd as i32), "inotify watch");
    std::os::unix::fs::symlink("/nonexistent-target", s.join("sv/dang")).unwrap();
    let want = b"runsvdir sv: warning: unable to stat dang: file does not exist\n";
    eventually!(
        T,
        cmdline(rsd as i32).ends_with(&[&want[..], b"\0"].concat()),
        "title: {:?}",
        String::from_utf8_lossy(&cmdline(rsd as i32))
    );
    let c = cmdline(rsd as i32);
    let arg = c.split(|&b| b == 0).nth(2).unwrap();
    assert_eq!(arg.len(), log.len(), "length kept");
    assert!(arg.starts_with(b"log: "));
    assert!(s.read("rsd.err").is_empty(), "warnings went to the log pipe");

    let mut s2 = Scratch::new("rsd-log2");
    std::fs::create_dir_all(s2.join("sv")).unwrap();
    let rsd2 = start_runsvdir(&mut s2, &["sv", "short"], &path);
    let _r2 = Reaper::new(rsd2);
    eventually!(
        T,
        s2.read("rsd.err")
            == "runsvdir sv: warning: log must have at least seven characters.\nrunsvdir sv: warning: log service disabled.\n",
        "{:?}",
        s2.read("rsd.err")
    );
}

#[test]
fn bad_directories_warn_and_keep_running() {
    let mut s = Scratch::new("rsd-baddir");
    let path = test_path(&s);
    let rsd = start_runsvdir(&mut s, &["/nonexistent-rsd"], &path);
    let _r = Reaper::new(rsd);
    let line = "runsvdir /nonexistent-rsd: warning: unable to stat /nonexistent-rsd: file does not exist\n";
    eventually!(T, s.read("rsd.err").matches(line).count() >= 2, "repeats: {:?}", s.read("rsd.err"));
    assert!(alive(rsd as i32));

    let mut s2 = Scratch::new("rsd-afile");
    s2.write("afile", "", 0o644);
    let rsd2 = start_runsvdir(&mut s2, &["afile"], &path);
    let _r2 = Reaper::new(rsd2);
    eventually!(
        T,
        s2.read("rsd.err").contains("runsvdir afile: warning: unable to change directory to afile: not a directory\n"),
        "{:?}",
        s2.read("rsd.err")
    );
}

#[test]
fn option_like_dir_and_short_log() {
    // spec/runsvdir.md §9: `runsvdir -X /tmp` watches `-X` (only -P is an option), and a
    // log argument under seven bytes is reported twice and ignored.
    let mut s = Scratch::new("rsd-dashx");
    let path = test_path(&s);
    let rsd = start_runsvdir(&mut s, &["-X", "/tmp"], &path);
    let _r = Reaper::new(rsd);
    let head = "runsvdir -X: warning: log must have at least seven characters.\nrunsvdir -X: warning: log service disabled.\n";
    let stat = "runsvdir -X: warning: unable to stat -X: file does not exist\n";
    eventually!(T, s.read("rsd.err").matches(stat).count() >= 2, "repeats: {:?}", s.read("rsd.err"));
    let err = s.read("rsd.err");
    let rest = err.strip_prefix(head).unwrap_or_else(|| panic!("{err:?}"));
    assert!(rest.split_inclusive('\n').all(|l| l == stat), "{err:?}");
    assert!(alive(rsd as i32));
}

#[test]
fn directory_created_later_is_picked_up() {
    let mut s = Scratch::new("rsd-late");
    let path = test_path(&s);
    let rsd = start_runsvdir(&mut s, &["sv"], &path);
    let r = Reaper::new(rsd);
    eventually!(T, s.read("rsd.err").contains("unable to stat sv: file does not exist"), "warned");
    service(&s, "stage/a");
    std::fs::rename(s.join("stage"), s.join("sv")).unwrap();
    eventually!(T, runsv_named(rsd, "a").len() == 1, "service of the late directory started");
    r.scan();
}

#[test]
fn runsv_missing_from_path() {
    let mut s = Scratch::new("rsd-nopath");
    service(&s, "sv/a");
    let rsd = start_runsvdir(&mut s, &["sv"], "/nonexistent");
    let _r = Reaper::new(rsd);
    eventually!(
        T,
        s.read("rsd.err").contains("runsvdir sv: fatal: unable to start runsv a: file does not exist\n"),
        "{:?}",
        s.read("rsd.err")
    );
    assert!(alive(rsd as i32));
}

#[test]
fn thousand_services_up_and_down() {
    let mut s = Scratch::new("rsd-1000");
    let n = 1000;
    // One script (written the ETXTBSY-proof way), hard-linked into every service.
    let proto = s.write("proto-run", "#!/bin/sh\nexec sleep 1000\n", 0o755);
    for i in 0..n {
        std::fs::create_dir_all(s.join(&format!("sv/s{i:04}"))).unwrap();
        std::fs::hard_link(&proto, s.join(&format!("sv/s{i:04}/run"))).unwrap();
    }
    let path = test_path(&s);
    let t0 = Instant::now();
    let rsd = start_runsvdir(&mut s, &["-P", "sv"], &path);
    let r = Reaper::new(rsd);
    let up = poll_until(Duration::from_secs(40), || runsvs(rsd).len() == n);
    r.scan();
    assert!(up, "all {n} runsv up: {}", runsvs(rsd).len());
    eprintln!("1000 runsv up in {:?}", t0.elapsed());
    assert!(!s.read("rsd.err").contains("too many"), "{}", s.read("rsd.err"));
    // One more is past runit's cap: warned about, never started.
    service(&s, "sv/zzextra");
    eventually!(T, s.read("rsd.err").contains("runsvdir sv: warning: unable to start runsv zzextra: too many services.\n"), "cap warned");
    let pids: Vec<i32> = runsvs(rsd).into_iter().map(|(p, _)| p).collect();
    let t1 = Instant::now();
    for i in 0..n {
        std::fs::remove_dir_all(s.join(&format!("sv/s{i:04}"))).unwrap();
    }
    let down = poll_until(Duration::from_secs(40), || pids.iter().all(|&p| !alive(p)));
    assert!(down, "all runsv stopped");
    eprintln!("1000 runsv down in {:?}", t1.elapsed());
    eventually!(T, runsv_named(rsd, "zzextra").len() == 1, "room again: the extra service starts");
    r.scan();
}

#[test]
fn descriptor_limit_is_warned_not_fatal() {
    let mut s = Scratch::new("rsd-emfile");
    service(&s, "sv/a");
    let path = test_path(&s);
    let err = std::fs::File::create(s.join("rsd.err")).unwrap();
    let mut cmd = Command::new("sh");
    // fds 0-2, the signal eventfd, inotify: nothing left for the scan (with 6 it works:
    // tests/tests/hardening.rs).
    cmd.args(["-c", &format!("ulimit -n 5 && exec {} sv", bin("runsvdir").display())])
        .current_dir(&s.path)
        .env("PATH", &path)
        .stdin(std::process::Stdio::null())
        .stderr(err);
    let rsd = s.spawn(cmd);
    let _r = Reaper::new(rsd);
    eventually!(
        T,
        s.read("rsd.err").contains("runsvdir sv: warning: unable to open directory sv: process cannot open more files\n"),
        "{:?}",
        s.read("rsd.err")
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(rsd as i32), "no crash at the fd limit");
}

#[test]
fn process_limit_is_warned_and_retried() {
    let have = |c: &str| Command::new(c).arg("--version").stdout(std::process::Stdio::null()).status().is_ok();
    if !have("setpriv") || !have("prlimit") {
        e2e::skip("process_limit_is_warned_and_retried", e2e::Prerequisite::SetprivPrlimit, "setpriv or prlimit missing");
        return;
    }
    let mut s = Scratch::new("rsd-nproc");
    for n in ["a", "b", "c"] {
        std::fs::create_dir_all(s.join(&format!("sv/{n}"))).unwrap();
    }
    // A stand-in runsv (nobody cannot create supervise/ in root's directories).
    s.script("fakebin/runsv", "exec sleep 1000");
    let err = std::fs::File::create(s.join("rsd.err")).unwrap();
    // A uid of its own (no other test uses it): the limit counts only our processes, once
    // the zombies of an earlier run are gone.
    let uid = "54329";
    let uid_procs = || {
        all_pids()
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/status"))
                    .is_ok_and(|st| st.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(uid)))
            })
            .count()
    };
    assert!(poll_until(Duration::from_secs(10), || uid_procs() == 0), "processes of uid {uid} left over");
    let mut cmd = Command::new("setpriv");
    // With at most 3 processes: runsvdir and two runsv; the third fork fails.
    cmd.args([&format!("--reuid={uid}")[..], &format!("--regid={uid}"), "--clear-groups", "prlimit", "--nproc=3:3"])
        .arg(bin("runsvdir"))
        .arg("sv")
        .current_dir(&s.path)
        .env("PATH", format!("{}:/usr/bin:/bin", s.join("fakebin").display()))
        .stdin(std::process::Stdio::null())
        .stderr(err);
    let rsd = s.spawn(cmd);
    let r = Reaper::new(rsd);
    eventually!(T, s.read("rsd.err").contains(": temporary failure\n"), "fork failure warned: {:?}", s.read("rsd.err"));
    assert!(s.read("rsd.err").starts_with("runsvdir sv: warning: unable to fork for "), "{:?}", s.read("rsd.err"));
    r.scan();
    assert!(alive(rsd as i32), "no crash at the process limit");
    eventually!(T, descendants(rsd as i32).len() == 2, "the other services are unaffected");
    // The failed fork is retried at later looks (runit would wait for a directory change).
    eventually!(T, s.read("rsd.err").matches("unable to fork for").count() >= 2, "retried: {:?}", s.read("rsd.err"));
    // A runsv that dies frees a slot: the set is refilled to the limit.
    let victim = descendants(rsd as i32)[0];
    // SAFETY: kill by pid of a fake runsv started by this test's runsvdir.
    unsafe { libc::kill(victim, libc::SIGKILL) };
    eventually!(
        T,
        {
            let d = descendants(rsd as i32);
            d.len() == 2 && !d.contains(&victim)
        },
        "refilled"
    );
    r.scan();
}

/// Keeps `Path` in use for helpers above on every platform.
#[allow(dead_code)]
fn _unused(_: &Path) {}
