//! Self-tests of the e2e harness's guarantees (tests/src/lib.rs).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use e2e::Scratch;

/// Scripts written with `write_executable` can be executed at once, even while another
/// thread forks continuously. Written in-process (even under a temporary name and then
/// renamed), about 1 exec in 100 fails with ETXTBSY under this load: a child forked
/// between the write's open and close holds the inode open for writing until its exec.
#[test]
fn executables_never_fail_with_text_file_busy() {
    let s = Scratch::new("harness-etxtbsy");
    let stop = Arc::new(AtomicBool::new(false));
    let forker = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut forks = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let _ = Command::new("/bin/true").status();
                forks += 1;
            }
            forks
        })
    };
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let dir = s.path.clone();
            std::thread::spawn(move || {
                let mut busy = Vec::new();
                for i in 0..100 {
                    let p = dir.join(format!("s-{t}-{i}"));
                    e2e::write_executable(&p, b"#!/bin/sh\nexit 7\n", 0o755);
                    match Command::new(&p).status() {
                        Ok(st) => assert_eq!(st.code(), Some(7), "{}", p.display()),
                        Err(e) => busy.push(format!("{}: {e}", p.display())),
                    }
                }
                busy
            })
        })
        .collect();
    let failures: Vec<String> = writers.into_iter().flat_map(|w| w.join().expect("writer thread")).collect();
    stop.store(true, Ordering::SeqCst);
    let forks = forker.join().expect("forker thread");
    assert!(forks > 0, "the forking thread never ran");
    assert!(failures.is_empty(), "{} of 300 execs failed:\n{}", failures.len(), failures.join("\n"));
}

/// `skip` appends one `SKIP: <test>: <prerequisite>: <reason>` line to `$RUNIT_SKIP_LOG`
/// (which `.ci/run` counts); checked by running this test binary's `skip_probe` in a
/// child with the variable set, so this process's environment stays untouched.
#[test]
fn skip_appends_one_line_to_the_skip_log() {
    let s = Scratch::new("harness-skip");
    let log = s.join("skips");
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "skip_probe", "--ignored", "--quiet"])
        .env("RUNIT_SKIP_LOG", &log)
        .output()
        .expect("run skip_probe");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "SKIP: probe: python3: only a probe\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("SKIP: probe: python3: only a probe\n"), "not on stderr");
}

#[test]
#[ignore = "run by skip_appends_one_line_to_the_skip_log"]
fn skip_probe() {
    e2e::skip("probe", e2e::Prerequisite::Python3, "only a probe");
}
