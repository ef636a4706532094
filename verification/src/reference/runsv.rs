//! A deliberately naive reference model of runsv, transliterated from spec/runsv.md (which
//! follows runit's `runsv.c`) with *only* the divergences documented in
//! `model/src/runsv/mod.rs`:
//!
//! - the restart throttle is a deadline (`not_before = exit time + 1 s` after a cycle
//!   shorter than 1 s) instead of a blocking `sleep(1)`;
//! - a fork failure is retried through a 5 s deadline instead of `sleep(5)` inside
//!   `startservice`: the start is *suspended* in its fork loop ([`RefSlot::fork_loop`]),
//!   and commands are read meanwhile. Resuming it only forks (runit's loop never goes back
//!   to `custom(s, 'u')`). `d`/`x` abandon it: runit would finish the start and the command
//!   would stop it, so the service ends down either way, and the next start is a new
//!   `startservice` with its own `custom(s, 'u')`;
//! - `k` does not mark the slot down before the process is reaped;
//! - exiting (`x`/SIGTERM) does not wait for a pending throttle.
//!
//! and the opt-in stop files of issue 11 ([`Stop`], main slot only; without them nothing
//! changes): the stop signal replaces TERM in `stopservice`; a stop that signals or wants
//! the slot down arms `timeout-kill` ([`RefSlot::kill_at`], never postponed); a `./finish`
//! forked under `timeout-finish` gets its own deadline; at the loop top a live main child
//! past its deadline gets SIGKILL (after a warning for `./finish`) and the deadline moves
//! 5 s on; with `flag-timeout-killpg` the stop signals and SIGKILL go to the group, and a
//! `./run` reaped after a stop has its group killed.
//!
//! and the opt-in backoff files of issue 11 ([`Backoff`], main slot only; without them
//! nothing changes), written from docs/divergences.md "Backoff and giving up" and runsv.8
//! alone ([`RefBackoff`]): an unasked death (want up, no stop signal sent) of a `./run`
//! that lived under 10 s is quick; the k-th quick death in a row pauses
//! `delay · (max/delay)^((k−1)/steps)` (systemd's growth, `max` from the (steps+1)-th on),
//! from the end of the cycle; a death that is not quick keeps runit's rule. Every unasked
//! death is an automatic restart: the first opens a window of `restart-limit-interval`, and
//! the one that would be the (count+1)-th in it gives up instead: down, want down, no
//! wake-up, left only by `u`/`o`/`d`/`x`, whose start still waits 1 s after the last death.
//!
//! and adoption (issue 11, [`RefRunsv::resumed`], decided by [`super::runsv_adopt`] from
//! docs/divergences.md "Adoption" alone): a slot taken over from a killed runsv runs as its
//! old record said, is signalled through its pidfd (a stop's group signal only if it leads
//! its own group), and when it ends nothing is sent to its group and `./finish` gets `-1 0`.
//!
//! It is written the way `runsv.c` is: `ctrl`, `stopservice`, `startservice`, `custom`,
//! `update_status`, a reap function and a loop top, all synchronous: a `control/<c>`
//! script "runs" by taking the next scripted outcome, a fork by taking the next scripted
//! spawn result. Keep it simple: a clever reference hides the bugs it should find.
//!
//! The vocabulary ([`Event`], [`Step`], [`Replies`], [`Effect`], [`SlotView`]) is shared with
//! [`super::runsv_world`], which drives the real machine with the same steps.

use model::errno::Errno;
use model::runsv::{finish_args, text, Backoff, Config, ControlOutcome, Program, Resume, Sig, Slot, Stop, KILL_RESEND};
use model::status::{self, RunState, StatusRecord, Want};
use model::time::{Mono, Now, Span, Tai64n, Wall};

/// The 1 s restart throttle (spec/runsv.md §5).
pub const THROTTLE: Span = Span::from_secs(1);
/// The fork retry delay (spec/runsv.md §7).
pub const FORK_RETRY: Span = Span::from_secs(5);
/// The errno a scripted fork failure reports.
pub const FORK_ERRNO: Errno = Errno::EAGAIN;
/// A pid no child ever gets: its exit is a stray (runit ignores it).
pub const STRAY_PID: u32 = 999_999;
/// The starting time of every reference run and world.
pub const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

