//! One bounded, exhaustive, breadth-first explorer for every machine.
//!
//! A model under exploration says what its initial states are, which inputs are possible
//! in a state, and how a state steps on an input. States must already be *canonical*
//! (pids renamed by first appearance, times rebased) so equal situations merge. The
//! explorer visits every state reachable within `depth` inputs and checks:
//! - `always` properties in every state (a violation comes with the input trace);
//! - `sometimes` properties, each of which must hold in at least one state, so a pass is
//!   never vacuous (an explorer that reached nothing interesting fails);
//! - `eventually` properties: from every reachable state where the trigger holds, the goal
//!   is reached within `bound` steps using only the *fair* inputs (time passing, children
//!   exiting), i.e. the machine cannot get stuck without help from outside.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;

/// A machine wrapped for exploration.
pub trait Explore {
    /// A canonical state.
    type State: Clone + Eq + Hash + Debug;
    /// One input.
    type Input: Clone + Debug;
    /// Where exploration starts.
    fn initial(&self) -> Vec<Self::State>;
    /// Inputs possible in `s` (the alphabet, filtered by what makes sense there).
    fn inputs(&self, s: &Self::State) -> Vec<Self::Input>;
    /// The canonical successor of `s` on `i`.
    fn step(&self, s: &Self::State, i: &Self::Input) -> Self::State;
    /// Inputs the environment eventually delivers by itself (ticks, exits), for liveness.
    fn fair_inputs(&self, s: &Self::State) -> Vec<Self::Input> {
        self.inputs(s)
    }
}

/// A named predicate on states.
pub struct Property<S> {
    /// Shown in reports and failures.
    pub name: &'static str,
    /// What is checked.
    pub kind: Kind<S>,
}

/// The three kinds of property.
pub enum Kind<S> {
    /// Must hold in every reachable state.
    Always(fn(&S) -> bool),
    /// Must hold in at least one reachable state.
    Sometimes(fn(&S) -> bool),
    /// Whenever `trigger` holds, `goal` is reachable within `bound` fair steps.
    Eventually {
        /// When the obligation starts.
        trigger: fn(&S) -> bool,
        /// What must become true.
        goal: fn(&S) -> bool,
        /// Within this many fair steps.
        bound: usize,
    },
}

impl<S> Property<S> {
    /// An invariant.
    pub fn always(name: &'static str, f: fn(&S) -> bool) -> Self {
        Property { name, kind: Kind::Always(f) }
    }
    /// A reachability check.
    pub fn sometimes(name: &'static str, f: fn(&S) -> bool) -> Self {
        Property { name, kind: Kind::Sometimes(f) }
    }
    /// A bounded liveness check.
    pub fn eventually(name: &'static str, trigger: fn(&S) -> bool, goal: fn(&S) -> bool, bound: usize) -> Self {
        Property { name, kind: Kind::Eventually { trigger, goal, bound } }
    }
}

/// What an exploration found.
#[derive(Debug)]
pub struct Report<I> {
    /// Deepest level fully explored.
    pub depth: usize,
    /// Distinct canonical states visited.
    pub states: usize,
    /// Transitions taken (including those into known states).
    pub transitions: usize,
    /// Whether `max_states` cut the search short.
    pub truncated: bool,
    /// The first failed property and the input trace that reaches the failing state.
    pub violation: Option<(String, Vec<I>)>,
}

impl<I: Debug> Report<I> {
    /// Panics with the property and trace if anything failed; prints the figures.
    pub fn assert_ok(&self, machine: &str) {
        println!(
            "explore {machine}: depth {} states {} transitions {}{}",
            self.depth,
            self.states,
            self.transitions,
            if self.truncated { " (truncated)" } else { "" }
        );
        if let Some((name, trace)) = &self.violation {
            panic!("{machine}: property `{name}` violated after inputs {trace:#?}");
        }
    }
}

/// Each reached state's predecessor and the input that led from it (`None` for initial states).
type Parents<E> = HashMap<<E as Explore>::State, Option<(<E as Explore>::State, <E as Explore>::Input)>>;

