//! Interop with the reference tools: runit's own `sv` drives our `runsv`, daemontools'
//! `svstat`/`svc`/`svok` work against it, and our `runsv` leaves the same files, modes and
//! status bytes as runit's `runsv` for the same command sequence.
//!
//! The reference binaries come from Debian's `runit` and `daemontools` packages, fetched
//! with `apt-get download` and unpacked with `dpkg -x` into a cache (never installed). If
//! they cannot be fetched, each test records a skip (`e2e::skip`; `.ci/run` counts them and
//! fails in CI) and asserts nothing about them (the rest of the suite covers our side).

use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e::{eventually, Prerequisite, Scratch};

const LIMIT: Duration = Duration::from_secs(5);

fn oracle_bin(pkg: &str, name: &str) -> Option<PathBuf> {
    let root = e2e::oracle(pkg)?;
    ["usr/bin", "sbin", "usr/sbin", "bin"].iter().map(|d| root.join(d).join(name)).find(|p| p.exists())
}

/// Records the skip of `test` for want of Debian's `pkg` (see [`e2e::skip`]).
fn skip(test: &str, pkg: &str) {
    let need = if pkg == "daemontools" { Prerequisite::DebianDaemontools } else { Prerequisite::DebianRunit };
    e2e::skip(test, need, &format!("apt-get download {pkg} failed"));
}

fn run_tool(tool: &Path, args: &[&str], cwd: &Path) -> (i32, String) {
    let out = Command::new(tool).args(args).current_dir(cwd).env("SVDIR", cwd).output().expect("run tool");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

fn stat(sc: &Scratch, svc: &str) -> String {
    sc.read(&format!("{svc}/supervise/stat"))
}

fn send(sc: &Scratch, svc: &str, bytes: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(sc.join(&format!("{svc}/supervise/control")))
        .expect("control");
    f.write_all(bytes.as_bytes()).unwrap();
}

fn adopt_services(sc: &mut Scratch, svcs: &[&str]) {
    for s in svcs {
        for rel in ["supervise/pid", "log/supervise/pid"] {
            if let Ok(p) = sc.read(&format!("{s}/{rel}")).trim().parse::<i32>() {
                sc.adopt(p);
            }
        }
    }
}

#[test]
fn runit_sv_drives_our_runsv() {
    let Some(sv) = oracle_bin("runit", "sv") else { return skip("runit_sv_drives_our_runsv", "runit") };
    let mut sc = Scratch::new("interop-sv");
    sc.script("s/run", "exec sleep 100");
    sc.script("s/log/run", "exec cat > /dev/null");
    sc.start("runsv", &["s"], "runsv");
    // runsv renames `stat` into place before `status` (as runit does): a reader that saw
    // `stat` say run may still read the previous 20 bytes, so wait for what sv reads.
    eventually!(LIMIT, stat(&sc, "s") == "run\n" && sc.read("s/log/supervise/stat") == "run\n", "not up");
    eventually!(LIMIT, run_tool(&sv, &["status", "./s"], &sc.path).1.contains("; run: log: (pid "), "status not up");
    let (code, out) = run_tool(&sv, &["status", "./s"], &sc.path);
    assert_eq!(code, 0);
    let re_ok = out.starts_with("run: ./s: (pid ") && out.contains("; run: log: (pid ") && out.ends_with("s\n");
    assert!(re_ok, "status line: {out:?}");
    let (code, out) = run_tool(&sv, &["-w", "3", "down", "./s"], &sc.path);
    assert_eq!((code, out.starts_with("ok: down: ./s: ")), (0, true), "{out}");
    assert!(out.ends_with(", normally up\n"), "{out}");
    let (code, out) = run_tool(&sv, &["-w", "3", "up", "./s"], &sc.path);
    assert_eq!((code, out.starts_with("ok: run: ./s: (pid ")), (0, true), "{out}");
    let (code, out) = run_tool(&sv, &["-w", "3", "pause", "./s"], &sc.path);
    assert!(code == 0 && out.ends_with(", paused\n"), "{out}");
    let (code, _) = run_tool(&sv, &["cont", "./s"], &sc.path);
    assert_eq!(code, 0);
    let (code, out) = run_tool(&sv, &["restart", "./s"], &sc.path);
    assert!(code == 0 && out.starts_with("ok: run: ./s: (pid "), "{out}");
    // runit's sv may report the restart before it happened (its whole-second check, the
    // race ours fixes), and runsv then throttles the quick restart: wait for it to run.
    eventually!(
        LIMIT,
        run_tool(&sv, &["status", "s"], &sc.path).1.starts_with("run: s: (pid "),
        "SVDIR resolution: {}",
        run_tool(&sv, &["status", "s"], &sc.path).1
    );
    adopt_services(&mut sc, &["s"]);
    let (code, out) = run_tool(&sv, &["-w", "5", "exit", "./s"], &sc.path);
    assert_eq!((code, out.as_str()), (0, "ok: ./s: runsv not running\n"));
    let (code, out) = run_tool(&sv, &["status", "./s"], &sc.path);
    assert_eq!((code, out.as_str()), (1, "fail: ./s: runsv not running\n"));
}

#[test]
fn daemontools_tools_work_against_our_runsv() {
    let (Some(svstat), Some(svc), Some(svok)) =
        (oracle_bin("daemontools", "svstat"), oracle_bin("daemontools", "svc"), oracle_bin("daemontools", "svok"))
    else {
        return skip("daemontools_tools_work_against_our_runsv", "daemontools");
    };
    let mut sc = Scratch::new("interop-dt");
    sc.script("d/run", "exec sleep 100");
    sc.start("runsv", &["d"], "runsv");
    eventually!(LIMIT, stat(&sc, "d") == "run\n", "not up");
    // `stat` is renamed into place before `status` (runit's order): wait for what svstat reads.
    eventually!(LIMIT, run_tool(&svstat, &["d"], &sc.path).1.starts_with("d: up (pid "), "status not up");
    let (code, out) = run_tool(&svstat, &["d"], &sc.path);
    assert!(code == 0 && out.starts_with("d: up (pid ") && out.ends_with(" seconds\n"), "{out}");
    assert_eq!(run_tool(&svok, &["d"], &sc.path).0, 0);
    run_tool(&svc, &["-d", "d"], &sc.path);
    eventually!(
        LIMIT,
        run_tool(&svstat, &["d"], &sc.path).1.ends_with("seconds, normally up\n"),
        "svc -d had no effect: {}",
        run_tool(&svstat, &["d"], &sc.path).1
    );
    assert!(run_tool(&svstat, &["d"], &sc.path).1.starts_with("d: down "));
    run_tool(&svc, &["-u", "d"], &sc.path);
    eventually!(LIMIT, stat(&sc, "d") == "run\n", "svc -u had no effect");
    eventually!(LIMIT, run_tool(&svstat, &["d"], &sc.path).1.starts_with("d: up (pid "), "status not up");
    run_tool(&svc, &["-p", "d"], &sc.path);
    eventually!(LIMIT, run_tool(&svstat, &["d"], &sc.path).1.ends_with(", paused\n"), "svc -p had no effect");
    run_tool(&svc, &["-c", "d"], &sc.path);
    adopt_services(&mut sc, &["d"]);
    // `-d -x`, in this order: runsv's want is one value, so a `d` after the `x` would
    // cancel the exit (daemontools' supervise keeps them as separate flags).
    run_tool(&svc, &["-d", "-x", "d"], &sc.path);
    eventually!(LIMIT, run_tool(&svok, &["d"], &sc.path).0 == 100, "svok still says running after svc -x");
}

/// Everything a reader can see in `supervise/`, minus what differs by nature (stamps, pids).
fn observe(sc: &Scratch, svc: &str) -> Vec<String> {
    let dir = sc.join(&format!("{svc}/supervise"));
    // Transient `x.new` files exist only between a write and its rename.
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| !n.ends_with(".new")).collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let Ok(md) = std::fs::symlink_metadata(dir.join(&n)) else { continue };
        out.push(format!("{n} mode {:o} size {}", md.mode(), if n == "pid" { (md.len() > 0) as u64 } else { md.len() }));
    }
    out.push(format!("stat {:?}", sc.read(&format!("{svc}/supervise/stat"))));
    let status = std::fs::read(dir.join("status")).unwrap_or_else(|_| vec![0; 20]);
    out.push(format!("status flags {:?} pid>0 {}", &status[16..20], status[12..16] != [0, 0, 0, 0]));
    out
}

