//! The golden state table of the runsvdir machine: one row per representative
//! (phase, input) pair, rendered with [`model::table::render`] into
//! `docs/state-tables/runsvdir.md` by `verification/tests/runsvdir_golden.rs`.

use model::errno::Errno;
use model::machine::Machine;
use model::runsvdir::machine::{Action, DirStamp, Entry, EntryKind, Input, LogFailure, Phase, Runsvdir, ScanReply, StampError, WatchState};
use model::table::Row;
use model::time::{Mono, Now, Span, Wall};

fn at(secs: u64) -> Now {
    Now { mono: Mono(secs * 1_000_000_000), wall: Wall { unix_secs: 1_000_000 + secs as i64, nanos: 0 } }
}

fn drain(m: &mut Runsvdir) -> Vec<Action> {
    model::scripted::drain(m)
}

fn words(actions: &[Action]) -> String {
    if actions.is_empty() {
        return String::from("—");
    }
    let parts: Vec<String> = actions
        .iter()
        .map(|a| match a {
            Action::StartRunsv { name, .. } => format!("StartRunsv({})", String::from_utf8_lossy(name)),
            Action::Warn(w) => {
                let text = model::runsvdir::msg::format(b"sv", w);
                format!("Warn `{}`", String::from_utf8_lossy(&text).trim_end())
            }
            Action::WriteStamp(_) => String::from("WriteStamp"),
            Action::ShowTitle(_) => String::from("ShowTitle"),
            other => format!("{other:?}"),
        })
        .collect();
    parts.join(", ")
}

fn describe(m: &Runsvdir) -> String {
    format!(
        "{:?}{}{}, {} service(s)",
        m.phase(),
        if m.watching() { ", watching" } else { ", polling" },
        if m.check() { ", check" } else { "" },
        m.services().len()
    )
}

/// A machine driven to an idle state with one running service `a` (dev 1, ino 10,
/// pid 100), watching or polling.
pub fn idle_with_one(watching: bool) -> Runsvdir {
    let mut m = Runsvdir::new(None);
    m.handle(at(0), Input::Start);
    drain(&mut m);
    m.handle(at(0), Input::Watch(if watching { WatchState::Active } else { WatchState::Unavailable }));
    drain(&mut m);
    m.handle(at(0), Input::DirStat(Ok(DirStamp { mtime_secs: 1, ino: 5, dev: 1 })));
    drain(&mut m);
    m.handle(
        at(0),
        Input::Scanned(ScanReply::Listed {
            entries: vec![Entry { name: b"a".to_vec(), kind: EntryKind::Dir { dev: 1, ino: 10 } }],
            read_error: None,
        }),
    );
    drain(&mut m);
    m.handle(at(0), Input::Spawned { dev: 1, ino: 10, result: Ok(100) });
    drain(&mut m);
    // The follow-up look (check was set by the new service) finds nothing new.
    m.handle(at(1), Input::Tick);
    drain(&mut m);
    m.handle(at(1), Input::DirStat(Ok(DirStamp { mtime_secs: 1, ino: 5, dev: 1 })));
    drain(&mut m);
    m.handle(
        at(1),
        Input::Scanned(ScanReply::Listed {
            entries: vec![Entry { name: b"a".to_vec(), kind: EntryKind::Dir { dev: 1, ino: 10 } }],
            read_error: None,
        }),
    );
    drain(&mut m);
    m
}

fn row(m: &Runsvdir, when: Now, input: Input) -> Row {
    let mut m = m.clone();
    let state = describe(&m);
    let name = match &input {
        Input::Scanned(ScanReply::Listed { entries, read_error }) => {
            format!("Scanned({} entries{})", entries.len(), if read_error.is_some() { ", read error" } else { "" })
        }
        Input::LogBytes(b) => format!("LogBytes({} bytes)", b.len()),
        // Spelled as in the committed table, written when the failure was a bool (true = pipe).
        Input::LogReady(Err(f)) => format!("LogReady(Err({}))", *f == LogFailure::Pipe),
        other => format!("{other:?}"),
    };
    m.handle(when, input);
    let actions = drain(&mut m);
    Row { state, input: name, actions: words(&actions), next: describe(&m) }
}

