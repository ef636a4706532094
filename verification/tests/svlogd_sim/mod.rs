//! A simulated kernel for the svlogd machine: log directories as maps of files, a
//! stdin stream delivered only when the machine arms a read, processors that copy
//! their input (or fail), injected ENOSPC and wall-clock steps. It answers every
//! obligation like the real executor and records invariant violations as it goes.
#![allow(dead_code)]

use std::collections::BTreeMap;

use model::errno::Errno;
use model::svlogd::config::PatternKind;
use model::svlogd::logger::OpenStep;
use model::svlogd::options::{self, Parsed};
use model::svlogd::{Action, Input, LogName, Logger, Sig, UdpOutcome};
use model::{Machine, Mono, Now, Span, Wall};

/// One simulated log directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SimDir {
    pub files: BTreeMap<Vec<u8>, Vec<u8>>,
    pub current_x: bool,
    pub current_open: bool,
    /// Every name `current` was renamed to, in order.
    pub generated: Vec<LogName>,
}

impl SimDir {
    /// The rotated files (name order) followed by `current`, concatenated.
    pub fn all_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for (n, c) in &self.files {
            if n.len() == 27 && n[0] == b'@' && n[26] != b't' {
                v.extend_from_slice(c);
            }
        }
        v.extend_from_slice(self.files.get(&b"current"[..]).map(|c| &c[..]).unwrap_or(&[]));
        v
    }
    /// Contents of the rotated `.s`/`.u` files in name order.
    pub fn rotated(&self) -> Vec<Vec<u8>> {
        self.files.iter().filter(|(n, _)| n.len() == 27 && n[0] == b'@' && n[26] != b't').map(|(_, c)| c.clone()).collect()
    }
    pub fn old_count(&self) -> usize {
        self.rotated().len()
    }
}

/// Events the tests choose from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// Deliver up to this many bytes of the pending input, if a read is armed.
    Data(usize),
    Alrm,
    Hup,
    Term,
    /// Advance both clocks.
    Tick(u64),
    /// Step the wall clock back by this many seconds (monotonic time unaffected).
    ClockBack(i64),
    /// Finish the oldest running processor, successfully or not.
    ProcExit(bool),
    /// Turn ENOSPC for writes on or off.
    Enospc(bool),
    /// What a fair environment eventually does: the disk frees up, then a read is
    /// served, or a processor finishes, or time passes.
    Progress,
}

#[derive(Clone, Debug)]
pub struct Sim {
    pub m: Logger,
    pub dirs: Vec<SimDir>,
    pub now: Now,
    pub armed: Option<usize>,
    pub exited: Option<i32>,
    pub enospc: bool,
    /// Opening (creating) `current` fails with EMFILE while set.
    pub open_fails: bool,
    pub procs: Vec<(i32, usize, LogName)>,
    pub next_pid: i32,
    pub violations: Vec<String>,
    pub stderr: Vec<u8>,
    pub pending: Vec<u8>,
    pub consumed: usize,
    pub eof_sent: bool,
    /// Input byte counts at which an ALRM was delivered.
    pub alrm_at: Vec<usize>,
}

impl Sim {
    /// A simulator for `argv` (without argv0 and dirs) and one config per directory.
    pub fn new(args: &[&str], configs: &[&str]) -> Sim {
        let mut argv: Vec<String> = vec!["svlogd".into()];
        argv.extend(args.iter().map(|s| s.to_string()));
        for i in 0..configs.len() {
            argv.push(format!("d{i}"));
        }
        let Parsed::Run(settings) = options::parse(&argv) else { panic!("bad argv {argv:?}") };
        let mut dirs = Vec::new();
        for c in configs {
            let mut d = SimDir::default();
            if !c.is_empty() {
                d.files.insert(b"config".to_vec(), c.as_bytes().to_vec());
            }
            dirs.push(d);
        }
        let mut sim = Sim {
            m: Logger::new(settings),
            dirs,
            now: Now { mono: Mono(1_000_000_000), wall: Wall { unix_secs: 1_800_000_000, nanos: 0 } },
            armed: None,
            exited: None,
            enospc: false,
            open_fails: false,
            procs: Vec::new(),
            next_pid: 100,
            violations: Vec::new(),
            stderr: Vec::new(),
            pending: Vec::new(),
            consumed: 0,
            eof_sent: false,
            alrm_at: Vec::new(),
        };
        sim.feed(Input::Start);
        sim
    }

