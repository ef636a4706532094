//! runit-init as a user runs it: usage, `-V`, `0`/`6` setting the flag files (inside a
//! PID namespace whose PID 1 is a shell, so the SIGCONT never reaches the host's init),
//! error messages, and exec'ing runit when it is PID 1.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use e2e::{bin, Scratch};

fn mode(p: &std::path::Path) -> Option<u32> {
    fs::metadata(p).ok().map(|m| m.permissions().mode() & 0o7777)
}

/// Runs `runit-init <arg>` inside a fresh PID namespace whose PID 1 is `sh` (which
/// ignores SIGCONT). Returns (code, stderr).
fn init_in_ns(root: &std::path::Path, arg: &str) -> (i32, String) {
    let out = Command::new("timeout")
        .args(["-s", "KILL", "10", "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "/bin/sh", "-c"])
        .arg(format!("'{}' {arg}; echo rc=$? >&2", bin("runit-init").display()))
        .env("RUNIT_ROOT", root)
        .stdin(Stdio::null())
        .output()
        .expect("unshare");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = err.lines().find_map(|l| l.strip_prefix("rc=")).and_then(|c| c.trim().parse().ok()).unwrap_or(-1);
    (code, err.lines().filter(|l| !l.starts_with("rc=")).map(|l| format!("{l}\n")).collect())
}

#[test]
fn runit_init_usage_exit0() {
    let s = Scratch::new("init-usage");
    let (code, out, err) = e2e::run("runit-init", &[], &s.path, &[("RUNIT_ROOT", s.path.to_str().unwrap())]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(err, format!("usage: {} 0|6\n\n", bin("runit-init").display()));
    let (code, _, err) = e2e::run("runit-init", &["5"], &s.path, &[("RUNIT_ROOT", s.path.to_str().unwrap())]);
    assert_eq!(code, 0);
    assert!(err.starts_with("usage: "), "{err}");
    let (code, _, err) = e2e::run("runit-init", &["-V"], &s.path, &[("RUNIT_ROOT", s.path.to_str().unwrap())]);
    assert_eq!(code, 0);
    let mut lines = err.lines();
    let v = lines.next().unwrap_or("");
    assert!(v.starts_with("$Id: ") && v.ends_with(" $") && v.len() == 47, "{v:?}");
    // runit-init's strerr_warn1("$Id$\n") ends the id with a blank line, then the usage.
    assert_eq!(lines.next(), Some(""), "{err}");
    assert!(lines.next().unwrap_or("").starts_with("usage: "), "{err}");
}

#[test]
fn runit_init_0_and_6_set_flags() {
    let s = Scratch::new("init-flags");
    fs::create_dir_all(s.join("run")).unwrap();
    // 6: both flags created with mode 0100.
    let (code, err) = init_in_ns(&s.path, "6");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(mode(&s.join("run/runit.stopit")), Some(0o100));
    assert_eq!(mode(&s.join("run/runit.reboot")), Some(0o100));
    // 0 (only the first byte matters): stopit 0100, reboot 0.
    let (code, err) = init_in_ns(&s.path, "0abc");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(mode(&s.join("run/runit.stopit")), Some(0o100));
    assert_eq!(mode(&s.join("run/runit.reboot")), Some(0));
    // 0 with no reboot file at all is fine.
    fs::remove_file(s.join("run/runit.reboot")).unwrap();
    let (code, _) = init_in_ns(&s.path, "0");
    assert_eq!(code, 0);
    assert_eq!(mode(&s.join("run/runit.reboot")), None);
}

#[test]
fn runit_init_create_failure() {
    let s = Scratch::new("init-nodir");
    // No run/ directory: the stop flag cannot be created.
    let (code, err) = init_in_ns(&s.path, "0");
    assert_eq!(code, 111);
    assert_eq!(err, format!("init: fatal: unable to create {}/run/runit.stopit: file does not exist\n", s.path.display()));
}

#[test]
fn runit_init_as_pid1_execs_runit() {
    let s = Scratch::new("init-pid1");
    fs::create_dir_all(s.join("sbin")).unwrap();
    fs::create_dir_all(s.join("etc/runit")).unwrap();
    fs::write(s.join("etc/runit/nosync"), "").unwrap();
    std::os::unix::fs::symlink(bin("runit"), s.join("sbin/runit")).unwrap();
    let out = Command::new("timeout")
        .args(["-s", "KILL", "20", "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"])
        .arg(bin("runit-init"))
        .env("RUNIT_ROOT", &s.path)
        .env("RUNIT_CONTAINER", "0")
        .stdin(Stdio::null())
        .output()
        .expect("unshare");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(130) || out.status.signal() == Some(libc::SIGINT), "{:?} {err}", out.status);
    assert!(err.contains(": booting.\n"), "{err}");
    assert!(err.contains("- runit: power off...\n"), "{err}");
    // Missing sbin/runit: runit-init's own fatal message, 111.
    fs::remove_file(s.join("sbin/runit")).unwrap();
    let out = Command::new("timeout")
        .args(["-s", "KILL", "10", "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"])
        .arg(bin("runit-init"))
        .env("RUNIT_ROOT", &s.path)
        .stdin(Stdio::null())
        .output()
        .expect("unshare");
    assert_eq!(out.status.code(), Some(111));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "init: fatal: unable to start runit: file does not exist\n");
}
