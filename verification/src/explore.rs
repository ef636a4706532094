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
//!   exiting, obligations answered the normal way; no new commands), i.e. the machine
//!   cannot get stuck without help from outside; optionally also within a total
//!   [`Explore::cost`] (virtual time), for "within 1 s" deadlines.

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
    /// What taking `i` costs for `eventually ... within` properties (e.g. virtual ms).
    fn cost(&self, _i: &Self::Input) -> u64 {
        0
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
    /// Whenever `trigger` holds, `goal` is reachable within `bound` fair steps whose
    /// total cost is at most `within`.
    Eventually {
        /// When the obligation starts.
        trigger: fn(&S) -> bool,
        /// What must become true.
        goal: fn(&S) -> bool,
        /// Within this many fair steps.
        bound: usize,
        /// And within this total cost ([`Explore::cost`]); `u64::MAX` = any.
        within: u64,
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
        Property { name, kind: Kind::Eventually { trigger, goal, bound, within: u64::MAX } }
    }
    /// A bounded liveness check with a deadline: the goal within `bound` fair steps that
    /// cost at most `within` in total.
    pub fn eventually_within(name: &'static str, trigger: fn(&S) -> bool, goal: fn(&S) -> bool, bound: usize, within: u64) -> Self {
        Property { name, kind: Kind::Eventually { trigger, goal, bound, within } }
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
    /// New states found at each depth (index 0: the initial states).
    pub per_depth: Vec<usize>,
    /// The first failed property and the input trace that reaches the failing state.
    pub violation: Option<(String, Vec<I>)>,
}

impl<I: Debug> Report<I> {
    /// Panics with the property and trace if anything failed; prints the figures.
    pub fn assert_ok(&self, machine: &str) {
        println!(
            "explore {machine}: depth {} states {} transitions {}{} (new states per depth: {:?})",
            self.depth,
            self.states,
            self.transitions,
            if self.truncated { " (truncated)" } else { "" },
            self.per_depth
        );
        if let Some((name, trace)) = &self.violation {
            panic!("{machine}: property `{name}` violated after inputs {trace:#?}");
        }
    }
}

/// A visited state, its depth, and its parent's arena index with the input taken (none
/// for an initial state).
type Visited<S, I> = (S, usize, Option<(usize, I)>);

/// Explores every state reachable from the initial ones within `depth` inputs (or until
/// `max_states` distinct states), checking `props`.
pub fn explore<E: Explore>(e: &E, depth: usize, max_states: usize, props: &[Property<E::State>]) -> Report<E::Input> {
    // Each state is stored twice (index key and arena); parents are arena indices.
    let mut index: HashMap<E::State, usize> = HashMap::new();
    let mut arena: Vec<Visited<E::State, E::Input>> = Vec::new();
    for s in e.initial() {
        if !index.contains_key(&s) {
            index.insert(s.clone(), arena.len());
            arena.push((s, 0, None));
        }
    }
    let trace_to = |arena: &[Visited<E::State, E::Input>], mut at: usize| {
        let mut trace = Vec::new();
        while let Some((p, i)) = &arena[at].2 {
            trace.push(i.clone());
            at = *p;
        }
        trace.reverse();
        trace
    };
    let mut transitions = 0;
    let mut truncated = false;
    let mut seen_sometimes = vec![false; props.len()];
    let mut per_depth: Vec<usize> = Vec::new();
    let mut next = 0;
    while next < arena.len() {
        let at = next;
        next += 1;
        let d = arena[at].1;
        if per_depth.len() <= d {
            per_depth.resize(d + 1, 0);
        }
        per_depth[d] += 1;
        for (k, p) in props.iter().enumerate() {
            match &p.kind {
                Kind::Always(f) => {
                    if !f(&arena[at].0) {
                        return Report {
                            depth: d,
                            states: arena.len(),
                            transitions,
                            truncated,
                            per_depth,
                            violation: Some((p.name.to_string(), trace_to(&arena, at))),
                        };
                    }
                }
                Kind::Sometimes(f) => seen_sometimes[k] |= f(&arena[at].0),
                Kind::Eventually { .. } => {}
            }
        }
        if d == depth {
            continue;
        }
        let s = arena[at].0.clone();
        for i in e.inputs(&s) {
            transitions += 1;
            let n = e.step(&s, &i);
            if !index.contains_key(&n) {
                if arena.len() >= max_states {
                    truncated = true;
                    continue;
                }
                index.insert(n.clone(), arena.len());
                arena.push((n, d + 1, Some((at, i))));
            }
        }
    }
    let reached_depth = per_depth.len().saturating_sub(1);
    for (k, p) in props.iter().enumerate() {
        match &p.kind {
            Kind::Sometimes(_) if !seen_sometimes[k] => {
                return Report {
                    depth: reached_depth,
                    states: arena.len(),
                    transitions,
                    truncated,
                    per_depth,
                    violation: Some((format!("{} (never reached)", p.name), Vec::new())),
                };
            }
            Kind::Eventually { trigger, goal, bound, within } => {
                for at in (0..arena.len()).filter(|&at| trigger(&arena[at].0)) {
                    if !reaches(e, &arena[at].0, *goal, *bound, *within) {
                        return Report {
                            depth: reached_depth,
                            states: arena.len(),
                            transitions,
                            truncated,
                            per_depth,
                            violation: Some((format!("{} (stuck)", p.name), trace_to(&arena, at))),
                        };
                    }
                }
            }
            _ => {}
        }
    }
    Report { depth: reached_depth, states: arena.len(), transitions, truncated, per_depth, violation: None }
}

/// Whether some path of fair inputs from `s` reaches `goal` within `bound` steps and a
/// total cost of `within`.
fn reaches<E: Explore>(e: &E, s: &E::State, goal: fn(&E::State) -> bool, bound: usize, within: u64) -> bool {
    // The cheapest cost at which each state was reached (a cheaper path is worth a revisit).
    let mut best: HashMap<E::State, u64> = HashMap::new();
    let mut q = VecDeque::from([(s.clone(), 0usize, 0u64)]);
    while let Some((c, d, cost)) = q.pop_front() {
        if goal(&c) {
            return true;
        }
        if d == bound {
            continue;
        }
        for i in e.fair_inputs(&c) {
            let total = cost.saturating_add(e.cost(&i));
            if total > within {
                continue;
            }
            let n = e.step(&c, &i);
            if best.get(&n).is_none_or(|&b| total < b) {
                best.insert(n.clone(), total);
                q.push_back((n, d + 1, total));
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

    /// A clock that ticks by 1 or 3; "reaches 3" costs 3 at best, so `within` 2 fails.
    struct Clock;
    impl Explore for Clock {
        type State = u8;
        type Input = u8;
        fn initial(&self) -> Vec<u8> {
            vec![0]
        }
        fn inputs(&self, s: &u8) -> Vec<u8> {
            if *s < 6 {
                vec![1, 3]
            } else {
                vec![]
            }
        }
        fn step(&self, s: &u8, i: &u8) -> u8 {
            s + i
        }
        fn cost(&self, i: &u8) -> u64 {
            u64::from(*i)
        }
    }

    #[test]
    fn eventually_within_counts_cost() {
        let ok = explore(&Clock, 3, 100, &[Property::eventually_within("three", |s| *s == 0, |s| *s == 3, 3, 3)]);
        assert!(ok.violation.is_none(), "{:?}", ok.violation);
        let late = explore(&Clock, 3, 100, &[Property::eventually_within("three", |s| *s == 0, |s| *s == 3, 3, 2)]);
        assert!(late.violation.is_some());
    }

    #[test]
    fn vacuous_sometimes_fails() {
        let r = explore(&Counter, 10, 1000, &[Property::sometimes("reaches nine", |s| *s == 9)]);
        assert!(r.violation.is_some());
    }
}
