//! Model/runtime agreement for runit: a real boot in a PID namespace with
//! `RUNIT_TRACE` records every input PID 1 fed its stage machine and every action it
//! executed; replaying the inputs through a fresh `model::stage::Stages` must produce
//! exactly the recorded actions. So the binary cannot drift from the machine that the
//! unit tests, property tests and the explorer check.

use std::fs;
use std::process::{Command, Stdio};

use e2e::{bin, Scratch};
use model::errno::Errno;
use model::stage::{Config, Flags, Input, Sig, Stages};

/// A minimal reader for the `Debug` renderings of stage inputs.
struct P<'a> {
    s: &'a str,
}

impl P<'_> {
    fn eat(&mut self, t: &str) -> bool {
        let s = self.s.trim_start_matches([' ', ',', '{', '}', ':']);
        match s.strip_prefix(t) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }
    fn num(&mut self) -> i64 {
        let s = self.s.trim_start_matches([' ', ',', ':', '(']);
        let end = s.find(|c: char| !(c.is_ascii_digit() || c == '-')).unwrap_or(s.len());
        self.s = &s[end..];
        s[..end].parse().unwrap_or_else(|_| panic!("number at {s:?}"))
    }
    fn field_bool(&mut self, name: &str) -> bool {
        assert!(self.eat(name), "expected {name} at {:?}", self.s);
        if self.eat("true") {
            true
        } else {
            assert!(self.eat("false"), "bool at {:?}", self.s);
            false
        }
    }
    fn flags(&mut self) -> Flags {
        assert!(self.eat("flags") && self.eat("Flags"), "flags at {:?}", self.s);
        Flags {
            stopit: self.field_bool("stopit"),
            reboot: self.field_bool("reboot"),
            ctrlaltdel: self.field_bool("ctrlaltdel"),
            nosync: self.field_bool("nosync"),
        }
    }
    fn input(&mut self) -> Input {
        if self.eat("Boot") {
            Input::Boot
        } else if self.eat("Tick") {
            Input::Tick
        } else if self.eat("Spawned") {
            assert!(self.eat("pid"));
            Input::Spawned { pid: self.num() as i32 }
        } else if self.eat("SpawnFailed") {
            assert!(self.eat("errno") && self.eat("Errno"));
            Input::SpawnFailed { errno: Errno(self.num() as i32) }
        } else if self.eat("Exited") {
            assert!(self.eat("pid"));
            let pid = self.num() as i32;
            assert!(self.eat("status"));
            let status = self.num() as i32;
            Input::Exited { pid, status, flags: self.flags() }
        } else if self.eat("Signal") {
            assert!(self.eat("sig"));
            let sig = [("Cont", Sig::Cont), ("Int", Sig::Int), ("Pwr", Sig::Pwr), ("Alrm", Sig::Alrm), ("Term", Sig::Term)]
                .into_iter()
                .find(|(n, _)| self.eat(n))
                .map(|(_, s)| s)
                .unwrap_or_else(|| panic!("signal at {:?}", self.s));
            Input::Signal { sig, flags: self.flags() }
        } else {
            panic!("unknown input {:?}", self.s)
        }
    }
}

fn script(path: &std::path::Path, body: &str) {
    e2e::write_executable(path, format!("#!/bin/sh\n{body}\n").as_bytes(), 0o755);
}

#[test]
fn runit_trace_replays_through_the_model() {
    let s = Scratch::new("runit-trace");
    let r = s.path.display().to_string();
    fs::create_dir_all(s.join("run")).unwrap();
    script(&s.join("etc/runit/1"), "( sh -c 'exit 5' & )\nexit 1");
    // Stage 2 fails with 111 once (group kill, 5 s pause, restart), then sends itself
    // the shutdown request through runit-init 0, traps TERM and exits.
    script(
        &s.join("etc/runit/2"),
        &format!(
            "if [ ! -e {r}/once ]; then touch {r}/once; exit 111; fi\ntrap 'exit 0' TERM\nRUNIT_ROOT={r} '{}' 0\nwhile :; do sleep 0.05; done",
            bin("runit-init").display()
        ),
    );
    script(&s.join("etc/runit/3"), "exit 3");
    fs::create_dir_all(s.join("etc/runit")).unwrap();
    fs::write(s.join("etc/runit/nosync"), "").unwrap();
    let trace = s.join("trace");
    let out = Command::new("timeout")
        .args(["-s", "KILL", "30", "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"])
        .arg(bin("runit"))
        .env("RUNIT_ROOT", &s.path)
        .env("RUNIT_CONTAINER", "1")
        .env("RUNIT_TRACE", &trace)
        .stdin(Stdio::null())
        .output()
        .expect("unshare");
    let console = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "container exit = stage 3's code: {console}");
    let text = fs::read_to_string(&trace).expect("trace written");
    let mut m = Stages::new(Config { container: true });
    let e2e::replay::Replay { recorded: expected, replayed, inputs } =
        e2e::replay::replay(&mut m, &text, |t| P { s: t }.input(), |_, _| false);
    assert!(inputs >= 8, "too short a trace:\n{text}");
    assert_eq!(replayed, expected, "the binary and the model disagree");
    assert!(expected.iter().any(|a| a.contains("KillGroup")), "the trace should include the exit-111 restart:\n{text}");
    assert!(expected.iter().any(|a| a == "Exit(3)"), "{text}");
}
