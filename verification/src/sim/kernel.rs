//! The fake kernel: one services directory, runsv processes, a clock, and the driver
//! loop that feeds the runsvdir machine (the same shape as `runtime::driver::run`:
//! drain actions after every input, answer each obligation at once, in order).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use model::errno::Errno;
use model::runsvdir::machine::{Action, DirStamp, Entry, EntryKind, Input, Owed, Runsvdir, ScanReply, WatchState};
use model::runsvdir::MAX_SERVICES;
use model::{Machine, Mono, Now, Wall};

use super::rng::Rng;

/// The kinds of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// `fork` fails with EAGAIN.
    ForkFails,
    /// A runsv dies without being told to.
    RunsvCrash,
    /// `stat(<dir>)` fails.
    StatDirFails,
    /// `readdir` fails part way.
    ReadDirFails,
    /// inotify is lost (the machine must fall back to polling).
    WatchLost,
    /// The wall clock steps forwards or backwards.
    ClockStep,
}

/// How a run is set up.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Environment events before the quiet period.
    pub steps: usize,
    /// Size of the pool of entry names (a few start with `.`).
    pub names: usize,
    /// Whether change notices start out available.
    pub watching: bool,
    /// Whether faults are injected.
    pub faults: bool,
    /// Service directories present at start.
    pub initial: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { steps: 300, names: 8, watching: true, faults: true, initial: 3 }
    }
}

/// What a run did; equal for equal seeds (the replay check compares these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Inputs fed to the machine.
    pub inputs: usize,
    /// runsv processes started.
    pub starts: usize,
    /// TERMs sent.
    pub terms: usize,
    /// Forced rescans completed.
    pub forced: usize,
    /// Faults injected, by kind.
    pub faults: BTreeMap<Fault, usize>,
    /// Most services tracked at once.
    pub max_tracked: usize,
    /// Digest of every (input, action) in order.
    pub digest: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Dir(u64),
    File,
    Dangling,
}

#[derive(Clone, Debug)]
struct Proc {
    ino: u64,
    termed: u32,
    exit_at: Option<Mono>,
    dead: bool,
}

/// The simulated world around one runsvdir machine.
pub struct Kernel {
    cfg: SimConfig,
    rng: Rng,
    now: Now,
    dir: BTreeMap<Vec<u8>, Node>,
    outside: Vec<u64>,
    next_ino: u64,
    dir_ino: u64,
    mtime: i64,
    procs: BTreeMap<i32, Proc>,
    next_pid: i32,
    notices: bool,
    quiet: bool,
    exited: Option<i32>,
    m: Runsvdir,
    out: Outcome,
    hasher: std::collections::hash_map::DefaultHasher,
}

fn name_of(i: usize) -> Vec<u8> {
    if i % 5 == 4 {
        format!(".n{i}").into_bytes()
    } else {
        format!("s{i}").into_bytes()
    }
}

impl Kernel {
    /// A world for `seed`.
    pub fn new(seed: u64, cfg: SimConfig) -> Kernel {
        let mut k = Kernel {
            rng: Rng::new(seed),
            now: Now { mono: Mono(1_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } },
            dir: BTreeMap::new(),
            outside: Vec::new(),
            next_ino: 100,
            dir_ino: 2,
            mtime: 1_600_000_000,
            procs: BTreeMap::new(),
            next_pid: 1000,
            notices: cfg.watching,
            quiet: false,
            exited: None,
            m: Runsvdir::new(None),
            out: Outcome { inputs: 0, starts: 0, terms: 0, forced: 0, faults: BTreeMap::new(), max_tracked: 0, digest: 0 },
            hasher: std::collections::hash_map::DefaultHasher::new(),
            cfg,
        };
        for i in 0..k.cfg.initial {
            let ino = k.fresh_ino();
            k.dir.insert(format!("init{i:04}").into_bytes(), Node::Dir(ino));
        }
        for _ in 0..3 {
            let ino = k.fresh_ino();
            k.outside.push(ino);
        }
        k
    }

    fn fresh_ino(&mut self) -> u64 {
        self.next_ino += 1;
        self.next_ino
    }

