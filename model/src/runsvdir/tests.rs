//! Unit tests of the runsvdir machine, one per (phase, input) pair that matters:
//! `test_<phase>_<input>`.

use alloc::vec;
use alloc::vec::Vec;

use super::machine::*;
use super::msg::Warning;
use super::MAX_SERVICES;
use crate::errno::Errno;
use crate::machine::Machine;
use crate::time::{Mono, Now, Wall};

const MS: u64 = 1_000_000;

fn at_ms(ms: u64) -> Now {
    Now { mono: Mono(ms * MS), wall: Wall { unix_secs: 2_000_000 + (ms / 1000) as i64, nanos: 0 } }
}

fn drain(m: &mut Runsvdir) -> Vec<Action> {
    crate::scripted::drain(m)
}

fn dir(name: &str, ino: u64) -> Entry {
    Entry { name: name.as_bytes().to_vec(), kind: EntryKind::Dir { dev: 1, ino } }
}

const OLD: DirStamp = DirStamp { mtime_secs: 5, ino: 2, dev: 1 };

/// Start, answer the watch with `w`, and stop at the first look (AwaitStat).
fn started(w: WatchState) -> Runsvdir {
    let mut m = Runsvdir::new(None);
    m.handle(at_ms(0), Input::Start);
    assert_eq!(drain(&mut m), vec![Action::Watch]);
    m.handle(at_ms(0), Input::Watch(w));
    assert_eq!(drain(&mut m), vec![Action::StatDir]);
    assert_eq!(m.phase(), Phase::AwaitStat);
    m
}

/// A full look at `ms` (stat OLD, list `entries`), answering spawns with pids 100+.
fn look(m: &mut Runsvdir, ms: u64, entries: Vec<Entry>) -> Vec<Action> {
    if m.phase() == Phase::Idle {
        m.handle(at_ms(ms), Input::Tick);
        let a = drain(m);
        assert_eq!(a, vec![Action::StatDir], "no look at {ms}");
    }
    m.handle(at_ms(ms), Input::DirStat(Ok(OLD)));
    let mut all = drain(m);
    if all.is_empty() {
        return all;
    }
    assert_eq!(all.last(), Some(&Action::Scan));
    m.handle(at_ms(ms), Input::Scanned(ScanReply::Listed { entries, read_error: None }));
    let mut out = drain(m);
    let mut i = 0;
    while i < out.len() {
        if let Action::StartRunsv { dev, ino, .. } = out[i].clone() {
            m.handle(at_ms(ms), Input::Spawned { dev, ino, result: Ok(pid_of(ino)) });
            out.extend(drain(m));
        }
        i += 1;
    }
    all.extend(out);
    all
}

/// The pid the helpers give the runsv of inode `ino` (a: 10 → 100, b: 11 → 101).
fn pid_of(ino: u64) -> i32 {
    90 + ino as i32
}

fn starts(actions: &[Action]) -> Vec<Vec<u8>> {
    actions.iter().filter_map(|a| if let Action::StartRunsv { name, .. } = a { Some(name.clone()) } else { None }).collect()
}

#[test]
fn test_idle_start() {
    let mut m = Runsvdir::new(None);
    m.handle(at_ms(0), Input::Start);
    assert_eq!(drain(&mut m), vec![Action::Watch]);
    assert_eq!(m.owed(), Some(Owed::Watch));
}

#[test]
fn test_idle_start_short_log() {
    let mut m = Runsvdir::new(Some(b"short"));
    m.handle(at_ms(0), Input::Start);
    assert_eq!(drain(&mut m), vec![Action::Warn(Warning::LogTooShort), Action::Warn(Warning::LogDisabled), Action::Watch]);
    assert!(m.title().is_none());
}

#[test]
fn test_awaitlog_logready() {
    let mut m = Runsvdir::new(Some(b"log: ......."));
    m.handle(at_ms(0), Input::Start);
    assert_eq!(drain(&mut m), vec![Action::SetupLog]);
    m.handle(at_ms(0), Input::LogReady(Err(LogFailure::Dup)));
    assert_eq!(drain(&mut m), vec![Action::Warn(Warning::LogDup), Action::Warn(Warning::LogDisabled), Action::Watch]);
    assert!(m.title().is_none());

    let mut m = Runsvdir::new(Some(b"log: ......."));
    m.handle(at_ms(0), Input::Start);
    drain(&mut m);
    m.handle(at_ms(0), Input::LogReady(Ok(())));
    assert_eq!(drain(&mut m), vec![Action::Watch]);
    m.handle(at_ms(0), Input::Watch(WatchState::Active));
    // The first look, then (as runit's first iteration) the first dot into the pipe.
    assert_eq!(drain(&mut m), vec![Action::StatDir]);
    m.handle(at_ms(0), Input::DirStat(Ok(OLD)));
    assert_eq!(drain(&mut m), vec![Action::Scan]);
    m.handle(
        at_ms(0),
        Input::Scanned(ScanReply::Listed {
            entries: vec![Entry { name: b"dang".to_vec(), kind: EntryKind::StatFailed(Errno::ENOENT) }],
            read_error: None,
        }),
    );
    assert_eq!(drain(&mut m), vec![Action::Warn(Warning::StatEntry(b"dang".to_vec(), Errno::ENOENT)), Action::WriteLog(b".".to_vec())]);
}

