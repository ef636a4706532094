//! Drives `model::sv::Session` against a world whose every answer (chdir, probe, status
//! bytes, stat, check, control write, watch) is chosen by proptest: sv must never panic,
//! always have a deadline while pending, end every stdout line with a newline, and exit
//! with one of its documented codes.

use model::errno::Errno;
use model::sv::session::{CheckRun, Effects, Session, StatusError, WriteOutcome};
use model::sv::{parse, Env, Mode, Parse, Rule};
use model::time::{Mono, Now, Wall};
use proptest::prelude::*;

struct Chaos {
    choices: Vec<u8>,
    at: usize,
    lines_ok: bool,
}

impl Chaos {
    fn pick(&mut self) -> u8 {
        let c = self.choices.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        c
    }
    fn errno(&mut self) -> Errno {
        [Errno::ENOENT, Errno::ENXIO, Errno::EACCES, Errno::ENOTDIR, Errno::EIO, Errno(9999)][(self.pick() % 6) as usize]
    }
    fn result(&mut self) -> Result<(), Errno> {
        if self.pick().is_multiple_of(4) {
            Err(self.errno())
        } else {
            Ok(())
        }
    }
}

impl Effects for Chaos {
    fn open_home(&mut self) -> Result<(), Errno> {
        if self.pick() == 255 {
            Err(Errno::EACCES)
        } else {
            Ok(())
        }
    }
    fn go_home(&mut self) -> Result<(), Errno> {
        if self.pick() == 254 {
            Err(Errno::ENOENT)
        } else {
            Ok(())
        }
    }
    fn chdir(&mut self, _: &[u8]) -> Result<(), Errno> {
        self.result()
    }
    fn probe_ok(&mut self) -> Result<(), Errno> {
        self.result()
    }
    fn read_status(&mut self) -> Result<Vec<u8>, StatusError> {
        match self.pick() % 8 {
            0 => Err(StatusError::Open(self.errno())),
            1 => Err(StatusError::Read(self.errno())),
            n => {
                let len = if n == 2 { (self.pick() % 20) as usize } else { 20 };
                Ok((0..len).map(|_| self.pick()).collect())
            }
        }
    }
    fn stat(&mut self, _: &[u8]) -> Result<(), Errno> {
        self.result()
    }
    fn run_check(&mut self, _: &[u8]) -> CheckRun {
        match self.pick() % 4 {
            0 => CheckRun::ForkFailed(self.errno()),
            1 => CheckRun::WaitFailed(self.errno()),
            _ => CheckRun::Exited(i32::from(self.pick()) << 8 | i32::from(self.pick() % 2)),
        }
    }
    fn write_control(&mut self, bytes: &[u8]) -> WriteOutcome {
        match self.pick() % 5 {
            0 => WriteOutcome::OpenFailed(self.errno()),
            1 => WriteOutcome::WriteFailed(self.errno()),
            2 => WriteOutcome::Written((self.pick() as usize) % (bytes.len() + 1)),
            _ => WriteOutcome::Written(bytes.len()),
        }
    }
    fn watch(&mut self, _: usize) -> bool {
        self.pick().is_multiple_of(2)
    }
    fn stdout(&mut self, line: &[u8]) {
        self.lines_ok &= line.last() == Some(&b'\n');
    }
    fn stderr(&mut self, line: &[u8]) {
        self.lines_ok &= line.last() == Some(&b'\n');
    }
}

fn now(ms: u64) -> Now {
    Now { mono: Mono(ms * 1_000_000), wall: Wall { unix_secs: 1_700_000_000 + (ms / 1000) as i64, nanos: 0 } }
}

const WORDS: &[&str] =
    &["status", "up", "down", "once", "restart", "check", "exit", "force-stop", "T", "pause", "kill", "hup", "try-restart"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn session_never_panics(word in 0..WORDS.len(), lsb in any::<bool>(), nsvc in 1usize..4, wait in 0u64..3,
                            choices in prop::collection::vec(any::<u8>(), 0..400), events in prop::collection::vec(any::<u8>(), 0..40)) {
        let prog = if lsb { "/etc/init.d/svc" } else { "sv" };
        let wait_s = wait.to_string();
        let mut argv = vec![prog, "-w", &wait_s, WORDS[word]];
        let names = ["a", "./b", "/c/", "d/"];
        argv.extend(&names[..nsvc]);
        let Parse::Run(inv) = parse(&argv, Env::default()) else { return Ok(()) };
        let mode = inv.mode;
        let is_status = WORDS[word] == "status";
        let mut s = Session::new(inv, Rule::RaceFree);
        let mut w = Chaos { choices, at: 0, lines_ok: true };
        s.start(now(0), &mut w);
        let mut t = 0u64;
        for (k, e) in events.iter().cycle().take(400).enumerate() {
            if s.finished().is_some() { break; }
            let d = s.poll_deadline();
            prop_assert!(d.is_some(), "pending without a deadline");
            let d = d.unwrap().0.div_ceil(1_000_000);
            prop_assert!(d <= 10_000, "deadline beyond the wait limit: {d}");
            if e % 3 == 0 && k % 2 == 0 {
                s.on_changed(now(t), if e % 2 == 0 { None } else { Some((*e as usize) % 5) }, &mut w);
            } else {
                t = t.max(d);
                s.on_tick(now(t), &mut w);
            }
        }
        let mut cap = model::StepCap::new("sv session to its end", 100_000);
        while s.finished().is_none() {
            cap.step();
            t = t.max(s.poll_deadline().unwrap().0.div_ceil(1_000_000));
            s.on_tick(now(t), &mut w);
            prop_assert!(t <= 10_000, "did not finish by the limit");
        }
        prop_assert!(w.lines_ok);
        let code = s.finished().unwrap();
        match mode {
            Mode::Normal => prop_assert!((0..=nsvc as i32 * 2).contains(&code) || code == 100, "code {code}"),
            Mode::Lsb if is_status => prop_assert!([0, 1, 3, 4, 151].contains(&code), "lsb status code {code}"),
            Mode::Lsb => prop_assert!([0, 1, 2, 151].contains(&code), "lsb code {code}"),
        }
    }
}
