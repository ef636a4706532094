//! End-to-end tests of `runsvchdir` (spec/init.md §3), and of a live `runsvdir`
//! following the switch. runsvchdir works on the fixed `/etc/runit/runsvdir`, so each
//! test runs in a private mount namespace (`unshare --mount`) with a tmpfs over `/etc`:
//! the host's `/etc` is never touched.

use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{bin, Scratch};

fn have_unshare() -> bool {
    Command::new("unshare").args(["--mount", "true"]).status().map(|s| s.success()).unwrap_or(false)
}

/// A scratch directory for a test that needs a mount namespace; `None` (after a skip
/// message) where namespaces are unavailable.
fn ns_scratch(name: &str) -> Option<Scratch> {
    if !have_unshare() {
        e2e::skip(name, e2e::Prerequisite::MountNamespace, "unshare --mount failed");
        return None;
    }
    Some(Scratch::new(name))
}

/// Runs `body` (sh) in a private mount namespace with an empty tmpfs on /etc;
/// returns (exit code, stdout, stderr).
fn in_namespace(s: &Scratch, body: &str) -> (i32, String, String) {
    let script = format!(
        "set -u\nmount --make-rprivate / || exit 90\nmount -t tmpfs none /etc || exit 91\nmkdir -p /etc/runit/runsvdir/default /etc/runit/runsvdir/other\nln -s default /etc/runit/runsvdir/current\nB={}\nR={}\nS={}\n{}\n",
        bin("runsvchdir").display(),
        bin("runsvdir").display(),
        s.path.display(),
        body
    );
    let out = Command::new("timeout")
        .args(["-s", "KILL", "30", "unshare", "--mount", "sh", "-c", &script])
        .current_dir(&s.path)
        .output()
        .expect("unshare");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn usage_and_dot() {
    let s = Scratch::new("rchd-usage");
    let (code, out, err) = e2e::run("runsvchdir", &[], &s.path, &[]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("usage: ") && err.ends_with("runsvchdir dir\n\n"), "{err:?}");
    let (code, _, err) = e2e::run("runsvchdir", &[".x"], &s.path, &[]);
    assert_eq!(code, 111);
    assert!(err.ends_with("runsvchdir: fatal: .x: must not start with a dot.\n"), "{err:?}");
}

#[test]
fn switches_current_and_previous() {
    let Some(s) = ns_scratch("rchd-switch") else { return };
    let body = r#"
cd /etc/runit/runsvdir
touch afile
$B default; echo "rc=$?"
$B other; echo "rc=$?"
echo "current=$(readlink current) previous=$(readlink previous)"
$B nope; echo "rc=$?"
$B afile; echo "rc=$?"
$B /tmp; echo "rc=$?"
echo "current=$(readlink current) previous=$(readlink previous)"
ls -a | tr '\n' ' '
"#;
    let (code, out, err) = in_namespace(&s, body);
    assert_eq!(code, 0, "{out}{err}");
    let want_out = "runsvchdir: default: current.\nrc=0\nrunsvchdir: other: now current.\nrc=0\ncurrent=other previous=default\nrc=111\nrc=111\nrunsvchdir: /tmp: now current.\nrc=0\ncurrent=/tmp previous=other\n. .. afile current default other previous ";
    assert_eq!(out, want_out);
    let b = bin("runsvchdir");
    let b = b.display();
    assert_eq!(err, format!("{b}: fatal: nope: file does not exist\n{b}: fatal: afilenot a directory.\n"));
}

#[test]
fn missing_base_directory() {
    let Some(s) = ns_scratch("rchd-nobase") else { return };
    let (code, out, err) = in_namespace(&s, "rm -rf /etc/runit; $B default; echo rc=$?");
    assert_eq!(code, 0);
    assert_eq!(out, "rc=111\n");
    assert_eq!(err, format!("{}: fatal: unable to chdir: /etc/runit/runsvdir: file does not exist\n", bin("runsvchdir").display()));
}

#[test]
fn missing_current_link() {
    // spec/init.md §5: no `current` link is fatal before anything is renamed.
    let Some(s) = ns_scratch("rchd-nocurrent") else { return };
    let (code, out, err) =
        in_namespace(&s, "rm /etc/runit/runsvdir/current; $B other; echo rc=$?; ls -a /etc/runit/runsvdir | tr '\\n' ' '");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "rc=111\n. .. default other ");
    assert_eq!(err, format!("{}: fatal: unable to stat: current: file does not exist\n", bin("runsvchdir").display()));
}