    fn violation(&mut self, v: String) {
        self.violations.push(v);
    }

    fn exec(&mut self, a: Action) -> Option<Input> {
        match a {
            Action::OpenDir { dir } => {
                let max = self.dirs[dir]
                    .files
                    .keys()
                    .filter(|n| n.len() == 27 && n[0] == b'@')
                    .filter_map(|n| {
                        let mut a = [0u8; 27];
                        a.copy_from_slice(n);
                        model::svlogd::logger::name_time(&a)
                    })
                    .max();
                let _ = OpenStep::Open;
                Some(Input::DirOpened(Ok(max)))
            }
            Action::ReadConfig { dir } => Some(Input::ConfigRead(Ok(self.dirs[dir].files.get(&b"config"[..]).cloned()))),
            Action::StatCurrent { dir } => {
                let d = &self.dirs[dir];
                Some(Input::CurrentStat(Ok(d.files.get(&b"current"[..]).map(|c| (c.len() as u64, d.current_x)))))
            }
            Action::ScanDir { dir } => {
                let names = self.dirs[dir].files.keys().filter(|n| n.len() == 27 && n[0] == b'@').map(|n| {
                    let mut a = [0u8; 27];
                    a.copy_from_slice(n);
                    a
                });
                Some(Input::Scanned(Ok(names.collect())))
            }
            Action::RenameCurrent { dir, to } => {
                if let Some(last) = self.dirs[dir].generated.last() {
                    if to[..25] <= last[..25] {
                        self.violation(format!(
                            "rotated name not increasing: {:?} after {:?}",
                            String::from_utf8_lossy(&to),
                            String::from_utf8_lossy(last)
                        ));
                    }
                }
                if self.dirs[dir].files.contains_key(&to[..]) {
                    self.violation("rotated name already exists".into());
                }
                let d = &mut self.dirs[dir];
                d.generated.push(to);
                match d.files.remove(&b"current"[..]) {
                    Some(c) => {
                        d.files.insert(to.to_vec(), c);
                        Some(Input::Done(Ok(())))
                    }
                    None => Some(Input::Done(Err(Errno::ENOENT))),
                }
            }
            Action::OpenCurrent { dir } => {
                if self.open_fails {
                    return Some(Input::Done(Err(Errno::EMFILE)));
                }
                let d = &mut self.dirs[dir];
                if !d.files.contains_key(&b"current"[..]) {
                    d.files.insert(b"current".to_vec(), Vec::new());
                    d.current_x = false;
                }
                d.current_open = true;
                Some(Input::Done(Ok(())))
            }
            Action::ChmodCurrent { dir, mode } => {
                self.dirs[dir].current_x = mode & 0o100 != 0;
                Some(Input::Done(Ok(())))
            }
            Action::FsyncCurrent { .. } => Some(Input::Done(Ok(()))),
            Action::CloseCurrent { dir } | Action::CloseDir { dir } => {
                self.dirs[dir].current_open = false;
                None
            }
            Action::Write { dir, bytes } => {
                if !self.dirs[dir].current_open {
                    self.violation("write while current is closed".into());
                }
                if self.enospc {
                    return Some(Input::Wrote { result: Err(Errno::ENOSPC), written: 0, buf: bytes });
                }
                self.dirs[dir].files.entry(b"current".to_vec()).or_default().extend_from_slice(&bytes);
                let n = bytes.len();
                Some(Input::Wrote { result: Ok(()), written: n, buf: bytes })
            }
            Action::Unlink { dir, name } => {
                if self.procs.iter().any(|(_, d, n)| *d == dir && n[..26] == name[..26] && name[26] == b'u') {
                    self.violation(format!("unlinked the pending {}", String::from_utf8_lossy(&name)));
                }
                let r = self.dirs[dir].files.remove(&name[..]).map(|_| ()).ok_or(Errno::ENOENT);
                Some(Input::Done(r))
            }
            Action::RenameFile { dir, from, to } => {
                let d = &mut self.dirs[dir];
                let r = match d.files.remove(&from[..]) {
                    Some(c) => {
                        d.files.insert(to.to_vec(), c);
                        Ok(())
                    }
                    None => Err(Errno::ENOENT),
                };
                Some(Input::Done(r))
            }
            Action::ChmodFile { .. } => Some(Input::Done(Ok(()))),
            Action::RenameState { dir } => {
                let d = &mut self.dirs[dir];
                let r = match d.files.remove(&b"newstate"[..]) {
                    Some(c) => {
                        d.files.insert(b"state".to_vec(), c);
                        Ok(())
                    }
                    None => Err(Errno::ENOENT),
                };
                Some(Input::Done(r))
            }
            Action::StartProcessor { dir, input, .. } => {
                let pid = self.next_pid;
                self.next_pid += 1;
                let d = &mut self.dirs[dir];
                let content = d.files.get(&input[..]).cloned().unwrap_or_default();
                let mut t = input;
                t[26] = b't';
                d.files.insert(t.to_vec(), content);
                let st = d.files.get(&b"state"[..]).cloned().unwrap_or_default();
                let mut ns = st;
                ns.push(b'x');
                d.files.insert(b"newstate".to_vec(), ns);
                self.procs.push((pid, dir, input));
                Some(Input::Spawned(Ok(pid)))
            }
            Action::SendUdp { .. } => Some(Input::UdpSent(UdpOutcome::Sent)),
            Action::Stderr(b) => {
                self.stderr.extend_from_slice(&b);
                None
            }
            Action::ArmRead { max } => {
                self.armed = Some(max);
                None
            }
            Action::DisarmRead => {
                self.armed = None;
                None
            }
            Action::Recycle(_) => None,
            Action::Exit(code) => {
                self.exited = Some(code);
                None
            }
        }
    }

