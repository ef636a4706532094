//! End-to-end tests of chpst and its personalities: the effect is checked from inside
//! the exec'd program (`/proc/self/status`, `/proc/self/limits`, `/proc/self/stat`,
//! its environment, its fds), and every error against runit's exact text and code.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{alive, bin, eventually, Scratch};

const USAGE: &str = "usage: chpst [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog\n\n";

/// Runs `prog` (a path) with args in `cwd`; (code, stdout, stderr).
fn run_path(prog: &Path, args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(prog).args(args).current_dir(cwd).stdin(Stdio::null()).output().expect("run");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn chpst(args: &[&str], cwd: &Path) -> (i32, String, String) {
    run_path(&bin("chpst"), args, cwd)
}

/// A link named `name` to our chpst inside the scratch dir (a personality).
fn personality(s: &Scratch, name: &str) -> PathBuf {
    let p = s.join(name);
    let _ = std::fs::remove_file(&p);
    std::os::unix::fs::symlink(bin("chpst"), &p).expect("symlink");
    p
}

/// The value of a `Key:` line of /proc/<self>/status as the program saw it.
fn status_line(out: &str, key: &str) -> String {
    out.lines().find(|l| l.starts_with(key)).map(|l| l[key.len()..].split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

#[test]
fn usage_and_option_errors() {
    let s = Scratch::new("chpst-usage");
    assert_eq!(chpst(&[], &s.path), (100, String::new(), USAGE.to_string()));
    assert_eq!(chpst(&["-x", "true"], &s.path), (100, String::new(), format!("chpst: illegal option -- x\n{USAGE}")));
    assert_eq!(chpst(&["-m"], &s.path), (100, String::new(), format!("chpst: option requires an argument -- m\n{USAGE}")));
    assert_eq!(chpst(&["-m", "12x", "true"], &s.path).0, 100);
    assert_eq!(chpst(&["-n", "abc", "true"], &s.path).2, USAGE);
    assert_eq!(chpst(&["-l", "a", "-L", "b", "true"], &s.path).2, USAGE);
    assert_eq!(chpst(&["-C", "/tmp", "true"], &s.path).2, format!("chpst: illegal option -- C\n{USAGE}"));
    let (code, _, err) = chpst(&["-V"], &s.path);
    let (runit_part, identity) = err.split_at(err.find("runit-rs ").expect("identity line after -V"));
    assert_eq!((code, runit_part), (100, format!("$Id: f279d44141c981dd7535a12260efcf1ef7beed26 $\n{USAGE}").as_str()));
    assert!(identity.starts_with(&format!("runit-rs {} (commit ", env!("CARGO_PKG_VERSION"))) && identity.ends_with(")\n"), "{identity:?}");
    let d = personality(&s, "dchpst");
    assert_eq!(run_path(&d, &["-x"], &s.path).2, format!("dchpst: illegal option -- x\n{USAGE}"));
    let x = personality(&s, "xyz");
    assert!(run_path(&x, &[], &s.path).2.starts_with("usage: xyz [-vVP012] "));
}

#[test]
fn fatal_errors() {
    let s = Scratch::new("chpst-fatal");
    let cases: &[(&[&str], &str)] = &[
        (&["-u", "nosuchuser", "true"], "chpst: fatal: unknown user/group: nosuchuser\n"),
        (&["-u", "root:nosuchgroup", "true"], "chpst: fatal: unknown user/group: root:nosuchgroup\n"),
        (&["-u", ":abc", "true"], "chpst: fatal: invalid uid/gids: abc\n"),
        (&["-u", ":1234", "true"], "chpst: fatal: invalid uid/gids: 1234\n"),
        (&["-U", "nosuchuser", "true"], "chpst: fatal: unknown user/group: nosuchuser\n"),
        (&["/nonexistent/prog"], "chpst: fatal: unable to run: /nonexistent/prog: file does not exist\n"),
        (&["no-such-program-anywhere"], "chpst: fatal: unable to run: no-such-program-anywhere: file does not exist\n"),
        (&["-e", "/nonexistent", "true"], "chpst: fatal: unable to switch to directory: /nonexistent: file does not exist\n"),
        (&["-/", "/nonexistent", "true"], "chpst: fatal: unable to change directory: /nonexistent: file does not exist\n"),
        (&["-l", "/nonexistent/lk", "true"], "chpst: fatal: unable to open lock: /nonexistent/lk: file does not exist\n"),
        (&["/tmp"], "chpst: fatal: unable to run: /tmp: access denied\n"),
    ];
    for (args, want) in cases {
        assert_eq!(chpst(args, &s.path), (111, String::new(), want.to_string()), "args {args:?}");
    }
}

#[test]
fn set_user_ids_and_groups() {
    let s = Scratch::new("chpst-u");
    let show = ["sh", "-c", "cat /proc/self/status"];
    let (code, out, err) = chpst(&[&["-u", "nobody"][..], &show].concat(), &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(status_line(&out, "Uid:"), "65534 65534 65534 65534");
    assert_eq!(status_line(&out, "Gid:"), "65534 65534 65534 65534");
    assert_eq!(status_line(&out, "Groups:"), "65534");
    // No capability survives the switch away from uid 0.
    assert_eq!(status_line(&out, "CapPrm:"), "0000000000000000");
    assert_eq!(status_line(&out, "CapEff:"), "0000000000000000");

    let (_, out, _) = chpst(&[&["-u", "nobody:daemon:bin:sys"][..], &show].concat(), &s.path);
    assert_eq!(status_line(&out, "Uid:"), "65534 65534 65534 65534");
    assert_eq!(status_line(&out, "Gid:"), "1 1 1 1");
    assert_eq!(status_line(&out, "Groups:"), "1 2 3");

    let (_, out, _) = chpst(&[&["-u", ":1234:5678:91"][..], &show].concat(), &s.path);
    assert_eq!(status_line(&out, "Uid:"), "1234 1234 1234 1234");
    assert_eq!(status_line(&out, "Gid:"), "5678 5678 5678 5678");
    assert_eq!(status_line(&out, "Groups:"), "91 5678");

    let (_, out, _) = chpst(&[&["-u", ":1234:"][..], &show].concat(), &s.path);
    assert_eq!(status_line(&out, "Gid:"), "0 0 0 0");
}

#[test]
fn dropped_privileges_cannot_be_regained() {
    if !Path::new("/usr/bin/python3").exists() {
        e2e::skip("dropped_privileges_cannot_be_regained", e2e::Prerequisite::Python3, "needed to try setuid(0) from the program");
        return;
    }
    let s = Scratch::new("chpst-regain");
    let py = "import os\ntry:\n    os.setuid(0)\nexcept PermissionError:\n    print('denied')\nelse:\n    print('REGAINED')\ntry:\n    os.setgroups([0])\nexcept PermissionError:\n    print('denied')\n";
    let (code, out, err) = chpst(&["-u", "nobody", "/usr/bin/python3", "-c", py], &s.path);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "denied\ndenied\n", ""));
    // And as root (no -u) the same program succeeds, so the test can tell.
    let (_, out, _) = chpst(&["/usr/bin/python3", "-c", py], &s.path);
    assert_eq!(out, "REGAINED\n");
}

#[test]
fn env_account_sets_uid_gid_only_in_environment() {
    let s = Scratch::new("chpst-U");
    let (code, out, _) = chpst(&["-U", "nobody:daemon:bin", "sh", "-c", "echo $UID $GID; id -u"], &s.path);
    assert_eq!((code, out.as_str()), (0, "65534 1\n0\n"));
    let (_, out, _) = chpst(&["-U", ":77:88", "sh", "-c", "echo $UID $GID"], &s.path);
    assert_eq!(out, "77 88\n");
    let e = personality(&s, "envuidgid");
    let (_, out, _) = run_path(&e, &["nobody", "sh", "-c", "echo $UID $GID"], &s.path);
    assert_eq!(out, "65534 65534\n");
    assert_eq!(run_path(&e, &[":5:6", "true"], &s.path).2, "chpst: fatal: unknown account: :5:6\n");
}

fn make_envdir(s: &Scratch) {
    s.write("env/A", "value1\nsecond line\n", 0o644);
    s.write("env/B", "trail   \t \n", 0o644);
    s.write("env/C", "nul\0inside\n", 0o644);
    s.write("env/D", "", 0o644);
    s.write("env/E", "noeol", 0o644);
    s.write("env/F", "  lead\n", 0o644);
    s.write("env/.hidden", "no\n", 0o644);
}

/// The program's environment, split on NUL (values may contain newlines).
fn env_of(out: &str) -> Vec<String> {
    out.split('\0').filter(|e| !e.is_empty()).map(str::to_string).collect()
}

#[test]
fn envdir_endless_file_stops_at_the_read_limit() {
    // A value file linked to /dev/zero: runit reads until memory runs out. We stop at
    // the model's read limit; a line that long can never be passed to exec (E2BIG).
    // The memory cap turns a regression into a failed test instead of a starved host.
    let s = Scratch::new("chpst-e-zero");
    s.write("env/A", "a\n", 0o644);
    std::os::unix::fs::symlink("/dev/zero", s.join("env/Z")).unwrap();
    let script = format!("ulimit -v 400000; exec {} -e env /bin/true", bin("chpst").display());
    let (code, out, err) = run_path(Path::new("/bin/sh"), &["-c", &script], &s.path);
    assert_eq!((code, out.as_str(), err.as_str()), (111, "", "chpst: fatal: unable to run: /bin/true: argument list too long\n"));
}

#[test]
fn envdir_semantics() {
    let s = Scratch::new("chpst-e");
    make_envdir(&s);
    std::fs::create_dir_all(s.join("env/SUB")).unwrap();
    let out = Command::new(bin("chpst"))
        .args(["-e", "env", "/usr/bin/env", "-0"])
        .current_dir(&s.path)
        .env_clear()
        .env("D", "removed")
        .env("KEEP", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let mut env = env_of(&String::from_utf8_lossy(&out.stdout));
    env.sort();
    assert_eq!(env, ["A=value1", "B=trail", "C=nul\ninside", "E=noeol", "F=  lead", "KEEP=1"]);

    // -v reports the skipped subdirectory; the envdir personality refuses it.
    let (code, _, err) = chpst(&["-v", "-e", "env", "true"], &s.path);
    assert_eq!((code, err.as_str()), (0, "chpst: warning: unable to read env/SUB: is a directory\n"));
    let ed = personality(&s, "envdir");
    assert_eq!(
        run_path(&ed, &["env", "true"], &s.path),
        (111, String::new(), "chpst: fatal: unable to read env/SUB: is a directory\n".into())
    );
    std::fs::remove_dir(s.join("env/SUB")).unwrap();
    let (code, out, _) = run_path(&ed, &["env", "sh", "-c", "echo \"$A|$E\""], &s.path);
    assert_eq!((code, out.as_str()), (0, "value1|noeol\n"));
    assert_eq!(run_path(&ed, &["env"], &s.path), (100, String::new(), "usage: envdir dir child\n\n".into()));
    assert_eq!(
        run_path(&ed, &["/nonexistent", "true"], &s.path).2,
        "chpst: fatal: unable to switch to directory: /nonexistent: file does not exist\n"
    );
}

#[test]
fn envdir_unreadable_file_is_fatal() {
    let s = Scratch::new("chpst-e-unreadable");
    s.write("env/X", "secret\n", 0o000);
    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = bin("chpst");
    let c = c.to_str().unwrap();
    let (code, _, err) = chpst(&["-u", "nobody", c, "-e", "env", "true"], &s.path);
    assert_eq!((code, err.as_str()), (111, "chpst: fatal: unable to read env/X: access denied\n"));
}

#[test]
fn regression_envdir_dangling_symlink_unsets() {
    // runit gives a dangling symlink the previous file's value plus a newline.
    let s = Scratch::new("chpst-e-dangling");
    for n in 0..8 {
        s.write(&format!("env/V{n}"), "foo\n", 0o644);
        std::os::unix::fs::symlink("/nonexistent", s.join(&format!("env/L{n}"))).unwrap();
    }
    let out = Command::new(bin("chpst"))
        .args(["-e", "env", "/usr/bin/env", "-0"])
        .current_dir(&s.path)
        .env_clear()
        .env("L3", "x")
        .output()
        .unwrap();
    let env = env_of(&String::from_utf8_lossy(&out.stdout));
    assert!(env.iter().all(|e| !e.starts_with('L')), "{env:?}");
    assert_eq!(env.len(), 8);
}

#[test]
fn path_search_uses_original_path() {
    let s = Scratch::new("chpst-path");
    s.script("bin/myprog", "echo \"ran PATH=$PATH\"");
    let bindir = s.join("bin");
    s.write("env/PATH", &format!("{}\n", bindir.display()), 0o644);
    let (code, _, err) = chpst(&["-e", "env", "myprog"], &s.path);
    assert_eq!((code, err.as_str()), (111, "chpst: fatal: unable to run: myprog: file does not exist\n"));
    let out = Command::new(bin("chpst"))
        .args(["-e", "env", "myprog"])
        .current_dir(&s.path)
        .env("PATH", format!("{}:/usr/bin:/bin", bindir.display()))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("ran PATH={}\n", bindir.display()));
    // No PATH at all: /bin:/usr/bin.
    let out = Command::new(bin("chpst")).args(["ls", "/"]).current_dir(&s.path).env_clear().output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // A non-executable match is remembered; the search goes on and reports it at the end.
    s.write("bin2/tool", "#!/bin/sh\n", 0o644);
    let out = Command::new(bin("chpst")).arg("tool").current_dir(&s.path).env("PATH", s.join("bin2")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "chpst: fatal: unable to run: tool: access denied\n");
}

#[test]
fn argv0_replacement() {
    let s = Scratch::new("chpst-b");
    let (code, out, _) = chpst(&["-b", "myname", "sh", "-c", "echo $0"], &s.path);
    assert_eq!((code, out.as_str()), (0, "myname\n"));
    // As in runit, a failed exec is reported under the -b name.
    assert_eq!(chpst(&["-b", "myname", "/nonexistent/prog"], &s.path).2, "chpst: fatal: unable to run: myname: file does not exist\n");
}

/// /proc/<pid>/stat fields after the command name (index 0 = state).
fn stat_fields(stat: &str) -> Vec<String> {
    stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
}

#[test]
fn nice_and_session() {
    let s = Scratch::new("chpst-nice");
    // -n adds to the niceness chpst inherits (the test may itself run under `nice`).
    let base: i64 = stat_fields(&std::fs::read_to_string("/proc/self/stat").unwrap())[16].parse().unwrap();
    let nice = |out: &str| stat_fields(out)[16].parse::<i64>().unwrap();
    let (_, out, _) = chpst(&["-n", "5", "cat", "/proc/self/stat"], &s.path);
    assert_eq!(nice(&out), (base + 5).min(19));
    let (_, out, _) = chpst(&["-n", "+3", "-n", "2", "cat", "/proc/self/stat"], &s.path);
    assert_eq!(nice(&out), (base + 2).min(19));
    let (_, out, _) = chpst(&["-n", "-2", "cat", "/proc/self/stat"], &s.path);
    assert_eq!(nice(&out), base - 2);

    // -P: the program leads a new session and process group (pid = pgrp = sid).
    let (_, out, _) = chpst(&["-P", "sh", "-c", "echo $$; exec cat /proc/self/stat"], &s.path);
    let (pid, stat) = out.split_once('\n').unwrap();
    let f = stat_fields(stat);
    assert_eq!((f[2].as_str(), f[3].as_str()), (pid, pid));
    let ph = personality(&s, "pgrphack");
    let (_, out, _) = run_path(&ph, &["sh", "-c", "echo $$; exec cat /proc/self/stat"], &s.path);
    let (pid, stat) = out.split_once('\n').unwrap();
    assert_eq!(stat_fields(stat)[3], pid);
    // Without -P the session is the caller's.
    let (_, out, _) = chpst(&["sh", "-c", "echo $$; exec cat /proc/self/stat"], &s.path);
    let (pid, stat) = out.split_once('\n').unwrap();
    assert_ne!(stat_fields(stat)[3], pid);
    assert_eq!(run_path(&ph, &[], &s.path), (100, String::new(), "usage: pgrphack child\n\n".into()));
}

/// The soft limit of a `/proc/self/limits` row.
fn soft(limits: &str, row: &str) -> String {
    limits
        .lines()
        .find(|l| l.starts_with(row))
        .map(|l| l[row.len()..].split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn hard(limits: &str, row: &str) -> String {
    limits
        .lines()
        .find(|l| l.starts_with(row))
        .map(|l| l[row.len()..].split_whitespace().nth(1).unwrap_or("").to_string())
        .unwrap_or_default()
}

#[test]
fn resource_limits() {
    let s = Scratch::new("chpst-limits");
    let (_, base, _) = chpst(&["cat", "/proc/self/limits"], &s.path);
    let (code, out, _) =
        chpst(&["-o", "17", "-f", "4096", "-c", "0", "-t", "77", "-p", "999", "-d", "100000000", "cat", "/proc/self/limits"], &s.path);
    assert_eq!(code, 0);
    assert_eq!(soft(&out, "Max open files"), "17");
    assert_eq!(hard(&out, "Max open files"), hard(&base, "Max open files"));
    assert_eq!(soft(&out, "Max file size"), "4096");
    assert_eq!(soft(&out, "Max core file size"), "0");
    assert_eq!(soft(&out, "Max cpu time"), "77");
    assert_eq!(soft(&out, "Max processes"), "999");
    assert_eq!(soft(&out, "Max data size"), "100000000");

    // -m sets data, stack, memlock and as; memlock is clamped to its hard limit.
    let (_, out, _) = chpst(&["-m", "100000000", "cat", "/proc/self/limits"], &s.path);
    for row in ["Max data size", "Max stack size", "Max address space"] {
        assert_eq!(soft(&out, row), "100000000", "{row}");
    }
    let memlock_hard: u64 = hard(&base, "Max locked memory").parse().unwrap_or(u64::MAX);
    assert_eq!(soft(&out, "Max locked memory"), memlock_hard.min(100000000).to_string());

    // softlimit: '=' is soft = hard; letters of its own.
    let sl = personality(&s, "softlimit");
    let (code, out, _) = run_path(&sl, &["-o", "=", "-s", "1000000", "-r", "5000", "cat", "/proc/self/limits"], &s.path);
    assert_eq!(code, 0);
    assert_eq!(soft(&out, "Max open files"), hard(&base, "Max open files"));
    assert_eq!(soft(&out, "Max stack size"), "1000000");
    assert_eq!(soft(&out, "Max resident set"), "5000");
    let (code, _, err) = run_path(&sl, &["-m", "abc", "true"], &s.path);
    assert_eq!(code, 100);
    assert!(err.starts_with("usage: softlimit [-vVP012] [-u user[:group]]"), "{err}");
    let (code, _, err) = run_path(&sl, &["-x", "1", "true"], &s.path);
    assert_eq!(code, 100);
    assert!(err.starts_with("softlimit: illegal option -- x\nusage: softlimit [-a allbytes]"), "{err}");
}

#[test]
fn closing_descriptors() {
    let s = Scratch::new("chpst-close");
    let probe = "for f in 0 1 2; do if [ -e /proc/$$/fd/$f ]; then echo $f open >> report; else echo $f closed >> report; fi; done";
    let st = Command::new(bin("chpst"))
        .args(["-0", "-2", "sh", "-c", probe])
        .current_dir(&s.path)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(s.read("report"), "0 closed\n1 open\n2 closed\n");
    // Closing an fd that is not open is fatal, as in runit.
    let script = format!("exec {} -1 true >&-", bin("chpst").display());
    let out = Command::new("sh").args(["-c", &script]).current_dir(&s.path).output().unwrap();
    assert_eq!(out.status.code(), Some(111));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "chpst: fatal: unable to close stdout: file descriptor not open\n");
    // A descriptor closed by the caller stays closed for the program (no /dev/null filler).
    let script = format!("exec {} sh -c 'if [ -e /proc/$$/fd/2 ]; then echo open; else echo closed; fi' 2>&-", bin("chpst").display());
    let out = Command::new("sh").args(["-c", &script]).current_dir(&s.path).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "closed\n");
}

#[test]
fn chroot_changes_root_and_cwd() {
    let mut s = Scratch::new("chpst-root");
    let root = sleep_root(&s);
    std::fs::create_dir_all(s.join("env")).unwrap();
    s.write("env/WHERE", "outside\n", 0o644);
    let mut cmd = Command::new(bin("chpst"));
    cmd.args(["-e", "env", "-/", "root", "/bin/sleep", "30"]).current_dir(&s.path);
    let pid = s.spawn(cmd);
    eventually!(
        Duration::from_secs(5),
        std::fs::read_link(format!("/proc/{pid}/exe")).map(|p| p.ends_with("sleep")).unwrap_or(false),
        "sleep started"
    );
    assert_eq!(std::fs::read_link(format!("/proc/{pid}/root")).unwrap(), root);
    assert_eq!(std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(), root);
    // (The exe link changes early in execve, the environment a little later: poll.)
    let has_where = || std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default().split(|&c| c == 0).any(|e| e == b"WHERE=outside");
    eventually!(Duration::from_secs(5), has_where(), "envdir read before chroot");
}

#[test]
fn locks_wait_or_fail() {
    let mut s = Scratch::new("chpst-lock");
    let mut holder = Command::new(bin("chpst"));
    holder.args(["-L", "lk", "sleep", "30"]).current_dir(&s.path).stdin(Stdio::null());
    let hpid = s.spawn(holder);
    // The holder locks before it execs sleep. (Probing with `-L` instead could itself grab
    // the lock at the moment the holder tries, making the holder fail.)
    eventually!(
        Duration::from_secs(5),
        std::fs::read_link(format!("/proc/{hpid}/exe")).map(|p| p.ends_with("sleep")).unwrap_or(false),
        "lock held"
    );
    // The held lock makes -L fail at once with runit's text.
    assert_eq!(chpst(&["-L", "lk", "true"], &s.path), (111, String::new(), "chpst: fatal: unable to lock: lk: temporary failure\n".into()));
    let sl = personality(&s, "setlock");
    assert_eq!(
        run_path(&sl, &["lk", "true"], &s.path),
        (111, String::new(), "chpst: fatal: unable to lock: lk: temporary failure\n".into())
    );
    assert_eq!(run_path(&sl, &["-x", "lk", "true"], &s.path), (0, String::new(), String::new()));
    assert_eq!(run_path(&sl, &["-N", "lk", "true"], &s.path).0, 111);

    // -l and setlock -n wait until the holder goes away.
    let mut w1 = Command::new(bin("chpst"));
    w1.args(["-l", "lk", "sh", "-c", "echo got >> got"]).current_dir(&s.path);
    let w1 = s.spawn(w1);
    let mut w2 = Command::new(&sl);
    w2.args(["-n", "lk", "sh", "-c", "echo got >> got"]).current_dir(&s.path);
    let w2 = s.spawn(w2);
    // Both are blocked (asleep, still chpst: not yet exec'd) while the holder lives.
    let blocked = |p: u32| {
        let exe = std::fs::read_link(format!("/proc/{p}/exe")).map(|e| e.ends_with("chpst")).unwrap_or(false);
        let st = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        exe && stat_fields(&st).first().is_some_and(|f| f == "S")
    };
    eventually!(Duration::from_secs(5), blocked(w1) && blocked(w2), "waiters blocked in flock");
    assert!(alive(hpid as i32));
    assert_eq!(s.read("got"), "");
    unsafe { libc::kill(hpid as i32, libc::SIGKILL) };
    assert!(s.wait_exit(w1, Duration::from_secs(10)).is_some_and(|st| st.success()));
    assert!(s.wait_exit(w2, Duration::from_secs(10)).is_some_and(|st| st.success()));
    assert_eq!(s.read("got"), "got\ngot\n");
    assert_eq!(std::fs::metadata(s.join("lk")).unwrap().mode() & 0o777, 0o600 & !umask());
}

fn umask() -> u32 {
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m as u32
    }
}

#[test]
fn lock_is_taken_as_the_new_user() {
    let s = Scratch::new("chpst-lock-user");
    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, _, err) = chpst(&["-u", "nobody", "-l", "lk", "true"], &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(std::fs::metadata(s.join("lk")).unwrap().uid(), 65534);
    // The program inherits the locked descriptor (not close-on-exec).
    let (_, out, _) = chpst(&["-L", "lk2", "sh", "-c", "ls -l /proc/$$/fd | grep -c lk2"], &s.path);
    assert_eq!(out.trim(), "1");
}

#[test]
fn setlock_quiet_and_usage() {
    let s = Scratch::new("chpst-setlock");
    let sl = personality(&s, "setlock");
    assert_eq!(run_path(&sl, &["-x", "lk", "/nonexistent"], &s.path), (0, String::new(), String::new()));
    assert_eq!(run_path(&sl, &["lk", "/nonexistent"], &s.path).2, "chpst: fatal: unable to run: /nonexistent: file does not exist\n");
    let usage = "usage: setlock [ -nNxX ] file program [ arg ... ]\n\n";
    assert_eq!(run_path(&sl, &[], &s.path), (100, String::new(), usage.into()));
    assert_eq!(run_path(&sl, &["lk"], &s.path), (100, String::new(), usage.into()));
    assert_eq!(run_path(&sl, &["-c"], &s.path), (100, String::new(), format!("setlock: illegal option -- c\n{usage}")));
    assert_eq!(run_path(&sl, &["-x", "/nonexistent/lk", "true"], &s.path), (0, String::new(), String::new()));
}

#[test]
fn setuidgid_personality() {
    let s = Scratch::new("chpst-setuidgid");
    let su = personality(&s, "setuidgid");
    assert_eq!(run_path(&su, &["nobody", "id", "-u"], &s.path), (0, "65534\n".into(), String::new()));
    assert_eq!(
        run_path(&su, &["nobody:daemon", "id"], &s.path),
        (111, String::new(), "chpst: fatal: unknown account: nobody:daemon\n".into())
    );
    assert_eq!(run_path(&su, &["nobody"], &s.path), (100, String::new(), "usage: setuidgid account child\n\n".into()));
    let dsu = personality(&s, "dsetuidgid");
    assert_eq!(run_path(&dsu, &[], &s.path).2, "usage: setuidgid account child\n\n");
}

#[test]
fn inherited_signal_dispositions_are_kept() {
    // The test harness spawns chpst with SIGPIPE at its default; the program must see it
    // the same (a Rust main would have set it to ignored).
    let s = Scratch::new("chpst-sigpipe");
    let (_, out, _) = chpst(&["cat", "/proc/self/status"], &s.path);
    let ign = u64::from_str_radix(&status_line(&out, "SigIgn:"), 16).unwrap();
    assert_eq!(ign & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE ignored in the program");
}

#[test]
fn environment_order_matches_runit() {
    // Replacing a variable moves the last entry into its slot (runit's pathexec_env_run).
    let s = Scratch::new("chpst-envorder");
    s.write("env/B", "x\n", 0o644);
    let out = Command::new(bin("chpst"))
        .args(["-e", "env", "/usr/bin/env", "-0"])
        .current_dir(&s.path)
        .env_clear()
        .env("A", "1")
        .env("B", "2")
        .env("C", "3")
        .env("D", "4")
        .output()
        .unwrap();
    assert_eq!(env_of(&String::from_utf8_lossy(&out.stdout)), ["A=1", "D=4", "C=3", "B=x"]);
}

/// `root/` in the scratch dir holding `/bin/sleep` and the libraries `ldd` lists.
///
/// Files are hard-linked where possible (the real files, not the symlinks `ldd` may name):
/// a copy holds a descriptor open for writing, and a
/// child forked meanwhile by a parallel test keeps it until its exec, so running the
/// copy could fail with ETXTBSY (`text file busy`).
fn sleep_root(s: &Scratch) -> PathBuf {
    let root = s.join("root");
    let ldd = Command::new("ldd").arg("/bin/sleep").output().unwrap();
    let mut files = vec![PathBuf::from("/bin/sleep")];
    files.extend(String::from_utf8_lossy(&ldd.stdout).split_whitespace().filter(|t| t.starts_with('/')).map(PathBuf::from));
    for f in &files {
        let dest = root.join(f.strip_prefix("/").unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        // Link the file itself, not a symlink to it (ld.so is usually reached by one).
        let real = std::fs::canonicalize(f).unwrap();
        if std::fs::hard_link(&real, &dest).is_err() {
            std::fs::copy(f, &dest).unwrap();
        }
    }
    root
}

/// A scratch root holding `sleep`, its libraries, and its own user database.
fn mini_root(s: &Scratch) -> PathBuf {
    let root = sleep_root(s);
    s.write("root/etc/passwd", "root:x:0:0::/:/bin/sh\ninside:x:4321:4322::/:/bin/sh\n", 0o644);
    s.write("root/etc/group", "root:x:0:\ninsidegrp:x:4322:\nother:x:4323:\n", 0o644);
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
    root
}

#[test]
fn accounts_and_lock_are_resolved_inside_the_new_root() {
    let mut s = Scratch::new("chpst-root-user");
    let root = mini_root(&s);
    // `inside` exists only in the new root's passwd.
    assert_eq!(chpst(&["-u", "inside", "true"], &s.path).2, "chpst: fatal: unknown user/group: inside\n");
    let mut cmd = Command::new(bin("chpst"));
    cmd.args(["-/", "root", "-u", "inside:insidegrp:other", "-l", "lk", "/bin/sleep", "30"]).current_dir(&s.path);
    let pid = s.spawn(cmd);
    eventually!(
        Duration::from_secs(5),
        std::fs::read_link(format!("/proc/{pid}/exe")).map(|p| p.ends_with("sleep")).unwrap_or(false),
        "sleep started"
    );
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(status_line(&st, "Uid:"), "4321 4321 4321 4321");
    assert_eq!(status_line(&st, "Gid:"), "4322 4322 4322 4322");
    assert_eq!(status_line(&st, "Groups:"), "4322 4323");
    // The lock was created inside the new root, as the new user.
    let md = std::fs::metadata(root.join("lk")).unwrap();
    assert_eq!(md.uid(), 4321);
    assert!(!s.join("lk").exists());
}

#[test]
fn a_failing_step_never_runs_the_program() {
    let s = Scratch::new("chpst-partial");
    let marker = s.join("ran");
    let m = marker.to_str().unwrap();
    let touch = format!("touch {m}");
    let cases: &[&[&str]] = &[
        &["-u", "nobody:nosuchgroup"],
        &["-u", ":12"],
        &["-e", "/nonexistent"],
        &["-/", "/nonexistent"],
        &["-u", "nobody", "-l", "/nonexistent/lk"],
        &["-U", "nosuchuser", "-u", "nobody"],
    ];
    for c in cases {
        let mut args: Vec<&str> = c.to_vec();
        args.extend(["sh", "-c", &touch]);
        assert_eq!(chpst(&args, &s.path).0, 111, "{c:?}");
        assert!(!marker.exists(), "program ran after a failed step: {c:?}");
    }
    // Sanity: without a failing step the marker appears.
    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(chpst(&["-u", "nobody", "sh", "-c", &touch], &s.path).0, 0);
    assert!(marker.exists());
}

#[test]
fn unprivileged_failures_report_runits_messages() {
    let s = Scratch::new("chpst-unpriv");
    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = bin("chpst");
    let c = c.to_str().unwrap();
    assert_eq!(
        chpst(&["-u", "nobody", c, "-u", "root", "true"], &s.path),
        (111, String::new(), "chpst: fatal: unable to setgroups: permission denied\n".into())
    );
    assert_eq!(
        chpst(&["-u", "nobody", c, "-n", "-5", "true"], &s.path),
        (111, String::new(), "chpst: fatal: unable to set nice level: permission denied\n".into())
    );
    assert_eq!(
        chpst(&["-u", "nobody", c, "-/", "/", "true"], &s.path),
        (111, String::new(), "chpst: fatal: unable to change root directory: permission denied\n".into())
    );
    // As nobody, a plain `-n 5` and limits below the hard limit work.
    assert_eq!(chpst(&["-u", "nobody", c, "-n", "5", "-o", "100", "true"], &s.path).0, 0);
}

#[test]
fn envdir_fifo_reads_as_empty() {
    // runit opens envdir files non-blocking: a FIFO without a writer is an empty file.
    let s = Scratch::new("chpst-fifo");
    std::fs::create_dir_all(s.join("env")).unwrap();
    let p = std::ffi::CString::new(s.join("env/F").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(p.as_ptr(), 0o644) }, 0);
    let out = Command::new(bin("chpst"))
        .args(["-e", "env", "/usr/bin/env", "-0"])
        .current_dir(&s.path)
        .env_clear()
        .env("F", "set")
        .env("G", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(env_of(&String::from_utf8_lossy(&out.stdout)), ["G=1"]);
}
