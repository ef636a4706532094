//! Exhaustive bounded exploration of sv's wait (model::sv::Session) against a small
//! simulated runsv: every interleaving of runsv handling a byte, the service exiting,
//! status-change events and deadline ticks, up to a depth.
//!
//! Properties: an `ok:` for restart/term never shows the process that was running
//! before sv started (the race runit has); an `ok:` for up/down is printed only when the
//! service really is up/down; at most one final line per service; exit codes 0/1; a
//! pending session always has a deadline; and sv always terminates using only fair inputs.
//! The same exploration under runit's whole-second rule must find the race.

use model::errno::Errno;
use model::sv::session::{CheckRun, Effects, Session, StatusError, WriteOutcome};
use model::sv::{parse, Env, Parse, Rule};
use model::time::{Mono, Now, Tai64n, Wall};
use verification::explore::{explore, Explore, Property};

const T0: i64 = 1_000_000;

fn now_at(ms: u64) -> Now {
    // sv starts 500 ms into a wall-clock second.
    let wall_ms = ms + 500;
    Now { mono: Mono(ms * 1_000_000), wall: Wall { unix_secs: T0 + (wall_ms / 1000) as i64, nanos: ((wall_ms % 1000) * 1_000_000) as u32 } }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Runsv {
    alive: bool,
    pid: u32,
    state: u8,
    want: u8,
    term: bool,
    paused: bool,
    stamp_ms: i64,
    queue: Vec<u8>,
    next_pid: u32,
    exiting: bool,
    hard: bool,
}

impl Runsv {
    fn start(&mut self, at: i64) {
        self.pid = self.next_pid;
        self.next_pid += 1;
        self.state = 1;
        self.term = false;
        self.stamp_ms = at;
    }
    fn exited(&mut self, at: i64) {
        self.pid = 0;
        self.state = 0;
        self.term = false;
        self.stamp_ms = at;
        if self.exiting {
            self.alive = false;
        } else if self.want == b'u' {
            self.start(at);
        }
    }
    fn byte(&mut self, at: i64) {
        if self.queue.is_empty() {
            return;
        }
        let b = self.queue.remove(0);
        let running = self.state == 1;
        match b {
            b'u' => {
                self.want = b'u';
                if !running {
                    self.start(at);
                }
            }
            b'o' => {
                self.want = b'd';
                if !running {
                    self.start(at);
                }
            }
            b'd' => {
                self.want = b'd';
                if running {
                    self.term = true;
                    self.paused = false;
                }
            }
            b't' if running => self.term = true,
            b'c' => self.paused = false,
            b'p' if running => self.paused = true,
            b'x' => {
                self.want = b'd';
                self.exiting = true;
                if running {
                    self.term = true;
                } else {
                    self.alive = false;
                }
            }
            b'k' if running => self.exited(at),
            _ => {}
        }
    }
    fn record(&self) -> Vec<u8> {
        let ms = self.stamp_ms + 500;
        let stamp = Tai64n::from_wall(Wall { unix_secs: T0 + ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as u32 });
        let mut b = stamp.pack().to_vec();
        b.extend_from_slice(&self.pid.to_le_bytes());
        b.extend_from_slice(&[self.paused as u8, self.want, self.term as u8, self.state]);
        b
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct World {
    now_ms: u64,
    runsv: Runsv,
    /// (pid shown in the line, state of the service when it was printed)
    ok_lines: Vec<(u32, u8)>,
    finals: u8,
}

fn pid_in(line: &str) -> u32 {
    line.split("(pid ").nth(1).and_then(|r| r.split(')').next()).and_then(|p| p.parse().ok()).unwrap_or(0)
}

impl Effects for World {
    fn open_home(&mut self) -> Result<(), Errno> {
        Ok(())
    }
    fn go_home(&mut self) -> Result<(), Errno> {
        Ok(())
    }
    fn chdir(&mut self, _: &[u8]) -> Result<(), Errno> {
        Ok(())
    }
    fn probe_ok(&mut self) -> Result<(), Errno> {
        if self.runsv.alive {
            Ok(())
        } else {
            Err(Errno::ENXIO)
        }
    }
    fn read_status(&mut self) -> Result<Vec<u8>, StatusError> {
        Ok(self.runsv.record())
    }
    fn stat(&mut self, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::ENOENT)
    }
    fn run_check(&mut self, _: &[u8]) -> CheckRun {
        CheckRun::Exited(0)
    }
    fn write_control(&mut self, bytes: &[u8]) -> WriteOutcome {
        if !self.runsv.alive {
            return WriteOutcome::OpenFailed(Errno::ENXIO);
        }
        self.runsv.queue.extend_from_slice(bytes);
        WriteOutcome::Written(bytes.len())
    }
    fn watch(&mut self, _: usize) -> bool {
        true
    }
    fn stdout(&mut self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        if line.starts_with("ok: ") {
            self.ok_lines.push((pid_in(&line), self.runsv.state));
            self.finals += 1;
        } else if line.starts_with("timeout: ") || line.starts_with("kill: ") || line.starts_with("fail: ") {
            self.finals += 1;
        }
    }
    fn stderr(&mut self, _: &[u8]) {}
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    cmd: &'static str,
    initial_pid: u32,
    world: World,
    session: Session,
}

#[derive(Clone, Debug)]
enum Input {
    Tick,
    Changed,
    RunsvByte,
    ServiceExits,
    /// The service dies on its own (not fair: the environment need not do it).
    Crash,
}

struct SvWait {
    rule: Rule,
    cases: Vec<(&'static str, Runsv)>,
}

fn running(hard: bool) -> Runsv {
    // Started 100 ms before sv: the same wall-clock second as sv's start.
    Runsv {
        alive: true,
        pid: 1,
        state: 1,
        want: b'u',
        term: false,
        paused: false,
        stamp_ms: -100,
        queue: vec![],
        next_pid: 2,
        exiting: false,
        hard,
    }
}
fn stopped() -> Runsv {
    Runsv { pid: 0, state: 0, want: b'd', ..running(false) }
}

impl Explore for SvWait {
    type State = State;
    type Input = Input;

    fn initial(&self) -> Vec<State> {
        self.cases
            .iter()
            .map(|(cmd, runsv)| {
                let mut argv = vec!["sv"];
                argv.extend(cmd.split(' '));
                let inv = match parse(&argv, Env::default()) {
                    Parse::Run(inv) => inv,
                    Parse::Refuse { .. } => panic!("bad argv {argv:?}"),
                };
                let mut session = Session::new(inv, self.rule);
                let mut world = World { now_ms: 0, runsv: runsv.clone(), ok_lines: vec![], finals: 0 };
                session.start(now_at(0), &mut world);
                State { cmd, initial_pid: runsv.pid, world, session }
            })
            .collect()
    }

    fn inputs(&self, s: &State) -> Vec<Input> {
        if s.session.finished().is_some() {
            return vec![];
        }
        let mut v = vec![Input::Tick, Input::Changed];
        if !s.world.runsv.queue.is_empty() {
            v.push(Input::RunsvByte);
        }
        if s.world.runsv.state == 1 && s.world.runsv.term && !s.world.runsv.hard {
            v.push(Input::ServiceExits);
        }
        if s.world.runsv.state == 1 && s.world.runsv.next_pid < 5 {
            v.push(Input::Crash);
        }
        v
    }

    fn fair_inputs(&self, s: &State) -> Vec<Input> {
        self.inputs(s).into_iter().filter(|i| !matches!(i, Input::Changed | Input::Crash)).collect()
    }

    fn step(&self, s: &State, i: &Input) -> State {
        let mut n = s.clone();
        match i {
            Input::Tick => {
                let d = n.session.poll_deadline().map_or(0, |m| m.0.div_ceil(1_000_000));
                n.world.now_ms = n.world.now_ms.max(d);
                n.session.on_tick(now_at(n.world.now_ms), &mut n.world);
            }
            Input::Changed => n.session.on_changed(now_at(n.world.now_ms), Some(0), &mut n.world),
            Input::RunsvByte => {
                n.world.now_ms += 1;
                let at = n.world.now_ms as i64;
                n.world.runsv.byte(at);
            }
            Input::ServiceExits | Input::Crash => {
                n.world.now_ms += 1;
                let at = n.world.now_ms as i64;
                n.world.runsv.exited(at);
            }
        }
        n
    }
}

fn restart_like(cmd: &str) -> bool {
    cmd.contains("restart") || cmd.contains("term")
}

fn props() -> Vec<Property<State>> {
    vec![
        Property::always("ok_after_restart_shows_a_new_process", |s| {
            !restart_like(s.cmd) || s.world.ok_lines.iter().all(|&(pid, _)| pid != s.initial_pid)
        }),
        Property::always("ok_up_only_when_running", |s| {
            !s.cmd.split(' ').any(|w| w == "up" || w == "restart") || s.world.ok_lines.iter().all(|&(_, st)| st == 1)
        }),
        Property::always("ok_down_only_when_down", |s| {
            !s.cmd.split(' ').any(|w| w == "down") || s.world.ok_lines.iter().all(|&(_, st)| st == 0)
        }),
        Property::always("one_final_line", |s| s.world.finals <= 1),
        Property::always("exit_code_0_or_1", |s| matches!(s.session.finished(), None | Some(0) | Some(1))),
        Property::always("pending_has_deadline", |s| s.session.finished().is_some() || s.session.poll_deadline().is_some()),
        Property::sometimes("an_ok_line", |s| !s.world.ok_lines.is_empty()),
        Property::sometimes("ok_for_up", |s| s.cmd.split(' ').any(|w| w == "up") && !s.world.ok_lines.is_empty()),
        Property::sometimes("ok_for_restart", |s| s.cmd.contains("restart") && !s.world.ok_lines.is_empty()),
        Property::sometimes("a_timeout", |s| s.world.finals == 1 && s.world.ok_lines.is_empty()),
        Property::eventually("terminates", |_| true, |s| s.session.finished().is_some(), 12),
    ]
}

fn cases() -> Vec<(&'static str, Runsv)> {
    vec![
        ("-w 1 restart ./s", running(false)),
        ("-w 1 term ./s", running(false)),
        ("-w 1 down ./s", running(false)),
        ("-w 1 up ./s", stopped()),
        ("-w 1 once ./s", stopped()),
        ("-w 0 force-stop ./s", running(true)),
        ("-w 1 exit ./s", running(false)),
        ("-w 1 pause ./s", running(false)),
    ]
}

#[test]
fn explore_sv_wait_race_free() {
    let e = SvWait { rule: Rule::RaceFree, cases: cases() };
    let report = explore(&e, 9, 400_000, &props());
    report.assert_ok("sv wait (race-free)");
    assert!(report.states > 100, "exploration too small: {}", report.states);
}

#[test]
fn explore_sv_wait_runit_rule_finds_the_race() {
    let e = SvWait { rule: Rule::Runit, cases: vec![("-w 1 restart ./s", running(false))] };
    let report = explore(&e, 6, 100_000, &props()[..1]);
    println!("runit rule: depth {} states {}", report.depth, report.states);
    let (name, trace) = report.violation.expect("runit's whole-second rule must show the race");
    assert_eq!(name, "ok_after_restart_shows_a_new_process");
    assert!(trace.is_empty(), "satisfied at once, before any input: {trace:?}");
}
