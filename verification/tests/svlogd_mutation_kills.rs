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

// ---- second sample (`--shard 1/8`) ------------------------------------------------------

use model::errno::Errno;
use model::svlogd::logger::{Action, Logger, Owed};
use model::svlogd::options::{self, Parsed};
use model::time::{Now, Span, Tai64n};

/// Feeds `input` and then every reply `answer` gives, collecting the actions (capped).
fn drive(m: &mut Logger, now: Now, input: Input, answer: &mut dyn FnMut(&Action) -> Option<Input>, log: &mut Vec<Action>) {
    let mut next = Some(input);
    let mut cap = model::StepCap::new("driving the logger", 10_000);
    while let Some(input) = next.take() {
        cap.step();
        m.handle(now, input);
        while let Some(a) = m.poll_action() {
            cap.step();
            let reply = answer(&a);
            log.push(a);
            if reply.is_some() {
                next = reply;
                break;
            }
        }
    }
}

/// Answers every obligation successfully, except `OpenCurrent`, which fails with EACCES.
fn current_unopenable(a: &Action) -> Option<Input> {
    Some(match a {
        Action::OpenDir { .. } => Input::DirOpened(Ok(None)),
        Action::ReadConfig { .. } => Input::ConfigRead(Ok(None)),
        Action::StatCurrent { .. } => Input::CurrentStat(Ok(None)),
        Action::OpenCurrent { .. } => Input::Done(Err(Errno::EACCES)),
        Action::ScanDir { .. } => Input::Scanned(Ok(Vec::new())),
        Action::Write { bytes, .. } => Input::Wrote { result: Ok(()), written: bytes.len(), buf: bytes.clone() },
        Action::RenameCurrent { .. }
        | Action::ChmodCurrent { .. }
        | Action::FsyncCurrent { .. }
        | Action::Unlink { .. }
        | Action::RenameFile { .. }
        | Action::ChmodFile { .. }
        | Action::RenameState { .. } => Input::Done(Ok(())),
        _ => return None,
    })
}

fn logger(argv: &[&str]) -> Logger {
    let Parsed::Run(s) = options::parse(argv) else { panic!("bad argv") };
    Logger::new(s)
}

fn stderr_text(log: &[Action]) -> String {
    log.iter().filter_map(|a| if let Action::Stderr(b) = a { Some(String::from_utf8_lossy(b).into_owned()) } else { None }).collect()
}

/// After SIGTERM, a `current` that still cannot be opened gives its directory up (closed,
/// its lock freed) instead of pausing forever, and with nothing held it reports no dropped
/// bytes and goes on with no `current` to chmod (kills the deleted `OpenCurrent` arm of
/// `give_up`, which left the open's later steps queued, and `n > 0` -> `>=` there, which
/// reported "dropped 0 bytes").
#[test]
fn term_gives_up_a_current_that_cannot_be_opened() {
    let mut m = logger(&["svlogd", "d"]);
    let mut now = Harness::new(&["svlogd", "d"], Faults::default()).now;
    let mut log = Vec::new();
    let mut answer = current_unopenable;
    drive(&mut m, now, Input::Start, &mut answer, &mut log);
    assert!(stderr_text(&log).contains("svlogd: pausing: unable to open current: d: "), "{log:?}");
    assert!(!log.iter().any(|a| matches!(a, Action::CloseDir { .. })), "still trying: {log:?}");
    drive(&mut m, now, Input::Signal(model::svlogd::logger::Sig::Term), &mut answer, &mut log);
    let mut ticks = model::StepCap::new("ticks until the give-up", 10);
    while !log.iter().any(|a| matches!(a, Action::CloseDir { .. })) {
        ticks.step();
        now = now.after(Span::from_secs(3));
        drive(&mut m, now, Input::Tick, &mut answer, &mut log);
    }
    let err = stderr_text(&log);
    assert!(err.contains("svlogd: warning: unable to open current: d: "), "{err}");
    assert!(!err.contains("dropped"), "nothing was held: {err}");
    assert!(log.iter().any(|a| matches!(a, Action::CloseDir { dir: 0 })), "{log:?}");
    assert!(!log.iter().any(|a| matches!(a, Action::ChmodCurrent { .. })), "no current was opened to chmod: {log:?}");
}