/// Something that happens to runsv from outside.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// One byte on a slot's `control` FIFO.
    Control(Slot, u8),
    /// SIGTERM.
    Terminate,
    /// The live child of a slot exits with a raw wait status; `finish` = `./finish` readable.
    ChildExit {
        /// Whose child.
        slot: Slot,
        /// Raw wait status.
        status: i32,
        /// Whether `./finish` can be opened at reap time.
        finish: bool,
    },
    /// A child that is not a slot's (a late control script) is reaped.
    Stray,
    /// Time passes by this many milliseconds, then the deadline tick arrives.
    Tick(u64),
    /// A readiness event (addition; the reference model of runit ignores it).
    Ready(ReadyEvent),
}

/// What a readiness protocol delivers (docs/readiness.md §2), as the world sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadyEvent {
    /// The current `./run` writes a newline on its notification-fd.
    PipeNewline,
    /// The current `./run` closes its notification-fd without a newline.
    PipeEof,
    /// The current `./run` sends `READY=1`.
    NotifyReady,
    /// The current `./run` sends `STOPPING=1`.
    NotifyStopping,
    /// The current `./run` sends `WATCHDOG=1`.
    NotifyPing,
    /// An unrelated process sends `READY=1`.
    Forged,
    /// The previous `./run` of the main slot (reaped) sends `READY=1` and a newline on its
    /// old pipe.
    Previous,
}

/// How the world answers the obligations raised while one [`Event`] is processed, in order;
/// when a list runs out the defaults are "fork succeeds" and "no such control script".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Replies {
    /// One entry per fork: `true` = it succeeds.
    pub spawn_ok: Vec<bool>,
    /// One entry per `control/<c>` run.
    pub control: Vec<ControlOutcome>,
}

impl Replies {
    /// The next fork result.
    pub fn next_spawn(&mut self) -> bool {
        if self.spawn_ok.is_empty() {
            true
        } else {
            self.spawn_ok.remove(0)
        }
    }
    /// The next control script outcome.
    pub fn next_control(&mut self) -> ControlOutcome {
        if self.control.is_empty() {
            ControlOutcome::Absent
        } else {
            self.control.remove(0)
        }
    }
}

/// One step of a test: an event plus the scripted answers to what it causes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    /// What happens.
    pub event: Event,
    /// How obligations are answered meanwhile.
    pub replies: Replies,
}

/// An externally visible effect (status writes are compared separately, by last value).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// A fork of this program for this slot (whether or not it succeeded).
    Spawn(Slot, Program),
    /// `control/<c>` was consulted.
    Control(u8),
    /// A signal to a pid.
    Signal(Slot, u32, Sig),
    /// A signal to the process group a pid leads (`flag-timeout-killpg`).
    SignalGroup(Slot, u32, Sig),
    /// A signal to an adopted child through its pidfd (adoption, an addition).
    SignalPidfd(Slot, u32, Sig),
    /// The log pipe a killed runsv left is used from now on (adoption).
    TakeLogPipe,
    /// The log pipe was closed.
    CloseLogPipe,
    /// The read end of the main `./run`'s notification-fd pipe was closed (addition).
    CloseNotificationFd,
    /// A warning line.
    Warn(Vec<u8>),
    /// runsv exits with this code.
    Exit(i32),
}

/// What `sv` could learn about a slot (plus the pid), compared between model and reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SlotView {
    /// down / run / finish.
    pub state: RunState,
    /// up / down / exit.
    pub want: Want,
    /// The slot's pid, 0 if none.
    pub pid: u32,
    /// The paused flag.
    pub paused: bool,
    /// The got-TERM flag.
    pub got_term: bool,
}

/// The last `stat` line and 20-byte record written for a slot.
pub type Written = (Vec<u8>, [u8; status::STATUS_LEN]);

