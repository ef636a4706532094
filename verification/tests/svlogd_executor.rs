//! svlogd's production executor (`SvlogdIo`) over a minimal fake kernel: one log directory
//! with `current`, stdin as a byte buffer. Pins the bug the joint simulation found: a
//! SIGTERM and a readable stdin in the same wake-up must not lose what the executor read
//! (it read 128 KiB after queueing TERM, and the machine exited without writing it).

use std::collections::VecDeque;
use std::ffi::{CStr, CString};

use model::errno::Errno;
use model::spawn::ChildPlan;
use model::svlogd::config::Udp;
use model::svlogd::options::{parse, Parsed};
use model::svlogd::{Input, Logger, UdpOutcome};
use model::time::{Mono, Now, Wall};
use runtime::driver::{self, Os, Trace, Turn};
use runtime::exec::svlogd::SvlogdIo;
use runtime::fs::AtomicWriteError;
use runtime::latch::SignalSet;
use runtime::os::{LogSyscalls, Syscalls};
use runtime::process::{Reaped, SpawnSpec};
use runtime::wait::{Interest, Ready};

/// The fake: `current`'s bytes, what is left on stdin, the stderr lines.
#[derive(Default)]
struct Fake {
    current: Option<Vec<u8>>,
    stdin: Vec<u8>,
    stderr: Vec<Vec<u8>>,
    /// `write(2)`s so far (a step cap: a loop that never ends fails, it does not hang).
    writes: usize,
}

const DIR: i32 = 10;
const LOCK: i32 = 11;
const CUR: i32 = 12;

impl Syscalls for Fake {
    fn spawn(&mut self, _: &SpawnSpec) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn wait_pid(&mut self, _: i32) -> Result<i32, Errno> {
        Err(Errno::ECHILD)
    }
    fn reap_nohang(&mut self) -> Option<Reaped> {
        None
    }
    fn kill(&mut self, _: i32, _: i32) -> Result<(), Errno> {
        Err(Errno::ESRCH)
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
        self.stderr.push(line.to_vec());
    }
    fn set_nonblock(&mut self, _: i32) -> Result<(), Errno> {
        Ok(())
    }
}

impl LogSyscalls for Fake {
    fn open_dir_fd(&mut self, _: &CStr) -> Result<i32, Errno> {
        Ok(DIR)
    }
    fn fstat_mode(&mut self, _: i32) -> Result<u32, Errno> {
        Ok(libc::S_IFDIR | 0o755)
    }
    fn openat(&mut self, _: i32, name: &CStr, _: i32, _: u32) -> Result<i32, Errno> {
        match name.to_bytes() {
            b"lock" => Ok(LOCK),
            b"current" => {
                self.current.get_or_insert_with(Vec::new);
                Ok(CUR)
            }
            _ => Err(Errno::ENOENT),
        }
    }
    fn lock_nowait(&mut self, _: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn list_at(&mut self, _: i32) -> Result<Vec<CString>, Errno> {
        Ok(self.current.iter().map(|_| CString::from(c"current")).collect())
    }
    fn lstat_at(&mut self, _: i32, name: &CStr) -> Result<(u32, u64), Errno> {
        match (name.to_bytes(), &self.current) {
            (b"current", Some(c)) => Ok((libc::S_IFREG | 0o644, c.len() as u64)),
            _ => Err(Errno::ENOENT),
        }
    }
    fn write_fd(&mut self, fd: i32, bytes: &[u8]) -> Result<usize, Errno> {
        self.writes += 1;
        assert!(self.writes < 10_000, "svlogd keeps writing: a write loop that never ends");
        match (fd, &mut self.current) {
            (CUR, Some(c)) => {
                c.extend_from_slice(bytes);
                Ok(bytes.len())
            }
            _ => Err(Errno::EBADF),
        }
    }
    fn renameat(&mut self, _: i32, _: &CStr, _: &CStr) -> Result<(), Errno> {
        Err(Errno::EIO)
    }
    fn unlinkat(&mut self, _: i32, _: &CStr) -> Result<(), Errno> {
        Err(Errno::ENOENT)
    }
    fn fchmodat(&mut self, _: i32, _: &CStr, _: u32) -> Result<(), Errno> {
        Ok(())
    }
    fn fchmod(&mut self, _: i32, _: u32) -> Result<(), Errno> {
        Ok(())
    }
    fn fsync(&mut self, _: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn spawn_processor(&mut self, _: &ChildPlan) -> Result<i32, Errno> {
        Err(Errno::EINVAL)
    }
    fn send_udp(&mut self, _: Udp, _: &[u8]) -> UdpOutcome {
        UdpOutcome::NoSocket
    }
    fn read_append(&mut self, fd: i32, buf: &mut Vec<u8>, max: usize) -> Result<usize, Errno> {
        assert_eq!(fd, 0);
        if self.stdin.is_empty() {
            return Err(Errno::EAGAIN);
        }
        let n = self.stdin.len().min(max);
        buf.extend(self.stdin.drain(..n));
        Ok(n)
    }
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

#[test]
fn term_and_data_in_one_wake_are_both_taken() {
    let Parsed::Run(settings) = parse(&[&b"svlogd"[..], b"main"]) else { panic!("svlogd main parses") };
    let strays = runtime::signals::Strays { catch: Vec::new(), unblock_in_child: Vec::new() };
    let mut io = SvlogdIo::over(Fake::default(), settings.dirs.clone(), &strays);
    let mut m = Logger::new(settings);
    let mut queue = VecDeque::from([Input::Start]);
    let Turn::Waiting { deadline, .. } = driver::settle(&mut m, &mut io, &mut Clock, &mut queue, &mut Trace::none()) else {
        panic!("svlogd exited at start: {:?}", io.os().stderr)
    };
    // Three lines in the pipe and SIGTERM, delivered by one wake-up.
    let lines = b"one\ntwo\nthree\n".to_vec();
    let mut interests = Vec::new();
    runtime::driver::Io::<Logger>::interests(&io, &mut interests);
    assert!(interests.iter().any(|i| i.fd == 0 && i.read), "svlogd reads stdin when idle");
    let fake = io.os_mut();
    fake.stdin = lines.clone();
    let ready = vec![Ready { fd: 0, readable: true, writable: false }];
    driver::woken::<Logger, _, _>(&mut io, &mut Clock, deadline, ready, SignalSet(1 << libc::SIGTERM), &mut queue);
    let turn = driver::settle(&mut m, &mut io, &mut Clock, &mut queue, &mut Trace::none());
    assert!(matches!(turn, Turn::Finished(0)), "svlogd exits 0 on TERM");
    let fake = io.os();
    let kept = fake.current.clone().unwrap_or_default();
    assert_eq!(kept.len() + fake.stdin.len(), lines.len(), "no byte lost: current {kept:?}, stdin left {:?}", fake.stdin);
    assert_eq!([kept, fake.stdin.clone()].concat(), lines);
}
