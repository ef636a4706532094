//! Property tests of chpst's argv parser and planner against a naive reference model,
//! plus totality ("never panics on arbitrary bytes") of every chpst parser.

use model::chpst::account::{self, AccountSpec, Ids};
use model::chpst::env::{self, EnvEdit};
use model::chpst::{envdir, parse, path, Limit, LimitValue, OnFailure, Parsed, Plan, Step, SubdirPolicy};
use proptest::prelude::*;

/// One chpst option as a user would write it.
#[derive(Clone, Debug)]
enum Opt {
    User(String),
    EnvUser(String),
    Argv0(String),
    EnvDir(String),
    Root(String),
    Nice(i32),
    Lock(String, bool),
    Verbose,
    Setsid,
    Close(u8),
    Limit(char, u64),
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9/._]{0,6}"
}

fn opt() -> impl Strategy<Value = Opt> {
    prop_oneof![
        word().prop_map(Opt::User),
        word().prop_map(Opt::EnvUser),
        word().prop_map(Opt::Argv0),
        word().prop_map(Opt::EnvDir),
        word().prop_map(Opt::Root),
        (-40i32..40).prop_map(Opt::Nice),
        (word(), any::<bool>()).prop_map(|(f, w)| Opt::Lock(f, w)),
        Just(Opt::Verbose),
        Just(Opt::Setsid),
        (0u8..3).prop_map(Opt::Close),
        (prop::sample::select(vec!['m', 'd', 'o', 'p', 'f', 'c', 'r', 't']), 0u64..1 << 40).prop_map(|(c, v)| Opt::Limit(c, v)),
    ]
}

/// Renders options as argv words (values as separate words or glued, both allowed).
fn render(opts: &[Opt], glue: bool, prog: &[&str]) -> Vec<String> {
    let mut argv = vec!["chpst".to_string()];
    let mut push = |flag: &str, v: Option<String>| match v {
        Some(v) if glue => argv.push(format!("{flag}{v}")),
        Some(v) => {
            argv.push(flag.to_string());
            argv.push(v);
        }
        None => argv.push(flag.to_string()),
    };
    for o in opts {
        match o {
            Opt::User(u) => push("-u", Some(u.clone())),
            Opt::EnvUser(u) => push("-U", Some(u.clone())),
            Opt::Argv0(a) => push("-b", Some(a.clone())),
            Opt::EnvDir(d) => push("-e", Some(d.clone())),
            Opt::Root(r) => push("-/", Some(r.clone())),
            Opt::Nice(n) => push("-n", Some(n.to_string())),
            Opt::Lock(f, w) => push(if *w { "-l" } else { "-L" }, Some(f.clone())),
            Opt::Verbose => push("-v", None),
            Opt::Setsid => push("-P", None),
            Opt::Close(fd) => push(&format!("-{fd}"), None),
            Opt::Limit(c, v) => push(&format!("-{c}"), Some(v.to_string())),
        }
    }
    argv.extend(prog.iter().map(|s| s.to_string()));
    argv
}

