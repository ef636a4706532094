//! Property tests for runsvdir's pure parts: parsers never panic, the title buffer keeps
//! its length and matches a naive model, runsvchdir's step machine always finishes, and
//! the machine agrees with a deliberately naive reference model of runit's scan rules.

use std::collections::BTreeMap;

use model::errno::Errno;
use model::runsvdir::chdir::{Chdir, OpResult, Step};
use model::runsvdir::machine::{Action, DirStamp, Entry, EntryKind, Input, LogFailure, ScanReply, WatchState};
use model::runsvdir::{parse_args, Runsvdir, Title, MAX_SERVICES};
use model::{Machine, Mono, Now, Wall};
use proptest::prelude::*;

proptest! {
    #[test]
    fn args_never_panic(argv in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..6), 0..5)) {
        match parse_args(&argv) {
            Ok(a) => {
                prop_assert!(argv.len() >= 2);
                prop_assert_eq!(a.log.is_some(), a.log_index.is_some());
            }
            Err(u) => prop_assert!(u.starts_with(b"usage: ") && u.ends_with(b" [-P] dir\n\n")),
        }
    }

    #[test]
    fn title_matches_naive_scroll(arg in proptest::collection::vec(any::<u8>(), 0..40), feeds in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 0..6)) {
        let mut t = Title::new(&arg);
        // Naive: keep 5, the rest is a window over everything non-NUL ever seen.
        let mut window: Vec<u8> = arg.clone();
        for f in &feeds {
            t.feed(f);
            if arg.len() > 5 {
                for &b in f.iter().filter(|&&b| b != 0) {
                    window.remove(5);
                    window.push(b);
                }
            }
        }
        prop_assert_eq!(t.bytes().len(), arg.len());
        prop_assert_eq!(t.bytes(), &window[..]);
    }

    #[test]
    fn runsvchdir_always_finishes(argv in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 0..3), results in proptest::collection::vec(0u8..4, 0..12)) {
        let (m, mut step) = Chdir::start(&argv);
        let mut m = m;
        let mut rs = results.into_iter();
        let mut n = 0;
        while let Step::Do(_) = step {
            let r = match rs.next().unwrap_or(0) {
                0 => OpResult::Done,
                1 => OpResult::Stat { dev: 1, ino: 2, is_dir: true },
                2 => OpResult::Stat { dev: 1, ino: 3, is_dir: false },
                _ => OpResult::Failed(Errno::ENOENT),
            };
            step = m.as_mut().expect("a step needs a machine").next(r);
            n += 1;
            prop_assert!(n < 20, "runsvchdir does not finish");
        }
        if let Step::Finish { code, .. } = step {
            prop_assert!(code == 0 || code == 1 || code == 111);
        }
    }
}

/// The naive reference: runit's scan rules written as plainly as possible.
#[derive(Default)]
struct Naive {
    /// (ino → (first name, running)) in order of addition.
    tracked: Vec<(u64, bool)>,
}