/// A rotated file is named after the wall clock at the rotation (runit's `fmt_taia` of
/// now); only when the clock repeats or goes back is the name the last one plus 1 ns
/// (kills `t <= last_name` -> `>` in `next_name`).
#[test]
fn rotated_names_follow_the_clock() {
    let mut m = logger(&["svlogd", "d"]);
    let now = Harness::new(&["svlogd", "d"], Faults::default()).now;
    let mut log = Vec::new();
    let mut answer = |a: &Action| match a {
        Action::OpenCurrent { .. } => Some(Input::Done(Ok(()))),
        a => current_unopenable(a),
    };
    drive(&mut m, now, Input::Start, &mut answer, &mut log);
    let names = |log: &[Action]| -> Vec<Vec<u8>> {
        log.iter().filter_map(|a| if let Action::RenameCurrent { to, .. } = a { Some(to.to_vec()) } else { None }).collect()
    };
    drive(&mut m, now, Input::Data(b"one\n".to_vec()), &mut answer, &mut log);
    drive(&mut m, now, Input::Signal(model::svlogd::logger::Sig::Alrm), &mut answer, &mut log);
    let later = now.after(Span::from_secs(5));
    drive(&mut m, later, Input::Data(b"two\n".to_vec()), &mut answer, &mut log);
    drive(&mut m, later, Input::Signal(model::svlogd::logger::Sig::Alrm), &mut answer, &mut log);
    drive(&mut m, later, Input::Data(b"three\n".to_vec()), &mut answer, &mut log);
    drive(&mut m, later, Input::Signal(model::svlogd::logger::Sig::Alrm), &mut answer, &mut log);
    let got = names(&log);
    assert_eq!(got.len(), 3, "{log:?}");
    let stamp = |w| {
        let mut n = Tai64n::from_wall(w).to_text().to_vec();
        n.extend_from_slice(b".s");
        n
    };
    assert_eq!(got[0], stamp(now.wall), "named after the clock");
    assert_eq!(got[1], stamp(later.wall), "named after the clock, 5 s later");
    assert!(got[2] > got[1], "same clock: a later name all the same");
    assert_eq!(&got[2][..16], &got[1][..16], "1 ns later, not a clock reading");
}

/// Each obligation is answered only by its own reply (kills `answers -> true`, which let a
/// driver hand any input to an owed obligation unchecked).
#[test]
fn obligations_are_answered_only_by_their_reply() {
    let pairs: [(Owed, Input); 8] = [
        (Owed::DirOpened, Input::DirOpened(Ok(None))),
        (Owed::ConfigRead, Input::ConfigRead(Ok(None))),
        (Owed::CurrentStat, Input::CurrentStat(Ok(None))),
        (Owed::Scanned, Input::Scanned(Ok(Vec::new()))),
        (Owed::Done, Input::Done(Ok(()))),
        (Owed::Wrote, Input::Wrote { result: Ok(()), written: 0, buf: Vec::new() }),
        (Owed::Spawned, Input::Spawned(Ok(7))),
        (Owed::UdpSent, Input::UdpSent(model::svlogd::logger::UdpOutcome::Sent)),
    ];
    for (i, (owed, _)) in pairs.iter().enumerate() {
        for (j, (_, input)) in pairs.iter().enumerate() {
            assert_eq!(<Logger as Machine>::answers(owed, input), i == j, "{owed:?} answered by {input:?}");
        }
        assert!(!<Logger as Machine>::answers(owed, &Input::Tick), "{owed:?} answered by a tick");
    }
}

