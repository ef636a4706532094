//! PID 1's production executor (`StageIo`) over a minimal fake kernel that keeps the
//! console: the stage simulation judges which children run and when, this judges what
//! runit says on the console while it does (runit's lines, in order).

use std::collections::VecDeque;
use std::ffi::CStr;

use model::errno::Errno;
use model::spawn::ChildPlan;
use model::stage::msg::{self, Msg};
use model::stage::{Config, FinalPlan, Input, Paths, Script, StageId, Stages};
use model::time::{Mono, Now, Wall};
use runtime::driver::{self, Os, Trace, Turn};
use runtime::exec::stage::{StageIo, StagePaths};
use runtime::fs::AtomicWriteError;
use runtime::latch::SignalSet;
use runtime::os::{StageSyscalls, Syscalls};
use runtime::process::{Reaped, SpawnSpec};
use runtime::wait::{Interest, Ready};

/// The fake: the console's lines, children to reap, the pids handed out.
#[derive(Default)]
struct Console {
    lines: Vec<Vec<u8>>,
    exited: VecDeque<Reaped>,
    next_pid: i32,
    /// Every `kill(pid, sig)` runit made.
    kills: Vec<(i32, i32)>,
}

impl Syscalls for Console {
    fn spawn(&mut self, _: &SpawnSpec) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn wait_pid(&mut self, _: i32) -> Result<i32, Errno> {
        Err(Errno::ECHILD)
    }
    fn reap_nohang(&mut self) -> Option<Reaped> {
        self.exited.pop_front()
    }
    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), Errno> {
        self.kills.push((pid, sig));
        Ok(())
    }
    fn stat_mode(&mut self, _: &CStr) -> Result<u32, Errno> {
        Err(Errno::ENOENT)
    }
    fn open_read(&mut self, _: &CStr) -> Result<i32, Errno> {
        Err(Errno::ENOENT)
    }
    fn read(&mut self, _: i32, _: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    fn close(&mut self, _: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn write_atomic(&mut self, _: &CStr, _: &CStr, _: &[u8]) -> Result<(), AtomicWriteError> {
        Err(AtomicWriteError::Open(Errno::EINVAL))
    }
    fn write_stderr(&mut self, line: &[u8]) {
        self.lines.push(line.to_vec());
    }
    fn set_nonblock(&mut self, _: i32) -> Result<(), Errno> {
        Ok(())
    }
}

impl StageSyscalls for Console {
    fn spawn_script(&mut self, _: &ChildPlan) -> Result<i32, Errno> {
        self.next_pid += 1;
        Ok(100 + self.next_pid)
    }
    fn spawn_final(&mut self, _: &Paths, _: &FinalPlan) -> Result<i32, Errno> {
        self.next_pid += 1;
        Ok(100 + self.next_pid)
    }
    fn run_final(&mut self, _: &Paths, _: &FinalPlan) {}
    fn say(&mut self, line: &[u8]) {
        self.lines.push(line.to_vec());
    }
    fn point_at_console(&mut self, _: &CStr) {}
    fn chmod(&mut self, _: &CStr, _: u32) -> Result<(), Errno> {
        Ok(())
    }
    fn sync(&mut self) {}
}

struct Clock;

impl Os for Clock {
    fn now(&mut self) -> Now {
        Now { mono: Mono(1_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } }
    }
    fn wait(&mut self, _: &[Interest], _: Now, _: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        (Vec::new(), SignalSet::default())
    }
}

/// runit boots: "booting" on the console, stage 1 runs; when it exits 0 runit says it
/// left stage 1 (and starts stage 2, which the console does not hear about).
#[test]
fn the_console_hears_boot_and_the_end_of_stage_1() {
    let paths = Paths::under(b"");
    let mut io = StageIo::over(Console::default(), StagePaths::new(paths.clone()));
    let mut m = Stages::new(Config::default());
    let mut queue = VecDeque::from([Input::Boot]);
    let turn = driver::settle(&mut m, &mut io, &mut Clock, &mut queue, &mut Trace::none());
    let Turn::Waiting { deadline, .. } = turn else { panic!("runit exited at boot") };
    assert_eq!(io.os_mut().lines, vec![msg::line(Msg::Booting, &paths)], "the boot line, alone");
    io.os_mut().exited.push_back(Reaped { pid: 101, status: 0 });
    driver::woken::<Stages, _, _>(&mut io, &mut Clock, deadline, Vec::new(), SignalSet(1 << libc::SIGCHLD), &mut queue);
    let turn = driver::settle(&mut m, &mut io, &mut Clock, &mut queue, &mut Trace::none());
    assert!(matches!(turn, Turn::Waiting { .. }), "runit goes on to stage 2");
    let want = vec![msg::line(Msg::Booting, &paths), msg::line(Msg::LeaveStage(Script::Stage(StageId::One)), &paths)];
    let shown = |v: &[Vec<u8>]| v.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>();
    assert_eq!(shown(&io.os_mut().lines), shown(&want));
}

/// Feeds `pid`'s exit (raw status) and settles: where runit stands then.
fn exit_child(
    m: &mut Stages,
    io: &mut StageIo<Console>,
    queue: &mut VecDeque<Input>,
    deadline: Option<Mono>,
    pid: i32,
    status: i32,
) -> Turn {
    io.os_mut().exited.push_back(Reaped { pid, status });
    driver::woken::<Stages, _, _>(io, &mut Clock, deadline, Vec::new(), SignalSet(1 << libc::SIGCHLD), queue);
    driver::settle(m, io, &mut Clock, queue, &mut Trace::none())
}

/// In a container runit's end is an exit, not a reboot: after stage 3 it kills every
/// process and exits with stage 2's exit code (here 3), saying so on the console.
#[test]
fn in_a_container_runit_exits_with_stage_2s_code() {
    let paths = Paths::under(b"");
    let mut io = StageIo::over(Console::default(), StagePaths::new(paths.clone()));
    let mut m = Stages::new(Config { container: true });
    let mut queue = VecDeque::from([Input::Boot]);
    let mut turn = driver::settle(&mut m, &mut io, &mut Clock, &mut queue, &mut Trace::none());
    for (pid, status) in [(101, 0), (102, 3 << 8), (103, 0)] {
        let Turn::Waiting { deadline, .. } = turn else { panic!("runit ended before pid {pid} exited: {turn:?}") };
        turn = exit_child(&mut m, &mut io, &mut queue, deadline, pid, status);
    }
    assert!(matches!(turn, Turn::Finished(3)), "runit exits 3: {turn:?}");
    assert!(io.os_mut().kills.contains(&(-1, libc::SIGKILL)), "every process killed first: {:?}", io.os_mut().kills);
    let last = io.os_mut().lines.last().cloned().unwrap_or_default();
    assert_eq!(String::from_utf8_lossy(&last), String::from_utf8_lossy(&msg::line(Msg::ContainerExit(3), &paths)));
}
