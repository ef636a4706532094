//! Replaying a `RUNIT_TRACE` file through a fresh machine: the one loop the trace tests of
//! runsv, runsvdir and runit share (each brings the parsing of its own inputs).
//!
//! A trace holds `in <mono> <secs>.<nanos> <input>` lines (what the binary fed its machine,
//! when) and `out <action>` lines (what it carried out), both in `Debug` form.

use model::{Machine, Mono, Now, Wall};

/// The actions the binary recorded and those the model gave for the same inputs.
pub struct Replay {
    /// `out` lines of the trace, in order.
    pub recorded: Vec<String>,
    /// The model's actions, `Debug`-formatted, in order.
    pub replayed: Vec<String>,
    /// How many inputs were fed.
    pub inputs: usize,
}

/// The time and the input text of an `in` line (without its `in ` prefix).
pub fn in_line(rest: &str) -> (Now, &str) {
    let mut parts = rest.splitn(3, ' ');
    let mono = Mono(parts.next().and_then(|m| m.parse().ok()).expect("mono time"));
    let (secs, nanos) = parts.next().and_then(|w| w.split_once('.')).expect("wall time secs.nanos");
    let wall = Wall { unix_secs: secs.parse().expect("wall secs"), nanos: nanos.parse().expect("wall nanos") };
    (Now { mono, wall }, parts.next().unwrap_or(""))
}

/// Feeds every `in` line of `trace` to `m` (parsed by `input`) and collects its actions.
/// `ends_batch` says when an action is an obligation the driver answers before taking the
/// next one (then the rest of the queue waits for the reply's input, as in the binary).
pub fn replay<M: Machine>(
    m: &mut M,
    trace: &str,
    mut input: impl FnMut(&str) -> M::Input,
    mut ends_batch: impl FnMut(&M, &M::Action) -> bool,
) -> Replay
where
    M::Action: core::fmt::Debug,
{
    let mut r = Replay { recorded: Vec::new(), replayed: Vec::new(), inputs: 0 };
    for line in trace.lines() {
        if let Some(rest) = line.strip_prefix("in ") {
            let (now, text) = in_line(rest);
            m.handle(now, input(text));
            r.inputs += 1;
            let mut cap = model::StepCap::new("replay: actions of one input", 10_000);
            while let Some(a) = m.poll_action() {
                cap.step();
                r.replayed.push(format!("{a:?}"));
                if ends_batch(m, &a) {
                    break;
                }
            }
        } else if let Some(rest) = line.strip_prefix("out ") {
            r.recorded.push(rest.to_string());
        }
    }
    r
}
