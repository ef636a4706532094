//! End-to-end tests of the robustness fixes found by adversarial testing (issue 11,
//! "Hardening"; docs/divergences.md): stray signals, links where runsv and svlogd
//! write, svlogd stopped during a disk-full pause, runsvdir at a tight descriptor limit.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{alive, bin, eventually, Scratch};

const LIMIT: Duration = Duration::from_secs(10);

fn ppid_of(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// Live children of `parent` whose argv is `argv0 arg1`.
fn children_named(parent: i32, argv0: &str, arg1: &str) -> Vec<i32> {
    let Ok(d) = std::fs::read_dir("/proc") else { return Vec::new() };
    d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| ppid_of(p) == Some(parent) && alive(p))
        .filter(|&p| {
            let c = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let mut parts = c.split(|&b| b == 0);
            parts.next() == Some(argv0.as_bytes()) && parts.next() == Some(arg1.as_bytes())
        })
        .collect()
}

/// A PATH whose first element holds `runsv` (a link to ours).
fn runsv_path(s: &Scratch) -> String {
    let d = s.join("pathbin");
    std::fs::create_dir_all(&d).unwrap();
    let link = d.join("runsv");
    if !link.exists() {
        std::os::unix::fs::symlink(bin("runsv"), &link).unwrap();
    }
    format!("{}:/usr/bin:/bin", d.display())
}

