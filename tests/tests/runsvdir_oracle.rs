//! Side-by-side checks of our runsvdir against Debian's runit 2.1.2 runsvdir (the
//! oracle): same usage text, same runsv set and same warnings for a tricky directory.
//! Skipped (with a message) when the oracle cannot be downloaded.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{bin, poll_until, Scratch};

fn oracle_runsvdir(test: &str) -> Option<std::path::PathBuf> {
    let r = e2e::oracle_or_skip(test)?;
    Some(r.join("usr/bin/runsvdir"))
}

/// Runs `prog` as `runsvdir` (argv[0]) via PATH with `args`; returns (code, stderr).
fn run_as_runsvdir(prog: &Path, args: &[&str], cwd: &Path) -> (i32, String) {
    let d = cwd.join(format!("as-{}", prog.to_string_lossy().len()));
    std::fs::create_dir_all(&d).unwrap();
    let link = d.join("runsvdir");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(prog, &link).unwrap();
    let out = Command::new("runsvdir").args(args).current_dir(cwd).env("PATH", &d).stdin(Stdio::null()).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn usage_matches_oracle() {
    let Some(oracle) = oracle_runsvdir("usage_matches_oracle") else { return };
    let s = Scratch::new("rsdo-usage");
    for args in [&[][..], &["-P"][..], &["-Pxyz"][..]] {
        assert_eq!(run_as_runsvdir(&bin("runsvdir"), args, &s.path), run_as_runsvdir(&oracle, args, &s.path), "args {args:?}");
    }
}

fn tricky_layout(s: &Scratch) {
    for name in ["sv/a", "sv/.hidden", "store/x"] {
        s.script(&format!("{name}/run"), "exec sleep 1000");
    }
    s.write("sv/afile", "", 0o644);
    std::os::unix::fs::symlink("/nonexistent-oracle", s.join("sv/dang")).unwrap();
    std::os::unix::fs::symlink("../store/x", s.join("sv/l1")).unwrap();
    // An old mtime: the oracle then scans at once instead of settling for a second.
    let old = libc::timespec { tv_sec: 1_000_000_000, tv_nsec: 0 };
    let times = [old, old];
    let p = std::ffi::CString::new(s.join("sv").to_string_lossy().as_bytes()).unwrap();
    // SAFETY: valid path and times array.
    unsafe { libc::utimensat(libc::AT_FDCWD, p.as_ptr(), times.as_ptr(), 0) };
}

/// The runsv names a runsvdir started and its distinct warning lines, after it settles.
fn observe(prog: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let s = Scratch::new("rsdo-tricky");
    tricky_layout(&s);
    let fake = s.script("pathbin/runsv", "echo \"$1\" >> ../started\nexec sleep 1000");
    let _ = fake;
    let err = std::fs::File::create(s.join("rsd.err")).unwrap();
    let mut child = Command::new(prog)
        .args(["-P", "sv"])
        .current_dir(&s.path)
        .env("PATH", format!("{}:/usr/bin:/bin", s.join("pathbin").display()))
        .stdin(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    poll_until(Duration::from_secs(5), || s.read("started").lines().count() >= 2 && s.read("rsd.err").contains("dang"));
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: HUP (TERM to every fake runsv) to the runsvdir started above.
    unsafe { libc::kill(pid, libc::SIGHUP) };
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(111), "{prog:?} after HUP");
    let started = s.read("started").lines().map(String::from).collect();
    let warnings = s.read("rsd.err").lines().map(String::from).collect();
    (started, warnings)
}

#[test]
fn tricky_directory_matches_oracle() {
    let Some(oracle) = oracle_runsvdir("tricky_directory_matches_oracle") else { return };
    let ours = observe(&bin("runsvdir"));
    let theirs = observe(&oracle);
    assert_eq!(ours, theirs);
    assert_eq!(ours.0, ["a".to_string(), "l1".to_string()].into_iter().collect());
}
