//! The golden state table of the runsv machine: representative states × every input,
//! rendered with `model::table::render` and compared with `docs/state-tables/runsv.md`.
//! Any semantic change shows up as a diff of that file. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p runit-verification --test runsv_state_table`.
//!
//! Obligations are answered with the defaults (fork succeeds with the next pid, no
//! `control/<c>` script exists); each row's actions include the obligations and what their
//! replies caused, in order.

use model::runsv::{Action, Config, ControlOutcome, Input, Owed, Program, Runsv, Sig, Slot, SlotState};
use model::scripted::Scripted;
use model::status::{RunState, Want};
use model::table::{render, Row};
use model::time::{Mono, Now, Span, Wall};

const T0: Now = Now { mono: Mono(1_000_000_000_000), wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } };

/// The shared scripted harness (`model::scripted`): answers obligations with defaults and
/// records actions.
#[derive(Clone)]
struct Drive {
    s: Scripted<Runsv>,
    next_pid: u32,
}

impl std::ops::Deref for Drive {
    type Target = Scripted<Runsv>;
    fn deref(&self) -> &Scripted<Runsv> {
        &self.s
    }
}

impl std::ops::DerefMut for Drive {
    fn deref_mut(&mut self) -> &mut Scripted<Runsv> {
        &mut self.s
    }
}

impl Drive {
    fn new(down: bool, log: Option<bool>) -> Drive {
        let m = Runsv::new(T0, Config { dir: b"s".to_vec(), down, log, readiness: Default::default() });
        let mut d = Drive { s: Scripted::new(m, T0), next_pid: 100 };
        d.feed(Input::Start);
        d
    }

    /// Feeds `input`; forks succeed with the next pid, no `control/<c>` exists.
    fn feed(&mut self, input: Input) -> Vec<String> {
        let mut pid = self.next_pid;
        let out = self.s.run(input, |o| match *o {
            Owed::Spawn(slot) => {
                pid += 1;
                Some(Input::Spawned(slot, pid))
            }
            Owed::Control(_) => Some(Input::ControlDone(ControlOutcome::Absent)),
        });
        self.next_pid = pid;
        assert_eq!(self.m.owed(), None::<Owed>);
        out.iter().map(describe_action).collect()
    }

    fn tick(&mut self, ms: u64) -> Vec<String> {
        self.now = self.now.after(Span::from_millis(ms));
        self.feed(Input::Tick)
    }

    fn exit(&mut self, slot: Slot, status: i32, finish_present: bool) -> Vec<String> {
        let pid = self.m.slot(slot).map(|s| s.pid()).unwrap_or(0);
        self.feed(Input::ChildExited { pid, status, finish_present })
    }
}

fn sig_name(s: Sig) -> &'static str {
    match s {
        Sig::Term => "TERM",
        Sig::Cont => "CONT",
        Sig::Stop => "STOP",
        Sig::Hup => "HUP",
        Sig::Alrm => "ALRM",
        Sig::Int => "INT",
        Sig::Quit => "QUIT",
        Sig::Usr1 => "USR1",
        Sig::Usr2 => "USR2",
        Sig::Kill => "KILL",
        Sig::Abrt => "ABRT",
    }
}

fn who(slot: Slot) -> &'static str {
    match slot {
        Slot::Main => "",
        Slot::Log => "log ",
    }
}

fn describe_action(a: &Action) -> String {
    match a {
        Action::Spawn { slot, program, .. } => match program {
            Program::Run => "spawn ./run".into(),
            Program::Finish { a, b } => format!("spawn ./finish {a} {b}"),
            Program::LogRun => format!("spawn {}log/run", if *slot == Slot::Log { "" } else { "(main!) " }),
        },
        Action::RunControl(c) => format!("control/{}", *c as char),
        Action::Signal(slot, _, sig) => format!("{}{}", who(*slot), sig_name(*sig)),
        Action::SignalGroup(slot, _, sig) => format!("{}group {}", who(*slot), sig_name(*sig)),
        Action::WriteStatus { slot, stat, pid, .. } => {
            let stat = String::from_utf8_lossy(stat).trim_end().to_string();
            format!("{}stat `{stat}`{}", who(*slot), if pid.is_some() { " +pid" } else { "" })
        }
        Action::CloseLogPipe => "close log pipe".into(),
        Action::CloseNotificationFd => "close notification-fd".into(),
        Action::Warn(_) => "warning".into(),
        Action::Exit(c) => format!("exit {c}"),
        Action::Adopt { slot, .. } => format!("{}adopt", who(*slot)),
        Action::Release(slot) => format!("{}release", who(*slot)),
        Action::TakeLogPipe(slot) => format!("{}take log pipe", who(*slot)),
        Action::SignalPidfd(slot, _, sig) => format!("{}pidfd {}", who(*slot), sig_name(*sig)),
    }
}

fn describe_slot(s: &SlotState, now: Now) -> String {
    let mut d = String::from(s.state().word());
    d += match s.want {
        Want::Up => ", want up",
        Want::Down => ", want down",
        Want::Exit => ", want exit",
    };
    if s.pid() != 0 {
        d += ", pid";
    }
    if s.paused {
        d += ", paused";
    }
    if s.got_term() {
        d += ", got TERM";
    }
    if s.once_pending() {
        d += ", once";
    }
    if let Some(t) = s.not_before() {
        d += &format!(", start in {} ms", (t - now.mono).as_millis());
    }
    if s.state() == RunState::Finish {
        if let Some((a, b)) = s.finish_args() {
            d += &format!(", finish {a} {b}");
        }
    }
    d
}

