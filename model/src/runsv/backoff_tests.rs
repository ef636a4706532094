//! Unit tests per (phase, input) for backoff and giving up (`backoff.rs`):
//! `test_<phase>_<input>`.

use alloc::vec::Vec;

use super::ready::QUICK_DEATH;
use super::*;
use crate::record::{self, BackoffRecord};
use crate::status::RunState;
use crate::time::Wall;

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };
const EXIT_1: i32 = 1 << 8;

fn ms(n: u64) -> Span {
    Span::from_millis(n)
}

/// 1 s, doubling to 64 s in 6 steps; give up after 3 restarts in 60 s.
const ALL: Backoff = Backoff {
    delay: Some(Span::from_secs(1)),
    steps: 6,
    max_delay: Some(Span::from_secs(64)),
    limit: Some(Limit { count: 3, interval: Span::from_secs(60) }),
};

struct H {
    m: Runsv,
    now: Now,
    pid: u32,
}

impl H {
    /// A service with `backoff`, started and running (the spawn checked).
    fn running(backoff: Backoff) -> H {
        let config = Config { dir: b"s".to_vec(), down: false, log: None, readiness: Default::default() };
        let mut h = H { m: Runsv::new(T0, config).with_backoff(backoff), now: T0, pid: 41 };
        h.feed(Input::Start);
        h.start();
        h
    }
    fn feed(&mut self, i: Input) -> Vec<Action> {
        self.m.handle(self.now, i);
        let mut out = Vec::new();
        while let Some(a) = self.m.poll_action() {
            out.push(a);
        }
        out
    }
    fn advance(&mut self, span: Span) {
        self.now = self.now.after(span);
    }
    /// Answers `control/u` (absent) and the fork of `./run`, which must be owed.
    fn start(&mut self) {
        assert_eq!(self.m.owed(), Some(Owed::Control(b'u')), "a start is under way");
        let a = self.feed(Input::ControlDone(ControlOutcome::Absent));
        assert!(matches!(&a[..], [Action::Spawn { program: Program::Run, .. }]), "{a:?}");
        self.pid += 1;
        self.feed(Input::Spawned(Slot::Main, self.pid));
        assert_eq!(self.main().state(), RunState::Run);
    }
    /// `./run` exits 1 after running `ran`.
    fn dies_after(&mut self, ran: Span) -> Vec<Action> {
        self.advance(ran);
        self.feed(Input::ChildExited { pid: self.pid, status: EXIT_1, finish_present: false })
    }
    /// The pause armed before the next start (from now), if any.
    fn pause(&self) -> Option<Span> {
        match self.main().phase {
            Phase::Down { not_before, deferred: None } => not_before.map(|t| t - self.now.mono),
            ref p => panic!("not down: {p:?}"),
        }
    }
    /// Waits out the pause and checks that the restart comes exactly then.
    fn restart_after_pause(&mut self) {
        let pause = self.pause().unwrap_or(Span::ZERO);
        if pause > Span::ZERO {
            self.advance(Span(pause.0 - 1));
            self.feed(Input::Tick);
            assert_eq!(self.m.owed(), None, "no start before the pause is over");
            self.advance(Span(1));
            self.feed(Input::Tick);
        }
        self.start();
    }
    fn main(&self) -> &SlotState {
        self.m.slot(Slot::Main).unwrap()
    }
    fn ext(&self) -> Option<BackoffRecord> {
        self.m.record().main.backoff
    }
    fn command(&mut self, byte: u8) -> Vec<Action> {
        let mut a = self.feed(Input::Control(Slot::Main, byte));
        while let Some(Owed::Control(c)) = self.m.owed() {
            if c == b'u' {
                break;
            }
            a.extend(self.feed(Input::ControlDone(ControlOutcome::Absent)));
        }
        a
    }
    /// Crash-loops until given up (each death 100 ms after its start), returning the pauses.
    fn loop_until_given_up(&mut self) -> Vec<u64> {
        let mut pauses = Vec::new();
        for _ in 0..20 {
            self.dies_after(ms(100));
            if self.m.given_up() {
                return pauses;
            }
            pauses.push(self.pause().unwrap().as_millis());
            self.restart_after_pause();
        }
        panic!("never gave up: {pauses:?}");
    }
}

fn status_written(a: &[Action]) -> Option<(&[u8], Option<&[u8]>)> {
    a.iter().rev().find_map(|a| match a {
        Action::WriteStatus { stat, ext, .. } => Some((stat.as_slice(), ext.as_deref())),
        _ => None,
    })
}