    /// Feeds one input and carries out every action (answering obligations at once).
    pub fn feed(&mut self, input: Input) {
        if self.exited.is_some() {
            return;
        }
        self.m.handle(self.now, input);
        let mut guard = 0;
        while let Some(a) = self.m.poll_action() {
            guard += 1;
            if guard > 1_000_000 {
                self.violation("action storm".into());
                return;
            }
            if let Some(reply) = self.exec(a) {
                self.m.handle(self.now, reply);
            }
        }
        // A deadline that is already due after everything was handled would make the
        // real loop spin.
        if let Some(d) = self.m.poll_deadline() {
            if d <= self.now.mono && self.exited.is_none() {
                self.violation(format!("deadline {d:?} not after now {:?} in phase {}", self.now.mono, self.m.phase()));
            }
        }
    }

    /// Applies one test event.
    pub fn event(&mut self, e: &Event) {
        match *e {
            Event::Data(n) => {
                let Some(max) = self.armed else { return };
                if self.pending.is_empty() {
                    return;
                }
                let k = n.max(1).min(max).min(self.pending.len());
                let chunk: Vec<u8> = self.pending.drain(..k).collect();
                self.consumed += k;
                self.armed = None;
                self.feed(Input::Data(chunk));
            }
            Event::Alrm => {
                self.alrm_at.push(self.consumed);
                self.feed(Input::Signal(Sig::Alrm));
            }
            Event::Hup => self.feed(Input::Signal(Sig::Hup)),
            Event::Term => self.feed(Input::Signal(Sig::Term)),
            Event::Tick(secs) => {
                self.now = self.now.after(Span::from_secs(secs));
                self.feed(Input::Tick);
            }
            Event::ClockBack(secs) => self.now.wall.unix_secs -= secs,
            Event::ProcExit(ok) => {
                if self.procs.is_empty() {
                    return;
                }
                let (pid, _, _) = self.procs.remove(0);
                self.feed(Input::Signal(Sig::Chld));
                self.feed(Input::ChildExited { pid, status: if ok { 0 } else { 1 << 8 } });
            }
            Event::Enospc(on) => self.enospc = on,
            Event::Progress => {
                self.enospc = false;
                if self.armed.is_some() && !self.pending.is_empty() {
                    self.event(&Event::Data(4));
                } else if !self.procs.is_empty() {
                    self.event(&Event::ProcExit(true));
                } else {
                    self.event(&Event::Tick(3));
                }
            }
        }
    }