/// The naive reference: last value wins, then the steps in runit's documented order.
fn reference(opts: &[Opt], prog: &[&str]) -> Plan {
    let last = |f: &dyn Fn(&Opt) -> Option<String>| opts.iter().filter_map(f).last();
    let user = last(&|o| if let Opt::User(u) = o { Some(u.clone()) } else { None });
    let env_user = last(&|o| if let Opt::EnvUser(u) = o { Some(u.clone()) } else { None });
    let argv0 = last(&|o| if let Opt::Argv0(u) = o { Some(u.clone()) } else { None });
    let dir = last(&|o| if let Opt::EnvDir(u) = o { Some(u.clone()) } else { None });
    let root = last(&|o| if let Opt::Root(u) = o { Some(u.clone()) } else { None });
    let nice = opts.iter().rev().find_map(|o| if let Opt::Nice(n) = o { Some(*n) } else { None }).unwrap_or(0);
    let lock = opts.iter().find_map(|o| if let Opt::Lock(f, w) = o { Some((f.clone(), *w)) } else { None });
    let verbose = opts.iter().any(|o| matches!(o, Opt::Verbose));
    let mut limits: Vec<Option<u64>> = vec![None; 10];
    for o in opts {
        if let Opt::Limit(c, v) = o {
            let idx: &[Limit] = match c {
                'm' => &[Limit::Data, Limit::Stack, Limit::Memlock, Limit::As],
                'd' => &[Limit::Data],
                'o' => &[Limit::Nofile],
                'p' => &[Limit::Nproc],
                'f' => &[Limit::Fsize],
                'c' => &[Limit::Core],
                'r' => &[Limit::Rss],
                _ => &[Limit::Cpu],
            };
            for l in idx {
                limits[*l as usize] = Some(*v);
            }
        }
    }
    let mut steps = Vec::new();
    if opts.iter().any(|o| matches!(o, Opt::Setsid)) {
        steps.push(Step::Setsid);
    }
    if let Some(d) = dir {
        steps.push(Step::EnvDir { dir: d.into_bytes(), subdirs: SubdirPolicy::Skip { verbose } });
    }
    if let Some(r) = root {
        steps.push(Step::Chroot { root: r.into_bytes() });
    }
    if nice != 0 {
        steps.push(Step::Nice { inc: nice });
    }
    if let Some(u) = env_user {
        steps.push(Step::EnvAccount(account::parse(u.as_bytes(), true)));
    }
    if let Some(u) = user {
        steps.push(Step::SetAccount(account::parse(u.as_bytes(), true)));
    }
    if let Some((f, w)) = lock {
        steps.push(Step::Lock { file: f.into_bytes(), wait: w, on_failure: OnFailure::Fatal });
    }
    for fd in 0..3u8 {
        if opts.iter().any(|o| matches!(o, Opt::Close(x) if *x == fd)) {
            steps.push(Step::Close { fd });
        }
    }
    for l in Limit::ALL {
        if let Some(v) = limits[l as usize] {
            steps.push(Step::Limit { limit: l, value: LimitValue::Value(v) });
        }
    }
    let mut argv: Vec<Vec<u8>> = prog.iter().map(|s| s.as_bytes().to_vec()).collect();
    if let Some(a) = argv0 {
        argv[0] = a.into_bytes();
    }
    Plan { steps, exec: model::chpst::Exec { file: prog[0].as_bytes().to_vec(), argv, on_failure: OnFailure::Fatal } }
}

fn one_lock(opts: Vec<Opt>) -> Vec<Opt> {
    let mut seen = false;
    opts.into_iter()
        .filter(|o| {
            if matches!(o, Opt::Lock(..)) {
                let keep = !seen;
                seen = true;
                keep
            } else {
                true
            }
        })
        .collect()
}

