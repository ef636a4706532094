//! The child's set-up still happens now that children start vfork-style (sharing the
//! parent's memory until `execve`): environment, descriptors, signal mask, session and
//! process group, directory, both from a `SpawnSpec` and from a `ChildPlan`; and a failed
//! step or exec is still reported by the child (message on fd 2, the plan's exit code).
#![cfg(not(loom))]

use std::ffi::CString;

use model::spawn::{ChildPlan, Exec, Signal, SignalPlan, SignalSet, Step};
use runtime::process::{self, SpawnSpec};
use runtime::sys;

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

/// Reads `fd` to its end and closes it.
fn read_all(fd: i32) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..10_000 {
        match sys::read(fd, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let _ = sys::close(fd);
    String::from_utf8_lossy(&out).into_owned()
}

/// A fresh directory of this test's own.
fn scratch(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("runit-rs-spawn-setup-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir.to_str().expect("utf-8").to_string()
}

/// The fields of `/proc/PID/status` line `key` (e.g. `SigBlk`) as a number (hex).
fn status_hex(status: &str, key: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(&format!("{key}:"))).unwrap_or_else(|| panic!("no {key} in {status}"));
    u64::from_str_radix(line[key.len() + 1..].trim(), 16).expect("hex")
}

fn sigbit(s: i32) -> u64 {
    1 << (s - 1)
}

/// Runs `sh -c script` from a spec with stdin, stdout, an extra fd, an environment, a
/// directory, a new session and SIGUSR2 reset; returns (pid, exit status, stdout).
fn run_spec(script: &str, configure: impl FnOnce(&mut SpawnSpec)) -> (i32, i32, String) {
    let (in_r, in_w) = sys::pipe(false).expect("pipe");
    let (out_r, out_w) = sys::pipe(false).expect("pipe");
    sys::write(in_w, b"from-stdin\n").expect("write");
    let _ = sys::close(in_w);
    let mut spec = SpawnSpec::new(b"/bin/sh").expect("spec");
    spec.argv = vec![c("sh"), c("-c"), c(script)];
    spec.stdin = Some(in_r);
    spec.stdout = Some(out_w);
    spec.exec_fail_msg = b"spawn_setup: unable to start /bin/sh: ".to_vec();
    configure(&mut spec);
    let pid = process::spawn(&spec).expect("spawn");
    let _ = sys::close(in_r);
    let _ = sys::close(out_w);
    let out = read_all(out_r);
    let status = process::wait_pid(pid).expect("wait");
    (pid, status, out)
}

#[test]
fn a_spec_child_gets_its_env_fds_directory_session_and_mask() {
    let dir = scratch("spec");
    let (x_r, x_w) = sys::pipe(false).expect("pipe");
    // Blocked in the parent: SIGUSR2 is reset (unblocked) by the spec, SIGWINCH is not.
    // SAFETY: mask changes of this test thread, restored below.
    let old = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        libc::sigaddset(&mut set, libc::SIGWINCH);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        old
    };
    let script = "read line; echo \"stdin=$line\"; echo \"env=$ONLY_VAR manifest=${CARGO_MANIFEST_DIR-unset}\"; echo \"cwd=$(pwd)\"; \
                  echo via-fd-5 >&5; read -r stat < /proc/$$/stat; echo \"stat=$stat\"; echo \"pid=$$\"; \
                  while read -r k v; do case $k in SigBlk:) echo \"blk=$v\";; esac; done < /proc/$$/status";
    let (pid, status, out) = run_spec(script, |spec| {
        spec.env = Some(vec![c("ONLY_VAR=spawned"), c("PATH=/usr/bin:/bin")]);
        spec.chdir = Some(c(&dir));
        spec.extra_fd = Some((x_w, 5));
        spec.new_session = true;
        spec.reset_signals = SignalSet::of(&[Signal(libc::SIGUSR2)]);
    });
    // SAFETY: restores this thread's mask.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    let _ = sys::close(x_w);
    let via5 = read_all(x_r);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "status {status:#x}, output {out}");
    assert!(out.contains("stdin=from-stdin\n"), "{out}");
    // The environment given replaces the parent's (cargo gives the test process
    // CARGO_MANIFEST_DIR).
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    assert!(out.contains("env=spawned manifest=unset\n"), "{out}");
    assert!(out.contains(&format!("cwd={dir}\n")), "{out}");
    assert_eq!(via5, "via-fd-5\n");
    assert!(out.contains(&format!("pid={pid}\n")), "the shell is the spawned process itself: {out}");
    // /proc/PID/stat: pid (comm) state ppid pgrp session ...
    let stat = out.lines().find_map(|l| l.strip_prefix("stat=")).expect("stat line");
    let fields: Vec<&str> = stat.rsplit(") ").next().expect("fields").split(' ').collect();
    assert_eq!((fields[2], fields[3]), (&*pid.to_string(), &*pid.to_string()), "pgrp and session are the child's: {stat}");
    let blk = out.lines().find_map(|l| l.strip_prefix("blk=")).expect("SigBlk");
    let blk = status_hex(&format!("SigBlk: {blk}"), "SigBlk");
    assert_eq!(blk & sigbit(libc::SIGUSR2), 0, "SIGUSR2 reset: {blk:x}");
    assert_ne!(blk & sigbit(libc::SIGWINCH), 0, "SIGWINCH kept blocked: {blk:x}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_spec_child_in_its_own_group_keeps_the_session() {
    let (pid, status, out) = run_spec("read -r stat < /proc/$$/stat; echo \"$stat\"", |spec| spec.new_pgrp = true);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "status {status:#x}");
    let fields: Vec<&str> = out.trim_end().rsplit(") ").next().expect("fields").split(' ').collect();
    // SAFETY: getsid(0) has no preconditions.
    let our_session = unsafe { libc::getsid(0) };
    assert_eq!(fields[2], pid.to_string(), "own process group: {out}");
    assert_eq!(fields[3], our_session.to_string(), "same session as the parent: {out}");
}