#[test]
fn our_runsv_leaves_the_same_files_as_runits() {
    let Some(their_runsv) = oracle_bin("runit", "runsv") else { return skip("our_runsv_leaves_the_same_files_as_runits", "runit") };
    let mut sc = Scratch::new("interop-files");
    for s in ["ours", "theirs"] {
        sc.script(&format!("{s}/run"), "trap 'exit 0' TERM; while :; do sleep 0.05; done");
        sc.script(&format!("{s}/log/run"), "exec cat > /dev/null");
    }
    sc.start("runsv", &["ours"], "ours");
    let mut cmd = Command::new(&their_runsv);
    cmd.arg("theirs").current_dir(&sc.path);
    sc.spawn(cmd);
    // Each step: the same bytes to both, then wait until both settle on the expected stat.
    let steps: &[(&str, &str)] = &[
        ("", "run\n"),
        ("p", "run, paused\n"),
        ("c", "run\n"),
        ("d", "down\n"),
        ("p", "down, paused\n"),
        ("u", "run\n"),
        ("o", "run, want down\n"),
        ("t", "down\n"),
    ];
    for (bytes, want) in steps {
        for s in ["ours", "theirs"] {
            if !bytes.is_empty() {
                send(&sc, s, bytes);
            }
        }
        for s in ["ours", "theirs"] {
            eventually!(
                LIMIT,
                stat(&sc, s) == *want && observe(&sc, s).last().is_some_and(|l| l.contains("flags")),
                "{s} after {bytes:?}: {:?}",
                stat(&sc, s)
            );
        }
        // status is written after stat; give both a moment to finish the update.
        eventually!(
            LIMIT,
            observe(&sc, "ours") == observe(&sc, "theirs"),
            "after {bytes:?}:\nours   {:?}\ntheirs {:?}",
            observe(&sc, "ours"),
            observe(&sc, "theirs")
        );
        let log_ours = sc.read("ours/log/supervise/stat");
        assert_eq!(log_ours, sc.read("theirs/log/supervise/stat"));
    }
    adopt_services(&mut sc, &["ours", "theirs"]);
    for s in ["ours", "theirs"] {
        send(&sc, s, "x");
    }
}
