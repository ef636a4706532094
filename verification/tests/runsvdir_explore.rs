//! Exhaustive bounded exploration of the runsvdir machine (`verification::explore`) over
//! a tiny directory: adds, removals, renames, second names (symlinks) for one directory,
//! dangling links, dot-names, runsv deaths, SIGALRM and SIGHUP, in watching and polling
//! mode. States are canonical: times relative to now, pids and inodes renamed.

use std::collections::BTreeSet;

use model::errno::Errno;
use model::runsvdir::machine::{Action, DirStamp, Entry, EntryKind, Input, Owed, Phase, Runsvdir, ScanReply, WatchState};
use model::{Machine, Mono, Now, Wall};
use verification::explore::{explore, Explore, Property};

const NAMES: [&[u8]; 3] = [b"a", b"b", b".h"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    Dir(u64),
    Dangling,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct S {
    m: Runsvdir,
    watching: bool,
    fs: [Option<Node>; 3],
    mtime: i64,
    /// Live runsv: (pid, directory inode, TERMed).
    procs: Vec<(i32, u64, bool)>,
    violation: Option<String>,
    restarted: bool,
    stamped: bool,
    exited: Option<i32>,
}

#[derive(Clone, Debug)]
enum In {
    Add(usize),
    Remove(usize),
    Rename(usize, usize),
    Link(usize, usize),
    Dangle(usize),
    Die(i32),
    Tick,
    Alarm,
    Hangup,
}

fn now(t: u64) -> Now {
    Now { mono: Mono(t), wall: Wall { unix_secs: 1_000_000, nanos: 0 } }
}

struct World;

impl S {
    fn stamp(&self) -> DirStamp {
        DirStamp { mtime_secs: self.mtime, ino: 2, dev: 1 }
    }

    fn listing(&self) -> Vec<Entry> {
        (0..3)
            .filter_map(|i| {
                let kind = match self.fs[i]? {
                    Node::Dir(ino) => EntryKind::Dir { dev: 1, ino },
                    Node::Dangling => EntryKind::StatFailed(Errno::ENOENT),
                };
                Some(Entry { name: NAMES[i].to_vec(), kind })
            })
            .collect()
    }

    fn fresh_ino(&self) -> u64 {
        let used: BTreeSet<u64> = self
            .fs
            .iter()
            .flatten()
            .filter_map(|n| if let Node::Dir(i) = n { Some(*i) } else { None })
            .chain(self.procs.iter().map(|p| p.1))
            .chain(self.m.services().iter().map(|s| s.ino))
            .collect();
        (10..).find(|i| !used.contains(i)).unwrap_or(99)
    }

    fn feed(&mut self, t: u64, input: Input) {
        if self.exited.is_some() {
            return;
        }
        let mut next = Some(input);
        let mut cap = model::StepCap::new("runsvdir explorer: actions of one input", 10_000);
        loop {
            cap.step();
            if let Some(i) = next.take() {
                self.m.handle(now(t), i);
            }
            let Some(a) = self.m.poll_action() else { break };
            let owed = self.m.owed();
            let want = |o: Owed, s: &mut S| {
                if owed != Some(o) && s.violation.is_none() {
                    s.violation = Some(format!("owed {owed:?}, expected {o:?}"));
                }
            };
            next = match a {
                Action::SetupLog => {
                    want(Owed::LogReady, self);
                    Some(Input::LogReady(Ok(())))
                }
                Action::Watch => {
                    want(Owed::Watch, self);
                    Some(Input::Watch(if self.watching { WatchState::Active } else { WatchState::Unavailable }))
                }
                Action::StatDir => {
                    want(Owed::DirStat, self);
                    Some(Input::DirStat(Ok(self.stamp())))
                }
                Action::Scan => {
                    want(Owed::Scanned, self);
                    Some(Input::Scanned(ScanReply::Listed { entries: self.listing(), read_error: None }))
                }
                Action::StartRunsv { dev, ino, .. } => {
                    want(Owed::Spawned, self);
                    let pid = self.procs.iter().map(|p| p.0).chain(self.m.services().iter().filter_map(|s| s.pid)).max().unwrap_or(0) + 1;
                    self.procs.push((pid, ino, false));
                    Some(Input::Spawned { dev, ino, result: Ok(pid) })
                }
                Action::Term { pid } => {
                    match self.procs.iter_mut().find(|p| p.0 == pid) {
                        Some(p) if !p.2 => p.2 = true,
                        Some(_) => self.violation = Some(format!("second TERM to {pid}")),
                        None => self.violation = Some(format!("TERM to dead pid {pid}")),
                    }
                    None
                }
                Action::WriteStamp(_) => {
                    want(Owed::StampWritten, self);
                    self.stamped = true;
                    Some(Input::StampWritten(Ok(())))
                }
                Action::WriteLog(_) | Action::ShowTitle(_) | Action::Warn(_) => None,
                Action::Exit(c) => {
                    self.exited = Some(c);
                    None
                }
            };
        }
    }

    /// Canonical form: times relative to `t`, pids renamed in order of appearance.
    fn canonical(mut self, t: u64) -> S {
        let m = self.m.rebased(Mono(t));
        let mut order: Vec<i32> = m.services().iter().filter_map(|s| s.pid).collect();
        self.procs.sort_by_key(|p| (p.1, p.2, p.0));
        for p in &self.procs {
            if !order.contains(&p.0) {
                order.push(p.0);
            }
        }
        let rename = |pid: i32| order.iter().position(|&p| p == pid).map_or(pid, |i| i as i32 + 1);
        self.m = m.map_pids(&rename);
        for p in &mut self.procs {
            p.0 = rename(p.0);
        }
        self.procs.sort();
        self
    }

    fn running_inos(&self) -> BTreeSet<u64> {
        self.procs.iter().filter(|p| !p.2).map(|p| p.1).collect()
    }

    fn wanted_inos(&self) -> BTreeSet<u64> {
        (0..3)
            .filter(|&i| !NAMES[i].starts_with(b"."))
            .filter_map(|i| if let Some(Node::Dir(ino)) = self.fs[i] { Some(ino) } else { None })
            .collect()
    }
}

impl Explore for World {
    type State = S;
    type Input = In;

    fn initial(&self) -> Vec<S> {
        [true, false]
            .into_iter()
            .map(|watching| {
                let mut s = S {
                    m: Runsvdir::new(None),
                    watching,
                    fs: [Some(Node::Dir(10)), None, None],
                    mtime: 5,
                    procs: vec![],
                    violation: None,
                    restarted: false,
                    stamped: false,
                    exited: None,
                };
                s.feed(0, Input::Start);
                s.canonical(0)
            })
            .collect()
    }

    fn inputs(&self, s: &S) -> Vec<In> {
        if s.exited.is_some() || s.violation.is_some() {
            return vec![];
        }
        let mut v = vec![];
        for i in 0..3 {
            if s.fs[i].is_none() {
                v.push(In::Add(i));
                v.push(In::Dangle(i));
                for j in 0..3 {
                    if matches!(s.fs[j], Some(Node::Dir(_))) {
                        v.push(In::Link(i, j));
                    }
                }
            } else {
                v.push(In::Remove(i));
                for j in 0..3 {
                    if s.fs[j].is_none() {
                        v.push(In::Rename(i, j));
                    }
                }
            }
        }
        for p in &s.procs {
            v.push(In::Die(p.0));
        }
        if s.m.poll_deadline().is_some() {
            v.push(In::Tick);
        }
        v.push(In::Alarm);
        v.push(In::Hangup);
        v
    }

    fn fair_inputs(&self, s: &S) -> Vec<In> {
        let mut v: Vec<In> = s.procs.iter().filter(|p| p.2).map(|p| In::Die(p.0)).collect();
        if s.m.poll_deadline().is_some() {
            v.push(In::Tick);
        }
        v
    }

    fn step(&self, s: &S, i: &In) -> S {
        let mut n = s.clone();
        let mut t = 0;
        let fs_change = matches!(i, In::Add(_) | In::Remove(_) | In::Rename(..) | In::Link(..) | In::Dangle(_));
        match *i {
            In::Add(k) => n.fs[k] = Some(Node::Dir(n.fresh_ino())),
            In::Remove(k) => n.fs[k] = None,
            In::Rename(a, b) => {
                n.fs[b] = n.fs[a];
                n.fs[a] = None;
            }
            In::Link(a, b) => n.fs[a] = n.fs[b],
            In::Dangle(k) => n.fs[k] = Some(Node::Dangling),
            In::Die(pid) => {
                n.procs.retain(|p| p.0 != pid);
                if n.m.services().iter().any(|s| s.pid == Some(pid)) {
                    n.restarted = true;
                }
                n.feed(0, Input::RunsvExited { pid });
            }
            In::Tick => {
                t = n.m.poll_deadline().map_or(0, |d| d.0);
                n.feed(t, Input::Tick);
            }
            In::Alarm => n.feed(0, Input::Alarm),
            In::Hangup => n.feed(0, Input::Hangup),
        }
        if fs_change {
            // A real mtime only grows (a wrap would hide a change from the polling look).
            n.mtime += 1;
            if n.watching {
                n.feed(0, Input::DirChanged);
            }
        }
        n.canonical(t)
    }
}

#[test]
fn explore_small_directories() {
    let props = [
        Property::always("no protocol violation (TERM once, to live pids; replies in order)", |s: &S| s.violation.is_none()),
        Property::always("one runsv per directory, every running one tracked", |s: &S| {
            let live: Vec<&(i32, u64, bool)> = s.procs.iter().filter(|p| !p.2).collect();
            let inos: BTreeSet<u64> = live.iter().map(|p| p.1).collect();
            inos.len() == live.len() && live.iter().all(|p| s.m.services().iter().any(|t| t.pid == Some(p.0)))
        }),
        Property::always("tracked pids are live", |s: &S| {
            s.m.services().iter().filter_map(|t| t.pid).all(|pid| s.procs.iter().any(|p| p.0 == pid))
        }),
        Property::always("dot names never started", |s: &S| s.m.services().iter().all(|t| !t.name.starts_with(b"."))),
        Property::sometimes("two services up", |s: &S| s.running_inos().len() == 2),
        Property::sometimes("a runsv died and was restarted", |s: &S| s.restarted && !s.running_inos().is_empty()),
        Property::sometimes("forced rescan stamped", |s: &S| s.stamped),
        Property::sometimes("a runsv told to stop", |s: &S| s.procs.iter().any(|p| p.2)),
        Property::sometimes("two names, one runsv", |s: &S| {
            let dirs: Vec<u64> = s.fs[..2].iter().filter_map(|n| if let Some(Node::Dir(i)) = n { Some(*i) } else { None }).collect();
            dirs.len() == 2 && dirs[0] == dirs[1] && s.running_inos().len() == 1
        }),
        Property::sometimes("settled or scanning", |s: &S| s.m.phase() == Phase::Idle),
        Property::sometimes("exited 111 after HUP", |s: &S| s.exited == Some(111)),
        Property::eventually(
            "converges to the directory",
            |s: &S| s.exited.is_none() && s.violation.is_none(),
            |s: &S| s.running_inos() == s.wanted_inos() && s.procs.iter().all(|p| !p.2),
            8,
        ),
    ];
    let depth: usize = std::env::var("RUNSVDIR_EXPLORE_DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(6);
    let r = explore(&World, depth, 400_000, &props);
    r.assert_ok("runsvdir");
    assert!(r.states > 1000, "explored too little: {}", r.states);
}
