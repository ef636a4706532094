//! The README's demo command works: `tests/demo/run-demo.sh` supervises and logs the
//! example service, shows its status, restarts it and shuts everything down.

use std::process::Command;

use e2e::Scratch;

#[test]
fn readme_demo_supervises_and_logs_the_example_service() {
    let sc = Scratch::new("demo");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/run-demo.sh");
    let out =
        Command::new("bash").arg(&script).env("RUNIT_BIN_DIR", e2e::bin_dir()).env("TMPDIR", &sc.path).output().expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("run: hello: (pid ") && stdout.contains("; run: log: (pid "), "{stdout}");
    // svlogd -tt prefixes every line with a UTC timestamp.
    let logged: Vec<&str> = stdout.lines().filter(|l| l.contains("hello from runit-rs, tick")).collect();
    assert!(!logged.is_empty(), "nothing logged: {stdout}");
    assert!(logged.iter().all(|l| l.len() > 26 && &l[4..5] == "-" && &l[10..11] == "_"), "{logged:?}");
    assert!(stdout.contains("ok: run: hello: (pid "), "restart not confirmed: {stdout}");
    assert!(stdout.contains("ok: hello: runsv not running"), "not shut down: {stdout}");
    // Nothing of the demo is left running.
    let ps = Command::new("pgrep").args(["-f", &sc.path.to_string_lossy()]).output().unwrap();
    assert!(ps.stdout.is_empty(), "left running: {}", String::from_utf8_lossy(&ps.stdout));
}
