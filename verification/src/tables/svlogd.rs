//! The golden state table of the logger machine, and the small scripted executor that
//! produces it (also used by the unit tests): each row is one input fed in one phase,
//! the actions that came out, and the phase after. The scenarios cover every phase and
//! every input kind; `verification/tests/svlogd_table.rs` compares the rendering with
//! `docs/state-tables/svlogd.md`.

use std::collections::VecDeque;

use model::errno::Errno;
use model::machine::Machine;
use model::svlogd::logger::{Action, Input, Logger, OpenStep, Sig, UdpOutcome};
use model::svlogd::options::{self, Parsed};
use model::table::Row;
use model::time::{Mono, Now, Span, Wall};

/// Scripted answers for the executor: what fails, and how.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Writes that fail with this errno before writes succeed again.
    pub write_errors: VecDeque<Errno>,
    /// `OpenDir` fails with this step and errno.
    pub open_dir: Option<(OpenStep, Errno)>,
    /// `config` contents per directory.
    pub config: Option<Vec<u8>>,
    /// `current` as (size, owner-x) at open.
    pub current: Option<(u64, bool)>,
    /// UDP outcome.
    pub udp: Option<UdpOutcome>,
}

/// A scripted executor: answers obligations (successfully unless [`Faults`] say
/// otherwise), records actions, and records one [`Row`] per input.
#[derive(Clone, Debug)]
pub struct Harness {
    /// The machine.
    pub m: Logger,
    /// The clock.
    pub now: Now,
    /// Scripted faults.
    pub faults: Faults,
    /// Every action, as a label, in order.
    pub actions: Vec<String>,
    /// Bytes written per directory.
    pub written: Vec<Vec<u8>>,
    /// Stderr text.
    pub stderr: Vec<u8>,
    /// Rows recorded so far.
    pub rows: Vec<Row>,
    next_pid: i32,
}

fn input_label(i: &Input) -> String {
    match i {
        Input::Start => "Start".into(),
        Input::Data(b) => if b.ends_with(b"\n") { "Data (whole lines)" } else { "Data (ends mid-line)" }.into(),
        Input::Eof => "Eof".into(),
        Input::ReadError(_) => "ReadError".into(),
        Input::Signal(s) => format!("Signal({s:?})"),
        Input::ChildExited { status, .. } => if *status == 0 { "ChildExited(exit 0)" } else { "ChildExited(failed)" }.into(),
        Input::Tick => "Tick".into(),
        Input::DirOpened(r) => if r.is_ok() { "DirOpened(ok)" } else { "DirOpened(error)" }.into(),
        Input::ConfigRead(r) => match r {
            Ok(Some(_)) => "ConfigRead(found)",
            Ok(None) => "ConfigRead(missing)",
            Err(_) => "ConfigRead(error)",
        }
        .into(),
        Input::CurrentStat(r) => match r {
            Ok(Some((n, x))) if *n > 0 && !x => "CurrentStat(unclean)",
            Ok(Some(_)) => "CurrentStat(clean)",
            Ok(None) => "CurrentStat(missing)",
            Err(_) => "CurrentStat(error)",
        }
        .into(),
        Input::Scanned(_) => "Scanned".into(),
        Input::Done(r) => if r.is_ok() { "Done(ok)" } else { "Done(error)" }.into(),
        Input::Wrote { result, .. } => if result.is_ok() { "Wrote(ok)" } else { "Wrote(error)" }.into(),
        Input::Spawned(r) => if r.is_ok() { "Spawned(pid)" } else { "Spawned(error)" }.into(),
        Input::UdpSent(o) => format!("UdpSent({o:?})"),
    }
}

