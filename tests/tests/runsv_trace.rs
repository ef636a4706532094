//! Model/runtime agreement: a real `runsv` run with `RUNIT_TRACE` records every input it
//! fed its machine and every action it executed; replaying the inputs through a fresh
//! model must produce exactly the recorded actions. So the binary cannot drift from the
//! machine that the property tests and the explorer check.

use std::time::Duration;

use e2e::debug_text::DebugText as P;
use e2e::{eventually, Scratch};
use model::readiness::Protocol;
use model::runsv::{Backoff, Config, ControlOutcome, Input, Limit, PipeId, Probe, Readiness, Resume, Runsv, Sig, Slot, Stop};
use model::time::Span;
use model::{Mono, Now, Wall};

/// The parsing of this machine's inputs, on top of the shared reader.
trait ReadRunsv {
    fn slot(&mut self) -> Slot;
    fn now(&mut self) -> Now;
    fn config(&mut self) -> Config;
    fn stop(&mut self) -> Stop;
    fn backoff(&mut self) -> Backoff;
    fn input(&mut self) -> Input;
    fn probe(&mut self) -> Option<Probe>;
}

impl ReadRunsv for P<'_> {
    fn slot(&mut self) -> Slot {
        if self.eat("Main") {
            Slot::Main
        } else {
            self.expect("Log");
            Slot::Log
        }
    }
    fn now(&mut self) -> Now {
        self.expect("Now { mono: Mono(");
        let mono = Mono(self.num() as u64);
        self.expect("), wall: Wall { unix_secs:");
        let unix_secs = self.num();
        self.expect("nanos:");
        let nanos = self.num() as u32;
        self.expect("} }");
        Now { mono, wall: Wall { unix_secs, nanos } }
    }
    fn config(&mut self) -> Config {
        self.expect("Config { dir:");
        let dir = self.bytes();
        self.expect("down:");
        let down = self.boolean();
        self.expect("log:");
        let log = self.option(|p| p.boolean());
        self.expect("readiness: Readiness { protocol:");
        let names = [
            ("NotificationFd", Protocol::NotificationFd),
            ("SdNotify", Protocol::SdNotify),
            ("Both", Protocol::Both),
            ("None", Protocol::None),
        ];
        let protocol = names.iter().find(|(n, _)| self.eat(n)).map(|(_, p)| *p).expect("a readiness protocol");
        self.expect("watchdog:");
        let watchdog = self.option(|p| p.span());
        self.expect("}");
        Config { dir, down, log, readiness: Readiness { protocol, watchdog } }
    }
    fn stop(&mut self) -> Stop {
        // After the end of the Config before it.
        self.eat("}");
        self.expect("Stop { signal:");
        let names = [
            ("Term", Sig::Term),
            ("Cont", Sig::Cont),
            ("Stop", Sig::Stop),
            ("Hup", Sig::Hup),
            ("Alrm", Sig::Alrm),
            ("Int", Sig::Int),
            ("Quit", Sig::Quit),
            ("Usr1", Sig::Usr1),
            ("Usr2", Sig::Usr2),
            ("Kill", Sig::Kill),
        ];
        let signal = names.iter().find(|(n, _)| self.eat(n)).map(|(_, s)| *s).expect("a signal name");
        let span = |p: &mut Self, key: &str| {
            p.expect(key);
            p.option(|p| p.span())
        };
        let kill_after = span(self, "kill_after:");
        let finish_limit = span(self, "finish_limit:");
        self.expect("group:");
        let group = self.boolean();
        self.expect("}");
        Stop { signal, kill_after, finish_limit, group }
    }
    fn backoff(&mut self) -> Backoff {
        self.expect("Backoff { delay:");
        let span = |p: &mut Self| p.option(|p| p.span());
        let delay = span(self);
        self.expect("steps:");
        let steps = self.num() as u32;
        self.expect("max_delay:");
        let max_delay = span(self);
        self.expect("limit:");
        let limit = if self.eat("None") {
            None
        } else {
            self.expect("Some(Limit { count:");
            let count = self.num() as u32;
            self.expect("interval: Span(");
            let interval = Span(self.num() as u64);
            self.expect(") })");
            Some(Limit { count, interval })
        };
        self.expect("}");
        Backoff { delay, steps, max_delay, limit }
    }
    fn input(&mut self) -> Input {
        if self.eat("Start") {
            Input::Start
        } else if self.eat("Control(") {
            let slot = self.slot();
            let b = self.num() as u8;
            Input::Control(slot, b)
        } else if self.eat("Terminate") {
            Input::Terminate
        } else if self.eat("ChildExited { pid:") {
            let pid = self.num() as u32;
            self.expect("status:");
            let status = self.num() as i32;
            self.expect("finish_present:");
            let finish_present = self.boolean();
            Input::ChildExited { pid, status, finish_present }
        } else if self.eat("Spawned(") {
            let slot = self.slot();
            Input::Spawned(slot, self.num() as u32)
        } else if self.eat("SpawnFailed(") {
            let slot = self.slot();
            Input::SpawnFailed(slot, self.errno())
        } else if self.eat("ControlDone(") {
            Input::ControlDone(if self.eat("Absent") {
                ControlOutcome::Absent
            } else if self.eat("StatFailed(") {
                ControlOutcome::StatFailed(self.errno())
            } else if self.eat("ForkFailed(") {
                ControlOutcome::ForkFailed(self.errno())
            } else if self.eat("WaitFailed(") {
                ControlOutcome::WaitFailed(self.errno())
            } else {
                self.expect("Exited(");
                ControlOutcome::Exited(self.num() as i32)
            })
        } else if self.eat("Resume(Resume { boot_wall_ns:") {
            let boot_wall_ns = self.num();
            self.expect("clk_tck:");
            let clk_tck = self.num() as u64;
            self.expect("main:");
            let main = self.probe();
            self.expect("log:");
            let log = self.probe();
            Input::Resume(Resume { boot_wall_ns, clk_tck, main, log })
        } else if self.eat("AdoptedExited { pid:") {
            let pid = self.num() as u32;
            self.expect("finish_present:");
            Input::AdoptedExited { pid, finish_present: self.boolean() }
        } else {
            self.expect("Tick");
            Input::Tick
        }
    }
    /// `None` or `Some(Probe { status: [..], pidfd: Ok(()), proc_stat: .., pipe: .. })`.
    fn probe(&mut self) -> Option<Probe> {
        if self.eat("None") {
            return None;
        }
        self.expect("Some(Probe { status:");
        let status = self.bytes().try_into().expect("20 status bytes");
        self.expect("pidfd:");
        let pidfd = if self.eat("Ok(())") {
            Ok(())
        } else {
            self.expect("Err(");
            let e = self.errno();
            self.expect(")");
            Err(e)
        };
        self.expect("proc_stat:");
        let proc_stat = self.option(|p| p.bytes());
        self.expect("pipe:");
        let pipe = if self.eat("None") {
            None
        } else if self.eat("Some(Err(") {
            let e = self.errno();
            self.expect("))");
            Some(Err(e))
        } else {
            self.expect("Some(Ok(PipeId { dev:");
            let dev = self.num() as u64;
            self.expect("ino:");
            let ino = self.num() as u64;
            self.expect("fifo:");
            let fifo = self.boolean();
            self.expect("}))");
            Some(Ok(PipeId { dev, ino, fifo }))
        };
        self.expect("})");
        Some(Probe { status, pidfd, proc_stat, pipe })
    }
}