#[test]
fn test_awaitwatch_watch() {
    let m = started(WatchState::Active);
    assert!(m.watching());
    let m = started(WatchState::Unavailable);
    assert!(!m.watching());
}

#[test]
fn test_awaitstat_dirstat_error() {
    let mut m = started(WatchState::Unavailable);
    m.handle(at_ms(0), Input::DirStat(Err(Errno::ENOENT)));
    assert_eq!(drain(&mut m), vec![Action::Warn(Warning::StatDir(Errno::ENOENT))]);
    // check is still set: retried after 1 s, and nothing was stopped.
    assert_eq!(m.poll_deadline(), Some(Mono(1000 * MS)));
}

#[test]
fn test_awaitstat_dirstat_error_watching_retries() {
    let mut m = started(WatchState::Active);
    m.handle(at_ms(0), Input::DirStat(Err(Errno::ENOENT)));
    drain(&mut m);
    assert!(m.poll_deadline().is_some(), "a failed look is retried even while watching");
}

#[test]
fn test_awaitstat_dirstat_settles_when_polling() {
    let mut m = started(WatchState::Unavailable);
    m.handle(at_ms(0), Input::DirStat(Ok(DirStamp { mtime_secs: 2_000_000, ino: 2, dev: 1 })));
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.phase(), Phase::Settling);
    assert_eq!(m.poll_deadline(), Some(Mono(1000 * MS)));
    m.handle(at_ms(999), Input::Tick);
    assert_eq!(drain(&mut m), vec![]);
    m.handle(at_ms(1000), Input::Tick);
    assert_eq!(drain(&mut m), vec![Action::Scan]);
}

#[test]
fn test_awaitstat_dirstat_no_settle_when_watching() {
    let mut m = started(WatchState::Active);
    m.handle(at_ms(0), Input::DirStat(Ok(DirStamp { mtime_secs: 2_000_000, ino: 2, dev: 1 })));
    assert_eq!(drain(&mut m), vec![Action::Scan]);
}

#[test]
fn test_awaitscan_scanned_starts_and_dedups() {
    let mut m = started(WatchState::Unavailable);
    let a =
        look(&mut m, 0, vec![dir("a", 10), dir("link", 10), dir(".hidden", 11), Entry { name: b"f".to_vec(), kind: EntryKind::NotDir }]);
    assert_eq!(starts(&a), vec![b"a".to_vec()]);
    assert_eq!(m.services().len(), 1);
    assert!(m.check(), "a new service sets check");
    assert_eq!(m.poll_deadline(), Some(Mono(1000 * MS)));
}

#[test]
fn test_awaitscan_scanned_stat_failure_warned() {
    let mut m = started(WatchState::Unavailable);
    let a = look(&mut m, 0, vec![Entry { name: b"dang".to_vec(), kind: EntryKind::StatFailed(Errno::ENOENT) }]);
    assert_eq!(a, vec![Action::Scan, Action::Warn(Warning::StatEntry(b"dang".to_vec(), Errno::ENOENT))]);
}

#[test]
fn test_awaitscan_scanned_removal_terms_once() {
    let mut m = started(WatchState::Unavailable);
    look(&mut m, 0, vec![dir("a", 10), dir("b", 11)]);
    let a = look(&mut m, 1000, vec![dir("b", 11)]);
    let terms: Vec<&Action> = a.iter().filter(|a| matches!(a, Action::Term { .. })).collect();
    assert_eq!(terms, vec![&Action::Term { pid: 100 }]);
    // The forgotten runsv's exit is ignored, and the next scan does not TERM again.
    m.handle(at_ms(1500), Input::RunsvExited { pid: 100 });
    assert_eq!(drain(&mut m), vec![]);
    let a = look(&mut m, 2000, vec![dir("b", 11)]);
    assert!(!a.iter().any(|a| matches!(a, Action::Term { .. })));
}