fn action_label(a: &Action) -> String {
    let s = match a {
        Action::OpenDir { .. } => "OpenDir",
        Action::ReadConfig { .. } => "ReadConfig",
        Action::StatCurrent { .. } => "StatCurrent",
        Action::ScanDir { .. } => "ScanDir",
        Action::RenameCurrent { .. } => "RenameCurrent",
        Action::OpenCurrent { .. } => "OpenCurrent",
        Action::ChmodCurrent { mode, .. } => return format!("ChmodCurrent({mode:o})"),
        Action::FsyncCurrent { .. } => "FsyncCurrent",
        Action::CloseCurrent { .. } => "CloseCurrent",
        Action::CloseDir { .. } => "CloseDir",
        Action::Write { .. } => "Write",
        Action::Unlink { .. } => "Unlink",
        Action::RenameFile { .. } => "RenameFile",
        Action::ChmodFile { .. } => "ChmodFile",
        Action::RenameState { .. } => "RenameState",
        Action::StartProcessor { .. } => "StartProcessor",
        Action::SendUdp { .. } => "SendUdp",
        Action::Stderr(_) => "Stderr",
        Action::ArmRead { max } => return if *max == 1 { "ArmRead(1 byte)".into() } else { "ArmRead".into() },
        Action::DisarmRead => "DisarmRead",
        Action::Recycle(_) => "Recycle",
        Action::Exit(c) => return format!("Exit({c})"),
    };
    s.to_string()
}

impl Harness {
    /// A harness for argv (argv0 included).
    pub fn new(argv: &[&str], faults: Faults) -> Harness {
        let Parsed::Run(s) = options::parse(argv) else { panic!("bad argv") };
        let n = s.dirs.len();
        Harness {
            m: Logger::new(s),
            now: Now { mono: Mono(1_000_000_000), wall: Wall { unix_secs: 1_800_000_000, nanos: 0 } },
            faults,
            actions: Vec::new(),
            written: vec![Vec::new(); n],
            stderr: Vec::new(),
            rows: Vec::new(),
            next_pid: 100,
        }
    }

    fn answer(&mut self, a: &Action) -> Option<Input> {
        Some(match a {
            Action::OpenDir { .. } => Input::DirOpened(match self.faults.open_dir {
                Some(e) => Err(e),
                None => Ok(None),
            }),
            Action::ReadConfig { .. } => Input::ConfigRead(Ok(self.faults.config.clone())),
            Action::StatCurrent { .. } => Input::CurrentStat(Ok(self.faults.current.take())),
            Action::ScanDir { .. } => Input::Scanned(Ok(Vec::new())),
            Action::Write { dir, bytes } => {
                if let Some(e) = self.faults.write_errors.pop_front() {
                    return Some(Input::Wrote { result: Err(e), written: 0, buf: bytes.clone() });
                }
                self.written[*dir].extend_from_slice(bytes);
                Input::Wrote { result: Ok(()), written: bytes.len(), buf: bytes.clone() }
            }
            Action::StartProcessor { .. } => {
                self.next_pid += 1;
                Input::Spawned(Ok(self.next_pid))
            }
            Action::SendUdp { .. } => Input::UdpSent(self.faults.udp.unwrap_or(UdpOutcome::Sent)),
            Action::RenameCurrent { .. }
            | Action::OpenCurrent { .. }
            | Action::ChmodCurrent { .. }
            | Action::FsyncCurrent { .. }
            | Action::Unlink { .. }
            | Action::RenameFile { .. }
            | Action::ChmodFile { .. }
            | Action::RenameState { .. } => Input::Done(Ok(())),
            Action::Stderr(b) => {
                self.stderr.extend_from_slice(b);
                return None;
            }
            Action::CloseCurrent { .. }
            | Action::CloseDir { .. }
            | Action::ArmRead { .. }
            | Action::DisarmRead
            | Action::Recycle(_)
            | Action::Exit(_) => return None,
        })
    }

    /// Feeds one input, then every reply, recording a row for each.
    pub fn feed(&mut self, input: Input) {
        let mut next = Some(input);
        let mut replies = model::StepCap::new("feeding replies", 10_000);
        while let Some(input) = next.take() {
            replies.step();
            let state = self.m.phase().to_string();
            let label = input_label(&input);
            self.m.handle(self.now, input);
            let mut acts = Vec::new();
            let mut cap = model::StepCap::new("draining actions", 10_000);
            while let Some(a) = self.m.poll_action() {
                cap.step();
                acts.push(action_label(&a));
                self.actions.push(action_label(&a));
                if let Some(reply) = self.answer(&a) {
                    next = Some(reply);
                    break;
                }
            }
            let mut dedup: Vec<String> = Vec::new();
            for a in acts {
                if dedup.last() != Some(&a) {
                    dedup.push(a);
                }
            }
            let actions = if dedup.is_empty() { "-".into() } else { dedup.join(", ") };
            self.rows.push(Row { state, input: label, actions, next: self.m.phase().to_string() });
        }
    }

