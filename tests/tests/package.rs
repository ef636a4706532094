//! The Debian packages: `packaging/deb/build-deb.sh` builds them from the built binaries,
//! `dpkg --root` installs them into a scratch root (never the host: its own dpkg database,
//! maintainer scripts run chrootless against `$DPKG_ROOT`), the README's demo runs with
//! the installed binaries, and `dpkg --purge` leaves nothing behind.
//!
//! The packages are built from the binaries the tests use (debug, uncompressed, to keep
//! the cost low); `packaging/deb/build-deb.sh` with no arguments packages
//! `target/release` the same way.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::Scratch;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

fn ok(out: &Output, what: &str) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({}):\n{text}", out.status);
    text
}

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

/// A dpkg database for the scratch root that knows only libc6 (what runit-rs depends on),
/// copied from the host's; `None` when the host has no dpkg-managed libc6.
fn admindir_status() -> Option<Vec<u8>> {
    let out = Command::new("dpkg-query").args(["-s", "libc6"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut s = out.stdout;
    s.push(b'\n');
    Some(s)
}

fn link_target(p: &Path) -> String {
    std::fs::read_link(p).map(|t| t.display().to_string()).unwrap_or_else(|e| format!("<{e}>"))
}

#[test]
fn deb_installs_runs_the_demo_and_purges_cleanly() {
    for tool in ["dpkg", "dpkg-deb", "dpkg-query", "readelf", "objdump", "gzip"] {
        if !have(tool) {
            e2e::skip("package test", e2e::Prerequisite::Dpkg, &format!("{tool} not found"));
            return;
        }
    }
    let Some(status) = admindir_status() else {
        e2e::skip("package test", e2e::Prerequisite::Dpkg, "the host's dpkg database has no libc6");
        return;
    };
    let sc = Scratch::new("package");
    let debs_dir = sc.join("debs");
    let out = Command::new("sh")
        .arg(repo().join("packaging/deb/build-deb.sh"))
        .arg("--bindir")
        .arg(e2e::bin_dir())
        .arg("--out")
        .arg(&debs_dir)
        .args(["--compress", "none"])
        .output()
        .expect("run build-deb.sh");
    let listed = ok(&out, "build-deb.sh");
    let debs: Vec<&str> = listed.lines().filter(|l| l.ends_with(".deb")).collect();
    assert_eq!(debs.len(), 3, "{listed}");

    // Control fields that let it take runit's place.
    let info = ok(&Command::new("dpkg-deb").args(["-f", debs[0]]).output().unwrap(), "dpkg-deb -f");
    for field in ["Package: runit-rs", "Provides: runit (= 2.1.2-54)", "Conflicts: runit", "Replaces: runit"] {
        assert!(info.lines().any(|l| l == field), "missing {field:?} in\n{info}");
    }

    let root = sc.join("root");
    let admin = root.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(d)).unwrap();
    }
    std::fs::write(admin.join("status"), &status).unwrap();
    let dpkg = |args: &[&str]| {
        let mut c = Command::new("dpkg");
        c.arg(format!("--root={}", root.display())).arg("--force-script-chrootless").args(args);
        c.output().expect("run dpkg")
    };
    let mut install = vec!["-i"];
    install.extend(&debs);
    ok(&dpkg(&install), "dpkg -i");

    // Debian runit's layout (spec/additions.md §5.2, §5.3).
    for f in [
        "sbin/runit",
        "lib/runit/runit-init",
        "usr/bin/chpst",
        "usr/bin/runsv",
        "usr/bin/runsvdir",
        "usr/bin/sv",
        "usr/bin/svlogd",
        "usr/sbin/runsvchdir",
        "usr/sbin/utmpset",
        "etc/runit/1",
        "etc/runit/2",
        "etc/runit/3",
        "etc/runit/ctrlaltdel",
        "usr/share/man/man8/runsv.8.gz",
        "usr/share/man/man8/runit-init.8.gz",
    ] {
        assert!(root.join(f).is_file(), "{f} not installed");
    }
    assert_eq!(link_target(&root.join("etc/service")), "runit/runsvdir/current");
    assert_eq!(link_target(&root.join("etc/runit/runsvdir/current")), "default", "postinst did not make current");
    assert_eq!(link_target(&root.join("sbin/init")), "/lib/runit/runit-init");
    assert_eq!(link_target(&root.join("usr/bin/envdir")), "chpst");
    ok(&Command::new("bash").arg("-n").arg(root.join("usr/share/bash-completion/completions/sv")).output().unwrap(), "bash -n completion");
    let completion = std::fs::read_to_string(root.join("usr/share/bash-completion/completions/sv")).unwrap();
    assert!(completion.contains("_sv_rs_svdir='/etc/service'"), "completion not filled in");

    // The installed binaries say who they are, and run the README's demo.
    let v = Command::new(root.join("usr/bin/sv")).arg("-V").output().unwrap();
    let err = String::from_utf8_lossy(&v.stderr);
    assert!(err.starts_with("$Id: ") && err.contains(&format!("runit-rs {} (commit ", env!("CARGO_PKG_VERSION"))), "{err}");
    let demo = Command::new("bash")
        .arg(repo().join("tests/demo/run-demo.sh"))
        .env("RUNIT_BIN_DIR", root.join("usr/bin"))
        .env("TMPDIR", &sc.path)
        .output()
        .expect("run the demo");
    let text = ok(&demo, "demo with the installed binaries");
    assert!(text.contains("ok: run: hello: (pid ") && text.contains("ok: hello: runsv not running"), "{text}");

    // Purge: every file of the packages (and what postinst made) is gone.
    ok(&dpkg(&["--purge", "runit-rs-daemontools-names", "runit-rs-init", "runit-rs"]), "dpkg --purge");
    let mut left = Vec::new();
    let mut stack = vec![root.clone()];
    let mut steps = 0;
    while let Some(d) = stack.pop() {
        steps += 1;
        assert!(steps < 10_000, "runaway walk");
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.starts_with(root.join("var/lib/dpkg")) {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                left.push(p);
            }
        }
    }
    assert!(left.is_empty(), "left after purge: {left:?}");
    assert!(!root.join("etc/runit").exists() && !root.join("sbin").exists(), "directories left after purge");
}