    /// Clears faults, delivers the rest of the input, then end of input, and runs
    /// (processors succeed, time passes) until the machine exits.
    pub fn finish(&mut self) {
        self.enospc = false;
        for _ in 0..100_000 {
            if self.exited.is_some() {
                return;
            }
            if self.armed.is_some() && !self.pending.is_empty() {
                self.event(&Event::Data(usize::MAX));
            } else if self.armed.is_some() && !self.eof_sent {
                self.eof_sent = true;
                self.armed = None;
                self.feed(Input::Eof);
            } else if !self.procs.is_empty() {
                self.event(&Event::ProcExit(true));
            } else {
                self.event(&Event::Tick(3));
            }
        }
        self.violation("did not exit".into());
    }

    /// Whether a pattern kind is used (keeps an import honest).
    pub fn _kind(_k: PatternKind) {}
}

/// The naive reference: runit's byte placement for one directory without patterns,
/// processors or deletion. Input bytes are handled one at a time; a line's first
/// `line_max` bytes reach the file when collected (or when the line ends), the rest as
/// it arrives; a file is cut when it holds `size_max` bytes before a byte is added, and
/// after a line end once it holds `size_max - line_max`. `alrm_at` lists input offsets
/// where a rotation of a non-empty file happened.
pub fn reference(input: &[u8], line_max: usize, size_max: u64, alrm_at: &[usize]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut files = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut collect: Vec<u8> = Vec::new();
    let mut in_rest = false;
    let mut alrm = alrm_at.iter().peekable();
    let emit = |cur: &mut Vec<u8>, files: &mut Vec<Vec<u8>>, b: u8, unit_end: bool| {
        if size_max > 0 && cur.len() as u64 >= size_max {
            files.push(std::mem::take(cur));
        }
        cur.push(b);
        if unit_end && size_max > 0 {
            if let Some(t) = size_max.checked_sub(line_max as u64) {
                if cur.len() as u64 >= t {
                    files.push(std::mem::take(cur));
                }
            }
        }
    };
    for (i, &b) in input.iter().enumerate() {
        while alrm.peek().is_some_and(|&&a| a <= i) {
            alrm.next();
            if !cur.is_empty() {
                files.push(std::mem::take(&mut cur));
            }
        }
        if in_rest {
            if b == b'\n' {
                in_rest = false;
                emit(&mut cur, &mut files, b'\n', true);
            } else {
                emit(&mut cur, &mut files, b, false);
            }
            continue;
        }
        if b == b'\n' {
            for c in std::mem::take(&mut collect) {
                emit(&mut cur, &mut files, c, false);
            }
            emit(&mut cur, &mut files, b'\n', true);
            continue;
        }
        collect.push(b);
        if collect.len() == line_max {
            for c in std::mem::take(&mut collect) {
                emit(&mut cur, &mut files, c, false);
            }
            in_rest = true;
        }
    }
    for _ in alrm {
        if !cur.is_empty() {
            files.push(std::mem::take(&mut cur));
        }
    }
    if in_rest {
        emit(&mut cur, &mut files, b'\n', true);
    }
    (files, cur)
}
