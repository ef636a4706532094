//! Tests written to kill mutants that cargo-mutants found surviving in `model/src/svlogd/`
//! (issue 14's measurement, `.cargo/mutants-svlogd.toml`); each names the mutant it kills.
//! docs/assurance.md, "Mutation testing", lists them with the equivalent ones.

use model::svlogd::logger::Input;
use model::Machine;
use verification::tables::svlogd::{Faults, Harness};

/// `is_idle` is what the explorer's "input consumed, the machine idles again" property
/// reads; it must be false until the machine waits for input (kills `is_idle -> true`).
#[test]
fn idle_only_when_waiting_for_input() {
    let mut h = Harness::new(&["svlogd", "d"], Faults::default());
    assert!(!h.m.is_idle(), "not started: not waiting for input");
    h.feed(Input::Start);
    assert!(h.m.is_idle(), "started, every obligation answered: waiting for input");
    h.feed(Input::Data(b"one\n".to_vec()));
    assert!(h.m.is_idle(), "the line is written: waiting again");
    h.feed(Input::Eof);
    assert!(h.m.is_done());
    assert!(!h.m.is_idle(), "done: no longer reading");
}

/// Lines handled one by one (a config pattern turns the bulk path off) are still written
/// out in one write per read, not one per line: the batch is flushed early only at 1 MiB
/// (kills `batch.len() >= BATCH_LIMIT` -> `<` in `process_input`).
#[test]
fn line_by_line_input_is_one_write_per_read() {
    let faults = Faults { config: Some(b"-skip*\n".to_vec()), ..Faults::default() };
    let mut h = Harness::new(&["svlogd", "d"], faults);
    h.feed(Input::Start);
    let before = h.actions.iter().filter(|a| a.as_str() == "Write").count();
    h.feed(Input::Data(b"one\nskip me\ntwo\nthree\n".to_vec()));
    let writes = h.actions.iter().filter(|a| a.as_str() == "Write").count() - before;
    assert_eq!(writes, 1, "{:?}", h.actions);
    assert_eq!(h.written.concat(), b"one\ntwo\nthree\n".to_vec());
}

/// A rotation before the `t` deadline (here by ALRM) leaves that deadline where it was:
/// runit re-arms it only once it has passed (kills `t_max > 0 && deadline <= now` ->
/// `||` in `run_rotate_named`).
#[test]
fn early_rotation_keeps_the_time_deadline() {
    let faults = Faults { config: Some(b"t60\n".to_vec()), ..Faults::default() };
    let mut h = Harness::new(&["svlogd", "d"], faults);
    h.feed(Input::Start);
    h.feed(Input::Data(b"one\n".to_vec()));
    let deadline = h.m.poll_deadline();
    assert!(deadline.is_some(), "t60 arms a deadline");
    h.tick(10);
    let renames = h.actions.iter().filter(|a| a.starts_with("Rename")).count();
    h.feed(Input::Signal(model::svlogd::logger::Sig::Alrm));
    assert!(h.actions.iter().filter(|a| a.starts_with("Rename")).count() > renames, "ALRM rotated: {:?}", h.actions);
    assert_eq!(h.m.poll_deadline(), deadline, "the t deadline is not pushed back by an early rotation");
}

/// Before `Start` nothing runs: a TERM that arrives first is remembered, not acted on, and
/// the logger starts and then shuts down (kills `!started || shutting_down` -> `&&` in
/// `idle`, which shut down before the directories were even opened).
#[test]
fn term_before_start_waits_for_start() {
    let mut h = Harness::new(&["svlogd", "d"], Faults::default());
    h.feed(Input::Signal(model::svlogd::logger::Sig::Term));
    assert!(!h.m.is_done(), "not started: no shutdown yet: {:?}", h.actions);
    assert!(h.actions.is_empty(), "{:?}", h.actions);
}

/// runit resets a directory's `+`/`-` selection when SIGHUP reopens it but not its `e`/`E`
/// stderr choice, and matches only when patterns remain: after a HUP to a config without
/// patterns, a directory whose last line matched `e` copies every line to stderr (Debian's
/// svlogd 2.1.2 does: config `e*`, `one`, HUP with no config, `two`, `three` -> all three on
/// stderr). So the verbatim bulk path must stay off while that choice is set (kills
/// `d.to_stderr || !d.carry.is_empty()` -> `&&` in `bulk`, which wrote the lines without
/// their stderr copies).
#[test]
fn stderr_choice_outlives_a_hup_that_drops_the_patterns() {
    let faults = Faults { config: Some(b"e*\n".to_vec()), ..Faults::default() };
    let mut h = Harness::new(&["svlogd", "d"], faults);
    h.feed(Input::Start);
    h.feed(Input::Data(b"one\n".to_vec()));
    assert_eq!(h.stderr, b"one\n".to_vec());
    h.faults.config = None;
    h.feed(Input::Signal(model::svlogd::logger::Sig::Hup));
    h.feed(Input::Data(b"two\nthree\n".to_vec()));
    assert_eq!(String::from_utf8_lossy(&h.stderr), "one\ntwo\nthree\n");
    assert_eq!(h.written.concat(), b"one\ntwo\nthree\n".to_vec());
}

/// runit's matcher reads the byte after the line in its line buffer for a `+c` at the
/// line's end, and that buffer holds every earlier line, whatever the config was: after
/// `ab` under `-zzz`, a HUP to `-a+b` deselects the line `a` (the stale `b`), as Debian's
/// svlogd 2.1.2 does (`ab` and `c` in `current`, not `a`). The shadow buffer used to be
/// kept only while some directory had a `+` pattern, so it missed `ab` (this removed the
/// surviving mutant `open && has_plus` -> `||` in `distribute`, with the gate itself).
#[test]
fn stale_byte_survives_a_hup_that_adds_a_plus_pattern() {
    let faults = Faults { config: Some(b"-zzz\n".to_vec()), ..Faults::default() };
    let mut h = Harness::new(&["svlogd", "d"], faults);
    h.feed(Input::Start);
    h.feed(Input::Data(b"ab\n".to_vec()));
    h.faults.config = Some(b"-a+b\n".to_vec());
    h.feed(Input::Signal(model::svlogd::logger::Sig::Hup));
    h.feed(Input::Data(b"a\nc\n".to_vec()));
    assert_eq!(String::from_utf8_lossy(&h.written.concat()), "ab\nc\n");
}
