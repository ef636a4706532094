//! The golden state table of the stage machine: representative states × every input
//! kind, rendered with [`model::table::render`] into `docs/state-tables/stage.md`.

use model::errno::Errno;
use model::machine::Machine;
use model::stage::*;
use model::table::Row;
use model::time::{Mono, Now, Wall};

const T0: Mono = Mono(1_000_000_000_000);

fn now_at(m: Mono) -> Now {
    Now { mono: m, wall: Wall { unix_secs: 1_700_000_000, nanos: 0 } }
}

/// Rewrites every `Mono(<ns>)` as a time relative to the table's "now" (`now`,
/// `now+5s`), and `Span(<ns>)` in seconds, so the table reads without big numbers.
fn relative_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let mono = rest.find("Mono(");
        let span = rest.find("Span(");
        let (at, is_mono) = match (mono, span) {
            (Some(m), Some(s)) => {
                if m < s {
                    (m, true)
                } else {
                    (s, false)
                }
            }
            (Some(m), None) => (m, true),
            (None, Some(s)) => (s, false),
            (None, None) => break,
        };
        out.push_str(&rest[..at]);
        let after = &rest[at + 5..];
        let digits = after.find(')').unwrap_or(0);
        let n: u64 = after[..digits].parse().unwrap_or(0);
        if is_mono {
            let d = n.saturating_sub(T0.0);
            if d == 0 {
                out.push_str("now");
            } else {
                out.push_str(&format!("now+{}s", d / 1_000_000_000));
            }
        } else {
            out.push_str(&format!("{}s", n / 1_000_000_000));
        }
        rest = &after[(digits + 1).min(after.len())..];
    }
    out.push_str(rest);
    out
}

fn describe_state(s: &State) -> String {
    relative_times(&format!("{s:?}"))
}

fn describe_actions(acts: &[Action]) -> String {
    if acts.is_empty() {
        return String::from("—");
    }
    let parts: Vec<String> = acts.iter().map(|a| relative_times(&format!("{a:?}"))).collect();
    parts.join("; ")
}

/// Representative states, one per shape that behaves differently.
pub fn sample_states() -> Vec<(Config, State)> {
    let normal = Config { container: false };
    let s2 = Stage2 { pid: 20, exited: None };
    vec![
        (normal, State::Start),
        (normal, State::Spawning { job: Job::Stage(StageId::One), stage2: None }),
        (normal, State::Spawning { job: Job::CtrlAltDel, stage2: Some(s2) }),
        (normal, State::Spawning { job: Job::Final(final_plan(Flags::default())), stage2: None }),
        (normal, State::ForkPause { job: Job::Stage(StageId::One), stage2: None, until: T0 }),
        (normal, State::ForkPause { job: Job::Stage(StageId::Two), stage2: None, until: T0 }),
        (normal, State::Running { stage: StageId::One, pid: 10 }),
        (normal, State::Running { stage: StageId::Two, pid: 20 }),
        (Config { container: true }, State::Running { stage: StageId::One, pid: 10 }),
        (Config { container: true }, State::Running { stage: StageId::Two, pid: 20 }),
        (normal, State::Running { stage: StageId::Three, pid: 30 }),
        (Config { container: true }, State::Running { stage: StageId::Three, pid: 30 }),
        (normal, State::CtrlAltDel { stage2: s2, pid: 40 }),
        (normal, State::Stopping { pid: 20, kill_at: T0 }),
        (normal, State::Killing { pid: 20 }),
        (normal, State::RestartPause { until: T0 }),
        (normal, State::Final { pid: Some(50) }),
        (normal, State::Halted),
    ]
}

/// Every input kind, with the pids of the sample states (10 stage 1, 20 stage 2,
/// 30 stage 3, 40 ctrlaltdel, 50 final child, 99 an orphan).
pub fn sample_inputs() -> Vec<Input> {
    let f = Flags::default();
    let stopit = Flags { stopit: true, ..f };
    let cad = Flags { ctrlaltdel: true, ..f };
    let reboot = Flags { reboot: true, ..f };
    let mut v = vec![Input::Boot, Input::Spawned { pid: 60 }, Input::SpawnFailed { errno: Errno::EAGAIN }, Input::Tick];
    for pid in [10, 20, 30, 40, 50, 99] {
        v.push(Input::Exited { pid, status: status_exit(0), flags: f });
    }
    v.push(Input::Exited { pid: 10, status: status_exit(100), flags: f });
    v.push(Input::Exited { pid: 10, status: status_exit(1), flags: f });
    v.push(Input::Exited { pid: 20, status: status_exit(111), flags: f });
    v.push(Input::Exited { pid: 20, status: status_exit(1), flags: f });
    v.push(Input::Exited { pid: 20, status: status_signal(9), flags: f });
    v.push(Input::Exited { pid: 30, status: status_exit(3), flags: reboot });
    v.push(Input::Exited { pid: 40, status: status_exit(0), flags: stopit });
    for sig in [Sig::Cont, Sig::Int, Sig::Pwr, Sig::Alrm, Sig::Term] {
        v.push(Input::Signal { sig, flags: f });
    }
    v.push(Input::Signal { sig: Sig::Cont, flags: stopit });
    v.push(Input::Signal { sig: Sig::Int, flags: cad });
    v
}

/// The rows: every sample state × every sample input whose outcome is not "nothing".
pub fn rows() -> Vec<Row> {
    let mut out = Vec::new();
    for (config, state) in sample_states() {
        for input in sample_inputs() {
            let mut m = Stages::with_state(config, state.clone(), 0);
            let before = m.clone();
            m.handle(now_at(T0), input.clone());
            let acts = model::scripted::drain(&mut m);
            if acts.is_empty() && m == before {
                continue;
            }
            let mut next = describe_state(m.state());
            if m.term_pending() {
                next.push_str(" [stop request pending: stage 2 will be skipped]");
            }
            let st = if config.container { format!("{} [container]", describe_state(&state)) } else { describe_state(&state) };
            out.push(Row { state: st, input: format!("{input:?}"), actions: describe_actions(&acts), next });
        }
    }
    out
}

/// The rendered Markdown document.
pub fn render() -> String {
    model::table::render(
        "runit stage machine (PID 1)",
        "Generated by `verification/tests/stage_table.rs` from `model::stage::table::rows()`; \
regenerate with `UPDATE_GOLDEN=1 cargo test -p runit-verification --test stage_table`. \
Times are relative to the input's \"now\". Sample pids: 10 stage 1, 20 stage 2, 30 stage 3, 40 ctrlaltdel, 50 final child, 99 an orphan; \
statuses are raw wait statuses (256·code, or the signal number). Pairs that change nothing \
(no action, same state) are omitted: every omitted pair is \"ignored\".",
        &rows(),
    )
}