fn read_pid(path: &Path) -> i32 {
    std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// Every signal whose default action ends a process and that can be caught, except the
/// fault signals (SEGV, BUS, FPE, ILL, ABRT), TERM, and those in `except`.
fn stray_signals(except: &[i32]) -> Vec<i32> {
    let mut v = vec![
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTRAP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGSTKFLT,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGSYS,
    ];
    // Every real-time signal, glibc's reserved 32 and 33 included.
    v.extend(32..=libc::SIGRTMAX());
    v.retain(|s| !except.contains(s));
    v
}

fn kill(pid: i32, sig: i32) {
    assert!(pid > 0);
    // SAFETY: signalling a process this test started (directly or below its runsvdir).
    unsafe { libc::kill(pid, sig) };
}

/// runsvdir → runsv → (service, svlogd): every stray signal to each of the three
/// supervising processes; all survive, the service keeps running under the same runsv,
/// and each still does its job afterwards.
#[test]
fn stray_signals_kill_no_supervisor_nor_svlogd() {
    let mut s = Scratch::new("harden-strays");
    s.script("sv/a/run", "trap 'echo alarm' ALRM\necho \"start $$\"\nwhile :; do sleep 0.05; done");
    std::fs::create_dir_all(s.join("sv/a/log/main")).unwrap();
    s.script("sv/a/log/run", &format!("exec {} main", bin("svlogd").display()));
    let path = runsv_path(&s);
    let err = std::fs::File::create(s.join("rsd.err")).unwrap();
    let mut cmd = Command::new(bin("runsvdir"));
    cmd.arg("sv").current_dir(&s.path).env("PATH", &path).stdin(Stdio::null()).stdout(Stdio::null()).stderr(err);
    let rsd = s.spawn(cmd) as i32;
    let current = s.join("sv/a/log/main/current");
    let logged = |what: &str| std::fs::read_to_string(&current).unwrap_or_default().contains(what);
    eventually!(LIMIT, read_pid(&s.join("sv/a/supervise/pid")) > 0 && read_pid(&s.join("sv/a/log/supervise/pid")) > 0, "not up");
    let service = read_pid(&s.join("sv/a/supervise/pid"));
    let svlogd = read_pid(&s.join("sv/a/log/supervise/pid"));
    s.adopt(service);
    s.adopt(svlogd);
    eventually!(LIMIT, logged(&format!("start {service}\n")), "service line not logged");
    let runsv = children_named(rsd, "runsv", "a");
    assert_eq!(runsv.len(), 1, "one runsv for a");
    let runsv = runsv[0];
    s.adopt(runsv);

    for sig in stray_signals(&[]) {
        kill(runsv, sig);
    }
    // HUP (stop every runsv and exit) and ALRM (rescan) keep runit's meaning.
    for sig in stray_signals(&[libc::SIGHUP, libc::SIGALRM]) {
        kill(rsd, sig);
    }
    // INT and QUIT keep their default for svlogd (^C and ^\ from a terminal); HUP and
    // ALRM keep runit's meaning (reopen, rotate).
    for sig in stray_signals(&[libc::SIGINT, libc::SIGQUIT, libc::SIGHUP, libc::SIGALRM]) {
        kill(svlogd, sig);
    }

    // runsv still serves its control FIFO, the service gets the ALRM and svlogd logs
    // its answer: all three did their work after the signals reached them.
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(s.join("sv/a/supervise/control"))
            .expect("runsv is gone");
        f.write_all(b"a").unwrap();
    }
    eventually!(LIMIT, logged("alarm\n"), "runsv or svlogd stopped working: {:?}", std::fs::read_to_string(&current));
    // runsvdir still scans: a new service is started.
    s.script("sv/b/run", &format!("echo ok > {}\nexec sleep 1000", s.join("b.started").display()));
    eventually!(LIMIT, s.join("b.started").exists(), "runsvdir stopped working");
    for p in children_named(rsd, "runsv", "b") {
        s.adopt(p);
        s.adopt(read_pid(&s.join("sv/b/supervise/pid")));
    }
    assert!(alive(rsd), "runsvdir died");
    assert!(alive(runsv), "runsv died");
    assert!(alive(svlogd), "svlogd died");
    assert!(alive(service), "the service died");
    assert_eq!(read_pid(&s.join("sv/a/supervise/pid")), service, "the service was restarted");
    assert_eq!(ppid_of(service), Some(runsv), "the service is still runsv's child");
    assert_eq!(children_named(rsd, "runsv", "a"), [runsv], "runsvdir started a second runsv for a");
    // What the service inherited is what runit gives: no signal blocked, and none of
    // the strays ignored (runsv catches them, or ignores 32 and 33, only for itself).
    // The service is a shell that blocks every signal for a moment around each fork, so
    // its blocked mask is read until it shows the mask it runs with (an inherited block
    // would never clear).
    let read_status = || std::fs::read_to_string(format!("/proc/{service}/status")).unwrap();
    let mask_of =
        |status: &str, name: &str| status.lines().find_map(|l| l.strip_prefix(name)).and_then(|m| u64::from_str_radix(m.trim(), 16).ok());
    eventually!(LIMIT, mask_of(&read_status(), "SigBlk:") == Some(0), "the service inherited blocked signals: {}", read_status());
    let status = read_status();
    let mask = |name: &str| mask_of(&status, name);
    let ignored = mask("SigIgn:").expect("SigIgn");
    // Except what this test process itself passes down ignored (e.g. signal 32 in a
    // threaded test binary): under runit a service inherits that too.
    let own = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let passed_down = own.lines().find_map(|l| l.strip_prefix("SigIgn:")).and_then(|m| u64::from_str_radix(m.trim(), 16).ok()).unwrap_or(0);
    let leaked: Vec<i32> = stray_signals(&[]).into_iter().filter(|&s| ignored & !passed_down & (1u64 << (s - 1)) != 0).collect();
    assert!(leaked.is_empty(), "the service inherited ignored signals {leaked:?}: {status}");
    kill(rsd, libc::SIGHUP);
}

/// A file that must not change, with its mode.
fn victim(s: &Scratch, rel: &str) -> std::path::PathBuf {
    s.write(rel, "victim\n", 0o644)
}

fn unchanged(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0);
    std::fs::read_to_string(p).unwrap_or_default() == "victim\n" && mode == 0o644
}