/// Each kind of step at most once (closes: one per fd), in runit's order.
fn strictly_ordered(plan: &Plan) -> bool {
    plan.steps
        .windows(2)
        .all(|w| w[0].rank() < w[1].rank() || matches!((&w[0], &w[1]), (Step::Close { fd: a }, Step::Close { fd: b }) if a < b))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Every option combination gives the reference plan, in runit's order, whatever the
    /// order on the command line and whether values are glued or separate.
    #[test]
    fn plan_matches_reference(opts in prop::collection::vec(opt(), 0..12).prop_map(one_lock), glue in any::<bool>()) {
        let prog = ["prog", "arg1", "-x"];
        let argv = render(&opts, glue, &prog);
        let Parsed::Run(plan) = parse(&argv) else { panic!("usage for {argv:?}") };
        prop_assert!(strictly_ordered(&plan));
        prop_assert_eq!(plan, reference(&opts, &prog));
    }

    /// Parsing is total and its plans are always ordered, on any argv bytes.
    #[test]
    fn parse_never_panics(argv in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..10)) {
        match parse(&argv) {
            Parsed::Run(p) => {
                prop_assert!(p.steps.windows(2).all(|w| w[0].rank() <= w[1].rank()));
                prop_assert!(!p.exec.argv.is_empty());
            }
            Parsed::Usage(u) => prop_assert!(u.ends_with(b"\n\n")),
        }
    }

    /// Same for argv built from option-like words, under every personality name.
    #[test]
    fn personalities_never_panic(
        name in prop::sample::select(vec!["chpst", "dchpst", "envdir", "envuidgid", "setuidgid", "pgrphack", "setlock", "softlimit", "/x/dsetlock"]),
        words in prop::collection::vec(prop::sample::select(vec!["-n", "-N", "-x", "-X", "-m", "=", "5", "abc", "--", "-", "-u", ":1:2", "prog", "-o1", "-V", "-e", ""]), 0..8),
    ) {
        let mut argv = vec![name.to_string()];
        argv.extend(words.iter().map(|s| s.to_string()));
        match parse(&argv) {
            Parsed::Run(p) => prop_assert!(p.steps.windows(2).all(|w| w[0].rank() <= w[1].rank())),
            Parsed::Usage(u) => prop_assert!(u.ends_with(b"\n\n")),
        }
    }

    /// The numeric account form round-trips.
    #[test]
    fn numeric_account_round_trip(uid in any::<u32>(), gids in prop::collection::vec(any::<u32>(), 1..60)) {
        let text = format!(":{uid}:{}", gids.iter().map(|g| g.to_string()).collect::<Vec<_>>().join(":"));
        prop_assert_eq!(account::parse(text.as_bytes(), true), AccountSpec::Numeric(Ids { uid, gids }));
    }

    /// Account parsing is total.
    #[test]
    fn account_parse_never_panics(spec in prop::collection::vec(any::<u8>(), 0..80), ext in any::<bool>()) {
        let _ = account::parse(&spec, ext);
    }

    /// envdir values: total, first line only, no trailing blanks, NULs become newlines.
    #[test]
    fn envdir_value_properties(content in prop::collection::vec(prop::sample::select(vec![b'a', b' ', b'\t', b'\n', 0u8, b'=']), 0..40)) {
        match envdir::value(&content) {
            None => prop_assert!(content.is_empty()),
            Some(v) => {
                let first = content.split(|&c| c == b'\n').next().unwrap_or_default();
                prop_assert!(v.len() <= first.len());
                prop_assert!(!v.ends_with(b" ") && !v.ends_with(b"\t"));
                prop_assert!(!v.contains(&0));
                let back: Vec<u8> = first[..v.len()].iter().map(|&c| if c == 0 { b'\n' } else { c }).collect();
                prop_assert_eq!(back, v);
            }
        }
    }

    /// envdir value on arbitrary bytes never panics.
    #[test]
    fn envdir_value_never_panics(content in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = envdir::value(&content);
    }

    /// Environment edits: the last edit of a name decides its value, every other entry
    /// is kept (as a multiset), and the result is a permutation runit would produce.
    #[test]
    fn env_apply_against_reference(
        base in prop::collection::btree_map("[A-E]", "[a-z]{0,3}", 0..5),
        edits in prop::collection::vec(("[A-G]", prop::option::of("[a-z]{0,3}")), 0..6),
    ) {
        let environ: Vec<Vec<u8>> = base.iter().map(|(k, v)| format!("{k}={v}").into_bytes()).collect();
        let edits: Vec<EnvEdit> = edits.iter().map(|(k, v)| EnvEdit { name: k.clone().into_bytes(), value: v.clone().map(String::into_bytes) }).collect();
        let out = env::apply(&environ, &edits);
        let mut model = base.clone();
        for e in &edits {
            let k = String::from_utf8(e.name.clone()).unwrap();
            match &e.value {
                Some(v) => { model.insert(k, String::from_utf8(v.clone()).unwrap()); }
                None => { model.remove(&k); }
            }
        }
        let mut got: Vec<String> = out.iter().map(|e| String::from_utf8(e.clone()).unwrap()).collect();
        got.sort();
        let want: Vec<String> = model.iter().map(|(k, v)| format!("{k}={v}")).collect();
        prop_assert_eq!(got, want);
    }

    /// PATH candidates: one per element, each ending in `/file`.
    #[test]
    fn path_candidates_shape(path in "[a-z:/]{0,20}", file in "[a-z]{1,5}") {
        let c = path::candidates(file.as_bytes(), Some(path.as_bytes()));
        prop_assert_eq!(c.len(), path.matches(':').count() + 1);
        let suffix = format!("/{file}");
        prop_assert!(c.iter().all(|p| p.ends_with(suffix.as_bytes())));
    }

    /// PATH search, env edits and envdir entries are total on arbitrary bytes.
    #[test]
    fn byte_level_helpers_never_panic(
        file in prop::collection::vec(any::<u8>(), 0..10),
        pathv in prop::option::of(prop::collection::vec(any::<u8>(), 0..30)),
        environ in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..10), 0..6),
        names in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..6), prop::option::of(prop::collection::vec(any::<u8>(), 0..6))), 0..6),
        errno in 0i32..140,
    ) {
        let _ = path::candidates(&file, pathv.as_deref());
        let edits: Vec<EnvEdit> = names.iter().map(|(n, v)| EnvEdit { name: n.clone(), value: v.clone() }).collect();
        let out = env::apply(&environ, &edits);
        prop_assert!(out.len() <= environ.len() + edits.len());
        let _ = env::get(&environ, &file);
        for policy in [SubdirPolicy::Fatal, SubdirPolicy::Skip { verbose: true }] {
            let _ = envdir::entry(&file, &file, Err(model::errno::Errno(errno)), policy);
            let _ = envdir::entry(&file, &file, Ok(&file), policy);
        }
    }
}