impl Naive {
    /// One scan: which inodes to start and which to stop.
    fn scan(&mut self, entries: &[(Vec<u8>, Option<u64>)]) -> (Vec<u64>, Vec<u64>) {
        let mut starts = vec![];
        let mut present = vec![];
        for (name, ino) in entries {
            let Some(ino) = ino else { continue };
            if name.first() == Some(&b'.') || present.contains(ino) {
                continue;
            }
            present.push(*ino);
            match self.tracked.iter().position(|t| t.0 == *ino) {
                Some(k) => {
                    if !self.tracked[k].1 {
                        self.tracked[k].1 = true;
                        starts.push(*ino);
                    }
                }
                None if self.tracked.len() >= MAX_SERVICES => {}
                None => {
                    self.tracked.push((*ino, true));
                    starts.push(*ino);
                }
            }
        }
        let stops = self.tracked.iter().filter(|t| !present.contains(&t.0) && t.1).map(|t| t.0).collect();
        self.tracked.retain(|t| present.contains(&t.0));
        (starts, stops)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Add(u8, u8),
    Remove(u8),
    Die(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![(0u8..6, 0u8..5).prop_map(|(n, i)| Op::Add(n, i)), (0u8..6).prop_map(Op::Remove), (0u8..5).prop_map(Op::Die)]
}

fn name(n: u8) -> Vec<u8> {
    if n == 5 {
        b".dot".to_vec()
    } else {
        vec![b'a' + n]
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn machine_agrees_with_naive_reference(ops in proptest::collection::vec(op(), 1..30), watching in any::<bool>()) {
        let mut m = Runsvdir::new(None);
        let mut naive = Naive::default();
        let mut fs: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut t = 0u64;
        let mut pid_of: BTreeMap<i32, u64> = BTreeMap::new();
        let mut next_pid = 100;
        let now = |t: u64| Now { mono: Mono(t), wall: Wall { unix_secs: 1_000_000 + (t / 1_000_000_000) as i64, nanos: 0 } };
        let mut mtime = 1;
        // Drives one full look and returns (starts, stops) as inodes.
        let drive = |m: &mut Runsvdir, t: u64, input: Input, fs: &BTreeMap<Vec<u8>, u64>, mtime: i64, pid_of: &mut BTreeMap<i32, u64>, next_pid: &mut i32| -> (Vec<u64>, Vec<u64>) {
            let mut starts = vec![];
            let mut stops = vec![];
            let mut next = Some(input);
            let mut cap = model::StepCap::new("runsvdir: actions of one input", 10_000);
            loop {
                cap.step();
                if let Some(i) = next.take() { m.handle(now(t), i); }
                let Some(a) = m.poll_action() else { break };
                next = match a {
                    Action::Watch => Some(Input::Watch(if watching { WatchState::Active } else { WatchState::Unavailable })),
                    Action::StatDir => Some(Input::DirStat(Ok(DirStamp { mtime_secs: mtime, ino: 2, dev: 1 }))),
                    Action::Scan => Some(Input::Scanned(ScanReply::Listed { entries: fs.iter().map(|(n, i)| Entry { name: n.clone(), kind: EntryKind::Dir { dev: 1, ino: *i } }).collect(), read_error: None })),
                    Action::StartRunsv { dev, ino, .. } => {
                        *next_pid += 1;
                        pid_of.insert(*next_pid, ino);
                        starts.push(ino);
                        Some(Input::Spawned { dev, ino, result: Ok(*next_pid) })
                    }
                    Action::Term { pid } => { stops.push(pid_of[&pid]); None }
                    _ => None,
                };
            }
            (starts, stops)
        };
        let mut all = drive(&mut m, t, Input::Start, &fs, mtime, &mut pid_of, &mut next_pid);
        let listing = |fs: &BTreeMap<Vec<u8>, u64>| fs.iter().map(|(n, i)| (n.clone(), Some(*i))).collect::<Vec<_>>();
        prop_assert_eq!(&all, &naive.scan(&listing(&fs)));
        for op in ops {
            t += 10_000_000_000; // 10 s: every pending look is due
            let mut early = (vec![], vec![]);
            match op {
                Op::Add(n, i) => { fs.entry(name(n)).or_insert(10 + i as u64); }
                Op::Remove(n) => { fs.remove(&name(n)); }
                Op::Die(i) => {
                    let pid = pid_of.iter().find(|(p, ino)| **ino == 10 + i as u64 && m.services().iter().any(|s| s.pid == Some(**p))).map(|(p, _)| *p);
                    if let Some(pid) = pid {
                        early = drive(&mut m, t, Input::RunsvExited { pid }, &fs, mtime, &mut pid_of, &mut next_pid);
                        if let Some(tr) = naive.tracked.iter_mut().find(|x| x.0 == 10 + i as u64) { tr.1 = false; }
                    }
                }
            }
            mtime += 1;
            if watching {
                drive(&mut m, t, Input::DirChanged, &fs, mtime, &mut pid_of, &mut next_pid);
            }
            t += 10_000_000_000;
            all = drive(&mut m, t, Input::Tick, &fs, mtime, &mut pid_of, &mut next_pid);
            // A second tick catches the follow-up look that `check` asks for.
            t += 10_000_000_000;
            let more = drive(&mut m, t, Input::Tick, &fs, mtime, &mut pid_of, &mut next_pid);
            all.0.extend(more.0);
            all.1.extend(more.1);
            all.0.extend(early.0);
            all.1.extend(early.1);
            let want = naive.scan(&listing(&fs));
            all.0.sort();
            all.1.sort();
            let (mut ws, mut wt) = want;
            ws.sort();
            wt.sort();
            prop_assert_eq!(&all.0, &ws, "starts");
            prop_assert_eq!(&all.1, &wt, "TERMs (exactly one per removed running service)");
            let running: Vec<u64> = { let mut v: Vec<u64> = m.services().iter().filter(|s| s.pid.is_some()).map(|s| s.ino).collect(); v.sort(); v };
            let mut expect: Vec<u64> = naive.tracked.iter().filter(|t| t.1).map(|t| t.0).collect();
            expect.sort();
            prop_assert_eq!(running, expect);
        }
    }
}

/// One environment event for the robustness property.
#[derive(Clone, Debug)]
enum Env {
    Changed,
    Advance(u64),
    Exit(i32),
    Log(Vec<u8>),
    Alarm,
    WatchLost,
    Hangup,
}

fn env() -> impl Strategy<Value = Env> {
    prop_oneof![
        4 => Just(Env::Changed),
        4 => (0u64..7_000).prop_map(Env::Advance),
        2 => (95i32..110).prop_map(Env::Exit),
        1 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(Env::Log),
        1 => Just(Env::Alarm),
        1 => Just(Env::WatchLost),
        1 => Just(Env::Hangup),
    ]
}

/// Arbitrary but well-formed replies: any entry names (odd bytes, dots, duplicates),
/// kinds, errors and fork results.
#[derive(Clone, Debug)]
struct Replies {
    seeds: Vec<u8>,
    names: Vec<Vec<u8>>,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn machine_stays_sane_under_any_world(
        events in proptest::collection::vec(env(), 1..60),
        seeds in proptest::collection::vec(any::<u8>(), 64),
        names in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 1..8),
        log in any::<bool>(),
    ) {
        let r = Replies { seeds, names };
        let mut k = 0usize;
        let mut pick = |n: u8| { k += 1; r.seeds[k % r.seeds.len()] % n.max(1) };
        let mut m = Runsvdir::new(if log { Some(&b"log: ........"[..]) } else { None });
        let mut t = 0u64;
        let mut next_pid = 100;
        let mut live: Vec<i32> = vec![];
        let mut termed: Vec<i32> = vec![];
        let mut exited = false;
        let now = |t: u64| Now { mono: Mono(t * 1_000_000), wall: Wall { unix_secs: 1_000_000 + (t / 1000) as i64, nanos: 0 } };
        let mut inputs: Vec<Input> = vec![Input::Start];
        inputs.extend(events.iter().map(|e| match e {
            Env::Changed => Input::DirChanged,
            Env::Advance(_) => Input::Tick,
            Env::Exit(p) => Input::RunsvExited { pid: *p },
            Env::Log(b) => Input::LogBytes(b.clone()),
            Env::Alarm => Input::Alarm,
            Env::WatchLost => Input::Watch(WatchState::Unavailable),
            Env::Hangup => Input::Hangup,
        }));
        for (idx, input) in inputs.into_iter().enumerate() {
            if let Some(Env::Advance(ms)) = idx.checked_sub(1).and_then(|i| events.get(i)) {
                t += ms;
            }
            if let Input::RunsvExited { pid } = input {
                live.retain(|&p| p != pid);
            }
            let mut next = Some(input);
            let mut cap = model::StepCap::new("runsvdir: actions of one input", 10_000);
            loop {
                cap.step();
                if let Some(i) = next.take() { m.handle(now(t), i); }
                let Some(a) = m.poll_action() else { break };
                next = match a {
                    Action::SetupLog => Some(Input::LogReady(match pick(4) {
                        0 if pick(2) == 0 => Err(LogFailure::Pipe),
                        0 => Err(LogFailure::Dup),
                        _ => Ok(()),
                    })),
                    Action::Watch => Some(Input::Watch(if pick(2) == 0 { WatchState::Active } else { WatchState::Unavailable })),
                    Action::StatDir => Some(Input::DirStat(match pick(5) {
                        0 => Err(Errno::ENOENT),
                        v => Ok(DirStamp { mtime_secs: 999_990 + v as i64 * 3, ino: 2 + (v % 2) as u64, dev: 1 }),
                    })),
                    Action::Scan => Some(Input::Scanned(match pick(8) {
                        0 => ScanReply::ChdirFailed(Errno::ENOTDIR),
                        1 => ScanReply::OpenFailed(Errno::EMFILE),
                        v => ScanReply::Listed {
                            entries: r.names.iter().map(|n| Entry { name: n.clone(), kind: match pick(4) {
                                0 => EntryKind::NotDir,
                                1 => EntryKind::StatFailed(Errno::ELOOP),
                                _ => EntryKind::Dir { dev: 1, ino: pick(6) as u64 },
                            } }).collect(),
                            read_error: if v == 2 { Some(Errno::EIO) } else { None },
                        },
                    })),
                    Action::StartRunsv { dev, ino, .. } => Some(Input::Spawned { dev, ino, result: if pick(5) == 0 { Err(Errno::EAGAIN) } else { next_pid += 1; live.push(next_pid); Ok(next_pid) } }),
                    Action::Term { pid } => {
                        prop_assert!(!termed.contains(&pid), "second TERM to {}", pid);
                        prop_assert!(live.contains(&pid), "TERM to a pid that is not a live child: {}", pid);
                        termed.push(pid);
                        None
                    }
                    Action::WriteStamp(text) => { prop_assert_eq!(text[0], b'@'); Some(Input::StampWritten(Ok(()))) }
                    Action::ShowTitle(b) => { prop_assert_eq!(b.len(), 13); None }
                    Action::Exit(c) => { prop_assert!(c == 0 || c == 111); exited = true; None }
                    Action::WriteLog(_) | Action::Warn(_) => None,
                };
            }
            prop_assert!(m.owed().is_none(), "an obligation was left unanswered");
            prop_assert!(m.services().len() <= MAX_SERVICES);
            let mut keys: Vec<(u64, u64)> = m.services().iter().map(|s| (s.dev, s.ino)).collect();
            keys.sort();
            keys.dedup();
            prop_assert_eq!(keys.len(), m.services().len(), "a directory tracked twice");
            prop_assert!(m.services().iter().all(|s| !s.name.starts_with(b".")));
            for s in m.services() {
                if let Some(pid) = s.pid { prop_assert!(live.contains(&pid), "tracked pid {} is not live", pid); }
            }
            if exited { prop_assert!(m.poll_deadline().is_none()); break; }
            // Never asleep with work to do: a pending retry or restart has a deadline.
            let needs_look = m.services().iter().any(|s| s.pid.is_none()) || m.check();
            if needs_look && m.phase() == model::runsvdir::machine::Phase::Idle {
                prop_assert!(m.poll_deadline().is_some(), "stuck: work pending and no deadline");
            }
        }
    }
}
