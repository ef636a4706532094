//! Model/runtime agreement for runsvdir: a real run with `RUNIT_TRACE` records every
//! input fed to the machine and every action executed; replaying the inputs (with their
//! recorded times) through a fresh `model::runsvdir::Runsvdir` must give exactly the
//! recorded actions. The run covers adds, removals, a dangling link, a runsv death,
//! SIGALRM and SIGHUP, with the log argument active.

use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::debug_text::DebugText as P;
use e2e::{bin, eventually, Scratch};
use model::errno::Errno;
use model::runsvdir::machine::{DirStamp, Entry, EntryKind, Input, LogFailure, ScanReply, StampError, WatchState};
use model::runsvdir::Runsvdir;

/// The parsing of this machine's inputs, on top of the shared reader.
trait ReadRunsvdir {
    fn opt_errno(&mut self) -> Option<Errno>;
    fn entry(&mut self) -> Entry;
    fn input(&mut self) -> Input;
}

impl ReadRunsvdir for P<'_> {
    fn opt_errno(&mut self) -> Option<Errno> {
        self.option(|p| p.errno())
    }
    fn entry(&mut self) -> Entry {
        self.expect("Entry { name:");
        let name = self.bytes();
        self.expect("kind:");
        let kind = if self.eat("Dir { dev:") {
            let dev = self.num() as u64;
            self.expect("ino:");
            let ino = self.num() as u64;
            self.expect("}");
            EntryKind::Dir { dev, ino }
        } else if self.eat("NotDir") {
            EntryKind::NotDir
        } else {
            self.expect("StatFailed(");
            let e = self.errno();
            self.expect(")");
            EntryKind::StatFailed(e)
        };
        self.expect("}");
        Entry { name, kind }
    }
    fn input(&mut self) -> Input {
        for (t, i) in [
            ("Start", Input::Start),
            ("DirChanged", Input::DirChanged),
            ("Tick", Input::Tick),
            ("Terminate", Input::Terminate),
            ("Hangup", Input::Hangup),
            ("Alarm", Input::Alarm),
        ] {
            if self.s == t {
                return i;
            }
        }
        if self.eat("LogReady(") {
            let r = if self.eat("Ok(())") {
                Ok(())
            } else {
                self.expect("Err(");
                let failure = if self.eat("Pipe") {
                    LogFailure::Pipe
                } else {
                    self.expect("Dup");
                    LogFailure::Dup
                };
                self.expect(")");
                Err(failure)
            };
            return Input::LogReady(r);
        }
        if self.eat("Watch(") {
            return Input::Watch(if self.eat("Active") { WatchState::Active } else { WatchState::Unavailable });
        }
        if self.eat("DirStat(") {
            if self.eat("Err(") {
                return Input::DirStat(Err(self.errno()));
            }
            self.expect("Ok(DirStamp { mtime_secs:");
            let mtime_secs = self.num();
            self.expect("ino:");
            let ino = self.num() as u64;
            self.expect("dev:");
            let dev = self.num() as u64;
            return Input::DirStat(Ok(DirStamp { mtime_secs, ino, dev }));
        }
        if self.eat("Scanned(") {
            if self.eat("ChdirFailed(") {
                return Input::Scanned(ScanReply::ChdirFailed(self.errno()));
            }
            if self.eat("OpenFailed(") {
                return Input::Scanned(ScanReply::OpenFailed(self.errno()));
            }
            self.expect("Listed { entries: [");
            let mut entries = Vec::new();
            while !self.eat("]") {
                entries.push(self.entry());
            }
            self.expect("read_error:");
            let read_error = self.opt_errno();
            return Input::Scanned(ScanReply::Listed { entries, read_error });
        }
        if self.eat("Spawned { dev:") {
            let dev = self.num() as u64;
            self.expect("ino:");
            let ino = self.num() as u64;
            self.expect("result:");
            let result = if self.eat("Ok(") {
                Ok(self.num() as i32)
            } else {
                self.expect("Err(");
                Err(self.errno())
            };
            return Input::Spawned { dev, ino, result };
        }
        if self.eat("RunsvExited { pid:") {
            return Input::RunsvExited { pid: self.num() as i32 };
        }
        if self.eat("StampWritten(") {
            return Input::StampWritten(if self.eat("Ok(())") {
                Ok(())
            } else if self.eat("Err(Open)") {
                Err(StampError::Open)
            } else {
                self.expect("Err(Write)");
                Err(StampError::Write)
            });
        }
        if self.eat("LogBytes(") {
            return Input::LogBytes(self.bytes());
        }
        panic!("unknown input {:?}", self.s);
    }
}

#[test]
fn real_run_replays_through_the_model() {
    let mut s = Scratch::new("rsd-trace");
    s.script("sv/a/run", "exec sleep 1000");
    // A stand-in runsv that does not write into the trace itself.
    s.script("fakebin/runsv", "echo \"$1 $$\" >> ../started\nexec sleep 1000");
    let trace = s.join("trace");
    let log = format!("log: {}", ".".repeat(60));
    let mut cmd = Command::new(bin("runsvdir"));
    cmd.args(["-P", "sv", &log])
        .current_dir(&s.path)
        .env("PATH", format!("{}:/usr/bin:/bin", s.join("fakebin").display()))
        .env("RUNIT_TRACE", &trace)
        .stdin(Stdio::null());
    let rsd = s.spawn(cmd);
    let t = Duration::from_secs(10);
    eventually!(t, s.read("started").lines().count() == 1, "a started");
    s.script("stage/b/run", "exec sleep 1000");
    std::fs::rename(s.join("stage/b"), s.join("sv/b")).unwrap();
    std::os::unix::fs::symlink("/nonexistent-trace", s.join("sv/dang")).unwrap();
    eventually!(t, s.read("started").lines().count() == 2, "b started");
    // Kill a's runsv: restarted.
    let a_pid: i32 = s.read("started").lines().find_map(|l| l.strip_prefix("a ")).and_then(|p| p.parse().ok()).unwrap();
    // SAFETY: kill by pid of the fake runsv this test's runsvdir started.
    unsafe { libc::kill(a_pid, libc::SIGKILL) };
    eventually!(t, s.read("started").lines().filter(|l| l.starts_with("a ")).count() == 2, "a restarted");
    std::fs::remove_dir_all(s.join("sv/b")).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    unsafe { libc::kill(rsd as i32, libc::SIGALRM) };
    eventually!(t, s.join("sv/.forced-rescan").exists(), "forced rescan");
    unsafe { libc::kill(rsd as i32, libc::SIGHUP) };
    let st = s.wait_exit(rsd, t).expect("exit after HUP");
    assert_eq!(st.code(), Some(111));

    // Replay.
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut m = Runsvdir::new(Some(log.as_bytes()));
    let e2e::replay::Replay { recorded, replayed, inputs } = e2e::replay::replay(&mut m, &text, |t| P { s: t }.input(), |_, _| false);
    assert!(inputs > 10, "trace too short: {text}");
    assert_eq!(replayed, recorded, "the binary and the model disagree");
    for want in ["StartRunsv", "Term", "WriteStamp", "ShowTitle", "Exit(111)", "Warn(StatEntry"] {
        assert!(recorded.iter().any(|a| a.contains(want)), "the run never did {want}");
    }
}
