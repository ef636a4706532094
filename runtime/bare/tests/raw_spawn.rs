//! bare's vfork-style spawn against the real kernel: each set-up option seen from inside
//! the child (a shell that writes what it sees), the exec failure message and code, and
//! one stack serving 100 spawns. Each test runs in a forked child of the harness (it
//! changes fds, masks and dispositions) and reaps every process it starts.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use std::ffi::CString;
use std::os::fd::IntoRawFd;

use bare::signal::{self, Signals};
use bare::spawn::{child_stack_high_water, spawn, stacks_mapped, ChildSetup, CHILD_STACK};
use bare::sys;
use common::{c, in_fork, pointers, scratch};
use model::spawn::{Signal, SignalSet};

/// A setup running `sh -c script` with everything else off.
fn sh<'a>(path: &'a CString, argv: &'a [*const u8], envp: &'a [*const u8]) -> ChildSetup<'a> {
    ChildSetup {
        path,
        argv,
        envp: envp.as_ptr(),
        stdin: None,
        stdout: None,
        close_stdout: false,
        extra_fd: None,
        new_pgrp: false,
        new_session: false,
        reset_signals: SignalSet::EMPTY,
        chdir: None,
        fail_msg: b"fatal: unable to start ./run: ",
        fail_code: 111,
    }
}

/// The child's exit code (1000 + signal if killed).
fn exit_code(pid: i32) -> i32 {
    match sys::wait_pid(pid) {
        Ok(st) if libc::WIFEXITED(st) => libc::WEXITSTATUS(st),
        Ok(st) => 1000 + libc::WTERMSIG(st),
        Err(_) => -1,
    }
}

const REPORT: &str = r#"read line; echo "in=$line"; echo "x=$(readlink /proc/$$/fd/7)"; echo "cwd=$(pwd)"; echo "env=$A"
set -- $(sed 's/^.*) //' /proc/$$/stat); echo "pgrp=$3 sid=$4"; echo "pid=$$"; exit 3"#;

/// A field `key=` of the report.
fn field<'a>(report: &'a str, key: &str) -> &'a str {
    report.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("no {key} in {report:?}"))
}

fn sigmask_hex(report: &str, key: &str) -> u64 {
    u64::from_str_radix(field(report, key).trim(), 16).unwrap()
}