/// runit's `struct svdir`, plus the deadline fields of our divergences.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefSlot {
    /// `sv.state`.
    pub state: RunState,
    /// `sv.want`.
    pub want: Want,
    /// `sv.pid`.
    pub pid: u32,
    /// `sv.ctrl & C_PAUSE`.
    pub paused: bool,
    /// `sv.ctrl & C_TERM`.
    pub got_term: bool,
    /// `sv.start` (wall), written into `status`.
    pub stamp: Tai64n,
    /// When the last `./run` started (monotonic: the throttle measures from here).
    pub run_started: Mono,
    /// Throttle / fork-retry deadline.
    pub not_before: Option<Mono>,
    /// `o` while down: one start is owed despite want down.
    pub once: bool,
    /// `startservice` is suspended in its fork loop after a failed fork (`custom(s, 'u')`
    /// already ran): the next attempt only forks. `d`/`x` abandon it.
    pub fork_loop: bool,
    /// Arguments of the `./finish` owed for the last exit.
    pub finish_args: (i32, i32),
    /// What `update_status` last wrote.
    pub written: Option<Written>,
    /// What `update_status` last wrote into `pid` (only when the shared flag was set).
    pub pid_file: Option<Vec<u8>>,
    /// When the live child gets SIGKILL (`timeout-kill` after a stop, `timeout-finish`).
    pub kill_at: Option<Mono>,
    /// The live child was taken over from a killed runsv (adoption): `Some(leads its own
    /// process group)`. Not runsv's child: signals go through its pidfd, its end comes
    /// without a status.
    pub adopted: Option<bool>,
}

impl RefSlot {
    fn new(want: Want, now: Now) -> RefSlot {
        RefSlot {
            state: RunState::Down,
            want,
            pid: 0,
            paused: false,
            got_term: false,
            stamp: Tai64n::from_wall(now.wall),
            run_started: Mono(0),
            not_before: None,
            once: false,
            fork_loop: false,
            finish_args: (0, 0),
            written: None,
            pid_file: None,
            kill_at: None,
            adopted: None,
        }
    }
    fn ready(&self, now: Now) -> bool {
        self.not_before.is_none_or(|t| now.mono >= t)
    }
    /// The observable part.
    pub fn view(&self) -> SlotView {
        SlotView { state: self.state, want: self.want, pid: self.pid, paused: self.paused, got_term: self.got_term }
    }
}

/// A death is quick when `./run` lived less than this (docs/divergences.md).
pub const QUICK: Span = Span::from_secs(10);

/// What the backoff files make the main slot remember (the naive way: plain counters).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RefBackoff {
    /// Quick deaths in a row.
    pub quick_in_a_row: u32,
    /// The give-up window: (opened at, automatic restarts in it).
    pub window: Option<(Mono, u32)>,
    /// The last death of `./run` said: give up when its cycle ends.
    pub give_up_at_cycle_end: bool,
    /// The pause the last death of `./run` asks for when its cycle ends (`None`: runit's).
    pub pause_at_cycle_end: Option<Span>,
    /// Given up: only `u`/`o`/`d`/`x` leave it.
    pub given_up: bool,
}

/// Whether the pause grows: `restart-steps` > 0 and a `restart-max-delay` above the first
/// pause (`restart-delay` or 1 s); systemd's rule.
fn grows(b: &Backoff) -> bool {
    let first = b.delay.unwrap_or(THROTTLE).max(THROTTLE);
    b.steps > 0 && b.max_delay.is_some_and(|m| m > first)
}

/// The pause after the `k`-th quick death in a row (k ≥ 1), from the documented formula.
pub fn documented_pause(b: &Backoff, k: u32) -> Span {
    let one_s = 1000.0_f64;
    let delay = b.delay.map_or(one_s, |d| d.as_millis() as f64).max(one_s);
    let grows = b.steps > 0 && b.max_delay.is_some_and(|m| m.as_millis() as f64 > delay);
    let ms = if !grows {
        delay
    } else {
        let max = b.max_delay.map_or(one_s, |m| m.as_millis() as f64);
        if k > b.steps {
            max
        } else {
            (delay * (max / delay).powf(f64::from(k - 1) / f64::from(b.steps))).round().clamp(delay, max)
        }
    };
    Span::from_millis(ms as u64)
}