/// Replays a trace; returns the number of inputs replayed.
fn replay(trace: &str) -> usize {
    replay_with(trace, None)
}

/// [`replay`], with the backoff settings of the note line replaced by `backoff` (to show
/// that they matter).
fn replay_with(trace: &str, backoff: Option<Backoff>) -> usize {
    let first = trace.lines().next().expect("trace has a note line");
    let mut p = P { s: first.strip_prefix("note (").expect("note line") };
    let start = p.now();
    let config = p.config();
    let stop = p.stop();
    let traced = p.backoff();
    let mut m = Runsv::new(start, config).with_stop(stop).with_backoff(backoff.unwrap_or(traced));
    // The driver interleaves: after an obligation it feeds the reply before taking the next
    // action, so take actions only up to the next obligation.
    let rest = &trace[first.len()..];
    let r = e2e::replay::replay(
        &mut m,
        rest,
        |text| P { s: text }.input(),
        |m, a| m.owed().is_some() && matches!(a, model::runsv::Action::Spawn { .. } | model::runsv::Action::RunControl(_)),
    );
    assert_eq!(r.replayed, r.recorded, "the model and the running binary disagree");
    r.inputs
}

#[test]
fn a_real_runsv_run_replays_exactly_through_the_model() {
    let mut sc = Scratch::new("trace-replay");
    sc.script("s/run", "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; [ $n -lt 2 ] && exit 3; exec sleep 100");
    sc.script("s/finish", "exit 0");
    sc.script("s/control/h", "exit 0");
    sc.script("s/log/run", "exec cat > /dev/null");
    let trace = sc.join("trace");
    let mut cmd = std::process::Command::new(e2e::bin("runsv"));
    cmd.arg("s").current_dir(&sc.path).env("RUNIT_TRACE", &trace);
    let pid = sc.spawn(cmd);
    let send = |b: &str| {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(sc.join("s/supervise/control"))
            .unwrap()
            .write_all(b.as_bytes())
            .unwrap();
    };
    eventually!(Duration::from_secs(10), sc.read("s/n") == "3\n" && sc.read("s/supervise/stat") == "run\n", "service never settled");
    send("hpcd");
    eventually!(
        Duration::from_secs(5),
        sc.read("s/supervise/stat") == "down, paused\n" || sc.read("s/supervise/stat") == "down\n",
        "not down"
    );
    send("ux");
    assert!(sc.wait_exit(pid, Duration::from_secs(5)).is_some_and(|s| s.success()), "runsv did not exit");
    let inputs = replay(&sc.read("trace"));
    assert!(inputs > 15, "trace too short to mean anything: {inputs} inputs");
    // The check can fail: a trace missing one executed action must be rejected.
    let full = sc.read("trace");
    let cut = full.rfind("\nout ").expect("an action line");
    let end = full[cut + 1..].find('\n').map_or(full.len(), |e| cut + 1 + e);
    let corrupted = format!("{}{}", &full[..cut], &full[end..]);
    assert!(std::panic::catch_unwind(|| replay(&corrupted)).is_err(), "a corrupted trace replayed cleanly");
}

