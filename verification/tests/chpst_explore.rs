//! Exhaustive bounded exploration of chpst's argv space: every sequence of up to
//! `DEPTH` words from an alphabet of option words, under chpst and each personality,
//! is parsed; invariants are checked on every outcome.

use model::chpst::{parse, Parsed, Step};
use verification::explore::{explore, Explore, Property};

const WORDS: &[&str] = &["-u", ":1:2", "-U", "-e", "-n", "-5", "-l", "-P", "-m", "=", "-V", "-x", "--", "prog"];
const NAMES: &[&str] = &["chpst", "setlock", "softlimit"];
const DEPTH: usize = 4;

/// State: the argv so far (indices into the alphabets) and the facts of its parse,
/// computed once per state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct S {
    name: usize,
    words: Vec<usize>,
    facts: [bool; 7],
}

impl S {
    fn argv(&self) -> Vec<&'static str> {
        let mut v = vec![NAMES[self.name]];
        v.extend(self.words.iter().map(|&w| WORDS[w]));
        v
    }
    fn outcome(&self) -> Parsed {
        parse(&self.argv())
    }
}

struct Argv;

impl Explore for Argv {
    type State = S;
    type Input = usize;
    fn initial(&self) -> Vec<S> {
        (0..NAMES.len()).map(|name| with_facts(S { name, words: Vec::new(), facts: [false; 7] })).collect()
    }
    fn inputs(&self, _: &S) -> Vec<usize> {
        (0..WORDS.len()).collect()
    }
    fn step(&self, s: &S, i: &usize) -> S {
        let mut n = s.clone();
        n.words.push(*i);
        with_facts(n)
    }
}

fn with_facts(mut s: S) -> S {
    s.facts =
        [ordered(&s), exec_is_an_operand(&s), deterministic(&s), many_kinds(&s), lock_with_account(&s), version(&s), setlock_plan(&s)];
    s
}

fn ordered(s: &S) -> bool {
    match s.outcome() {
        Parsed::Run(p) => p.steps.windows(2).all(|w| w[0].rank() <= w[1].rank()),
        Parsed::Usage(u) => u.ends_with(b"\n\n") && u.windows(7).any(|w| w == b"usage: "),
    }
}

fn exec_is_an_operand(s: &S) -> bool {
    match s.outcome() {
        Parsed::Run(p) => {
            let argv = s.argv();
            // The program is one of the words given, and its arguments are the words after it.
            argv.iter().any(|w| w.as_bytes() == p.exec.file.as_slice()) && p.exec.argv.len() < argv.len()
        }
        Parsed::Usage(_) => true,
    }
}

fn deterministic(s: &S) -> bool {
    s.outcome() == s.outcome()
}

fn many_kinds(s: &S) -> bool {
    matches!(s.outcome(), Parsed::Run(p) if p.steps.len() >= 2 && p.steps.iter().any(|x| matches!(x, Step::SetAccount(_))))
}

fn lock_with_account(s: &S) -> bool {
    matches!(s.outcome(), Parsed::Run(p) if p.steps.iter().any(|x| matches!(x, Step::Lock { .. })) && p.steps.iter().any(|x| matches!(x, Step::Nice { .. } | Step::Setsid)))
}

fn version(s: &S) -> bool {
    matches!(s.outcome(), Parsed::Usage(u) if u.starts_with(b"$Id: "))
}

fn setlock_plan(s: &S) -> bool {
    s.name == 1 && matches!(s.outcome(), Parsed::Run(_))
}

#[test]
fn explore_chpst_argv() {
    let props = [
        Property::always("plans ordered, usages well formed", |s: &S| s.facts[0]),
        Property::always("exec is an operand", |s: &S| s.facts[1]),
        Property::always("parsing is a function", |s: &S| s.facts[2]),
        Property::sometimes("a plan with -u and more", |s: &S| s.facts[3]),
        Property::sometimes("a plan with a lock and nice/setsid", |s: &S| s.facts[4]),
        Property::sometimes("the version message", |s: &S| s.facts[5]),
        Property::sometimes("a setlock plan", |s: &S| s.facts[6]),
    ];
    let report = explore(&Argv, DEPTH, 2_000_000, &props);
    report.assert_ok("chpst argv");
    assert!(!report.truncated);
    assert_eq!(report.depth, DEPTH);
}