#[test]
fn test_awaitscan_scanned_rename_keeps_runsv() {
    let mut m = started(WatchState::Unavailable);
    look(&mut m, 0, vec![dir("a", 10)]);
    let a = look(&mut m, 1000, vec![dir("renamed", 10)]);
    assert_eq!(a, vec![Action::Scan]);
    assert_eq!(m.services()[0].name, b"a".to_vec());
}

#[test]
fn test_awaitscan_scanned_replaced_dir_restarts() {
    let mut m = started(WatchState::Unavailable);
    look(&mut m, 0, vec![dir("a", 10)]);
    let a = look(&mut m, 1000, vec![dir("a", 12)]);
    assert!(a.contains(&Action::Term { pid: 100 }));
    assert_eq!(starts(&a), vec![b"a".to_vec()]);
}

#[test]
fn test_awaitscan_scanned_read_error_no_removals() {
    let mut m = started(WatchState::Unavailable);
    look(&mut m, 0, vec![dir("a", 10)]);
    m.handle(at_ms(1000), Input::Tick);
    drain(&mut m);
    m.handle(at_ms(1000), Input::DirStat(Ok(OLD)));
    drain(&mut m);
    m.handle(at_ms(1000), Input::Scanned(ScanReply::Listed { entries: vec![], read_error: Some(Errno::EIO) }));
    assert_eq!(drain(&mut m), vec![Action::Warn(Warning::ReadDir(Errno::EIO))]);
    assert_eq!(m.services().len(), 1);
    assert!(m.check());
}

#[test]
fn test_awaitscan_scanned_chdir_and_open_failures() {
    let mut m = started(WatchState::Unavailable);
    m.handle(at_ms(0), Input::DirStat(Ok(OLD)));
    drain(&mut m);
    m.handle(at_ms(0), Input::Scanned(ScanReply::ChdirFailed(Errno::ENOTDIR)));
    assert_eq!(drain(&mut m), vec![Action::Warn(Warning::ChdirDir(Errno::ENOTDIR))]);
    m.handle(at_ms(1000), Input::Tick);
    assert_eq!(drain(&mut m), vec![Action::StatDir]);
    m.handle(at_ms(1000), Input::DirStat(Ok(OLD)));
    assert_eq!(drain(&mut m), vec![Action::Watch], "first success after a failure: watches rebuilt");
    m.handle(at_ms(1000), Input::Watch(WatchState::Unavailable));
    assert_eq!(drain(&mut m), vec![Action::Scan], "nothing recorded: scanned again");
    m.handle(at_ms(1000), Input::Scanned(ScanReply::OpenFailed(Errno::EACCES)));
    assert_eq!(drain(&mut m), vec![Action::Warn(Warning::OpenDir(Errno::EACCES))]);
    m.handle(at_ms(6000), Input::Tick);
    drain(&mut m);
    m.handle(at_ms(6000), Input::DirStat(Ok(OLD)));
    assert_eq!(drain(&mut m), vec![Action::Scan], "a failed open is retried (runit would wait for a change)");
}

#[test]
fn test_awaitscan_scanned_cap() {
    let mut m = started(WatchState::Unavailable);
    let entries: Vec<Entry> = (0..MAX_SERVICES as u64 + 2).map(|i| dir(&alloc::format!("s{i}"), 1000 + i)).collect();
    let a = look(&mut m, 0, entries);
    assert_eq!(starts(&a).len(), MAX_SERVICES);
    let too_many = a.iter().filter(|a| matches!(a, Action::Warn(Warning::TooMany(_)))).count();
    assert_eq!(too_many, 2);
    assert_eq!(m.services().len(), MAX_SERVICES);
}

#[test]
fn test_spawned_fork_failure_retried() {
    let mut m = started(WatchState::Active);
    m.handle(at_ms(0), Input::DirStat(Ok(OLD)));
    drain(&mut m);
    m.handle(at_ms(0), Input::Scanned(ScanReply::Listed { entries: vec![dir("a", 10)], read_error: None }));
    assert_eq!(drain(&mut m), vec![Action::StartRunsv { name: b"a".to_vec(), dev: 1, ino: 10 }]);
    m.handle(at_ms(0), Input::Spawned { dev: 1, ino: 10, result: Err(Errno::EAGAIN) });
    assert_eq!(drain(&mut m), vec![Action::Warn(Warning::Fork(b"a".to_vec(), Errno::EAGAIN))]);
    let a = look(&mut m, 1000, vec![dir("a", 10)]);
    assert_eq!(starts(&a), vec![b"a".to_vec()]);
}