#[test]
fn test_delay_after_is_systemds_geometric_growth() {
    let d: Vec<u64> = (1..=9).map(|k| ALL.delay_after(k).as_millis()).collect();
    assert_eq!(d, [1000, 2000, 4000, 8000, 16000, 32000, 64000, 64000, 64000]);
    let three = Backoff { delay: Some(ms(1500)), steps: 3, max_delay: Some(ms(12000)), limit: None };
    let d: Vec<u64> = (1..=5).map(|k| three.delay_after(k).as_millis()).collect();
    assert_eq!(d, [1500, 3000, 6000, 12000, 12000]);
    // No growth: steps without a max, a max without steps, a max under the delay.
    for b in [
        Backoff { delay: Some(ms(2000)), steps: 4, max_delay: None, limit: None },
        Backoff { delay: Some(ms(2000)), steps: 0, max_delay: Some(ms(9000)), limit: None },
        Backoff { delay: Some(ms(5000)), steps: 4, max_delay: Some(ms(3000)), limit: None },
    ] {
        assert!((1..10).all(|k| b.delay_after(k) == b.delay.unwrap()), "{b:?}");
        assert_eq!(b.longest(), b.delay.unwrap());
    }
    // Growth from runit's 1 s when there is no restart-delay.
    let g = Backoff { delay: None, steps: 2, max_delay: Some(ms(4000)), limit: None };
    assert_eq!([g.delay_after(1), g.delay_after(2), g.delay_after(3)], [ms(1000), ms(2000), ms(4000)]);
    for k in 0..2000 {
        let d = ALL.delay_after(k);
        assert!(d >= RESTART_THROTTLE && d <= ALL.longest(), "{k}: {d:?}");
    }
}

#[test]
fn test_from_files_bad_values_keep_runit_with_a_warning() {
    let (b, w) = Backoff::from_files(b"web", Some(b"-1"), Some(b"many"), Some(b"99999999999"), Some(b"1s"), Some(b"3x"));
    assert_eq!(b, Backoff::RUNIT);
    assert!(!b.opted_in());
    assert_eq!(w.len(), 5);
    assert_eq!(w[0], b"runsv web: warning: invalid restart-delay: not a number, using the default\n");
    let (b, w) = Backoff::from_files(b"web", Some(b"500"), None, None, None, None);
    assert_eq!((b, w.len()), (Backoff::RUNIT, 1), "under 1 s: runit's throttle");
    let (b, w) = Backoff::from_files(b"web", None, None, None, None, Some(b"3"));
    assert_eq!(b.limit, Some(Limit { count: 3, interval: DEFAULT_LIMIT_INTERVAL }), "dinit's 10 s");
    assert!(w.is_empty());
    let (b, _) = Backoff::from_files(b"web", None, None, None, Some(b"0"), Some(b"3"));
    assert_eq!(b.limit, None, "an interval of 0 disables the limit, as in dinit");
    let (b, _) = Backoff::from_files(b"web", Some(b"2500\n"), Some(b"3"), Some(b"20000"), Some(b"30000"), Some(b"5"));
    let want =
        Backoff { delay: Some(ms(2500)), steps: 3, max_delay: Some(ms(20000)), limit: Some(Limit { count: 5, interval: ms(30000) }) };
    assert_eq!(b, want);
}

#[test]
fn test_run_reaped_without_files_is_runit() {
    let mut h = H::running(Backoff::RUNIT);
    let a = h.dies_after(ms(100));
    assert_eq!(h.pause(), Some(RESTART_THROTTLE), "runit's throttle after a cycle under 1 s");
    assert_eq!(status_written(&a).and_then(|w| w.1), None, "no status.ext without the files");
    h.restart_after_pause();
    h.dies_after(ms(5000));
    assert_eq!(h.m.owed(), Some(Owed::Control(b'u')), "a cycle over 1 s restarts at once");
    assert_eq!(h.ext(), None);
}

#[test]
fn test_run_reaped_quick_arms_restart_delay() {
    let mut h = H::running(Backoff { delay: Some(ms(3000)), ..Backoff::RUNIT });
    let a = h.dies_after(ms(5000));
    assert_eq!(h.pause(), Some(ms(3000)), "a 5 s run is quick: 3 s pause where runit restarts at once");
    let ext = record::decode(status_written(&a).unwrap().1.unwrap()).unwrap();
    assert_eq!(ext.main.backoff, Some(BackoffRecord { given_up: false, restart_delay_ms: 3000 }));
    h.restart_after_pause();
    assert_eq!(h.ext(), Some(BackoffRecord { given_up: false, restart_delay_ms: 0 }), "no pause once running");
}

#[test]
fn test_run_reaped_after_a_long_run_keeps_runits_rule_and_resets_the_growth() {
    let mut h = H::running(Backoff { limit: None, ..ALL });
    h.dies_after(ms(100));
    h.restart_after_pause();
    h.dies_after(ms(100));
    assert_eq!(h.pause(), Some(ms(2000)));
    h.restart_after_pause();
    h.dies_after(QUICK_DEATH);
    assert_eq!(h.m.owed(), Some(Owed::Control(b'u')), "not quick: restarted at once, as runit");
    assert_eq!(h.m.deaths().quick, 0);
    h.start();
    h.dies_after(ms(100));
    assert_eq!(h.pause(), Some(ms(1000)), "the growth starts over");
}

