//! Tests written to kill mutants that cargo-mutants found surviving in `model/src/runsv/`
//! after the explicit-phase reshape and the readiness wiring (issue 14's re-measurement;
//! `.cargo/mutants-runsv.toml`). Each test names the mutant it kills; docs/assurance.md,
//! "Mutation testing", lists them with the equivalent ones.

use model::errno::Errno;
use model::runsv::{Action, Config, ControlOutcome, Input, Program, Runsv, Slot};
use model::time::{Mono, Now, Span, Wall};
use model::Machine;

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

fn machine(log: Option<bool>) -> Runsv {
    Runsv::new(T0, Config { dir: b"s".to_vec(), down: false, log, readiness: Default::default() })
}

// A machine, its clock, and a feed that collects the actions of one input: the shared
// scripted harness (duplicates report D7/D8: this file had its own copy).
model::scripted_harness!(H, Runsv);

impl H {
    /// A normally-up service without log whose `./run` runs as `pid`.
    fn running(pid: u32) -> H {
        let mut h = H(model::scripted::Scripted::new(machine(None), T0));
        h.feed(Input::Start);
        h.feed(Input::ControlDone(ControlOutcome::Absent));
        h.feed(Input::Spawned(Slot::Main, pid));
        h
    }
}

/// The programs spawned among `a`.
fn spawns(a: &[Action]) -> Vec<Program> {
    a.iter()
        .filter_map(|a| match a {
            Action::Spawn { program, .. } => Some(program.clone()),
            _ => None,
        })
        .collect()
}

/// `map_history` visits the main slot's history and the log's, each once (kills
/// `map_history -> ()`: the explorer's canonicalisation would keep every history apart).
#[test]
fn map_history_visits_each_slot() {
    let mut m = machine(Some(false));
    let mut visits = 0;
    m.map_history(|h| {
        visits += 1;
        h.starts = 7;
    });
    assert_eq!(visits, 2);
    assert_eq!(m.slot(Slot::Main).expect("main").history.starts, 7);
    assert_eq!(m.slot(Slot::Log).expect("log").history.starts, 7);

    let mut alone = machine(None);
    let mut visits = 0;
    alone.map_history(|_| visits += 1);
    assert_eq!(visits, 1, "no log slot, one history");
}

/// A failed fork of `./finish` waits the 5 s retry, then forks it again, once (kills
/// `>= -> <` in the finish slot's retry guard, which forked at once and then never: the
/// simulation spun on it until cargo-mutants' timeout).
#[test]
fn finish_fork_retry_waits_five_seconds() {
    let mut h = H::running(7);
    h.advance_ms(2000);
    let a = h.feed(Input::ChildExited { pid: 7, status: 0, finish_present: true });
    assert!(matches!(spawns(&a).as_slice(), [Program::Finish { .. }]), "{a:?}");
    let a = h.feed(Input::SpawnFailed(Slot::Main, Errno::EAGAIN));
    assert!(spawns(&a).is_empty(), "no second fork before the retry: {a:?}");
    assert_eq!(h.m.poll_deadline(), Some(h.now.mono + Span::from_millis(5000)));
    h.advance_ms(4999);
    assert!(spawns(&h.feed(Input::Tick)).is_empty(), "still within the retry");
    h.advance_ms(1);
    let a = h.feed(Input::Tick);
    assert!(matches!(spawns(&a).as_slice(), [Program::Finish { .. }]), "{a:?}");
}

/// A service stopped by `sv term` (TERM sent, still wanted up) that exits at once is not a
/// quick death; one that dies on its own is (kills `|| -> &&` in `note_exit`'s "asked"
/// test, which counted only deaths both unwanted and signalled as asked for).
#[test]
fn term_while_wanted_up_is_not_a_quick_death() {
    let mut h = H::running(7);
    let a = h.feed(Input::Control(Slot::Main, b't'));
    assert_eq!(a, vec![Action::RunControl(b't')]);
    h.feed(Input::ControlDone(ControlOutcome::Absent));
    h.advance_ms(100);
    h.feed(Input::ChildExited { pid: 7, status: 15, finish_present: false });
    let main = h.m.slot(Slot::Main).expect("main");
    assert_eq!(main.want, model::status::Want::Up, "t does not change want");
    assert_eq!(main.history.quick_deaths, 0, "asked to stop: not a quick death");

    let mut h = H::running(8);
    h.advance_ms(100);
    h.feed(Input::ChildExited { pid: 8, status: 0, finish_present: false });
    assert_eq!(h.m.slot(Slot::Main).expect("main").history.quick_deaths, 1, "died on its own within 10 s");
}