/// runsv never writes through a link planted at `supervise/{pid,stat,status}.new`: the
/// write fails, runsv says so on stderr, the files pointed to are untouched, and the
/// service is supervised all the same.
#[test]
fn runsv_never_writes_status_through_a_link() {
    let mut s = Scratch::new("harden-runsv-links");
    s.script("s/run", &format!("echo $$ > {}\nexec sleep 1000", s.join("svc.pid").display()));
    std::fs::create_dir_all(s.join("s/supervise")).unwrap();
    let mut victims = Vec::new();
    for name in ["pid", "stat", "status"] {
        let v = victim(&s, &format!("victim.{name}"));
        std::os::unix::fs::symlink(&v, s.join(&format!("s/supervise/{name}.new"))).unwrap();
        victims.push(v);
    }
    let runsv = s.start("runsv", &["s"], "runsv") as i32;
    eventually!(LIMIT, read_pid(&s.join("svc.pid")) > 0, "service not started");
    s.adopt(read_pid(&s.join("svc.pid")));
    eventually!(
        LIMIT,
        s.read("runsv.err").contains("runsv s: warning: unable to open supervise/pid.new: symbolic link loop\n"),
        "no warning: {:?}",
        s.read("runsv.err")
    );
    for v in &victims {
        assert!(unchanged(v), "{} was written through the link", v.display());
    }
    // Once the link is gone the files are written again.
    std::fs::remove_file(s.join("s/supervise/pid.new")).unwrap();
    std::fs::remove_file(s.join("s/supervise/stat.new")).unwrap();
    std::fs::remove_file(s.join("s/supervise/status.new")).unwrap();
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(s.join("s/supervise/control")).unwrap();
        f.write_all(b"d").unwrap();
    }
    eventually!(LIMIT, s.read("s/supervise/stat") == "down\n", "status not written after the links went away");
    assert!(alive(runsv));
    for v in &victims {
        assert!(unchanged(v), "{} was written through the link", v.display());
    }
}

/// svlogd never appends to (nor chmods) a file a `current` link points to: it says so
/// in runit's warning format and leaves that directory alone.
#[test]
fn svlogd_never_follows_a_current_link() {
    let s = Scratch::new("harden-svlogd-link");
    std::fs::create_dir_all(s.join("bad")).unwrap();
    std::fs::create_dir_all(s.join("good")).unwrap();
    let v = victim(&s, "victim");
    std::os::unix::fs::symlink(&v, s.join("bad/current")).unwrap();
    let mut cmd = Command::new(bin("svlogd"));
    cmd.args(["bad", "good"]).current_dir(&s.path).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    e2e::default_signals(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"line one\nline two\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("svlogd: warning: unable to stat current: bad: symbolic link loop\n"), "{err}");
    assert!(unchanged(&v), "the link's target was appended to or chmod'ed");
    assert_eq!(s.read("good/current"), "line one\nline two\n");
    // With the link as the only directory there is nothing to log to: runit's fatal line.
    let mut cmd = Command::new(bin("svlogd"));
    cmd.arg("bad").current_dir(&s.path).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(111));
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("svlogd: fatal: no functional log directories.\n"));
    assert!(unchanged(&v));
}

/// svlogd on a full disk (a 64 KiB tmpfs in a mount namespace of its own) pauses as
/// runit does; SIGTERM then makes it try once more and exit, reporting the bytes it
/// could not write, instead of ignoring SIGTERM until space comes back.
#[test]
fn svlogd_on_a_full_disk_exits_on_sigterm() {
    let have_unshare = Command::new("unshare").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !have_unshare {
        e2e::skip("svlogd_on_a_full_disk_exits_on_sigterm", e2e::Prerequisite::MountNamespace, "no unshare(1)");
        return;
    }
    let s = Scratch::new("harden-svlogd-full");
    let mnt = s.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=64k harden-full {m} && mkdir {m}/log && exec {svlogd} {m}/log",
        m = mnt.display(),
        svlogd = bin("svlogd").display()
    );
    let err = std::fs::File::create(s.join("svlogd.err")).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(err);
    e2e::default_signals(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as i32; // unshare and sh exec: this pid becomes svlogd
    let mut stdin = child.stdin.take().unwrap();
    // 400 KiB of lines: far more than the file system holds. The writer blocks once
    // svlogd stops reading, and ends with EPIPE when it exits.
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let line = [b'x'; 99];
        for _ in 0..4096 {
            if stdin.write_all(&line).and_then(|_| stdin.write_all(b"\n")).is_err() {
                return;
            }
        }
    });
    let paused = e2e::poll_until(LIMIT, || s.read("svlogd.err").contains("svlogd: pausing: unable to write to current: "));
    if !paused && s.read("svlogd.err").contains("mount") {
        let _ = child.kill();
        let _ = child.wait();
        e2e::skip(
            "svlogd_on_a_full_disk_exits_on_sigterm",
            e2e::Prerequisite::MountNamespace,
            &format!("cannot mount a tmpfs: {}", s.read("svlogd.err")),
        );
        return;
    }
    assert!(paused, "svlogd did not pause on the full disk: {:?}", s.read("svlogd.err"));
    assert!(s.read("svlogd.err").ends_with(": out of disk space\n"), "{:?}", s.read("svlogd.err"));
    kill(pid, libc::SIGTERM);
    let deadline = std::time::Instant::now() + LIMIT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = writer.join();
    let err = s.read("svlogd.err");
    let status = status.unwrap_or_else(|| panic!("svlogd ignored SIGTERM while paused: {err:?}"));
    assert_eq!(status.code(), Some(0), "{err:?}");
    let log = format!("{}/log", mnt.display());
    assert!(err.contains(&format!("svlogd: warning: unable to write to current: {log}: out of disk space\n")), "{err:?}");
    assert!(err.contains(" bytes after sigterm: ") && err.ends_with(&format!("{log}\n")), "{err:?}");
}