/// The same with every stop file on a service that ignores its down signal: the group
/// signals, the escalation on the deadline tick and the leftovers' SIGKILL replay exactly.
#[test]
fn a_runsv_run_with_stop_files_replays_exactly() {
    let mut sc = Scratch::new("trace-replay-stop");
    sc.script("s/run", "trap '' HUP\nsleep 100000 &\nexec sleep 100000");
    for (name, content) in [("down-signal", "hup\n"), ("timeout-kill", "100"), ("timeout-finish", "100"), ("flag-timeout-killpg", "")] {
        sc.write(&format!("s/{name}"), content, 0o644);
    }
    let trace = sc.join("trace");
    let mut cmd = std::process::Command::new(e2e::bin("runsv"));
    cmd.arg("s").current_dir(&sc.path).env("RUNIT_TRACE", &trace);
    let pid = sc.spawn(cmd);
    eventually!(Duration::from_secs(10), sc.read("s/supervise/stat") == "run\n", "service never ran");
    let service: i32 = sc.read("s/supervise/pid").trim().parse().expect("pid");
    sc.adopt(service);
    std::fs::write(sc.join("s/supervise/control"), "x").expect("write control");
    assert!(sc.wait_exit(pid, Duration::from_secs(10)).is_some_and(|s| s.success()), "runsv did not exit");
    let text = sc.read("trace");
    assert!(text.contains("SignalGroup(Main, ") && text.contains(", Kill)"), "no escalation traced:\n{text}");
    assert!(replay(&text) > 3);
}