/// Every row of the golden table.
pub fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let fresh = Runsvdir::new(None);
    rows.push(row(&fresh, at(0), Input::Start));
    let with_log = Runsvdir::new(Some(b"log: ......"));
    rows.push(row(&with_log, at(0), Input::Start));
    let short_log = Runsvdir::new(Some(b"log"));
    rows.push(row(&short_log, at(0), Input::Start));

    let mut awaiting_log = Runsvdir::new(Some(b"log: ......"));
    awaiting_log.handle(at(0), Input::Start);
    drain(&mut awaiting_log);
    rows.push(row(&awaiting_log, at(0), Input::LogReady(Ok(()))));
    rows.push(row(&awaiting_log, at(0), Input::LogReady(Err(LogFailure::Pipe))));

    let mut awaiting_watch = Runsvdir::new(None);
    awaiting_watch.handle(at(0), Input::Start);
    drain(&mut awaiting_watch);
    rows.push(row(&awaiting_watch, at(0), Input::Watch(WatchState::Active)));
    rows.push(row(&awaiting_watch, at(0), Input::Watch(WatchState::Unavailable)));

    let mut awaiting_stat = awaiting_watch.clone();
    awaiting_stat.handle(at(0), Input::Watch(WatchState::Unavailable));
    drain(&mut awaiting_stat);
    rows.push(row(&awaiting_stat, at(0), Input::DirStat(Err(Errno::ENOENT))));
    rows.push(row(&awaiting_stat, at(0), Input::DirStat(Ok(DirStamp { mtime_secs: 1, ino: 5, dev: 1 }))));
    rows.push(row(&awaiting_stat, at(0), Input::DirStat(Ok(DirStamp { mtime_secs: 1_000_000, ino: 5, dev: 1 }))));

    let mut awaiting_scan = awaiting_stat.clone();
    awaiting_scan.handle(at(0), Input::DirStat(Ok(DirStamp { mtime_secs: 1, ino: 5, dev: 1 })));
    drain(&mut awaiting_scan);
    rows.push(row(&awaiting_scan, at(0), Input::Scanned(ScanReply::ChdirFailed(Errno::ENOTDIR))));
    rows.push(row(&awaiting_scan, at(0), Input::Scanned(ScanReply::OpenFailed(Errno::EACCES))));
    let entries = vec![
        Entry { name: b"a".to_vec(), kind: EntryKind::Dir { dev: 1, ino: 10 } },
        Entry { name: b".hidden".to_vec(), kind: EntryKind::Dir { dev: 1, ino: 11 } },
        Entry { name: b"file".to_vec(), kind: EntryKind::NotDir },
        Entry { name: b"dang".to_vec(), kind: EntryKind::StatFailed(Errno::ENOENT) },
        Entry { name: b"link".to_vec(), kind: EntryKind::Dir { dev: 1, ino: 10 } },
    ];
    rows.push(row(&awaiting_scan, at(0), Input::Scanned(ScanReply::Listed { entries: entries.clone(), read_error: None })));
    rows.push(row(&awaiting_scan, at(0), Input::Scanned(ScanReply::Listed { entries, read_error: Some(Errno::EIO) })));

    let mut settling = awaiting_stat.clone();
    settling.handle(at(0), Input::DirStat(Ok(DirStamp { mtime_secs: 1_000_000, ino: 5, dev: 1 })));
    drain(&mut settling);
    rows.push(row(&settling, at(0), Input::Tick));
    rows.push(row(&settling, at(1), Input::Tick));
    rows.push(row(&settling, at(0), Input::Terminate));

    for watching in [false, true] {
        let idle = idle_with_one(watching);
        rows.push(row(&idle, at(2), Input::Tick));
        rows.push(row(&idle, at(6), Input::Tick));
        rows.push(row(&idle, at(2), Input::DirChanged));
        rows.push(row(&idle, at(2), Input::RunsvExited { pid: 100 }));
        rows.push(row(&idle, at(2), Input::RunsvExited { pid: 999 }));
        rows.push(row(&idle, at(2), Input::Terminate));
        rows.push(row(&idle, at(2), Input::Hangup));
        rows.push(row(&idle, at(2), Input::Alarm));
        rows.push(row(&idle, at(2), Input::LogBytes(b"x".to_vec())));
        rows.push(row(&idle, at(2), Input::Watch(WatchState::Unavailable)));
    }
    let mut idle = idle_with_one(true);
    idle.handle(at(2), Input::Alarm);
    drain(&mut idle);
    idle.handle(at(2), Input::DirStat(Ok(DirStamp { mtime_secs: 1, ino: 5, dev: 1 })));
    drain(&mut idle);
    rows.push(row(&idle, at(2), Input::Scanned(ScanReply::Listed { entries: vec![], read_error: None })));
    let mut stamp = idle.clone();
    stamp.handle(at(2), Input::Scanned(ScanReply::Listed { entries: vec![], read_error: None }));
    drain(&mut stamp);
    rows.push(row(&stamp, at(2), Input::StampWritten(Ok(()))));
    rows.push(row(&stamp, at(2), Input::StampWritten(Err(StampError::Open))));

    let mut exited = Runsvdir::new(None);
    exited.handle(at(0), Input::Start);
    drain(&mut exited);
    exited.handle(at(0), Input::Watch(WatchState::Active));
    drain(&mut exited);
    exited.handle(at(0), Input::Terminate);
    drain(&mut exited);
    rows.push(row(&exited, at(0), Input::Tick));
    debug_assert!(exited.phase() == Phase::Exited);
    let _ = Span::ZERO;
    rows
}