#[test]
fn test_spawned_untracked_is_termed() {
    let mut m = started(WatchState::Active);
    m.handle(at_ms(0), Input::Spawned { dev: 9, ino: 9, result: Ok(55) });
    assert_eq!(drain(&mut m), vec![Action::Term { pid: 55 }]);
}

#[test]
fn test_idle_runsvexited_restart() {
    let mut m = started(WatchState::Active);
    look(&mut m, 0, vec![dir("a", 10)]);
    look(&mut m, 1000, vec![dir("a", 10)]);
    assert_eq!(m.poll_deadline(), None, "watching and nothing pending: no wake-ups");
    m.handle(at_ms(3000), Input::RunsvExited { pid: 100 });
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.poll_deadline(), Some(Mono(4000 * MS)));
    let a = look(&mut m, 4000, vec![dir("a", 10)]);
    assert_eq!(starts(&a), vec![b"a".to_vec()]);
}

#[test]
fn test_idle_runsvexited_unknown_ignored() {
    let mut m = started(WatchState::Active);
    look(&mut m, 0, vec![dir("a", 10)]);
    m.handle(at_ms(10), Input::RunsvExited { pid: 4242 });
    assert_eq!(drain(&mut m), vec![]);
}

/// runsvdir is a child subreaper (adoption): the service and logger of a killed runsv
/// become its children, and their exits are reaped here. They are no runsv of its: no
/// restart, no rescan, and the runsv's own exit is still recognised afterwards.
#[test]
fn test_idle_runsvexited_orphan_of_a_runsv_changes_nothing() {
    let mut m = started(WatchState::Active);
    look(&mut m, 0, vec![dir("a", 10)]);
    look(&mut m, 1000, vec![dir("a", 10)]);
    let before = m.poll_deadline();
    for orphan in [4242, 4243] {
        m.handle(at_ms(2000), Input::RunsvExited { pid: orphan });
        assert_eq!(drain(&mut m), vec![]);
        assert_eq!(m.poll_deadline(), before);
    }
    m.handle(at_ms(3000), Input::RunsvExited { pid: 100 });
    assert_eq!(m.poll_deadline(), Some(Mono(4000 * MS)));
}

#[test]
fn test_idle_dirchanged_debounced_look() {
    let mut m = started(WatchState::Active);
    look(&mut m, 0, vec![]);
    assert_eq!(m.poll_deadline(), None);
    m.handle(at_ms(5000), Input::DirChanged);
    assert_eq!(drain(&mut m), vec![]);
    m.handle(at_ms(5001), Input::DirChanged);
    assert_eq!(m.poll_deadline(), Some(Mono(5000 * MS + DEBOUNCE.0)));
    m.handle(Now { mono: Mono(5000 * MS + DEBOUNCE.0), wall: at_ms(5003).wall }, Input::Tick);
    assert_eq!(drain(&mut m), vec![Action::StatDir]);
    // A change notice scans even when the stamp looks unchanged.
    m.handle(at_ms(5003), Input::DirStat(Ok(OLD)));
    assert_eq!(drain(&mut m), vec![Action::Scan]);
}

#[test]
fn test_idle_tick_polling_rhythm() {
    let mut m = started(WatchState::Unavailable);
    look(&mut m, 0, vec![]);
    assert_eq!(m.poll_deadline(), Some(Mono(5000 * MS)), "5 s when check is clear");
    m.handle(at_ms(5000), Input::Tick);
    assert_eq!(drain(&mut m), vec![Action::StatDir]);
    m.handle(at_ms(5000), Input::DirStat(Ok(OLD)));
    assert_eq!(drain(&mut m), vec![], "unchanged stamp: no scan");
    assert_eq!(m.poll_deadline(), Some(Mono(10_000 * MS)));
}

#[test]
fn test_idle_terminate() {
    let mut m = started(WatchState::Active);
    look(&mut m, 0, vec![dir("a", 10)]);
    m.handle(at_ms(10), Input::Terminate);
    assert_eq!(drain(&mut m), vec![Action::Exit(0)], "runsv processes are not signalled");
    assert_eq!(m.phase(), Phase::Exited);
    m.handle(at_ms(20), Input::Tick);
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.poll_deadline(), None);
}

#[test]
fn test_idle_hangup() {
    let mut m = started(WatchState::Active);
    look(&mut m, 0, vec![dir("a", 10), dir("b", 11)]);
    m.handle(at_ms(10), Input::Hangup);
    assert_eq!(drain(&mut m), vec![Action::Term { pid: 100 }, Action::Term { pid: 101 }, Action::Exit(111)]);
}