/// The whole reference runsv.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefRunsv {
    /// The start-up facts.
    pub config: Config,
    /// The current time.
    pub now: Now,
    /// The pid the next successful fork gets (pids are handed out 100, 101, ...).
    pub next_pid: u32,
    /// The main slot.
    pub main: RefSlot,
    /// The log slot, if `log/` is a directory.
    pub log: Option<RefSlot>,
    /// The log pipe was closed (exit sequence).
    pub pipe_closed: bool,
    /// runsv has exited.
    pub exited: bool,
    /// runit's single `pidchanged` flag, shared by both slots (formats.md §2.4).
    pub pid_changed: bool,
    /// Effects of the last step, in order.
    pub effects: Vec<Effect>,
    /// The main slot's stop files.
    pub stop: Stop,
    /// The main slot's backoff files.
    pub backoff: Backoff,
    /// What the backoff files make the main slot remember.
    pub deaths: RefBackoff,
    /// What a killed runsv left, when this runsv started from it (adoption), and which of
    /// its pids are truly the old children (the test world's truth, not used here).
    pub resumed_from: Option<(Resume, [Option<u32>; 2])>,
    replies: Replies,
}

/// The first pid handed out.
pub const FIRST_PID: u32 = 100;

impl RefRunsv {
    /// runsv after start-up: both status files written, then the first loop top.
    pub fn new(config: Config) -> RefRunsv {
        RefRunsv::new_with_stop(config, Stop::RUNIT)
    }

    /// [`RefRunsv::new`] for a service with stop files.
    pub fn new_with_stop(config: Config, stop: Stop) -> RefRunsv {
        RefRunsv::new_with_backoff(config, stop, Backoff::RUNIT)
    }

    /// [`RefRunsv::new`] for a service with stop and backoff files.
    pub fn new_with_backoff(config: Config, stop: Stop, backoff: Backoff) -> RefRunsv {
        let mut r = RefRunsv::created(config, stop, backoff);
        r.start();
        r
    }

    /// runsv started on a directory whose previous runsv was killed: it first takes over
    /// what [`super::runsv_adopt::decide`] says (the old record's stamp, want, paused and
    /// TERM flags; its cycle counted from its real start), then starts up as usual.
    /// `genuine` is only kept for the test world ([`RefRunsv::resumed_from`]).
    pub fn resumed(config: Config, stop: Stop, backoff: Backoff, resume: Resume, genuine: [Option<u32>; 2]) -> RefRunsv {
        let mut r = RefRunsv::created(config, stop, backoff);
        let d = super::runsv_adopt::decide(&r.config.dir, r.log.is_some(), &resume);
        r.effects.extend(d.warnings.into_iter().map(Effect::Warn));
        if d.pipe_taken {
            r.effects.push(Effect::TakeLogPipe);
        }
        let now = r.now;
        for (slot, taken) in [Slot::Main, Slot::Log].into_iter().zip(d.taken) {
            let Some(t) = taken else { continue };
            // Its age is the difference of two runit stamps: now as runsv would stamp it
            // (microseconds + 500 ns, docs/divergences.md "Adoption") and the old stamp.
            let now_stamp = Tai64n::from_wall(now.wall);
            let age_ns = (now_stamp.unix_secs() - t.record.stamp.unix_secs()) * 1_000_000_000 + i64::from(now_stamp.nanos)
                - i64::from(t.record.stamp.nanos);
            let s = r.sv(slot);
            s.state = RunState::Run;
            s.pid = t.record.pid;
            s.want = if t.record.want == b'u' { Want::Up } else { Want::Down };
            s.paused = t.record.paused;
            s.got_term = t.record.got_term;
            s.stamp = t.record.stamp;
            s.run_started = Mono(now.mono.0.saturating_sub(age_ns.max(0) as u64));
            s.adopted = Some(t.leads_group);
        }
        r.resumed_from = Some((resume, genuine));
        r.start();
        r
    }

    /// Before start-up: the slots as the config makes them.
    fn created(config: Config, stop: Stop, backoff: Backoff) -> RefRunsv {
        let now = T0;
        let main = RefSlot::new(if config.down { Want::Down } else { Want::Up }, now);
        let log = config.log.map(|down| RefSlot::new(if down { Want::Down } else { Want::Up }, now));
        RefRunsv {
            config,
            now,
            next_pid: FIRST_PID,
            main,
            log,
            pipe_closed: false,
            exited: false,
            pid_changed: true,
            effects: Vec::new(),
            stop,
            backoff,
            deaths: RefBackoff::default(),
            resumed_from: None,
            replies: Replies::default(),
        }
    }

