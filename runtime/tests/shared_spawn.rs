//! `spawn_plan_shared` (runsvdir's spawn: the child runs in the parent's memory until its
//! `execve`, `clone(CLONE_VM | CLONE_VFORK)`): the child carries out its plan as a
//! forked one does, its descriptors and signal dispositions stay its own, and a caught
//! signal that reaches it before `execve` takes its default action there without being
//! recorded by the parent. Its own process: one test installs a handler.
#![cfg(not(loom))]

use model::errno::Errno;
use model::spawn::{failure_line, ChildPlan, Exec, Signal, SignalPlan, Step};
use runtime::process::{spawn_plan_shared, wait_pid};
use runtime::signals::{self, Signals};

/// The tests share the process-wide shared-spawn marker: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn plan(candidates: &[&[u8]], argv: &[&[u8]], steps: Vec<Step>) -> ChildPlan {
    ChildPlan {
        steps,
        exec: Exec {
            candidates: candidates.iter().map(|c| c.to_vec()).collect(),
            argv: argv.iter().map(|a| a.to_vec()).collect(),
            env: None,
            fail: b"shared_spawn: fatal: unable to start: ".to_vec(),
        },
        fail_exit: 100,
    }
}

fn inode_of_fd(fd: i32) -> (u64, u64) {
    // SAFETY: fstat into a local buffer.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        assert_eq!(libc::fstat(fd, &mut st), 0, "fstat {fd}");
        (st.st_dev, st.st_ino)
    }
}

#[test]
fn child_runs_the_plan_with_its_own_descriptors() {
    let _one = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // runit's PATH rule over the candidates: the missing first one is passed over.
    let pid = spawn_plan_shared(&plan(&[b"/nonexistent/sh", b"/bin/sh"], &[b"sh", b"-c", b"exit 7"], vec![])).expect("spawn");
    let status = wait_pid(pid).expect("wait");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 7, "status {status:#x}");

    // A failing exec: the plan's message on the child's fd 2 (a pipe put there by a
    // step), its exit code, and the parent's fd 2 untouched (no shared fd table).
    let mut p = [0i32; 2];
    // SAFETY: pipe2 into a local array.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let before = inode_of_fd(2);
    let steps = vec![Step::Dup { from: p[1], to: 2, fail: b"dup: ".to_vec() }, Step::Signals(SignalPlan::reset([Signal::TERM]))];
    let pid = spawn_plan_shared(&plan(&[b"/nonexistent/runsv"], &[b"runsv", b"x"], steps)).expect("spawn");
    let status = wait_pid(pid).expect("wait");
    // SAFETY: closing our copy of the write end, then reading into a local buffer.
    let said = unsafe {
        libc::close(p[1]);
        let mut buf = [0u8; 256];
        let n = libc::read(p[0], buf.as_mut_ptr().cast(), buf.len());
        libc::close(p[0]);
        buf[..usize::try_from(n).expect("read")].to_vec()
    };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 100, "status {status:#x}");
    assert_eq!(said, failure_line(b"shared_spawn: fatal: unable to start: ", Errno::ENOENT));
    assert_eq!(inode_of_fd(2), before, "the child's dup2 onto fd 2 reached the parent");
}

/// The shared child's start: unblock SIGUSR1, send it to itself, `_exit(0)` if alive.
extern "C" fn child_sending_usr1(_: *mut libc::c_void) -> libc::c_int {
    // SAFETY: async-signal-safe calls on a local set; ends in _exit.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), libc::SIGUSR1);
        libc::_exit(0)
    }
}

fn handler_of(signo: i32) -> usize {
    // SAFETY: sigaction query into a local buffer.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(signo, std::ptr::null(), &mut old), 0);
        old.sa_sigaction
    }
}

#[test]
fn caught_signal_in_shared_child_takes_default_action_there_only() {
    let _one = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let sigs = Signals::install(&[libc::SIGUSR1]).expect("install");
    let installed = handler_of(libc::SIGUSR1);
    assert!(signals::is_caught(libc::SIGUSR1));
    let mut stack = vec![0u8; 64 * 1024];
    // SAFETY: the stack is ours and unused while we wait (CLONE_VFORK); the child makes
    // async-signal-safe calls only and ends in _exit.
    let pid = unsafe {
        signals::enter_shared_spawn();
        let top = stack.as_mut_ptr().add(stack.len() - 64).cast::<libc::c_void>();
        let top = (top as usize & !15) as *mut libc::c_void;
        let pid = libc::clone(child_sending_usr1, top, libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD, std::ptr::null_mut());
        signals::leave_shared_spawn();
        pid
    };
    assert!(pid > 0, "clone failed");
    let status = wait_pid(pid).expect("wait");
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGUSR1, "shared child: status {status:#x}");
    // The parent still catches it, and its handler recorded nothing for the child's signal.
    assert_eq!(handler_of(libc::SIGUSR1), installed, "the child's SIG_DFL reached the parent");
    assert!(!sigs.take().contains(libc::SIGUSR1), "the parent recorded the child's signal");
    drop(stack);
}