/// Starts runsvdir on `sv` with `RLIMIT_NOFILE` = `limit` and nothing open beyond 0-2
/// (set in the child, between fork and exec), `PATH` leading to the stand-in runsv.
fn runsvdir_limited(s: &mut Scratch, limit: u64, extra: &[&str]) -> i32 {
    use std::os::unix::process::CommandExt;
    let err = std::fs::File::create(s.join("rsd.err")).unwrap();
    let mut cmd = Command::new(bin("runsvdir"));
    cmd.arg("sv")
        .args(extra)
        .current_dir(&s.path)
        .env("PATH", format!("{}:/usr/bin:/bin", s.join("fakebin").display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            let rl = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    s.spawn(cmd) as i32
}

/// runsvdir needs 6 descriptors (7 with a log argument) to start its services; runit's
/// needs 9 and below that starts nothing. With fewer it says why, in runit's format.
/// The runsv it starts is a stand-in (a perl script: /bin/sh itself wants fd 10) that
/// records its argument and pid.
#[test]
fn runsvdir_starts_services_at_a_tight_descriptor_limit() {
    if !Path::new("/usr/bin/perl").exists() {
        e2e::skip(
            "runsvdir_starts_services_at_a_tight_descriptor_limit",
            e2e::Prerequisite::Perl,
            "no /usr/bin/perl for the stand-in runsv",
        );
        return;
    }
    for (limit, extra) in [(6u64, &[][..]), (7, &["log: ................"][..])] {
        let mut s = Scratch::new("harden-rsd-nofile");
        std::fs::create_dir_all(s.join("sv/a")).unwrap();
        let started = s.join("started");
        s.write(
            "fakebin/runsv",
            &format!(
                "#!/usr/bin/perl\nopen(my $f, '>>', '{}') or die; print $f \"$$ $ARGV[0]\\n\"; close $f; sleep 1000;\n",
                started.display()
            ),
            0o755,
        );
        let rsd = runsvdir_limited(&mut s, limit, extra);
        let ok = e2e::poll_until(LIMIT, || s.read("started").ends_with(" a\n"));
        if let Some(pid) = s.read("started").split_whitespace().next().and_then(|p| p.parse().ok()) {
            s.adopt(pid);
        }
        assert!(ok, "limit {limit} {extra:?}: runsv a not started: {:?}", s.read("rsd.err"));
        assert!(alive(rsd));
    }
    // Below that: runit's warning, which names the cause.
    let mut s = Scratch::new("harden-rsd-nofile-5");
    std::fs::create_dir_all(s.join("sv/a")).unwrap();
    s.script("fakebin/runsv", "exec sleep 1000");
    let rsd = runsvdir_limited(&mut s, 5, &[]);
    eventually!(
        LIMIT,
        s.read("rsd.err").contains("runsvdir sv: warning: unable to open directory sv: process cannot open more files\n"),
        "{:?}",
        s.read("rsd.err")
    );
    assert!(alive(rsd));
}