fn describe(d: &Drive) -> String {
    if d.m.has_exited() {
        return "exited".into();
    }
    let mut out = format!("main: {}", describe_slot(d.m.slot(Slot::Main).expect("main"), d.now));
    if let Some(l) = d.m.slot(Slot::Log) {
        out += &format!("; log: {}", describe_slot(l, d.now));
    }
    if d.m.log_pipe_closed() {
        out += "; log pipe closed";
    }
    out
}

/// Representative states, each built from start-up by a short history.
fn states() -> Vec<Drive> {
    let mut v = Vec::new();
    // run, want up (the normal state).
    v.push(Drive::new(false, None));
    // down, want down (`down` file).
    v.push(Drive::new(true, None));
    // down, want up, throttled: ./run lived 10 ms.
    let mut d = Drive::new(false, None);
    d.tick(10);
    d.exit(Slot::Main, 0, false);
    v.push(d);
    // run, want down (after `o`).
    let mut d = Drive::new(false, None);
    d.feed(Input::Control(Slot::Main, b'o'));
    v.push(d);
    // run, paused.
    let mut d = Drive::new(false, None);
    d.feed(Input::Control(Slot::Main, b'p'));
    v.push(d);
    // run, got TERM (after `t`).
    let mut d = Drive::new(false, None);
    d.feed(Input::Control(Slot::Main, b't'));
    v.push(d);
    // finish running after a kill by TERM.
    let mut d = Drive::new(false, None);
    d.tick(2000);
    d.exit(Slot::Main, 15, true);
    v.push(d);
    // fork retry pending.
    let mut d = Drive::new(true, None);
    d.s.run(Input::Control(Slot::Main, b'u'), |o| match *o {
        Owed::Control(_) => Some(Input::ControlDone(ControlOutcome::Absent)),
        Owed::Spawn(slot) => Some(Input::SpawnFailed(slot, model::errno::Errno::EAGAIN)),
    });
    v.push(d);
    // with a log service: both running.
    v.push(Drive::new(false, Some(false)));
    // exiting with a log service: main down, log still running, pipe closed.
    let mut d = Drive::new(false, Some(false));
    d.feed(Input::Control(Slot::Main, b'x'));
    d.tick(2000);
    d.exit(Slot::Main, 15, false);
    v.push(d);
    v
}

/// An input's name and how to apply it (returns the actions described).
type NamedInput = (String, Box<dyn Fn(&mut Drive) -> Vec<String>>);

/// Every input worth a row.
fn inputs(d: &Drive) -> Vec<NamedInput> {
    let mut v: Vec<NamedInput> = Vec::new();
    for &b in b"uodxtkpchaiq12e" {
        v.push((format!("`{}`", b as char), Box::new(move |d: &mut Drive| d.feed(Input::Control(Slot::Main, b)))));
    }
    if d.m.slot(Slot::Log).is_some() {
        for &b in b"udoxtk" {
            v.push((format!("log `{}`", b as char), Box::new(move |d: &mut Drive| d.feed(Input::Control(Slot::Log, b)))));
        }
    }
    v.push(("SIGTERM".into(), Box::new(|d: &mut Drive| d.feed(Input::Terminate))));
    if d.m.slot(Slot::Main).is_some_and(|s| s.pid() != 0) {
        v.push(("main child exits 0, finish present".into(), Box::new(|d: &mut Drive| d.exit(Slot::Main, 0, true))));
        v.push(("main child killed by TERM, no finish".into(), Box::new(|d: &mut Drive| d.exit(Slot::Main, 15, false))));
    }
    if d.m.slot(Slot::Log).is_some_and(|s| s.pid() != 0) {
        v.push(("log child exits 0".into(), Box::new(|d: &mut Drive| d.exit(Slot::Log, 0, false))));
    }
    v.push((
        "stray child reaped".into(),
        Box::new(|d: &mut Drive| d.feed(Input::ChildExited { pid: 999_999, status: 0, finish_present: false })),
    ));
    v.push(("tick +1 s".into(), Box::new(|d: &mut Drive| d.tick(1000))));
    v.push(("tick +5 s".into(), Box::new(|d: &mut Drive| d.tick(5000))));
    v
}

fn table() -> String {
    let mut rows = Vec::new();
    for s in states() {
        let state = describe(&s);
        for (name, f) in inputs(&s) {
            let mut d = s.clone();
            let actions = f(&mut d);
            rows.push(Row {
                state: state.clone(),
                input: name,
                actions: if actions.is_empty() { "—".into() } else { actions.join(" → ") },
                next: describe(&d),
            });
        }
    }
    render(
        "runsv state table",
        "Generated by `verification/tests/runsv_state_table.rs` from the real machine \
         (`model/src/runsv/`); do not edit by hand. Regenerate with \
         `UPDATE_GOLDEN=1 cargo test -p runit-verification --test runsv_state_table`.\n\n\
         Obligations are answered with the defaults: every fork succeeds, no `control/<c>` \
         script exists. `+pid` marks a status write that also rewrites `supervise/pid`. \
         `start in N ms` is a pending throttle or fork-retry deadline; `once` is an `o` \
         still owed a start.",
        &rows,
    )
}

#[test]
fn runsv_state_table_matches_golden_file() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/state-tables/runsv.md");
    let rendered = table();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("docs dir")).expect("create docs/state-tables");
        std::fs::write(&path, &rendered).expect("write golden table");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/state-tables/runsv.md is out of date (regenerate with UPDATE_GOLDEN=1); first differing line: {:?}",
        committed.lines().zip(rendered.lines()).find(|(a, b)| a != b)
    );
}