    fn fault(&mut self, f: Fault, per_mille: u64) -> bool {
        if !self.cfg.faults || self.quiet || !self.rng.chance(per_mille) {
            return false;
        }
        *self.out.faults.entry(f).or_default() += 1;
        true
    }

    fn advance(&mut self, to: Mono) {
        if to > self.now.mono {
            let d = to.0 - self.now.mono.0;
            let ns = self.now.wall.nanos as u64 + d % 1_000_000_000;
            self.now.wall.unix_secs += (d / 1_000_000_000 + ns / 1_000_000_000) as i64;
            self.now.wall.nanos = (ns % 1_000_000_000) as u32;
            self.now.mono = to;
        }
    }

    /// Feeds one input and drains every action, answering obligations in order.
    fn feed(&mut self, input: Input) -> Result<(), String> {
        if self.exited.is_some() {
            return Ok(());
        }
        self.out.inputs += 1;
        format!("{input:?}").hash(&mut self.hasher);
        let mut next = Some(input);
        let mut cap = model::StepCap::new("runsvdir sim: actions of one input", 100_000);
        loop {
            cap.step();
            if let Some(i) = next.take() {
                self.m.handle(self.now, i);
            }
            let Some(a) = self.m.poll_action() else { break };
            format!("{a:?}").hash(&mut self.hasher);
            next = self.execute(a)?;
        }
        self.check()
    }

    fn expect_owed(&self, o: Owed) -> Result<(), String> {
        if self.m.owed() != Some(o) {
            return Err(format!("obligation order: expected {o:?} owed, machine says {:?}", self.m.owed()));
        }
        Ok(())
    }

    fn listing(&mut self) -> Vec<Entry> {
        let mut v: Vec<Entry> = self
            .dir
            .iter()
            .map(|(name, node)| Entry {
                name: name.clone(),
                kind: match node {
                    Node::Dir(ino) => EntryKind::Dir { dev: 1, ino: *ino },
                    Node::File => EntryKind::NotDir,
                    Node::Dangling => EntryKind::StatFailed(Errno::ENOENT),
                },
            })
            .collect();
        // readdir order is not name order: rotate deterministically.
        if !v.is_empty() {
            let k = self.rng.below(v.len() as u64) as usize;
            v.rotate_left(k);
        }
        v
    }

    fn execute(&mut self, a: Action) -> Result<Option<Input>, String> {
        Ok(match a {
            Action::SetupLog => {
                self.expect_owed(Owed::LogReady)?;
                Some(Input::LogReady(Ok(())))
            }
            Action::Watch => {
                self.expect_owed(Owed::Watch)?;
                Some(Input::Watch(if self.notices { WatchState::Active } else { WatchState::Unavailable }))
            }
            Action::StatDir => {
                self.expect_owed(Owed::DirStat)?;
                if self.fault(Fault::StatDirFails, 30) {
                    Some(Input::DirStat(Err(Errno::EIO)))
                } else {
                    Some(Input::DirStat(Ok(DirStamp { mtime_secs: self.mtime, ino: self.dir_ino, dev: 1 })))
                }
            }
            Action::Scan => {
                self.expect_owed(Owed::Scanned)?;
                let mut entries = self.listing();
                let read_error = if self.fault(Fault::ReadDirFails, 30) {
                    let keep = self.rng.below(entries.len() as u64 + 1) as usize;
                    entries.truncate(keep);
                    Some(Errno::EIO)
                } else {
                    None
                };
                Some(Input::Scanned(ScanReply::Listed { entries, read_error }))
            }
            Action::StartRunsv { dev, ino, .. } => {
                self.expect_owed(Owed::Spawned)?;
                if self.fault(Fault::ForkFails, 40) {
                    Some(Input::Spawned { dev, ino, result: Err(Errno::EAGAIN) })
                } else {
                    self.next_pid += 1;
                    let pid = self.next_pid;
                    self.procs.insert(pid, Proc { ino, termed: 0, exit_at: None, dead: false });
                    self.out.starts += 1;
                    Some(Input::Spawned { dev, ino, result: Ok(pid) })
                }
            }
            Action::Term { pid } => {
                let delay = Mono(self.now.mono.0 + self.rng.below(300) * 1_000_000);
                let p = self.procs.get_mut(&pid).ok_or_else(|| format!("TERM to pid {pid} never started"))?;
                if p.dead {
                    return Err(format!("TERM to reaped pid {pid}"));
                }
                p.termed += 1;
                if p.termed > 1 {
                    return Err(format!("second TERM to pid {pid}"));
                }
                p.exit_at = Some(delay);
                self.out.terms += 1;
                None
            }
            Action::WriteStamp(_) => {
                self.expect_owed(Owed::StampWritten)?;
                self.out.forced += 1;
                Some(Input::StampWritten(Ok(())))
            }
            Action::WriteLog(_) | Action::ShowTitle(_) | Action::Warn(_) => None,
            Action::Exit(code) => {
                self.exited = Some(code);
                None
            }
        })
    }