#[test]
fn test_run_reaped_asked_keeps_runits_rule() {
    let mut h = H::running(ALL);
    h.dies_after(ms(100));
    h.restart_after_pause();
    h.dies_after(ms(100));
    h.restart_after_pause();
    h.advance(ms(100));
    h.command(b't');
    assert!(h.main().got_term());
    h.feed(Input::ChildExited { pid: h.pid, status: 15, finish_present: false });
    assert_eq!(h.pause(), Some(RESTART_THROTTLE), "sv term: runit's throttle, no backoff");
    assert_eq!((h.m.deaths().quick, h.m.deaths().window.map(|w| w.1)), (0, Some(2)), "not counted");
}

#[test]
fn test_run_reaped_crash_loop_pauses_grow_then_give_up() {
    let mut h = H::running(ALL);
    let pauses = h.loop_until_given_up();
    assert_eq!(pauses, [1000, 2000, 4000], "3 automatic restarts allowed in 60 s, then given up");
    assert_eq!(h.main().state(), RunState::Down);
    assert_eq!(h.main().want, Want::Down, "the 20 bytes say down, want down: runit's sv up sends u");
    assert_eq!(h.main().record().want, b'd');
    assert_eq!(h.m.poll_deadline(), None, "no wake-up while given up");
    assert_eq!(h.ext(), Some(BackoffRecord { given_up: true, restart_delay_ms: 0 }));
}

#[test]
fn test_run_reaped_windows_that_expire_never_give_up() {
    let mut h = H::running(Backoff { limit: Some(Limit { count: 1, interval: ms(1500) }), ..Backoff::RUNIT });
    for _ in 0..5 {
        h.dies_after(ms(2000));
        assert!(!h.m.given_up());
        h.start();
    }
    h.dies_after(ms(100));
    assert!(h.m.given_up(), "a second death within 1.5 s of the first");
}

#[test]
fn test_finish_reaped_then_gives_up() {
    let mut h = H::running(Backoff { limit: Some(Limit { count: 1, interval: ms(60000) }), ..Backoff::RUNIT });
    h.dies_after(ms(100));
    h.restart_after_pause();
    h.advance(ms(100));
    let a = h.feed(Input::ChildExited { pid: h.pid, status: EXIT_1, finish_present: true });
    assert!(a.iter().any(|a| matches!(a, Action::Spawn { program: Program::Finish { a: 1, b: 0 }, .. })), "{a:?}");
    assert!(!h.m.given_up(), "./finish runs first");
    h.feed(Input::Spawned(Slot::Main, 77));
    h.feed(Input::ChildExited { pid: 77, status: 0, finish_present: true });
    assert!(h.m.given_up());
}

#[test]
fn test_finish_down_command_means_no_give_up() {
    let mut h = H::running(Backoff { limit: Some(Limit { count: 1, interval: ms(60000) }), ..Backoff::RUNIT });
    h.dies_after(ms(100));
    h.restart_after_pause();
    h.advance(ms(100));
    h.feed(Input::ChildExited { pid: h.pid, status: EXIT_1, finish_present: true });
    h.feed(Input::Spawned(Slot::Main, 77));
    h.command(b'd');
    h.feed(Input::ChildExited { pid: 77, status: 0, finish_present: true });
    assert!(!h.m.given_up(), "wanted down when the cycle ended");
    assert_eq!(h.main().want, Want::Down);
}

fn given_up() -> H {
    let mut h = H::running(Backoff { limit: Some(Limit { count: 1, interval: ms(60000) }), ..Backoff::RUNIT });
    h.dies_after(ms(100));
    h.restart_after_pause();
    h.dies_after(ms(100));
    assert!(h.m.given_up());
    h
}

#[test]
fn test_given_up_tick_and_time_do_nothing() {
    let mut h = given_up();
    for _ in 0..3 {
        h.advance(Span::from_secs(3600));
        assert!(h.feed(Input::Tick).is_empty());
    }
    assert!(h.m.given_up());
}

#[test]
fn test_given_up_up_leaves_after_runits_throttle_with_a_fresh_count() {
    let mut h = given_up();
    let a = h.command(b'u');
    assert!(!h.m.given_up());
    let (stat, ext) = status_written(&a).unwrap();
    assert_eq!(stat, b"down\n");
    assert_eq!((h.main().want, h.main().record().want), (Want::Up, b'u'));
    assert_eq!(record::decode(ext.unwrap()).unwrap().main.backoff.map(|b| b.given_up), Some(false));
    assert_eq!(h.m.owed(), None, "the 1 s throttle of the last short cycle still holds");
    h.restart_after_pause();
    assert_eq!(h.m.deaths(), Deaths::default());
    h.dies_after(ms(100));
    assert!(!h.m.given_up(), "a fresh window");
}