/// A runsv that takes over what a killed runsv left (`Resume` with both probes, `Adopt`,
/// `TakeLogPipe`, `SignalPidfd`, `AdoptedExited`) replays exactly too.
#[test]
fn an_adopting_runsv_run_replays_exactly() {
    let mut sc = Scratch::new("trace-replay-adopt");
    sc.script("s/run", "exec sleep 100000");
    sc.script("s/log/run", "exec cat > /dev/null");
    let first = sc.start("runsv", &["s"], "first");
    // `status` is renamed in after `stat`: wait until both status records name a pid, or
    // the kill below can land between the two renames and leave nothing to adopt.
    let status_pid =
        |f: &str| std::fs::read(sc.join(f)).ok().filter(|b| b.len() == 20).map(|b| u32::from_le_bytes([b[12], b[13], b[14], b[15]]));
    eventually!(
        Duration::from_secs(10),
        sc.read("s/supervise/stat") == "run\n"
            && sc.read("s/log/supervise/stat") == "run\n"
            && status_pid("s/supervise/status").is_some_and(|p| p != 0)
            && status_pid("s/log/supervise/status").is_some_and(|p| p != 0),
        "service never ran"
    );
    for f in ["s/supervise/pid", "s/log/supervise/pid"] {
        sc.adopt(sc.read(f).trim().parse().expect("pid"));
    }
    // SAFETY: kill by pid of the runsv this test started (unreaped: the pid is still its).
    assert_eq!(unsafe { libc::kill(first as i32, libc::SIGKILL) }, 0);
    assert!(sc.wait_exit(first, Duration::from_secs(10)).is_some(), "first runsv did not die");
    let trace = sc.join("trace");
    let mut cmd = std::process::Command::new(e2e::bin("runsv"));
    cmd.arg("s").current_dir(&sc.path).env("RUNIT_TRACE", &trace);
    let pid = sc.spawn(cmd);
    eventually!(Duration::from_secs(10), sc.read("trace").contains("out WriteStatus { slot: Log"), "no start-up traced");
    std::fs::write(sc.join("s/supervise/control"), "x").expect("write control");
    assert!(sc.wait_exit(pid, Duration::from_secs(10)).is_some_and(|s| s.success()), "runsv did not exit");
    let text = sc.read("trace");
    for what in ["Adopt { slot: Main", "Adopt { slot: Log", "TakeLogPipe(Log)", "SignalPidfd(Main, ", "AdoptedExited { pid: "] {
        assert!(text.contains(what), "{what} not traced:\n{text}");
    }
    assert!(replay(&text) > 3);
}

/// A crash loop with every backoff file: the growing pause and the give-up replay exactly
/// from the settings parsed out of the note line (and not from runit's defaults).
#[test]
fn a_runsv_run_with_backoff_files_replays_exactly() {
    let mut sc = Scratch::new("trace-replay-backoff");
    sc.script("s/run", "exit 1");
    let files = [
        ("restart-delay", "1000"),
        ("restart-steps", "1"),
        ("restart-max-delay", "1500"),
        ("restart-limit-count", "1"),
        ("restart-limit-interval", "60000"),
    ];
    for (name, content) in files {
        sc.write(&format!("s/{name}"), content, 0o644);
    }
    let trace = sc.join("trace");
    let mut cmd = std::process::Command::new(e2e::bin("runsv"));
    cmd.arg("s").current_dir(&sc.path).env("RUNIT_TRACE", &trace);
    let pid = sc.spawn(cmd);
    eventually!(Duration::from_secs(10), sc.read("s/supervise/status.ext").contains("given_up=1"), "never gave up");
    std::fs::write(sc.join("s/supervise/control"), "x").expect("write control");
    assert!(sc.wait_exit(pid, Duration::from_secs(10)).is_some_and(|s| s.success()), "runsv did not exit");
    let text = sc.read("trace");
    let note = text.lines().next().unwrap_or_default();
    assert!(note.contains("Backoff { delay: Some(Span(1000000000)), steps: 1, max_delay: Some(Span(1500000000))"), "{note}");
    assert!(replay(&text) > 3);
    let runit = std::panic::catch_unwind(|| replay_with(&text, Some(Backoff::RUNIT)));
    assert!(runit.is_err(), "the give-up replayed without the backoff settings");
}