    /// The invariants, after every input.
    fn check(&mut self) -> Result<(), String> {
        let tracked = self.m.services();
        self.out.max_tracked = self.out.max_tracked.max(tracked.len());
        if tracked.len() > MAX_SERVICES {
            return Err(format!("cap: {} services tracked", tracked.len()));
        }
        let mut inos = BTreeSet::new();
        for s in tracked {
            if !inos.insert(s.ino) {
                return Err(format!("directory {} tracked twice", s.ino));
            }
            if let Some(pid) = s.pid {
                match self.procs.get(&pid) {
                    Some(p) if !p.dead && p.ino == s.ino => {}
                    other => return Err(format!("tracked pid {pid} is not a live runsv of {}: {other:?}", s.ino)),
                }
            }
        }
        // One runsv per directory: every live runsv that was not told to stop is tracked.
        let mut live_inos = BTreeSet::new();
        for (pid, p) in &self.procs {
            if p.dead || p.termed > 0 {
                continue;
            }
            if !tracked.iter().any(|s| s.pid == Some(*pid)) {
                return Err(format!("runsv {pid} runs untracked and was never TERMed"));
            }
            if !live_inos.insert(p.ino) {
                return Err(format!("two runsv for directory {}", p.ino));
            }
        }
        if let Some(o) = self.m.owed() {
            return Err(format!("obligation {o:?} left unanswered"));
        }
        Ok(())
    }

    fn fs_op(&mut self) {
        let pool = self.cfg.names;
        let name = name_of(self.rng.below(pool as u64) as usize);
        match self.rng.below(8) {
            0 | 1 => {
                let ino = self.fresh_ino();
                self.dir.entry(name).or_insert(Node::Dir(ino));
            }
            2 | 3 => {
                self.dir.remove(&name);
            }
            4 => {
                let to = name_of(self.rng.below(pool as u64) as usize);
                if !self.dir.contains_key(&to) {
                    if let Some(n) = self.dir.remove(&name) {
                        self.dir.insert(to, n);
                    }
                }
            }
            5 => {
                // A symlink to a directory outside, or a second name for one inside.
                let targets: Vec<u64> = self
                    .outside
                    .iter()
                    .copied()
                    .chain(self.dir.values().filter_map(|n| if let Node::Dir(i) = n { Some(*i) } else { None }))
                    .collect();
                let t = targets[self.rng.below(targets.len() as u64) as usize];
                self.dir.entry(name).or_insert(Node::Dir(t));
            }
            6 => {
                let node = if self.rng.chance(500) { Node::File } else { Node::Dangling };
                self.dir.entry(name).or_insert(node);
            }
            _ => {
                // Replace a directory by a new one with the same name.
                let ino = self.fresh_ino();
                if let Some(n) = self.dir.get_mut(&name) {
                    *n = Node::Dir(ino);
                }
            }
        }
        self.mtime = self.now.wall.unix_secs;
    }

    fn next_exit(&self) -> Option<(Mono, i32)> {
        self.procs.iter().filter(|(_, p)| !p.dead).filter_map(|(pid, p)| p.exit_at.map(|t| (t, *pid))).min()
    }