#[test]
fn a_spec_child_whose_exec_fails_exits_with_the_spec_code() {
    let mut spec = SpawnSpec::new(b"/nonexistent/spawn-setup-run").expect("spec");
    spec.exec_fail_code = 100;
    spec.exec_fail_msg = b"spawn_setup (expected in this test): unable to start: ".to_vec();
    let pid = process::spawn(&spec).expect("spawn");
    let status = process::wait_pid(pid).expect("wait");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 100, "status {status:#x}");
}

/// Spawns `plan` with its fd 2 on a pipe first; returns (exit status, what it wrote).
fn run_plan_capturing_stderr(mut plan: ChildPlan) -> (i32, String) {
    let before = inode_of_fd(2);
    let (err_r, err_w) = sys::pipe(false).expect("pipe");
    plan.steps.insert(0, Step::Dup { from: err_w, to: 2, fail: b"dup: ".to_vec() });
    let pid = process::spawn_plan(&plan).expect("spawn");
    let _ = sys::close(err_w);
    let err = read_all(err_r);
    assert_eq!(inode_of_fd(2), before, "the child's dup2 onto fd 2 reached the parent (shared fd table)");
    (process::wait_pid(pid).expect("wait"), err)
}

fn inode_of_fd(fd: i32) -> (u64, u64) {
    // SAFETY: fstat into a local buffer.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        assert_eq!(libc::fstat(fd, &mut st), 0, "fstat {fd}");
        (st.st_dev, st.st_ino)
    }
}

fn plan(steps: Vec<Step>, candidates: &[&str]) -> ChildPlan {
    ChildPlan {
        steps,
        exec: Exec {
            candidates: candidates.iter().map(|p| p.as_bytes().to_vec()).collect(),
            argv: vec![b"run".to_vec()],
            env: None,
            fail: b"spawn_setup: unable to start ./run: ".to_vec(),
        },
        fail_exit: 111,
    }
}

#[test]
fn a_failed_exec_is_reported_by_the_child() {
    let (status, err) = run_plan_capturing_stderr(plan(vec![], &["/nonexistent/run"]));
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 111, "status {status:#x}");
    assert_eq!(err, "spawn_setup: unable to start ./run: file does not exist\n");
}

#[test]
fn a_failed_step_is_reported_and_nothing_after_it_runs() {
    let steps = vec![
        Step::Chdir { path: b"/nonexistent/dir".to_vec(), fail: b"spawn_setup: unable to change directory: ".to_vec() },
        Step::Say(b"not reached\n".to_vec()),
    ];
    let (status, err) = run_plan_capturing_stderr(plan(steps, &["/bin/true"]));
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 111, "status {status:#x}");
    assert_eq!(err, "spawn_setup: unable to change directory: file does not exist\n");
}