#[test]
fn live_runsvdir_follows_the_switch_at_once() {
    let Some(s) = ns_scratch("rchd-live") else { return };
    // A fake runsv: records its name and start, exits on TERM (which runsvdir sends when
    // the service disappears).
    s.script(
        "pathbin/runsv",
        &format!(
            "echo \"$1 $$\" >> {}/started\ntrap 'echo \"$1\" >> {}/stopped; exit 0' TERM\nwhile :; do sleep 0.05; done",
            s.path.display(),
            s.path.display()
        ),
    );
    let body = r#"
mkdir /etc/runit/runsvdir/default/a /etc/runit/runsvdir/other/b
ln -s /etc/runit/runsvdir/current /etc/service
PATH=$S/pathbin:$PATH $R -P /etc/service 2>$S/rsd.err &
RSD=$!
# Whatever happens, runsvdir TERMs every (fake) runsv on the way out.
trap 'kill -HUP $RSD 2>/dev/null' EXIT
wait_for() { i=0; while ! grep -q "^$1" $S/$2 2>/dev/null; do i=$((i+1)); [ $i -gt 1000 ] && return 1; sleep 0.01; done; }
wait_for a started || { echo "a never started"; exit 1; }
t0=$(date +%s%N)
$B other
wait_for b started || { echo "b never started"; exit 1; }
wait_for a stopped || { echo "a never stopped"; exit 1; }
t1=$(date +%s%N)
echo "switch_ms=$(( (t1 - t0) / 1000000 ))"
kill -HUP $RSD
wait $RSD; echo "rsd=$?"
"#;
    let t = Instant::now();
    let (code, out, err) = in_namespace(&s, body);
    assert_eq!(code, 0, "{out}{err}{}", s.read("rsd.err"));
    assert!(out.contains("runsvchdir: other: now current.\n"), "{out}");
    assert!(out.contains("rsd=111"), "{out}");
    let ms: u64 = out.lines().find_map(|l| l.strip_prefix("switch_ms=")).and_then(|v| v.parse().ok()).expect("switch time");
    // runit notices the switch at its next 5-s check; we react to the link's replacement
    // (how fast is a figure, printed below, not an assertion).
    eprintln!("runsvchdir switch seen in {ms} ms (total {:?})", t.elapsed());
    // Every fake runsv has been stopped by HUP (TERM) or by the switch.
    let started = s.read("started");
    let stopped = s.read("stopped");
    assert_eq!(started.lines().count(), 2, "{started}");
    assert!(stopped.lines().any(|l| l == "a"), "{stopped}");
    let _ = Duration::ZERO;
}

/// The same sequence of switches (good, repeated, missing, a file, absolute, dotted,
/// empty, nested) through our runsvchdir and Debian's, each from a fresh
/// `/etc/runit/runsvdir`: identical output, exit codes and resulting links. Both are run
/// by the name `runsvchdir` (through PATH) so their messages carry the same argv[0].
#[test]
fn same_as_debian_runsvchdir() {
    let Some(root) = e2e::oracle_or_skip("rchd-oracle") else { return };
    let Some(s) = ns_scratch("rchd-oracle") else { return };
    for (dir, target) in [("ours", bin("runsvchdir")), ("theirs", root.join("usr/sbin/runsvchdir"))] {
        std::fs::create_dir_all(s.join(dir)).unwrap();
        std::os::unix::fs::symlink(target, s.join(&format!("{dir}/runsvchdir"))).unwrap();
    }
    let body = r#"
for impl in ours theirs; do
  rm -rf /etc/runit/runsvdir
  mkdir -p /etc/runit/runsvdir/default /etc/runit/runsvdir/other /etc/runit/runsvdir/sub/inner
  ln -s default /etc/runit/runsvdir/current
  touch /etc/runit/runsvdir/afile
  cd /etc/runit/runsvdir
  for arg in default other other nope afile /tmp .dot '' sub/inner current previous default; do
    PATH=$S/$impl:$PATH runsvchdir "$arg" > $S/$impl.out 2> $S/$impl.err
    echo "[$arg] rc=$? out=$(cat $S/$impl.out) err=$(cat $S/$impl.err) current=$(readlink current) previous=$(readlink previous) $(ls -a | tr '\n' ' ')" >> $S/$impl.log
  done
  PATH=$S/$impl:$PATH runsvchdir > $S/$impl.out 2> $S/$impl.err
  echo "[none] rc=$? out=$(cat $S/$impl.out) err=$(cat $S/$impl.err)" >> $S/$impl.log
done
"#;
    let (code, out, err) = in_namespace(&s, body);
    assert_eq!(code, 0, "{out}{err}");
    let (ours, theirs) = (s.read("ours.log"), s.read("theirs.log"));
    assert_eq!(ours.matches("\n[").count(), 12, "{ours}");
    for (o, t) in ours.lines().zip(theirs.lines()) {
        assert_eq!(o, t);
    }
    assert_eq!(ours, theirs);
}