    fn reap(&mut self, pid: i32) -> Result<(), String> {
        if let Some(p) = self.procs.get_mut(&pid) {
            p.dead = true;
        }
        self.feed(Input::RunsvExited { pid })
    }

    /// One environment step: the earliest of the machine's deadline, a runsv exit and a
    /// random event.
    fn step(&mut self) -> Result<(), String> {
        let dt = Mono(self.now.mono.0 + self.rng.below(2_000) * 1_000_000);
        let deadline = self.m.poll_deadline();
        let exit = self.next_exit();
        let mut soonest = dt;
        if let Some(d) = deadline {
            soonest = soonest.min(d);
        }
        if let Some((t, _)) = exit {
            soonest = soonest.min(t);
        }
        self.advance(soonest);
        if let Some((t, pid)) = exit {
            if t <= self.now.mono {
                return self.reap(pid);
            }
        }
        if deadline.is_some_and(|d| d <= self.now.mono) {
            return self.feed(Input::Tick);
        }
        if self.quiet {
            return Ok(());
        }
        match self.rng.below(20) {
            0..=9 => {
                self.fs_op();
                if self.notices {
                    self.feed(Input::DirChanged)?;
                }
            }
            10 | 11 => {
                let live: Vec<i32> = self.procs.iter().filter(|(_, p)| !p.dead && p.exit_at.is_none()).map(|(pid, _)| *pid).collect();
                if !live.is_empty() && self.fault(Fault::RunsvCrash, 500) {
                    let pid = live[self.rng.below(live.len() as u64) as usize];
                    self.reap(pid)?;
                }
            }
            12 => self.feed(Input::Alarm)?,
            13 if self.notices && self.fault(Fault::WatchLost, 200) => {
                self.notices = false;
                self.feed(Input::Watch(WatchState::Unavailable))?;
            }
            14 if self.fault(Fault::ClockStep, 300) => {
                let step = self.rng.below(200) as i64 - 100;
                self.now.wall.unix_secs += step;
            }
            _ => {}
        }
        Ok(())
    }

    /// Runs the whole scenario; `Err` names the broken invariant.
    pub fn run(mut self) -> Result<Outcome, String> {
        self.feed(Input::Start)?;
        for i in 0..self.cfg.steps {
            self.step().map_err(|e| format!("step {i}: {e}"))?;
        }
        // Quiet period: no more changes or faults; 30 s of ticks and exits.
        self.quiet = true;
        let end = Mono(self.now.mono.0 + 30_000_000_000);
        let mut cap = model::StepCap::new("runsvdir sim: quiet period", 1_000_000);
        while self.now.mono < end {
            cap.step();
            self.step().map_err(|e| format!("quiet: {e}"))?;
        }
        self.converged()?;
        let tracked: Vec<i32> = self.m.services().iter().filter_map(|s| s.pid).collect();
        self.feed(Input::Hangup)?;
        if self.exited != Some(111) {
            return Err(format!("HUP: exit {:?}", self.exited));
        }
        for pid in tracked {
            if self.procs.get(&pid).map_or(0, |p| p.termed) != 1 {
                return Err(format!("HUP did not TERM runsv {pid}"));
            }
        }
        self.out.digest = self.hasher.finish();
        Ok(self.out)
    }

    /// After the quiet period: exactly the directory's services run, one runsv each.
    fn converged(&self) -> Result<(), String> {
        let mut want: Vec<u64> = Vec::new();
        for (name, node) in &self.dir {
            if let (Node::Dir(ino), false) = (node, name.starts_with(b".")) {
                if !want.contains(ino) {
                    want.push(*ino);
                }
            }
        }
        let running: BTreeSet<u64> = self.procs.values().filter(|p| !p.dead && p.termed == 0).map(|p| p.ino).collect();
        let want: BTreeSet<u64> = want.into_iter().collect();
        if want.len() <= MAX_SERVICES {
            if running != want {
                return Err(format!("did not converge: running {running:?}, directory {want:?}"));
            }
        } else if running.len() != MAX_SERVICES || !running.is_subset(&want) {
            return Err(format!("past the cap: {} running", running.len()));
        }
        Ok(())
    }
}