    /// Advances the clock and feeds a tick.
    pub fn tick(&mut self, secs: u64) {
        self.now = self.now.after(Span::from_secs(secs));
        self.feed(Input::Tick);
    }
}

/// Every row of the scenarios, sorted and without duplicates.
pub fn rows() -> Vec<Row> {
    let mut all = Vec::new();
    let base = ["svlogd", "d"];
    // Plain life: start, lines, ALRM rotation, HUP, TERM mid-line, exit.
    let mut h = Harness::new(&base, Faults::default());
    h.feed(Input::Start);
    h.feed(Input::Data(b"a\n".to_vec()));
    h.feed(Input::Signal(Sig::Alrm));
    h.feed(Input::Signal(Sig::Hup));
    h.feed(Input::Data(b"half".to_vec()));
    h.feed(Input::Signal(Sig::Term));
    h.feed(Input::Data(b"\n".to_vec()));
    all.extend(h.rows);
    // Config, unclean current, size rotation with a processor that fails once.
    let faults = Faults { config: Some(b"s4\n!cat\n".to_vec()), current: Some((3, false)), ..Faults::default() };
    let mut h = Harness::new(&base, faults);
    h.feed(Input::Start);
    h.feed(Input::Data(b"abcdef\n".to_vec()));
    h.feed(Input::Data(b"gh\n".to_vec()));
    h.feed(Input::Signal(Sig::Chld));
    h.feed(Input::ChildExited { pid: 101, status: 1 << 8 });
    h.tick(3);
    h.feed(Input::ChildExited { pid: 102, status: 0 });
    h.feed(Input::Eof);
    h.feed(Input::ChildExited { pid: 103, status: 0 });
    all.extend(h.rows);
    // A write that fails: pause, retry after 3 s; ENOSPC with N < n scans first.
    let faults =
        Faults { config: Some(b"n5\nN1\n".to_vec()), write_errors: [Errno::ENOSPC, Errno::EIO].into_iter().collect(), ..Faults::default() };
    let mut h = Harness::new(&base, faults);
    h.feed(Input::Start);
    h.feed(Input::Data(b"x\n".to_vec()));
    h.tick(3);
    h.feed(Input::ReadError(Errno::EIO));
    all.extend(h.rows);
    // No usable directory.
    let mut h = Harness::new(&base, Faults { open_dir: Some((OpenStep::Lock, Errno::EAGAIN)), ..Faults::default() });
    h.feed(Input::Start);
    all.extend(h.rows);
    // UDP: a datagram per selected line; a failed send is noted in current.
    let faults = Faults { config: Some(b"u127.0.0.1:9\n".to_vec()), udp: Some(UdpOutcome::Failed), ..Faults::default() };
    let mut h = Harness::new(&base, faults);
    h.feed(Input::Start);
    h.feed(Input::Data(b"u\n".to_vec()));
    all.extend(h.rows);
    // Time rotation and a clean current.
    let faults = Faults { config: Some(b"t2\n".to_vec()), current: Some((5, true)), ..Faults::default() };
    let mut h = Harness::new(&base, faults);
    h.feed(Input::Start);
    h.tick(3);
    all.extend(h.rows);
    all.sort_by(|a, b| (&a.state, &a.input, &a.actions).cmp(&(&b.state, &b.input, &b.actions)));
    all.dedup();
    all
}

/// The rendered Markdown table.
pub fn render() -> String {
    model::table::render(
        "svlogd logger machine",
        "Generated by `model::svlogd::table::rows` (scripted scenarios: plain life, config + \
unclean current + size rotation with a processor that fails once, failing writes, no usable \
directory, UDP, time rotation). Each row is one input in one phase, the actions it caused \
(repeats collapsed; an obligation's reply is the next row), and the phase after. \
Regenerate with `UPDATE_GOLDEN=1 cargo test -p runit-verification --test svlogd_table`.",
        &rows(),
    )
}
