//! Tests written to kill mutants that cargo-mutants found surviving in
//! `model/src/runsvdir/` (issue 14's measurement, `.cargo/mutants-runsvdir.toml`); each
//! names the mutant it kills. docs/assurance.md, "Mutation testing", lists them.

use model::errno::Errno;
use model::runsvdir::chdir::{Chdir, Op, OpResult, Step};
use model::runsvdir::{Input, Runsvdir};
use model::time::{Mono, Now, Wall};
use model::Machine;

/// Takes every pending action (a capped loop).
fn drain(m: &mut Runsvdir) {
    let mut cap = model::StepCap::new("draining actions", 10_000);
    while m.poll_action().is_some() {
        cap.step();
    }
}

fn argv(a: &[&str]) -> Vec<Vec<u8>> {
    a.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// runsvchdir: a missing `previous` is fine (runit ignores ENOENT from that unlink), any
/// other unlink error is fatal (kills the `e != ENOENT` guard -> `true` on `UnlinkPrevious`).
#[test]
fn runsvchdir_missing_previous_is_not_an_error() {
    let dir = OpResult::Stat { dev: 1, ino: 2, is_dir: true };
    let other = OpResult::Stat { dev: 1, ino: 3, is_dir: true };
    let run = |unlink_previous: OpResult| {
        let mut m = Chdir::start(&argv(&["runsvchdir", "other"])).0.expect("a valid argv");
        let mut step = m.next(OpResult::Done);
        let mut results = vec![dir, other, OpResult::Done, OpResult::Done, unlink_previous, OpResult::Done, OpResult::Done].into_iter();
        let mut ops = Vec::new();
        while let Step::Do(op) = step.clone() {
            assert!(ops.len() < 20, "runsvchdir does not end: {ops:?}");
            ops.push(op);
            step = m.next(results.next().expect("an answer per operation"));
        }
        (ops, step)
    };
    let (ops, step) = run(OpResult::Failed(Errno::ENOENT));
    assert!(ops.contains(&Op::CurrentToPrevious), "{ops:?}");
    assert_eq!(step, Step::Finish { code: 0, stdout: b"runsvchdir: other: now current.\n".to_vec(), stderr: vec![] });
    let (_, step) = run(OpResult::Failed(Errno::EACCES));
    assert!(matches!(step, Step::Finish { code: 111, .. }), "{step:?}");
}

/// With the log argument active, runsvdir keeps a process-title buffer the runtime
/// writes into `argv` (kills `Runsvdir::title -> None`).
#[test]
fn title_exists_when_the_log_is_active() {
    let now = Now { mono: Mono(1_000_000_000), wall: Wall { unix_secs: 2_000_000, nanos: 0 } };
    let mut m = Runsvdir::new(Some(b"log: ......."));
    m.handle(now, Input::Start);
    drain(&mut m);
    m.handle(now, Input::LogReady(Ok(())));
    drain(&mut m);
    let title = m.title().expect("a title buffer while the log is active");
    assert_eq!(title.len(), b"log: .......".len(), "the buffer is the argument's size: {title:?}");
}