#[test]
fn test_idle_alarm_forced_rescan() {
    let mut m = started(WatchState::Active);
    look(&mut m, 0, vec![]);
    m.handle(at_ms(500), Input::Alarm);
    assert_eq!(drain(&mut m), vec![], "within 1 s of the last look: pending");
    assert_eq!(m.poll_deadline(), Some(Mono(1000 * MS)));
    m.handle(at_ms(600), Input::Alarm);
    m.handle(at_ms(1000), Input::Tick);
    assert_eq!(drain(&mut m), vec![Action::StatDir]);
    m.handle(at_ms(1000), Input::DirStat(Ok(OLD)));
    assert_eq!(drain(&mut m), vec![Action::Scan], "forced: scanned although unchanged");
    m.handle(at_ms(1000), Input::Scanned(ScanReply::Listed { entries: vec![], read_error: None }));
    let a = drain(&mut m);
    assert_eq!(a.len(), 1);
    assert!(matches!(a[0], Action::WriteStamp(t) if t[0] == b'@'));
    m.handle(at_ms(1000), Input::StampWritten(Err(StampError::Open)));
    assert!(matches!(drain(&mut m).as_slice(), [Action::Warn(Warning::StampOpen(_))]));
    assert_eq!(m.poll_deadline(), None, "two ALRMs, one rescan");
}

#[test]
fn test_idle_logbytes_title() {
    let mut m = Runsvdir::new(Some(b"log: ......."));
    m.handle(at_ms(0), Input::Start);
    drain(&mut m);
    m.handle(at_ms(0), Input::LogReady(Ok(())));
    drain(&mut m);
    m.handle(at_ms(0), Input::Watch(WatchState::Active));
    drain(&mut m);
    look(&mut m, 0, vec![]);
    m.handle(at_ms(10), Input::LogBytes(b"ab\n".to_vec()));
    assert_eq!(drain(&mut m), vec![Action::ShowTitle(b"log: ....ab\n".to_vec())]);
    assert_eq!(m.poll_deadline(), Some(Mono(900_000 * MS)), "next dot in 900 s");
}

#[test]
fn test_idle_watch_lost_falls_back_to_polling() {
    let mut m = started(WatchState::Active);
    look(&mut m, 0, vec![]);
    assert_eq!(m.poll_deadline(), None);
    m.handle(at_ms(3000), Input::Watch(WatchState::Unavailable));
    assert_eq!(drain(&mut m), vec![Action::StatDir]);
    assert!(!m.watching());
}

#[test]
fn test_settling_terminate() {
    let mut m = started(WatchState::Unavailable);
    m.handle(at_ms(0), Input::DirStat(Ok(DirStamp { mtime_secs: 2_000_000, ino: 2, dev: 1 })));
    drain(&mut m);
    m.handle(at_ms(100), Input::Terminate);
    assert_eq!(drain(&mut m), vec![Action::Exit(0)]);
}

#[test]
fn test_awaitstat_moved_dir_rewatches() {
    let mut m = started(WatchState::Active);
    look(&mut m, 0, vec![dir("a", 10)]);
    m.handle(at_ms(100), Input::DirChanged);
    m.handle(at_ms(200), Input::Tick);
    drain(&mut m);
    m.handle(at_ms(200), Input::DirStat(Ok(DirStamp { mtime_secs: 5, ino: 77, dev: 1 })));
    assert_eq!(drain(&mut m), vec![Action::Watch]);
    m.handle(at_ms(200), Input::Watch(WatchState::Active));
    assert_eq!(drain(&mut m), vec![Action::Scan]);
    m.handle(at_ms(200), Input::Scanned(ScanReply::Listed { entries: vec![dir("b", 20)], read_error: None }));
    let a = drain(&mut m);
    assert!(a.contains(&Action::Term { pid: 100 }));
    assert_eq!(starts(&a), vec![b"b".to_vec()]);
}

#[test]
fn test_scan_dir_unopenable_classified() {
    // Out of descriptors/memory is runit's opendir failure; anything else its chdir one.
    for e in [Errno::EMFILE, Errno::ENFILE, Errno::ENOMEM] {
        assert_eq!(ScanReply::dir_unopenable(e), ScanReply::OpenFailed(e));
    }
    for e in [Errno::ENOENT, Errno::EACCES, Errno::ENOTDIR] {
        assert_eq!(ScanReply::dir_unopenable(e), ScanReply::ChdirFailed(e));
    }
}