#[test]
fn the_child_gets_fds_session_signals_directory_and_environment() {
    let dir = scratch("spawn-setup");
    std::fs::write(dir.join("in"), "hello\n").unwrap();
    std::fs::write(dir.join("x"), "").unwrap();
    let out_path = dir.join("out");
    let d2 = dir.clone();
    let code = in_fork(move || {
        let input = std::fs::File::open(d2.join("in")).unwrap().into_raw_fd();
        let out = std::fs::File::create(&out_path).unwrap().into_raw_fd();
        let x = std::fs::File::open(d2.join("x")).unwrap().into_raw_fd();
        // Caught and blocked (as runsv's SIGTERM), blocked only (stays so), ignored and
        // blocked (reset: default and unblocked).
        let _sigs = Signals::install(&[libc::SIGTERM]).unwrap();
        let _ = signal::change_mask(signal::SIG_BLOCK, signal::bit(libc::SIGUSR2) | signal::bit(libc::SIGUSR1));
        signal::ignore(libc::SIGUSR1);
        let path = c("/bin/sh");
        let args = [c("sh"), c("-c"), CString::new(REPORT).unwrap()];
        let env = [c("A=b")];
        let (argv, envp) = (pointers(&args), pointers(&env));
        let dirc = c(&d2);
        let mut setup = sh(&path, &argv, &envp);
        setup.stdin = Some(input);
        setup.stdout = Some(out);
        setup.extra_fd = Some((x, 7));
        setup.new_session = true;
        setup.new_pgrp = true;
        setup.reset_signals = SignalSet::of(&[Signal(libc::SIGTERM), Signal(libc::SIGUSR1)]);
        setup.chdir = Some(&dirc);
        // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
        let pid = unsafe { spawn(&setup) }.unwrap();
        let first = exit_code(pid);
        // The signal state as a program sees it (not a shell: dash clears its mask).
        let grep = c("/bin/grep");
        let args = [c("grep"), c("-E"), c("^Sig(Blk|Ign)"), c("/proc/self/status")];
        let argv = pointers(&args);
        let sig = std::fs::File::create(d2.join("sig")).unwrap().into_raw_fd();
        setup.path = &grep;
        setup.argv = &argv;
        setup.stdout = Some(sig);
        // SAFETY: as above.
        let pid = unsafe { spawn(&setup) }.unwrap();
        first * 10 + exit_code(pid)
    });
    let report = std::fs::read_to_string(dir.join("out")).unwrap();
    assert_eq!(code, 30, "{report}");
    assert_eq!(field(&report, "in="), "hello");
    assert_eq!(field(&report, "x="), dir.join("x").to_str().unwrap());
    assert_eq!(field(&report, "cwd="), dir.to_str().unwrap());
    assert_eq!(field(&report, "env="), "b");
    let pid = field(&report, "pid=");
    assert_eq!(field(&report, "pgrp="), format!("{pid} sid={pid}"), "a session leader");
    let sig = std::fs::read_to_string(dir.join("sig")).unwrap();
    let blocked = sigmask_hex(&sig, "SigBlk:");
    assert_eq!(blocked & signal::bit(libc::SIGTERM), 0, "reset: unblocked");
    assert_eq!(blocked & signal::bit(libc::SIGUSR1), 0, "reset: unblocked");
    assert_ne!(blocked & signal::bit(libc::SIGUSR2), 0, "not reset: still blocked");
    let ignored = sigmask_hex(&sig, "SigIgn:");
    assert_eq!(ignored & signal::bit(libc::SIGUSR1), 0, "reset: back to default");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_group_without_a_new_session() {
    let dir = scratch("spawn-pgrp");
    let out_path = dir.join("out");
    let code = in_fork(move || {
        let path = c("/bin/sh");
        let script = format!(
            r#"set -- $(sed 's/^.*) //' /proc/$$/stat); {{ echo "pid=$$"; echo "pgrp=$3"; echo "sid=$4"; }} >{}"#,
            out_path.display()
        );
        let args = [c("sh"), c("-c"), CString::new(script).unwrap()];
        let (argv, envp) = (pointers(&args), pointers(&[]));
        let mut setup = sh(&path, &argv, &envp);
        setup.new_pgrp = true;
        // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
        let pid = unsafe { spawn(&setup) }.unwrap();
        let code = exit_code(pid);
        // The report's sid must be ours (no new session).
        // SAFETY: getsid has no preconditions.
        let sid = unsafe { libc::getsid(0) };
        std::fs::write(out_path.with_extension("sid"), format!("{sid}")).unwrap();
        code
    });
    assert_eq!(code, 0);
    let report = std::fs::read_to_string(dir.join("out")).unwrap();
    assert_eq!(field(&report, "pgrp="), field(&report, "pid="));
    assert_eq!(field(&report, "sid="), std::fs::read_to_string(dir.join("out.sid")).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stdout_closed_means_fd_1_is_not_open_in_the_program() {
    let dir = scratch("spawn-close");
    let out_path = dir.join("out");
    let code = in_fork(move || {
        let out = std::fs::File::create(&out_path).unwrap().into_raw_fd();
        let path = c("/bin/sh");
        // Exits 0 only when fd 1 is closed; reports to fd 7 (the extra fd).
        let args = [c("sh"), c("-c"), c(r#"if [ -e /proc/$$/fd/1 ]; then echo open >&7; exit 1; fi; echo closed >&7"#)];
        let (argv, envp) = (pointers(&args), pointers(&[]));
        let mut setup = sh(&path, &argv, &envp);
        setup.close_stdout = true;
        setup.extra_fd = Some((out, 7));
        // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
        let pid = unsafe { spawn(&setup) }.unwrap();
        exit_code(pid)
    });
    assert_eq!(std::fs::read_to_string(dir.join("out")).unwrap(), "closed\n");
    assert_eq!(code, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exec_and_chdir_failures_write_runits_message_and_exit_with_the_code() {
    let dir = scratch("spawn-fail");
    let err_path = dir.join("err");
    let code = in_fork(move || {
        let err = std::fs::File::create(&err_path).unwrap().into_raw_fd();
        let _ = sys::close(2);
        // SAFETY: dup2 on plain descriptors of this forked child.
        unsafe { libc::dup2(err, 2) };
        let path = c("/nonexistent/run");
        let args = [c("./run")];
        let (argv, envp) = (pointers(&args), pointers(&[]));
        let mut setup = sh(&path, &argv, &envp);
        // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
        let first = exit_code(unsafe { spawn(&setup) }.unwrap());
        let nodir = c("/nonexistent/dir");
        setup.chdir = Some(&nodir);
        setup.fail_code = 7;
        setup.fail_msg = b"fatal: unable to change directory: ";
        // SAFETY: as above.
        let second = exit_code(unsafe { spawn(&setup) }.unwrap());
        if first == 111 && second == 7 {
            0
        } else {
            first * 1000 + second
        }
    });
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(dir.join("err")).unwrap(),
        "fatal: unable to start ./run: file does not exist\nfatal: unable to change directory: file does not exist\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn argv_without_its_null_is_refused_before_any_child() {
    let path = c("/bin/true");
    let args = [c("true")];
    let argv: Vec<*const u8> = args.iter().map(|a| a.as_ptr().cast()).collect();
    let envp = pointers(&[]);
    // SAFETY: refused before anything reads the arrays.
    assert_eq!(unsafe { spawn(&sh(&path, &argv, &envp)) }, Err(model::errno::Errno::EINVAL));
}

#[test]
fn one_stack_serves_a_hundred_spawns() {
    let code = in_fork(|| {
        let path = c("/bin/sh");
        let args = [c("sh"), c("-c"), c("exit 3")];
        let (argv, envp) = (pointers(&args), pointers(&[]));
        let setup = sh(&path, &argv, &envp);
        let before = stacks_mapped();
        for _ in 0..100 {
            // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
            let Ok(pid) = (unsafe { spawn(&setup) }) else { return 10 };
            if exit_code(pid) != 3 {
                return 11;
            }
        }
        // At most the first spawn of this process mapped one (the harness may have).
        if stacks_mapped() - before > 1 {
            return 12;
        }
        0
    });
    assert_eq!(code, 0);
}

/// Audit: an extra fd already on its target number (close-on-exec, as every descriptor
/// runsv opens) still reaches the program: `fcntl(F_SETFD, 0)` instead of a `dup2` onto
/// itself, which would keep close-on-exec.
#[test]
fn an_extra_fd_already_on_its_number_reaches_the_program() {
    let dir = scratch("spawn-extra-same");
    let out_path = dir.join("out");
    let code = in_fork(move || {
        let out = std::fs::File::create(&out_path).unwrap().into_raw_fd();
        // SAFETY: dup3 onto a number of this forked child; O_CLOEXEC as runsv's pipes.
        if unsafe { libc::dup3(out, 7, libc::O_CLOEXEC) } != 7 {
            return 9;
        }
        let path = c("/bin/sh");
        let args = [c("sh"), c("-c"), c("echo seven >&7")];
        let (argv, envp) = (pointers(&args), pointers(&[]));
        let mut setup = sh(&path, &argv, &envp);
        setup.extra_fd = Some((7, 7));
        // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
        let pid = unsafe { spawn(&setup) }.unwrap();
        exit_code(pid)
    });
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(dir.join("out")).unwrap(), "seven\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Audit: a `dup2` that fails (a source not open) is runit's failure: the message, the
/// errno's text, exit 111, no program run.
#[test]
fn a_failing_dup2_writes_runits_message_and_exits_111() {
    let dir = scratch("spawn-dup-fail");
    let err_path = dir.join("err");
    let code = in_fork(move || {
        let err = std::fs::File::create(&err_path).unwrap().into_raw_fd();
        // SAFETY: dup2 on plain descriptors of this forked child.
        unsafe { libc::dup2(err, 2) };
        let path = c("/bin/sh");
        let args = [c("sh"), c("-c"), c("echo ran >&2")];
        let (argv, envp) = (pointers(&args), pointers(&[]));
        let mut setup = sh(&path, &argv, &envp);
        setup.stdin = Some(999);
        // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
        exit_code(unsafe { spawn(&setup) }.unwrap())
    });
    assert_eq!(code, 111);
    assert_eq!(std::fs::read_to_string(dir.join("err")).unwrap(), "fatal: unable to start ./run: file descriptor not open\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Audit: with fds 0, 1 and 2 closed in the parent, a child still gets its stdout, and a
/// failure whose message has nowhere to go still exits 111.
#[test]
fn spawning_with_fds_0_1_2_closed() {
    let dir = scratch("spawn-no-stdio");
    let out_path = dir.join("out");
    let code = in_fork(move || {
        let out = std::fs::File::create(&out_path).unwrap().into_raw_fd();
        for fd in 0..3 {
            let _ = sys::close(fd);
        }
        let path = c("/bin/sh");
        let args = [c("sh"), c("-c"), c("echo hi")];
        let (argv, envp) = (pointers(&args), pointers(&[]));
        let mut setup = sh(&path, &argv, &envp);
        setup.stdout = Some(out);
        // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
        let first = exit_code(unsafe { spawn(&setup) }.unwrap());
        let missing = c("/nonexistent/run");
        setup.path = &missing;
        // SAFETY: as above.
        let second = exit_code(unsafe { spawn(&setup) }.unwrap());
        first * 1000 + second
    });
    assert_eq!(code, 111, "0 from the shell, 111 from the failure");
    assert_eq!(std::fs::read_to_string(dir.join("out")).unwrap(), "hi\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Audit: two threads spawning at once (the test harness's case; runsv has one thread):
/// one uses the reused stack, the other a stack of its own for that spawn, and every
/// child runs its own program.
#[test]
fn two_threads_spawning_at_once_each_get_their_own_child() {
    let code = in_fork(|| {
        let run = |k: i32| {
            std::thread::spawn(move || {
                let path = c("/bin/sh");
                let args = [c("sh"), c("-c"), c(format!("exit {k}"))];
                let (argv, envp) = (pointers(&args), pointers(&[]));
                let setup = sh(&path, &argv, &envp);
                (0..40).all(|_| {
                    // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
                    matches!(unsafe { spawn(&setup) }, Ok(pid) if exit_code(pid) == k)
                })
            })
        };
        let (a, b) = (run(5), run(6));
        match (a.join(), b.join()) {
            (Ok(true), Ok(true)) if child_stack_high_water().is_some() => 0,
            (Ok(true), Ok(true)) => 2,
            _ => 1,
        }
    });
    assert_eq!(code, 0, "1: a child ran the wrong program or failed, 2: the reused stack was left busy");
}

/// The pid of a child of `parent` (from /proc), if any.
fn child_of(parent: i32) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()).find(|pid| {
        std::fs::read(format!("/proc/{pid}/stat")).ok().is_some_and(|stat| {
            let close = stat.iter().rposition(|&b| b == b')').unwrap_or(0);
            let rest = String::from_utf8_lossy(&stat[close + 1..]).into_owned();
            rest.split_ascii_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok()) == Some(parent)
        })
    })
}

/// Audit: the deepest path a child takes. Its failure message blocks in `write` (fd 2 is
/// a full pipe) and a caught, handled signal (SIGTERM, in `reset_signals`) arrives there:
/// the parent's handler runs on the child's stack, sees a spawned child, and the signal
/// takes its default action. The parent's latch and eventfd see nothing, and the child
/// stack's high-water mark (the failure path plus a signal frame) is well inside
/// `CHILD_STACK`.
#[test]
fn a_signal_in_the_child_before_exec_kills_it_without_reaching_the_parent_and_the_stack_suffices() {
    let code = in_fork(|| {
        let Ok(sigs) = Signals::install(&[libc::SIGTERM]) else { return 10 };
        let Ok((_r, w)) = sys::pipe2(sys::O_CLOEXEC | sys::O_NONBLOCK) else { return 11 };
        while sys::write(w, &[0u8; 4096]).is_ok() {}
        while sys::write(w, &[0u8; 1]).is_ok() {}
        // SAFETY (both blocks): dup and dup2 of plain descriptors of this forked child;
        // stderr kept to print the figure after.
        let stderr = unsafe { libc::dup(2) };
        if stderr < 0 || bare::file::set_nonblock(w, false).is_err() || unsafe { libc::dup2(w, 2) } < 0 {
            return 12;
        }
        let me = sys::getpid();
        // Finds the child once it is blocked in write(2) (/proc/<pid>/syscall starts with
        // its number, 1), sends SIGTERM; SIGKILL if it is still there after, or if it is
        // never seen in write(2), so a broken handler fails the test instead of hanging it.
        let killer = std::thread::spawn(move || {
            for _ in 0..20_000 {
                let Some(pid) = child_of(me) else {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    continue;
                };
                let in_write = std::fs::read_to_string(format!("/proc/{pid}/syscall")).is_ok_and(|s| s.starts_with("1 "));
                if !in_write {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    continue;
                }
                let _ = sys::kill(pid, libc::SIGTERM);
                for _ in 0..5_000 {
                    if child_of(me) != Some(pid) || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z")) {
                        return true;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                let _ = sys::kill(pid, libc::SIGKILL);
                return false;
            }
            // Never seen blocked in write(2): kill the child (if any) so the wait below
            // returns and the test fails instead of hanging on a full pipe.
            if let Some(pid) = child_of(me) {
                let _ = sys::kill(pid, libc::SIGKILL);
            }
            false
        });
        let path = c("/nonexistent/run");
        let args = [c("./run")];
        let (argv, envp) = (pointers(&args), pointers(&[]));
        let mut setup = sh(&path, &argv, &envp);
        setup.reset_signals = SignalSet::of(&[Signal(libc::SIGTERM)]);
        // SAFETY: argv and envp are NULL-terminated arrays over live C strings.
        let Ok(pid) = (unsafe { spawn(&setup) }) else { return 13 };
        let status = exit_code(pid);
        if killer.join().ok() != Some(true) {
            return 14;
        }
        if status != 1000 + libc::SIGTERM {
            return 15;
        }
        if sigs.take().contains(libc::SIGTERM) {
            return 16;
        }
        let mut fds = [bare::poll::PollFd::new(sigs.wake_fd(), bare::poll::POLLIN)];
        if bare::poll::ppoll(&mut fds, Some((0, 0)), None) != Ok(0) {
            return 17;
        }
        let Some(used) = child_stack_high_water() else { return 18 };
        // SAFETY: dup2 on plain descriptors of this forked child.
        unsafe { libc::dup2(stderr, 2) };
        eprintln!("child stack high-water mark: {used} of {CHILD_STACK} bytes");
        if used == 0 || used > CHILD_STACK / 2 {
            return 19;
        }
        0
    });
    assert_eq!(code, 0);
}
