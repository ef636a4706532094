//! Same argv, same result, for every program: arguments starting with `--` (`--help`,
//! `--x`, `---`, a bare `--`), a lone `-` and `-V`, run through our binaries and Debian's
//! runit 2.1.2-54 ones with the same argv[0], compared byte for byte on stdout, stderr and
//! the exit code. runit's getopt consumes any argument starting with `--` and stops
//! there, so `chpst --x /bin/echo hi` runs `echo hi` and `sv --help` prints only the usage.
//!
//! Only arguments that cannot reach the host's files are used: no utmpset operand, no
//! runsvchdir (it works on `/etc/runit/runsvdir`), no runit-init `0`/`6`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use e2e::{bin, oracle, Scratch};

/// Program name (as argv[0]), our binary's name, and its path in Debian's runit package.
const PROGRAMS: &[(&str, &str, &str)] = &[
    ("sv", "sv", "usr/bin/sv"),
    ("chpst", "chpst", "usr/bin/chpst"),
    ("svlogd", "svlogd", "usr/bin/svlogd"),
    ("utmpset", "utmpset", "usr/sbin/utmpset"),
    ("runsvdir", "runsvdir", "usr/bin/runsvdir"),
    ("runsv", "runsv", "usr/bin/runsv"),
    ("runit", "runit", "sbin/runit"),
    ("runit-init", "runit-init", "lib/runit/runit-init"),
    ("envdir", "chpst", "usr/bin/chpst"),
    ("envuidgid", "chpst", "usr/bin/chpst"),
    ("setuidgid", "chpst", "usr/bin/chpst"),
    ("pgrphack", "chpst", "usr/bin/chpst"),
    ("setlock", "chpst", "usr/bin/chpst"),
    ("softlimit", "chpst", "usr/bin/chpst"),
];

/// Argument lists every program gets (none of them names an existing file).
const COMMON: &[&[&str]] = &[&["--help"], &["--"], &["--x"], &["---"], &["--V"]];

/// Cases for programs where a lone `-` or a second operand does not start something that
/// runs until killed (runsvdir would supervise a directory named `-`).
const FINITE: &[&[&str]] = &[&["-"], &["--help", "--help"]];

/// Extra cases per program: ones that run something after the `--` argument.
fn extra(prog: &str) -> Vec<Vec<&'static str>> {
    let v = |a: &[&'static str]| a.to_vec();
    match prog {
        "sv" => vec![
            v(&["-V"]),
            v(&["-v", "--help"]),
            v(&["--x", "status", "nosuch"]),
            v(&["-w", "1", "--", "-x", "nosuch"]),
            v(&["--w", "status"]),
        ],
        "chpst" => vec![
            v(&["-V"]),
            v(&["--x", "/bin/echo", "hi"]),
            v(&["--", "/bin/echo", "hi"]),
            v(&["-n", "0", "--help", "/bin/echo", "hi"]),
            v(&["--x", "--y", "/bin/echo"]),
        ],
        "svlogd" => vec![v(&["-V"]), v(&["--x", "logdir"]), v(&["-t", "--help"])],
        "utmpset" => vec![v(&["-V"]), v(&["-w", "--help"])],
        "runsvdir" => vec![v(&["-P"]), v(&["-Px"])],
        "runit-init" => vec![v(&["-V"]), v(&["-Vx"]), v(&["-x"]), v(&[])],
        "setlock" => vec![v(&["--x", "lk", "/bin/echo", "hi"])],
        "softlimit" => vec![v(&["--x", "/bin/echo", "hi"]), v(&["-o", "20", "--", "/bin/echo", "hi"])],
        "envdir" => vec![v(&["--x", "/bin/echo"])],
        _ => vec![],
    }
}

/// (exit code, stdout, stderr) of `path` run as `argv0` with `args`, in `cwd`. Every case
/// ends by itself (usage, a failed chdir or exec, EOF on stdin); runsvdir and runsv never
/// get a directory that exists.
fn run(path: &Path, argv0: &str, args: &[&str], cwd: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(path)
        .arg0(argv0)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("SVDIR", cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn debian_root() -> Option<PathBuf> {
    let root = oracle("runit");
    if root.is_none() {
        e2e::skip("getopt_oracle", e2e::Prerequisite::DebianRunit, "Debian's runit package is not available (apt-get download failed)");
    }
    root
}

#[test]
fn double_dash_arguments_like_debian_runit() {
    let Some(root) = debian_root() else { return };
    let s = Scratch::new("getopt-oracle");
    let mut compared = 0;
    let mut diffs = Vec::new();
    for (prog, ours, theirs) in PROGRAMS {
        let mut cases: Vec<Vec<&str>> = COMMON.iter().map(|a| a.to_vec()).collect();
        if *prog != "runsvdir" {
            cases.extend(FINITE.iter().map(|a| a.to_vec()));
        }
        cases.extend(extra(prog));
        for args in cases {
            let mut a = run(&bin(ours), prog, &args, &s.path);
            if args.first().is_some_and(|a| a.starts_with("-V")) {
                let want = format!("runit-rs {} (commit ", env!("CARGO_PKG_VERSION"));
                assert!(a.2.contains(&want), "{prog} {args:?}: no identity line after -V: {:?}", a.2);
                a.2 = String::from_utf8_lossy(&e2e::without_identity(a.2.as_bytes())).into_owned();
            }
            let b = run(&root.join(theirs), prog, &args, &s.path);
            compared += 1;
            if a != b {
                diffs.push(format!("{prog} {args:?}:\n  ours:   {a:?}\n  debian: {b:?}"));
            }
        }
    }
    eprintln!("compared {compared} argument lists");
    assert!(compared > 60, "too few cases ran: {compared}");
    assert!(diffs.is_empty(), "{} differences from Debian's runit:\n{}", diffs.len(), diffs.join("\n"));
}

/// The case the issue names, checked on its own so a regression says exactly this.
#[test]
fn chpst_double_dash_x_runs_the_program() {
    let s = Scratch::new("chpst-dashdash");
    let (code, out, err) = run(&bin("chpst"), "chpst", &["--x", "/bin/echo", "hi"], &s.path);
    assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "hi\n", ""));
    let (code, _, err) = run(&bin("sv"), "sv", &["--help"], &s.path);
    assert_eq!(code, Some(100));
    assert!(!err.contains("illegal option"), "{err}");
}