#[test]
fn test_given_up_up_after_the_throttle_starts_at_once() {
    let mut h = given_up();
    h.advance(Span::from_secs(2));
    h.command(b'u');
    assert_eq!(h.m.owed(), Some(Owed::Control(b'u')));
    h.start();
}

#[test]
fn test_given_up_once_starts_once() {
    let mut h = given_up();
    h.advance(Span::from_secs(2));
    h.command(b'o');
    h.start();
    assert_eq!(h.main().want, Want::Down);
    h.dies_after(ms(100));
    assert!(!h.m.given_up() && h.m.owed().is_none());
}

#[test]
fn test_given_up_down_leaves_into_down() {
    let mut h = given_up();
    let a = h.command(b'd');
    assert!(!h.m.given_up());
    assert_eq!(status_written(&a).unwrap().0, b"down\n");
    h.advance(Span::from_secs(2));
    h.feed(Input::Tick);
    assert_eq!(h.m.owed(), None);
}

#[test]
fn test_given_up_exit_exits() {
    let mut h = given_up();
    let a = h.feed(Input::Terminate);
    assert!(a.contains(&Action::Exit(0)), "{a:?}");
}

#[test]
fn test_given_up_term_and_signals_stay_given_up() {
    let mut h = given_up();
    for byte in [b't', b'k', b'h', b'c', b'?', b'p'] {
        let a = h.command(byte);
        assert!(!a.iter().any(|a| matches!(a, Action::Signal(..) | Action::Spawn { .. })), "{a:?}");
        assert!(h.m.given_up(), "{}", byte as char);
    }
    assert!(h.main().paused, "p sets the flag, as on a down slot");
}

#[test]
fn test_down_fork_retry_after_a_pause_does_not_show_the_old_pause() {
    let mut h = H::running(Backoff { delay: Some(ms(3000)), ..Backoff::RUNIT });
    h.dies_after(ms(100));
    assert_eq!(h.ext().map(|b| b.restart_delay_ms), Some(3000));
    h.advance(ms(3000));
    h.feed(Input::Tick);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.feed(Input::SpawnFailed(Slot::Main, crate::errno::Errno::EAGAIN));
    h.command(b'd');
    assert!(matches!(h.main().phase, Phase::Down { not_before: Some(_), deferred: None }), "the retry's deadline is kept");
    assert_eq!(h.ext().map(|b| b.restart_delay_ms), Some(0), "not the pause of the last death");
}

#[test]
fn test_map_death_times_moves_every_stored_time() {
    let d = Deaths { quick: 2, window: Some((Mono(50), 1)), verdict: Verdict::Delay(ms(1000)), armed: Some((Mono(70), ms(1000))) };
    let moved = map_death_times(d, |t| Mono(t.0 + 5));
    assert_eq!(moved, Deaths { window: Some((Mono(55), 1)), armed: Some((Mono(75), ms(1000))), ..d });
}

#[test]
fn test_log_reaped_counts_nothing() {
    let config = Config { dir: b"s".to_vec(), down: false, log: Some(false), readiness: Default::default() };
    let mut h = H { m: Runsv::new(T0, config).with_backoff(ALL), now: T0, pid: 41 };
    h.feed(Input::Start);
    h.feed(Input::Spawned(Slot::Log, 7));
    h.start();
    h.advance(ms(100));
    h.feed(Input::ChildExited { pid: 7, status: EXIT_1, finish_present: false });
    assert_eq!(h.m.deaths(), Deaths::default(), "the log service keeps runit's rule");
    assert_eq!(h.m.slot(Slot::Log).unwrap().not_before(), Some(h.now.mono + RESTART_THROTTLE));
}

#[test]
fn test_run_reaped_at_the_window_end_opens_a_new_window() {
    let mut h = H::running(Backoff { limit: Some(Limit { count: 1, interval: ms(1500) }), ..Backoff::RUNIT });
    h.dies_after(ms(100));
    let end = h.now.mono + ms(1500);
    assert_eq!(h.m.deaths().window, Some((end, 1)));
    h.restart_after_pause();
    h.advance(end - h.now.mono);
    h.feed(Input::ChildExited { pid: h.pid, status: EXIT_1, finish_present: false });
    assert!(!h.m.given_up(), "the window is [first death, first death + interval)");
    assert_eq!(h.m.deaths().window, Some((end + ms(1500), 1)));
}

#[test]
fn test_given_up_window_count_stays_at_the_limit() {
    let mut h = H::running(ALL);
    h.loop_until_given_up();
    assert_eq!(h.m.deaths().window.map(|w| w.1), Some(3), "never counted past the limit");
}