    /// Start-up: both status files written, then the first loop top.
    fn start(&mut self) {
        self.update_status(Slot::Main);
        if self.log.is_some() {
            self.update_status(Slot::Log);
        }
        self.loop_top();
    }

    /// Applies one step (the event, then runit's loop top with the exit check).
    pub fn apply(&mut self, step: &Step) {
        self.effects.clear();
        if self.exited {
            return;
        }
        self.replies = step.replies.clone();
        match &step.event {
            Event::Control(slot, c) => {
                if self.has(*slot) {
                    self.ctrl(*slot, *c);
                }
            }
            Event::Terminate => self.ctrl(Slot::Main, b'x'),
            Event::ChildExit { slot, status, finish } => {
                if self.has(*slot) && self.sv(*slot).pid != 0 {
                    self.reap(*slot, *status, *finish);
                }
            }
            Event::Stray => {}
            Event::Tick(ms) => self.now = self.now.after(Span::from_millis(*ms)),
            Event::Ready(_) => {}
        }
        self.loop_top();
    }

    /// A slot, if it exists.
    pub fn slot(&self, slot: Slot) -> Option<&RefSlot> {
        match slot {
            Slot::Main => Some(&self.main),
            Slot::Log => self.log.as_ref(),
        }
    }

    /// When runsv wants a tick: the earliest deadline of a slot that is waiting to start.
    pub fn deadline(&self) -> Option<Mono> {
        if self.exited {
            return None;
        }
        let m = &self.main;
        let main = if m.pid == 0 && (m.want == Want::Up || m.state == RunState::Finish || m.once || m.fork_loop) {
            m.not_before
        } else if m.pid != 0 {
            m.kill_at
        } else {
            None
        };
        let log = match &self.log {
            Some(l) if l.pid == 0 && (l.want == Want::Up || l.once || l.fork_loop) && !self.pipe_closed => l.not_before,
            _ => None,
        };
        match (main, log) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn has(&self, slot: Slot) -> bool {
        slot == Slot::Main || self.log.is_some()
    }

    fn sv(&mut self, slot: Slot) -> &mut RefSlot {
        match slot {
            Slot::Main => &mut self.main,
            // Callers check `has` first.
            Slot::Log => self.log.as_mut().expect("log slot"),
        }
    }

    fn update_status(&mut self, slot: Slot) {
        let pid_changed = std::mem::replace(&mut self.pid_changed, false);
        let s = self.sv(slot);
        if pid_changed {
            s.pid_file = Some(status::pid_text(s.pid));
        }
        let rec = StatusRecord::new(s.stamp, s.pid, s.paused, s.want, s.got_term, s.state);
        s.written = Some((status::stat_text(s.state, s.paused, s.got_term, s.want), rec.encode()));
    }

    /// A signal to the slot's child: through its pidfd if it was adopted (never `kill()`,
    /// whose pid could have been reused).
    fn kill(&mut self, slot: Slot, sig: Sig) {
        let s = self.sv(slot);
        let (pid, adopted) = (s.pid, s.adopted.is_some());
        self.effects.push(if adopted { Effect::SignalPidfd(slot, pid, sig) } else { Effect::Signal(slot, pid, sig) });
    }

    /// The stop files of a slot (the log slot has none).
    fn stop_of(&self, slot: Slot) -> Stop {
        if slot == Slot::Main {
            self.stop
        } else {
            Stop::RUNIT
        }
    }

    /// A signal of a stop: to the group with `flag-timeout-killpg` (an adopted child only
    /// if it leads its own group; else to it alone).
    fn kill_stop(&mut self, slot: Slot, sig: Sig) {
        if self.stop_of(slot).group && self.sv(slot).adopted.is_none_or(|leads| leads) {
            let pid = self.sv(slot).pid;
            self.effects.push(Effect::SignalGroup(slot, pid, sig));
        } else {
            self.kill(slot, sig);
        }
    }

    /// runit's `custom()`: consult `control/<c>` (main slot only); true = it exited 0.
    fn custom(&mut self, slot: Slot, c: u8) -> bool {
        if slot == Slot::Log {
            return false;
        }
        self.effects.push(Effect::Control(c));
        let dir = self.config.dir.clone();
        match self.replies.next_control() {
            ControlOutcome::Absent => false,
            ControlOutcome::StatFailed(e) => {
                self.effects.push(Effect::Warn(text::control_stat_failed(&dir, c, e)));
                false
            }
            ControlOutcome::ForkFailed(e) => {
                self.effects.push(Effect::Warn(text::control_fork_failed(&dir, c, e)));
                false
            }
            ControlOutcome::WaitFailed(e) => {
                self.effects.push(Effect::Warn(text::control_wait_failed(&dir, c, e)));
                false
            }
            ControlOutcome::Exited(st) => (st >> 8) & 0xff == 0,
        }
    }

    /// runit's `stopservice()`.
    fn stopservice(&mut self, slot: Slot) {
        let stop = self.stop_of(slot);
        let signalled = self.sv(slot).pid != 0 && !self.custom(slot, b't');
        if signalled {
            self.kill_stop(slot, stop.signal);
            self.sv(slot).got_term = true;
            self.update_status(slot);
        }
        let now = self.now.mono;
        let s = self.sv(slot);
        if let Some(after) = stop.kill_after {
            if s.pid != 0 && (signalled || s.want != Want::Up) {
                s.kill_at = Some(s.kill_at.map_or(now + after, |t| t.min(now + after)));
            }
        }
        match self.sv(slot).want {
            Want::Down => {
                self.kill_stop(slot, Sig::Cont);
                self.custom(slot, b'd');
            }
            Want::Exit => {
                self.kill_stop(slot, Sig::Cont);
                self.custom(slot, b'x');
            }
            Want::Up => {}
        }
    }

    /// runit's `startservice()`: `custom(s, 'u')` for `./run`, then the fork loop.
    fn startservice(&mut self, slot: Slot) {
        if slot == Slot::Main && self.main.state != RunState::Finish {
            self.custom(Slot::Main, b'u');
        }
        self.fork_loop(slot);
    }

    /// The rest of `startservice()`: `while ((p = fork()) == -1) sleep(5)` and the parent's
    /// bookkeeping. A failed fork suspends the start here until the retry deadline (the
    /// fork result comes from the script).
    fn fork_loop(&mut self, slot: Slot) {
        let program = match (slot, self.sv(slot).state) {
            (Slot::Log, _) => Program::LogRun,
            (Slot::Main, RunState::Finish) => {
                let (a, b) = self.main.finish_args;
                Program::Finish { a, b }
            }
            (Slot::Main, _) => Program::Run,
        };
        self.effects.push(Effect::Spawn(slot, program.clone()));
        let now = self.now;
        if !self.replies.next_spawn() {
            let warn = text::fork_failed(&self.config.dir, FORK_ERRNO);
            self.effects.push(Effect::Warn(warn));
            let s = self.sv(slot);
            s.not_before = Some(now.mono + FORK_RETRY);
            // `./finish` is retried because the state is still finish; a `./run` start is
            // suspended in the loop.
            s.fork_loop = s.state != RunState::Finish;
            return;
        }
        let s = self.sv(slot);
        s.fork_loop = false;
        s.adopted = None;
        let limit = self.stop_of(slot).finish_limit;
        let pid = self.next_pid;
        self.next_pid += 1;
        self.pid_changed = true;
        let s = self.sv(slot);
        if !matches!(program, Program::Finish { .. }) {
            s.stamp = Tai64n::from_wall(now.wall);
            s.run_started = now.mono;
            s.state = RunState::Run;
        }
        s.not_before = None;
        s.kill_at = if matches!(program, Program::Finish { .. }) { limit.map(|l| now.mono + l) } else { None };
        s.pid = pid;
        s.paused = false;
        s.got_term = false;
        self.update_status(slot);
    }

    /// runit's `ctrl()`: one control byte (kept in runit's shape, one arm per byte).
    #[allow(clippy::collapsible_match)]
    fn ctrl(&mut self, slot: Slot, c: u8) {
        if slot == Slot::Main && self.deaths.given_up && matches!(c, b'u' | b'o' | b'd' | b'x') {
            // Leaving the give-up: a fresh count; the byte then acts as on a down slot.
            self.deaths = RefBackoff::default();
        }
        let running = self.sv(slot).state == RunState::Run;
        match c {
            b'u' => {
                self.sv(slot).want = Want::Up;
                self.update_status(slot);
            }
            b'o' => {
                self.sv(slot).want = Want::Down;
                self.update_status(slot);
                if self.sv(slot).state == RunState::Down {
                    self.sv(slot).once = true;
                }
            }
            b'd' => {
                self.abandon_start(slot);
                self.sv(slot).want = Want::Down;
                self.update_status(slot);
                if running {
                    self.stopservice(slot);
                }
            }
            b'x' if slot == Slot::Main => {
                self.abandon_start(slot);
                self.sv(slot).want = Want::Exit;
                self.update_status(slot);
                if running {
                    self.stopservice(slot);
                }
            }
            b't' => {
                if running {
                    self.stopservice(slot);
                }
            }
            b'k' => {
                if running && !self.custom(slot, c) {
                    self.kill(slot, Sig::Kill);
                }
            }
            b'p' => {
                if running && !self.custom(slot, c) {
                    self.kill(slot, Sig::Stop);
                }
                self.sv(slot).paused = true;
                self.update_status(slot);
            }
            b'c' => {
                if running && !self.custom(slot, c) {
                    self.kill(slot, Sig::Cont);
                }
                self.sv(slot).paused = false;
                self.update_status(slot);
            }
            b'h' | b'a' | b'i' | b'q' | b'1' | b'2' => {
                let sig = match c {
                    b'h' => Sig::Hup,
                    b'a' => Sig::Alrm,
                    b'i' => Sig::Int,
                    b'q' => Sig::Quit,
                    b'1' => Sig::Usr1,
                    _ => Sig::Usr2,
                };
                if running && !self.custom(slot, c) {
                    self.kill(slot, sig);
                }
            }
            _ => {}
        }
    }

    /// `d`/`x` while a start is deferred (an `o` waiting for the throttle, or a start
    /// suspended in the fork loop): runit would have made that start before reading the
    /// byte, and the byte would stop it again, so the service ends down either way: drop it.
    fn abandon_start(&mut self, slot: Slot) {
        let s = self.sv(slot);
        s.once = false;
        s.fork_loop = false;
    }

    /// What runsv does when a slot's child is reaped (spec/runsv.md §5).
    fn reap(&mut self, slot: Slot, wstatus: i32, finish: bool) {
        let now = self.now;
        if slot == Slot::Main && self.main.state == RunState::Run && self.backoff_opted_in() {
            self.judge_death();
        }
        // An adopted child ends through its pidfd: runsv did not reap it, so its group's
        // number may already be free, and nothing is sent to it.
        let adopted = self.sv(slot).adopted.take().is_some();
        if !adopted && self.stop_of(slot).group && self.sv(slot).got_term && self.sv(slot).state == RunState::Run {
            self.kill_stop(slot, Sig::Kill);
        }
        self.pid_changed = true;
        let s = self.sv(slot);
        s.kill_at = None;
        s.pid = 0;
        s.got_term = false;
        if slot == Slot::Main && s.state != RunState::Finish && finish {
            s.state = RunState::Finish;
            // An adopted `./run`'s status cannot be known: `./finish -1 0`.
            s.finish_args = if adopted { (-1, 0) } else { finish_args(wstatus) };
            self.update_status(slot);
            return;
        }
        s.state = RunState::Down;
        if now.mono < s.run_started + THROTTLE {
            s.not_before = Some(now.mono + THROTTLE);
        }
        s.stamp = Tai64n::from_wall(now.wall);
        if slot == Slot::Main && self.backoff_opted_in() {
            self.end_cycle_with_backoff();
        }
        self.update_status(slot);
    }

    /// Whether the backoff files change anything (else runit's rule, exactly): a
    /// `restart-delay`, a growth (`restart-steps` > 0 and a `restart-max-delay` above the
    /// first pause) or a `restart-limit-count`.
    fn backoff_opted_in(&self) -> bool {
        let b = &self.backoff;
        b.delay.is_some() || grows(b) || b.limit.is_some()
    }

    /// The main `./run` died (before `./finish`): what the end of its cycle will do.
    fn judge_death(&mut self) {
        let now = self.now.mono;
        let m = &self.main;
        let unasked = m.want == Want::Up && !m.got_term;
        let quick = unasked && now < m.run_started + QUICK;
        let d = &mut self.deaths;
        d.give_up_at_cycle_end = false;
        d.pause_at_cycle_end = None;
        if !unasked {
            d.quick_in_a_row = 0;
            return;
        }
        if let Some(limit) = self.backoff.limit {
            match d.window {
                Some((opened, restarts)) if now < opened + limit.interval => {
                    if restarts >= limit.count {
                        d.give_up_at_cycle_end = true;
                    } else {
                        d.window = Some((opened, restarts + 1));
                    }
                }
                _ => d.window = Some((now, 1)),
            }
        }
        if quick {
            d.quick_in_a_row += 1;
            // Only the delay files pause: a `restart-limit-count` alone keeps runit's rule.
            if self.backoff.delay.is_some() || grows(&self.backoff) {
                d.pause_at_cycle_end = Some(documented_pause(&self.backoff, d.quick_in_a_row));
            }
        } else {
            d.quick_in_a_row = 0;
        }
    }

    /// The main slot's cycle ended (it is down, `stamp` is now): give up or pause as the
    /// last death said.
    fn end_cycle_with_backoff(&mut self) {
        let now = self.now.mono;
        let give_up = std::mem::take(&mut self.deaths.give_up_at_cycle_end);
        let pause = self.deaths.pause_at_cycle_end.take();
        if give_up && self.main.want == Want::Up {
            self.deaths.given_up = true;
            self.main.want = Want::Down;
            self.main.not_before = Some(now + THROTTLE);
        } else if let Some(p) = pause {
            self.main.not_before = Some(now + p);
        }
    }

    /// The exit check and the top of runit's main loop, until nothing more starts.
    fn loop_top(&mut self) {
        loop {
            if self.exited {
                return;
            }
            if self.main.want == Want::Exit && self.main.state == RunState::Down && self.main.pid == 0 {
                let log_running = self.log.as_ref().is_some_and(|l| l.pid != 0);
                if !log_running {
                    self.exited = true;
                    self.effects.push(Effect::Exit(0));
                } else if !self.pipe_closed {
                    self.sv(Slot::Log).want = Want::Exit;
                    self.update_status(Slot::Log);
                    self.pipe_closed = true;
                    self.effects.push(Effect::CloseLogPipe);
                }
                return;
            }
            let now = self.now;
            if let Some(l) = &self.log {
                if l.pid == 0 && (l.want == Want::Up || l.once || l.fork_loop) && l.ready(now) && !self.pipe_closed {
                    self.sv(Slot::Log).once = false;
                    if self.sv(Slot::Log).fork_loop {
                        self.fork_loop(Slot::Log);
                    } else {
                        self.startservice(Slot::Log);
                    }
                    continue;
                }
            }
            if self.main.pid != 0 && self.main.kill_at.is_some_and(|t| now.mono >= t) {
                if self.main.state == RunState::Finish {
                    self.effects.push(Effect::Warn(text::finish_timed_out(&self.config.dir)));
                }
                self.kill_stop(Slot::Main, Sig::Kill);
                self.main.kill_at = Some(now.mono + KILL_RESEND);
            }
            let m = &self.main;
            if m.pid == 0 && m.ready(now) && (m.state == RunState::Finish || m.want == Want::Up || m.once || m.fork_loop) {
                if self.main.state != RunState::Finish {
                    self.main.once = false;
                }
                if self.main.fork_loop {
                    self.fork_loop(Slot::Main);
                } else {
                    self.startservice(Slot::Main);
                }
                continue;
            }
            return;
        }
    }
}