/// The `.u` file a running processor reads is never the file a full disk deletes, even
/// when it is the oldest name (kills `protected -> Some(Default::default())`, which
/// protected no real name).
#[test]
fn a_busy_processors_input_is_not_deleted_on_a_full_disk() {
    let mut m = logger(&["svlogd", "d"]);
    let now = Harness::new(&["svlogd", "d"], Faults::default()).now;
    let mut log = Vec::new();
    let input: std::cell::Cell<Option<[u8; 27]>> = std::cell::Cell::new(None);
    let full = std::cell::Cell::new(true);
    let mut answer = |a: &Action| match a {
        Action::ReadConfig { .. } => Some(Input::ConfigRead(Ok(Some(b"N1\n!cat\n".to_vec())))),
        Action::OpenCurrent { .. } => Some(Input::Done(Ok(()))),
        Action::StartProcessor { input: u, .. } => {
            input.set(Some(*u));
            Some(Input::Spawned(Ok(4242)))
        }
        Action::Write { bytes, .. } if input.get().is_some() && full.replace(false) => {
            Some(Input::Wrote { result: Err(Errno::ENOSPC), written: 0, buf: bytes.clone() })
        }
        Action::ScanDir { .. } => {
            // With the processor running, its input is the oldest name, two newer files.
            let mut names = Vec::new();
            if let Some(u) = input.get() {
                names.push(u);
                for last in [b'e', b'f'] {
                    let mut n = u;
                    n[17..25].copy_from_slice(b"fffffff0");
                    n[24] = last;
                    n[26] = b's';
                    names.push(n);
                }
            }
            Some(Input::Scanned(Ok(names)))
        }
        a => current_unopenable(a),
    };
    drive(&mut m, now, Input::Start, &mut answer, &mut log);
    drive(&mut m, now, Input::Data(b"one\n".to_vec()), &mut answer, &mut log);
    drive(&mut m, now, Input::Signal(model::svlogd::logger::Sig::Alrm), &mut answer, &mut log);
    let u = input.get().expect("the rotation started the processor");
    drive(&mut m, now, Input::Data(b"two\n".to_vec()), &mut answer, &mut log);
    assert!(!full.get(), "the disk was full once: {log:?}");
    let unlinked: Vec<[u8; 27]> = log.iter().filter_map(|a| if let Action::Unlink { name, .. } = a { Some(*name) } else { None }).collect();
    assert_eq!(unlinked.len(), 1, "one file deleted for room: {log:?}");
    assert_ne!(unlinked[0], u, "the busy processor's input was deleted: {log:?}");
}

/// The `t` rotation deadline is offered as a wake-up only while the logger waits for input:
/// while a write is owed it is not (a deadline that passed then would wake the loop for
/// nothing, over and over) (kills `armed && open` -> `||` in `poll_deadline`).
#[test]
fn time_deadline_only_while_waiting_for_input() {
    let mut m = logger(&["svlogd", "d"]);
    let now = Harness::new(&["svlogd", "d"], Faults::default()).now;
    let mut log = Vec::new();
    let mut answer = |a: &Action| match a {
        Action::ReadConfig { .. } => Some(Input::ConfigRead(Ok(Some(b"t60\n".to_vec())))),
        Action::OpenCurrent { .. } => Some(Input::Done(Ok(()))),
        Action::Write { .. } => None,
        a => current_unopenable(a),
    };
    drive(&mut m, now, Input::Start, &mut answer, &mut log);
    let deadline = m.poll_deadline();
    assert!(deadline.is_some(), "waiting for input with t60: a deadline");
    drive(&mut m, now, Input::Data(b"one\n".to_vec()), &mut answer, &mut log);
    let Some(Action::Write { bytes, .. }) = log.last().cloned() else { panic!("a write is owed: {log:?}") };
    assert_eq!(m.poll_deadline(), None, "a write is owed: no wake-up for the t deadline");
    let wrote = Input::Wrote { result: Ok(()), written: bytes.len(), buf: bytes };
    drive(&mut m, now, wrote, &mut answer, &mut log);
    assert_eq!(m.poll_deadline(), deadline, "waiting for input again");
}