#[test]
fn a_plan_child_runs_its_steps_in_order_then_execs() {
    let dir = scratch("plan");
    let steps = vec![
        Step::Say(b"first\n".to_vec()),
        Step::Signals(SignalPlan { ignore: SignalSet::of(&[Signal(libc::SIGHUP)]), ..SignalPlan::default() }),
        Step::Chdir { path: dir.as_bytes().to_vec(), fail: b"chdir: ".to_vec() },
        Step::Say(b"second\n".to_vec()),
    ];
    let mut p = plan(steps, &["/nonexistent/sh", "/bin/sh"]);
    p.exec.argv = vec![
        b"sh".to_vec(),
        b"-c".to_vec(),
        b"while read -r k v; do case $k in SigIgn:) echo \"ign=$v\" >&2;; esac; done < /proc/$$/status; pwd >&2".to_vec(),
    ];
    let (status, err) = run_plan_capturing_stderr(p);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "status {status:#x}: {err}");
    let mut lines = err.lines();
    assert_eq!((lines.next(), lines.next()), (Some("first"), Some("second")), "{err}");
    let ign = status_hex(lines.next().expect("ign line").replace("ign=", "SigIgn: ").as_str(), "SigIgn");
    assert_ne!(ign & sigbit(libc::SIGHUP), 0, "SIGHUP ignored across exec: {ign:x}");
    assert_eq!(lines.next(), Some(dir.as_str()), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_spec_and_its_plan_describe_the_same_steps() {
    let mut spec = SpawnSpec::new(b"./run").expect("spec");
    spec.stdin = Some(7);
    spec.stdout = Some(8);
    spec.extra_fd = Some((9, 4));
    spec.new_pgrp = true;
    spec.chdir = Some(c("./log"));
    spec.reset_signals = SignalSet::of(&[Signal::TERM, Signal::CHLD]);
    spec.exec_fail_msg = b"fail: ".to_vec();
    let p = spec.plan();
    let fail = || b"fail: ".to_vec();
    assert_eq!(
        p.steps,
        vec![
            Step::Dup { from: 7, to: 0, fail: fail() },
            Step::Dup { from: 8, to: 1, fail: fail() },
            Step::Dup { from: 9, to: 4, fail: fail() },
            Step::NewProcessGroup,
            Step::Signals(SignalPlan::reset([Signal::TERM, Signal::CHLD])),
            Step::Chdir { path: b"./log".to_vec(), fail: fail() },
        ]
    );
    assert_eq!(p.exec.candidates, vec![b"./run".to_vec()]);
    assert_eq!((p.exec.argv, p.exec.env, p.exec.fail, p.fail_exit), (vec![b"./run".to_vec()], None, fail(), 111));
}

/// A plan that opens a terminal is forked (opening one can wait): its steps still run,
/// a terminal that cannot be opened only warns, and the exec follows.
#[test]
fn a_plan_with_a_terminal_warns_when_it_cannot_open_it_and_goes_on() {
    let steps = vec![Step::ControllingTerminal {
        path: b"/nonexistent/console".to_vec(),
        warn: b"spawn_setup: warning: unable to open the terminal: ".to_vec(),
    }];
    let mut p = plan(steps, &["/bin/sh"]);
    p.exec.argv = vec![b"sh".to_vec(), b"-c".to_vec(), b"echo exec-reached >&2".to_vec()];
    let (status, err) = run_plan_capturing_stderr(p);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "status {status:#x}: {err}");
    assert_eq!(err, "spawn_setup: warning: unable to open the terminal: file does not exist\nexec-reached\n");
}

/// `spawn` returns only once the child has exec'd, so its own process group already
/// exists: a signal to the group cannot come before it.
#[test]
fn a_spec_childs_group_exists_when_spawn_returns() {
    let (in_r, in_w) = sys::pipe(false).expect("pipe");
    let mut spec = SpawnSpec::new(b"/bin/sh").expect("spec");
    spec.argv = vec![c("sh"), c("-c"), c("read x")];
    spec.stdin = Some(in_r);
    spec.new_pgrp = true;
    let pid = process::spawn(&spec).expect("spawn");
    // SAFETY: getpgid on a child of ours (not yet reaped: it waits on its stdin).
    let group = unsafe { libc::getpgid(pid) };
    let _ = sys::close(in_r);
    let _ = sys::close(in_w);
    let status = process::wait_pid(pid).expect("wait");
    assert_eq!(group, pid, "the child's group when spawn returned");
    assert!(libc::WIFEXITED(status), "status {status:#x}");
}