/// Explores every state reachable from the initial ones within `depth` inputs (or until
/// `max_states` distinct states), checking `props`.
pub fn explore<E: Explore>(e: &E, depth: usize, max_states: usize, props: &[Property<E::State>]) -> Report<E::Input> {
    let mut parent: Parents<E> = HashMap::new();
    let mut frontier: VecDeque<(E::State, usize)> = VecDeque::new();
    for s in e.initial() {
        if !parent.contains_key(&s) {
            parent.insert(s.clone(), None);
            frontier.push_back((s, 0));
        }
    }
    let mut transitions = 0;
    let mut reached_depth = 0;
    let mut truncated = false;
    let mut seen_sometimes = vec![false; props.len()];
    let trace_to = |parent: &Parents<E>, s: &E::State| {
        let mut trace = Vec::new();
        let mut cur = s.clone();
        while let Some(Some((p, i))) = parent.get(&cur) {
            trace.push(i.clone());
            cur = p.clone();
        }
        trace.reverse();
        trace
    };
    let mut all_states = Vec::new();
    while let Some((s, d)) = frontier.pop_front() {
        reached_depth = reached_depth.max(d);
        for (k, p) in props.iter().enumerate() {
            match &p.kind {
                Kind::Always(f) => {
                    if !f(&s) {
                        return Report {
                            depth: d,
                            states: parent.len(),
                            transitions,
                            truncated,
                            violation: Some((p.name.to_string(), trace_to(&parent, &s))),
                        };
                    }
                }
                Kind::Sometimes(f) => seen_sometimes[k] |= f(&s),
                Kind::Eventually { .. } => {}
            }
        }
        all_states.push(s.clone());
        if d == depth {
            continue;
        }
        for i in e.inputs(&s) {
            transitions += 1;
            let n = e.step(&s, &i);
            if !parent.contains_key(&n) {
                if parent.len() >= max_states {
                    truncated = true;
                    continue;
                }
                parent.insert(n.clone(), Some((s.clone(), i)));
                frontier.push_back((n, d + 1));
            }
        }
    }
    for (k, p) in props.iter().enumerate() {
        match &p.kind {
            Kind::Sometimes(_) if !seen_sometimes[k] => {
                return Report {
                    depth: reached_depth,
                    states: parent.len(),
                    transitions,
                    truncated,
                    violation: Some((format!("{} (never reached)", p.name), Vec::new())),
                };
            }
            Kind::Eventually { trigger, goal, bound } => {
                for s in all_states.iter().filter(|s| trigger(s)) {
                    if !reaches(e, s, *goal, *bound) {
                        let mut trace = trace_to(&parent, s);
                        trace.shrink_to_fit();
                        return Report {
                            depth: reached_depth,
                            states: parent.len(),
                            transitions,
                            truncated,
                            violation: Some((format!("{} (stuck)", p.name), trace)),
                        };
                    }
                }
            }
            _ => {}
        }
    }
    Report { depth: reached_depth, states: parent.len(), transitions, truncated, violation: None }
}

/// Whether some path of fair inputs from `s` reaches `goal` within `bound` steps.
fn reaches<E: Explore>(e: &E, s: &E::State, goal: fn(&E::State) -> bool, bound: usize) -> bool {
    let mut seen: HashMap<E::State, ()> = HashMap::new();
    let mut q = VecDeque::from([(s.clone(), 0usize)]);
    while let Some((c, d)) = q.pop_front() {
        if goal(&c) {
            return true;
        }
        if d == bound {
            continue;
        }
        for i in e.fair_inputs(&c) {
            let n = e.step(&c, &i);
            if seen.insert(n.clone(), ()).is_none() {
                q.push_back((n, d + 1));
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter mod 5 that can be bumped or reset; used to check the explorer itself.
    struct Counter;
    impl Explore for Counter {
        type State = u8;
        type Input = bool;
        fn initial(&self) -> Vec<u8> {
            vec![0]
        }
        fn inputs(&self, _: &u8) -> Vec<bool> {
            vec![true, false]
        }
        fn step(&self, s: &u8, i: &bool) -> u8 {
            if *i {
                (s + 1) % 5
            } else {
                0
            }
        }
    }

    #[test]
    fn finds_all_states_and_checks_properties() {
        let r = explore(
            &Counter,
            10,
            1000,
            &[
                Property::always("below five", |s| *s < 5),
                Property::sometimes("reaches four", |s| *s == 4),
                Property::eventually("returns to zero", |s| *s == 3, |s| *s == 0, 2),
            ],
        );
        assert!(r.violation.is_none());
        assert_eq!(r.states, 5);
    }

    #[test]
    fn reports_violation_with_trace() {
        let r = explore(&Counter, 10, 1000, &[Property::always("below three", |s| *s < 3)]);
        let (name, trace) = r.violation.expect("violation");
        assert_eq!(name, "below three");
        assert_eq!(trace, vec![true, true, true]);
    }

    #[test]
    fn vacuous_sometimes_fails() {
        let r = explore(&Counter, 10, 1000, &[Property::sometimes("reaches nine", |s| *s == 9)]);
        assert!(r.violation.is_some());
    }
}
