//! The shape's self-check rejects what it exists to reject. `well_formed` holds on every
//! state an input sequence reaches (the driver debug-asserts it after each input), so only
//! a state built by hand can show that it is not vacuous (kills `well_formed -> true` and
//! its `&& -> ||` mutants; docs/assurance.md, "Mutation testing").

use super::*;
use crate::time::Wall;

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

fn machine(log: Option<bool>) -> Runsv {
    Runsv::new(T0, Config { dir: b"s".to_vec(), down: false, log, readiness: Default::default() })
}

#[test]
fn a_fresh_machine_is_well_formed() {
    assert!(machine(None).well_formed());
    assert!(machine(Some(false)).well_formed());
}

#[test]
fn a_spawn_owed_for_a_running_slot_is_ill_formed() {
    let mut m = machine(None);
    m.main.phase = Phase::Run {
        pid: 7,
        started: T0.mono,
        got_term: false,
        kill_at: None,
        ready: RunReady::at_start(Readiness::default(), T0),
        adopted: None,
    };
    assert!(m.well_formed());
    m.pending = Some(Pending::Spawn(Slot::Main));
    assert!(!m.well_formed(), "a fork is owed for a slot whose process runs");
}

#[test]
fn a_start_under_way_without_a_reply_owed_is_ill_formed() {
    let mut m = machine(None);
    m.main.phase = Phase::Starting;
    assert!(!m.well_formed());
}

#[test]
fn two_starts_at_once_are_ill_formed() {
    let mut m = machine(Some(false));
    m.main.phase = Phase::Starting;
    m.pending = Some(Pending::Control { byte: b'u', then: Then::StartRun });
    assert!(m.well_formed());
    m.log.as_mut().expect("log").phase = Phase::Starting;
    assert!(!m.well_formed(), "both slots starting");
}

#[test]
fn a_finishing_log_is_ill_formed() {
    let mut m = machine(Some(false));
    m.log.as_mut().expect("log").phase = Phase::Finish { pid: None, args: (0, 0), started: T0.mono, not_before: None, kill_at: None };
    assert!(!m.well_formed(), "the log slot has no ./finish");
}

#[test]
fn draining_without_a_log_is_ill_formed() {
    let mut m = machine(None);
    m.life = Life::DrainingLog;
    assert!(!m.well_formed());
}
