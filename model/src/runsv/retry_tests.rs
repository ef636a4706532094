//! The finish slot's fork retry, tested in the model's own unit tests so that the mutant
//! of its guard fails here, before the explorer (which it sends into a fork loop) runs:
//! docs/assurance.md, "Mutation testing".

use alloc::vec::Vec;

use super::*;
use crate::time::Wall;

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

fn feed(m: &mut Runsv, now: Now, i: Input) -> Vec<Program> {
    m.handle(now, i);
    let mut spawned = Vec::new();
    while let Some(a) = m.poll_action() {
        if let Action::Spawn { program, .. } = a {
            spawned.push(program);
        }
    }
    spawned
}

/// A failed fork of `./finish` is retried after 5 s, not at once (kills `>= -> <` in the
/// `(Finish { pid: None }, Due)` guard).
#[test]
fn finish_fork_retry_waits_five_seconds() {
    let mut m = Runsv::new(T0, Config { dir: b"s".to_vec(), down: false, log: None, readiness: Default::default() });
    let mut now = T0;
    feed(&mut m, now, Input::Start);
    feed(&mut m, now, Input::ControlDone(ControlOutcome::Absent));
    feed(&mut m, now, Input::Spawned(Slot::Main, 7));
    now = now.after(Span::from_millis(2000));
    let s = feed(&mut m, now, Input::ChildExited { pid: 7, status: 0, finish_present: true });
    assert!(matches!(s.as_slice(), [Program::Finish { .. }]));
    assert!(feed(&mut m, now, Input::SpawnFailed(Slot::Main, Errno::EAGAIN)).is_empty(), "no fork before the retry");
    now = now.after(Span::from_millis(4999));
    assert!(feed(&mut m, now, Input::Tick).is_empty());
    now = now.after(Span::from_millis(1));
    assert!(matches!(feed(&mut m, now, Input::Tick).as_slice(), [Program::Finish { .. }]));
}
