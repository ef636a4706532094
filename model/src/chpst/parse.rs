//! argv to a [`Plan`] (or a usage message), for chpst and each personality
//! (spec/chpst.md §1, §2, §6; getopt rules in spec/common.md §3).
//!
//! Options are processed in command-line order as runit does, so the first problem met
//! (a bad value, `-V`, an illegal letter) decides the message.

use alloc::vec::Vec;

use super::account;
use super::limits::{Limit, LimitValue};
use super::plan::{Exec, OnFailure, Plan, Step, SubdirPolicy};
use crate::getopt::{self, basename, scan_ulong, Opt};
use crate::msg;

/// chpst's option letters.
pub const CHPST_OPTS: &[u8] = b"u:U:b:e:m:d:o:p:f:c:r:t:/:n:l:L:vP012V";
/// chpst's usage synopsis (Debian's text, with `V` and `[-t n]`).
pub const CHPST_SYNOPSIS: &[u8] = b" [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog";
/// chpst's option letters with runit 2.2.0's `-C dir`.
pub const CHPST_OPTS_CHDIR: &[u8] = b"u:U:b:e:m:d:o:p:f:c:r:t:/:C:n:l:L:vP012V";
/// The usage synopsis with `-C` (text not checked against a 2.2.0 binary).
pub const CHPST_SYNOPSIS_CHDIR: &[u8] = b" [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-C pwd] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog";

/// Which chpst to be. The reference (Debian 2.1.2) has no `-C`; runit 2.2.0 and Void's
/// package add it. The binary uses [`Dialect::DEBIAN`], or [`Dialect::WITH_CHDIR`] when
/// built with the `bins` feature `void`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect {
    /// Accept `-C dir` (chdir after the chroot).
    pub chdir_option: bool,
}

impl Dialect {
    /// Debian's runit 2.1.2-54: `-C` is an illegal option.
    pub const DEBIAN: Dialect = Dialect { chdir_option: false };
    /// runit 2.2.0 / Void: `-C dir` changes directory after any `-/`.
    pub const WITH_CHDIR: Dialect = Dialect { chdir_option: true };
}

/// The version line `-V` prints before the usage.
pub const VERSION: &[u8] = b"$Id: f279d44141c981dd7535a12260efcf1ef7beed26 $\n";

/// Which program argv\[0\] asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Personality {
    /// chpst itself (any name not below).
    Chpst,
    /// `setuidgid account child...`
    Setuidgid,
    /// `envuidgid account child...`
    Envuidgid,
    /// `envdir dir child...`
    Envdir,
    /// `pgrphack child...`
    Pgrphack,
    /// `setlock [-nNxX] file child...`
    Setlock,
    /// `softlimit [-acdflmoprst n] child...`
    Softlimit,
}

impl Personality {
    /// The usage synopsis (after the program name).
    pub fn synopsis(self) -> &'static [u8] {
        match self {
            Personality::Chpst => CHPST_SYNOPSIS,
            Personality::Setuidgid | Personality::Envuidgid => b" account child",
            Personality::Envdir => b" dir child",
            Personality::Pgrphack => b" child",
            Personality::Setlock => b" [ -nNxX ] file program [ arg ... ]",
            Personality::Softlimit => b" [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child",
        }
    }
}

/// The personality and the name usage lines show: `basename(argv0)` with one leading `d`
/// removed.
pub fn personality(argv0: &[u8]) -> (Personality, &[u8]) {
    let base = basename(argv0);
    let name = base.strip_prefix(b"d").unwrap_or(base);
    let p = match name {
        b"setuidgid" => Personality::Setuidgid,
        b"envuidgid" => Personality::Envuidgid,
        b"envdir" => Personality::Envdir,
        b"pgrphack" => Personality::Pgrphack,
        b"setlock" => Personality::Setlock,
        b"softlimit" => Personality::Softlimit,
        _ => Personality::Chpst,
    };
    (p, name)
}

/// The outcome of parsing argv.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Carry out this plan.
    Run(Plan),
    /// Print these bytes to fd 2 and exit 100.
    Usage(Vec<u8>),
}

/// Parses a whole argv (argv\[0\] included) as Debian's chpst does. Total: any bytes
/// give a plan or a usage.
pub fn parse<S: AsRef<[u8]>>(argv: &[S]) -> Parsed {
    parse_with(argv, Dialect::DEBIAN)
}

/// [`parse`] for a given [`Dialect`].
pub fn parse_with<S: AsRef<[u8]>>(argv: &[S], dialect: Dialect) -> Parsed {
    let argv0: &[u8] = argv.first().map(|a| a.as_ref()).unwrap_or(b"chpst");
    let (who, name) = personality(argv0);
    let usage = |prefix: &[u8], p: Personality| {
        let mut out = prefix.to_vec();
        let synopsis = if p == Personality::Chpst && dialect.chdir_option { CHPST_SYNOPSIS_CHDIR } else { p.synopsis() };
        out.extend_from_slice(&msg::usage(name, synopsis));
        Parsed::Usage(out)
    };
    let rest = |from: usize| -> Vec<Vec<u8>> { argv.iter().skip(from).map(|a| a.as_ref().to_vec()).collect() };
    match who {
        Personality::Chpst => chpst(argv, argv0, dialect, &usage),
        Personality::Setuidgid | Personality::Envuidgid | Personality::Envdir => {
            if argv.len() < 3 {
                return usage(b"", who);
            }
            let arg = argv[1].as_ref();
            let step = match who {
                Personality::Setuidgid => Step::SetAccount(account::parse(arg, false)),
                Personality::Envuidgid => Step::EnvAccount(account::parse(arg, false)),
                _ => Step::EnvDir { dir: arg.to_vec(), subdirs: SubdirPolicy::Fatal },
            };
            Parsed::Run(plan(alloc::vec![step], rest(2), None, OnFailure::Fatal))
        }
        Personality::Pgrphack => {
            if argv.len() < 2 {
                return usage(b"", who);
            }
            Parsed::Run(plan(alloc::vec![Step::Setsid], rest(1), None, OnFailure::Fatal))
        }
        Personality::Setlock => {
            let p = getopt::parse(argv, b"nNxX");
            let (mut wait, mut quiet) = (false, false);
            for o in &p.opts {
                match o {
                    Opt::Flag(b'n', _) => wait = true,
                    Opt::Flag(b'N', _) => wait = false,
                    Opt::Flag(b'x', _) => quiet = true,
                    Opt::Flag(b'X', _) => quiet = false,
                    Opt::Flag(..) => {}
                    Opt::Illegal(_) | Opt::MissingArg(_) => return usage(&getopt_error(argv0, o), who),
                }
            }
            if argv.len() < p.operands + 2 {
                return usage(b"", who);
            }
            let on_failure = if quiet { OnFailure::ExitZero } else { OnFailure::Fatal };
            let lock = Step::Lock { file: argv[p.operands].as_ref().to_vec(), wait, on_failure };
            Parsed::Run(plan(alloc::vec![lock], rest(p.operands + 1), None, on_failure))
        }
        Personality::Softlimit => {
            let p = getopt::parse(argv, b"a:c:d:f:l:m:o:p:r:s:t:");
            let mut limits: [Option<LimitValue>; 10] = [None; 10];
            for o in &p.opts {
                let (c, v) = match o {
                    Opt::Flag(c, v) => (*c, v.unwrap_or_default()),
                    Opt::Illegal(_) | Opt::MissingArg(_) => return usage(&getopt_error(argv0, o), who),
                };
                let value = if v == b"=" {
                    LimitValue::Hard
                } else {
                    match digits(v) {
                        Some(n) => LimitValue::from_u64(n),
                        None => return usage(b"", Personality::Chpst),
                    }
                };
                let set: &[Limit] = match c {
                    b'a' => &[Limit::As],
                    b'c' => &[Limit::Core],
                    b'd' => &[Limit::Data],
                    b'f' => &[Limit::Fsize],
                    b'l' => &[Limit::Memlock],
                    b'm' => &[Limit::Data, Limit::Stack, Limit::Memlock, Limit::As],
                    b'o' => &[Limit::Nofile],
                    b'p' => &[Limit::Nproc],
                    b'r' => &[Limit::Rss],
                    b's' => &[Limit::Stack],
                    b't' => &[Limit::Cpu],
                    _ => &[],
                };
                for l in set {
                    limits[*l as usize] = Some(value);
                }
            }
            if p.operands >= argv.len() {
                return usage(b"", who);
            }
            Parsed::Run(plan(limit_steps(&limits), rest(p.operands), None, OnFailure::Fatal))
        }
    }
}

fn chpst<S: AsRef<[u8]>>(argv: &[S], argv0: &[u8], dialect: Dialect, usage: &dyn Fn(&[u8], Personality) -> Parsed) -> Parsed {
    let p = getopt::parse(argv, if dialect.chdir_option { CHPST_OPTS_CHDIR } else { CHPST_OPTS });
    let (mut set_user, mut env_user, mut argv0_new, mut env_dir, mut root) = (None, None, None, None, None);
    let mut chdir: Option<&[u8]> = None;
    let mut nice: i64 = 0;
    let mut lock: Option<(Vec<u8>, bool)> = None;
    let (mut verbose, mut setsid) = (false, false);
    let mut close = [false; 3];
    let mut limits: [Option<LimitValue>; 10] = [None; 10];
    for o in &p.opts {
        let (c, v) = match o {
            Opt::Flag(c, v) => (*c, v.unwrap_or_default()),
            Opt::Illegal(_) | Opt::MissingArg(_) => return usage(&getopt_error(argv0, o), Personality::Chpst),
        };
        let limit_set: &[Limit] = match c {
            b'm' => &[Limit::Data, Limit::Stack, Limit::Memlock, Limit::As],
            b'd' => &[Limit::Data],
            b'o' => &[Limit::Nofile],
            b'p' => &[Limit::Nproc],
            b'f' => &[Limit::Fsize],
            b'c' => &[Limit::Core],
            b'r' => &[Limit::Rss],
            b't' => &[Limit::Cpu],
            _ => &[],
        };
        if !limit_set.is_empty() {
            let Some(n) = digits(v) else { return usage(b"", Personality::Chpst) };
            for l in limit_set {
                limits[*l as usize] = Some(LimitValue::from_u64(n));
            }
            continue;
        }
        match c {
            b'u' => set_user = Some(v),
            b'U' => env_user = Some(v),
            b'b' => argv0_new = Some(v),
            b'e' => env_dir = Some(v),
            b'/' => root = Some(v),
            b'C' => chdir = Some(v),
            b'n' => match nice_value(v) {
                Some(n) => nice = n,
                None => return usage(b"", Personality::Chpst),
            },
            b'l' | b'L' => {
                if lock.is_some() {
                    return usage(b"", Personality::Chpst);
                }
                lock = Some((v.to_vec(), c == b'l'));
            }
            b'v' => verbose = true,
            b'P' => setsid = true,
            b'0' => close[0] = true,
            b'1' => close[1] = true,
            b'2' => close[2] = true,
            b'V' => return usage(VERSION, Personality::Chpst),
            _ => return usage(b"", Personality::Chpst),
        }
    }
    if p.operands >= argv.len() {
        return usage(b"", Personality::Chpst);
    }
    let mut steps = Vec::new();
    if setsid {
        steps.push(Step::Setsid);
    }
    if let Some(dir) = env_dir {
        steps.push(Step::EnvDir { dir: dir.to_vec(), subdirs: SubdirPolicy::Skip { verbose } });
    }
    if let Some(root) = root {
        steps.push(Step::Chroot { root: root.to_vec() });
    }
    if let Some(dir) = chdir {
        steps.push(Step::Chdir { dir: dir.to_vec() });
    }
    if nice != 0 {
        steps.push(Step::Nice { inc: nice.clamp(i32::MIN as i64, i32::MAX as i64) as i32 });
    }
    if let Some(u) = env_user {
        steps.push(Step::EnvAccount(account::parse(u, true)));
    }
    if let Some(u) = set_user {
        steps.push(Step::SetAccount(account::parse(u, true)));
    }
    if let Some((file, wait)) = lock {
        steps.push(Step::Lock { file, wait, on_failure: OnFailure::Fatal });
    }
    for (fd, c) in close.iter().enumerate() {
        if *c {
            steps.push(Step::Close { fd: fd as u8 });
        }
    }
    steps.extend(limit_steps(&limits));
    let args = argv[p.operands..].iter().map(|a| a.as_ref().to_vec()).collect();
    Parsed::Run(plan(steps, args, argv0_new.map(|a| a.to_vec()), OnFailure::Fatal))
}

fn plan(steps: Vec<Step>, args: Vec<Vec<u8>>, argv0: Option<Vec<u8>>, on_failure: OnFailure) -> Plan {
    debug_assert!(!args.is_empty());
    debug_assert!(steps.windows(2).all(|w| w[0].rank() <= w[1].rank()));
    let file = args.first().cloned().unwrap_or_default();
    let mut argv = args;
    if let (Some(a0), Some(first)) = (argv0, argv.first_mut()) {
        *first = a0;
    }
    Plan { steps, exec: Exec { file, argv, on_failure } }
}

fn limit_steps(limits: &[Option<LimitValue>; 10]) -> Vec<Step> {
    Limit::ALL.iter().filter_map(|&l| limits[l as usize].map(|value| Step::Limit { limit: l, value })).collect()
}

/// All digits (the empty string counts, as in runit: it means 0).
fn digits(v: &[u8]) -> Option<u64> {
    let (n, len) = scan_ulong(v);
    (len == v.len()).then_some(n)
}

/// `-n`: optional sign, then digits.
fn nice_value(v: &[u8]) -> Option<i64> {
    match v.first() {
        Some(b'-') => digits(&v[1..]).map(|n| (n.min(i64::MAX as u64) as i64).saturating_neg()),
        Some(b'+') => digits(&v[1..]).map(|n| n.min(i64::MAX as u64) as i64),
        _ => digits(v).map(|n| n.min(i64::MAX as u64) as i64),
    }
}

/// `<basename(argv0)>: illegal option -- c\n` / `option requires an argument -- c\n`.
fn getopt_error(argv0: &[u8], o: &Opt<'_>) -> Vec<u8> {
    let (text, c): (&[u8], u8) = match o {
        Opt::Illegal(c) => (b": illegal option -- ", *c),
        Opt::MissingArg(c) => (b": option requires an argument -- ", *c),
        Opt::Flag(c, _) => (b": ", *c),
    };
    msg::line(&[basename(argv0), text, &[c]], None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chpst::account::AccountSpec;
    use crate::chpst::limits::LimitValue::{Hard, Value};
    use alloc::format;
    use alloc::vec;

    fn run(args: &[&str]) -> Plan {
        match parse(args) {
            Parsed::Run(p) => p,
            Parsed::Usage(u) => panic!("usage: {}", alloc::string::String::from_utf8_lossy(&u)),
        }
    }

    fn usage(args: &[&str]) -> alloc::string::String {
        match parse(args) {
            Parsed::Run(p) => panic!("plan: {p:?}"),
            Parsed::Usage(u) => alloc::string::String::from_utf8(u).unwrap(),
        }
    }

    const U: &str = "usage: chpst [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog\n\n";

    #[test]
    fn test_personality_names() {
        assert_eq!(personality(b"/usr/bin/chpst"), (Personality::Chpst, &b"chpst"[..]));
        assert_eq!(personality(b"dchpst"), (Personality::Chpst, &b"chpst"[..]));
        assert_eq!(personality(b"/x/denvdir"), (Personality::Envdir, &b"envdir"[..]));
        assert_eq!(personality(b"ddenvdir"), (Personality::Chpst, &b"denvdir"[..]));
        assert_eq!(personality(b"setlock"), (Personality::Setlock, &b"setlock"[..]));
        assert_eq!(personality(b"xyz"), (Personality::Chpst, &b"xyz"[..]));
    }

    #[test]
    fn test_chpst_usage_errors() {
        assert_eq!(usage(&["chpst"]), U);
        assert_eq!(usage(&["chpst", "-x", "true"]), format!("chpst: illegal option -- x\n{U}"));
        assert_eq!(usage(&["dchpst", "-x", "true"]), format!("dchpst: illegal option -- x\n{U}"));
        assert_eq!(usage(&["chpst", "-m"]), format!("chpst: option requires an argument -- m\n{U}"));
        assert_eq!(usage(&["chpst", "-m", "12x", "true"]), U);
        assert_eq!(usage(&["chpst", "-n", "abc", "true"]), U);
        assert_eq!(usage(&["chpst", "-l", "a", "-L", "b", "true"]), U);
        assert_eq!(usage(&["chpst", "-C", "/tmp", "true"]), format!("chpst: illegal option -- C\n{U}"));
        assert_eq!(usage(&["chpst", "-V"]), format!("$Id: f279d44141c981dd7535a12260efcf1ef7beed26 $\n{U}"));
        assert!(usage(&["xyz"]).starts_with("usage: xyz [-vVP012]"));
        assert_eq!(usage(&["chpst", "-m", "5", "-x"]), format!("chpst: illegal option -- x\n{U}"));
        assert_eq!(usage(&["chpst", "-m", "5x", "-x"]), U);
    }

    #[test]
    fn test_chpst_full_order() {
        let p = run(&[
            "chpst", "-t", "9", "-2", "-l", "lk", "-u", "nobody", "-U", ":1:2", "-n", "-3", "-/", "/r", "-e", "env", "-P", "-v", "-b",
            "zero", "prog", "a",
        ]);
        assert_eq!(
            p.steps,
            vec![
                Step::Setsid,
                Step::EnvDir { dir: b"env".to_vec(), subdirs: SubdirPolicy::Skip { verbose: true } },
                Step::Chroot { root: b"/r".to_vec() },
                Step::Nice { inc: -3 },
                Step::EnvAccount(account::parse(b":1:2", true)),
                Step::SetAccount(account::parse(b"nobody", true)),
                Step::Lock { file: b"lk".to_vec(), wait: true, on_failure: OnFailure::Fatal },
                Step::Close { fd: 2 },
                Step::Limit { limit: Limit::Cpu, value: Value(9) },
            ]
        );
        assert_eq!(p.exec.file, b"prog");
        assert_eq!(p.exec.argv, vec![b"zero".to_vec(), b"a".to_vec()]);
        // runit's quirk: a failed exec names argv[0], i.e. the -b name.
        assert_eq!(p.exec.failure_name(), b"zero");
    }

    #[test]
    fn test_chpst_limits() {
        let p = run(&["chpst", "-m", "100", "-d", "7", "-o17", "-r", "", "true"]);
        assert_eq!(
            p.steps,
            vec![
                Step::Limit { limit: Limit::Data, value: Value(7) },
                Step::Limit { limit: Limit::Stack, value: Value(100) },
                Step::Limit { limit: Limit::Memlock, value: Value(100) },
                Step::Limit { limit: Limit::As, value: Value(100) },
                Step::Limit { limit: Limit::Nofile, value: Value(17) },
                Step::Limit { limit: Limit::Rss, value: Value(0) },
            ]
        );
        assert_eq!(usage(&["chpst", "-m", "=", "true"]), U);
    }

    #[test]
    fn test_chpst_nice_forms() {
        assert_eq!(run(&["chpst", "-n", "+3", "true"]).steps, vec![Step::Nice { inc: 3 }]);
        assert_eq!(run(&["chpst", "-n", "5", "true"]).steps, vec![Step::Nice { inc: 5 }]);
        assert_eq!(run(&["chpst", "-n", "0", "true"]).steps, vec![]);
        assert_eq!(run(&["chpst", "-n", "-", "true"]).steps, vec![]);
        assert_eq!(usage(&["chpst", "-n", "--5", "true"]), U);
    }

    #[test]
    fn test_chpst_lock_kinds() {
        let p = run(&["chpst", "-L", "lk", "true"]);
        assert_eq!(p.steps, vec![Step::Lock { file: b"lk".to_vec(), wait: false, on_failure: OnFailure::Fatal }]);
        assert_eq!(usage(&["chpst", "-l", "a", "-l", "b", "true"]), U);
    }

    #[test]
    fn test_chpst_operands_stop_options() {
        let p = run(&["chpst", "--", "-u", "x"]);
        assert!(p.steps.is_empty());
        assert_eq!(p.exec.file, b"-u");
        let p = run(&["chpst", "prog", "-u", "x"]);
        assert_eq!(p.exec.argv.len(), 3);
    }

    #[test]
    fn test_personality_usages() {
        assert_eq!(usage(&["envdir"]), "usage: envdir dir child\n\n");
        assert_eq!(usage(&["envdir", "env"]), "usage: envdir dir child\n\n");
        assert_eq!(usage(&["setuidgid", "nobody"]), "usage: setuidgid account child\n\n");
        assert_eq!(usage(&["envuidgid"]), "usage: envuidgid account child\n\n");
        assert_eq!(usage(&["pgrphack"]), "usage: pgrphack child\n\n");
        assert_eq!(usage(&["setlock", "lk"]), "usage: setlock [ -nNxX ] file program [ arg ... ]\n\n");
        assert_eq!(usage(&["setlock", "-c"]), "setlock: illegal option -- c\nusage: setlock [ -nNxX ] file program [ arg ... ]\n\n");
        assert!(usage(&["softlimit"]).starts_with("usage: softlimit [-a allbytes]"));
        assert!(usage(&["softlimit", "-x", "1", "true"]).starts_with("softlimit: illegal option -- x\nusage: softlimit [-a allbytes]"));
        assert!(usage(&["softlimit", "-m", "abc", "true"]).starts_with("usage: softlimit [-vVP012] [-u user[:group]]"));
    }

    #[test]
    fn test_personality_plans() {
        let p = run(&["setuidgid", "nobody:daemon", "id"]);
        assert_eq!(p.steps, vec![Step::SetAccount(AccountSpec::Plain(b"nobody:daemon".to_vec()))]);
        let p = run(&["envdir", "env", "prog", "x"]);
        assert_eq!(p.steps, vec![Step::EnvDir { dir: b"env".to_vec(), subdirs: SubdirPolicy::Fatal }]);
        assert_eq!(p.exec.argv, vec![b"prog".to_vec(), b"x".to_vec()]);
        let p = run(&["pgrphack", "prog"]);
        assert_eq!(p.steps, vec![Step::Setsid]);
        let p = run(&["setlock", "lk", "prog"]);
        assert_eq!(p.steps, vec![Step::Lock { file: b"lk".to_vec(), wait: false, on_failure: OnFailure::Fatal }]);
        let p = run(&["setlock", "-nx", "lk", "prog"]);
        assert_eq!(p.steps, vec![Step::Lock { file: b"lk".to_vec(), wait: true, on_failure: OnFailure::ExitZero }]);
        assert_eq!(p.exec.on_failure, OnFailure::ExitZero);
        let p = run(&["setlock", "-nNxX", "lk", "prog"]);
        assert_eq!(p.steps, vec![Step::Lock { file: b"lk".to_vec(), wait: false, on_failure: OnFailure::Fatal }]);
        let p = run(&["softlimit", "-m", "=", "-s", "5", "-t", "3", "prog"]);
        assert_eq!(
            p.steps,
            vec![
                Step::Limit { limit: Limit::Data, value: Hard },
                Step::Limit { limit: Limit::Stack, value: Value(5) },
                Step::Limit { limit: Limit::Memlock, value: Hard },
                Step::Limit { limit: Limit::As, value: Hard },
                Step::Limit { limit: Limit::Cpu, value: Value(3) },
            ]
        );
    }

    /// Each of softlimit's letters sets its own limit (kills the deleted match arms
    /// `b'a'`, `b'c'`, `b'd'`, `b'f'`, `b'l'`, `b'o'`, `b'p'`, `b'r'` in `parse_with`).
    #[test]
    fn test_softlimit_letters() {
        let cases = [
            ("-a", Limit::As),
            ("-c", Limit::Core),
            ("-d", Limit::Data),
            ("-f", Limit::Fsize),
            ("-l", Limit::Memlock),
            ("-o", Limit::Nofile),
            ("-p", Limit::Nproc),
            ("-r", Limit::Rss),
            ("-s", Limit::Stack),
            ("-t", Limit::Cpu),
        ];
        for (letter, limit) in cases {
            let p = run(&["softlimit", letter, "4", "prog"]);
            assert_eq!(p.steps, vec![Step::Limit { limit, value: Value(4) }], "softlimit {letter}");
        }
    }

    /// Each of chpst's limit letters sets its own limit (kills the deleted arms `b'p'`,
    /// `b'f'`, `b'c'` in `chpst`).
    #[test]
    fn test_chpst_limit_letters() {
        let cases = [
            ("-d", Limit::Data),
            ("-o", Limit::Nofile),
            ("-p", Limit::Nproc),
            ("-f", Limit::Fsize),
            ("-c", Limit::Core),
            ("-r", Limit::Rss),
            ("-t", Limit::Cpu),
        ];
        for (letter, limit) in cases {
            let p = run(&["chpst", letter, "4", "prog"]);
            assert_eq!(p.steps, vec![Step::Limit { limit, value: Value(4) }], "chpst {letter}");
        }
    }

    /// `-0`, `-1`, `-2` close their own descriptor (kills the deleted arms `b'0'`, `b'1'`).
    #[test]
    fn test_chpst_close_letters() {
        for (letter, fd) in [("-0", 0), ("-1", 1), ("-2", 2)] {
            assert_eq!(run(&["chpst", letter, "prog"]).steps, vec![Step::Close { fd }], "chpst {letter}");
        }
    }

    /// envuidgid sets the account's environment, not the account (kills the deleted arm
    /// `Personality::Envuidgid`).
    #[test]
    fn test_envuidgid_plan() {
        let p = run(&["envuidgid", "nobody", "env"]);
        assert_eq!(p.steps, vec![Step::EnvAccount(AccountSpec::Plain(b"nobody".to_vec()))]);
        assert_eq!(p.exec.argv, vec![b"env".to_vec()]);
    }

    /// setlock's program starts right after the lock file, with or without options (kills
    /// `+` -> `-` and `+` -> `*` in `rest(p.operands + 1)`).
    #[test]
    fn test_setlock_program_after_file() {
        assert_eq!(run(&["setlock", "lk", "prog", "a"]).exec.argv, vec![b"prog".to_vec(), b"a".to_vec()]);
        assert_eq!(run(&["setlock", "-n", "lk", "prog", "a"]).exec.argv, vec![b"prog".to_vec(), b"a".to_vec()]);
    }

    #[test]
    fn test_chpst_chdir_dialect() {
        assert_eq!(usage(&["chpst", "-C", "/tmp", "true"]), format!("chpst: illegal option -- C\n{U}"));
        let Parsed::Run(p) = parse_with(&["chpst", "-C", "/srv", "-/", "/r", "-n", "1", "prog"], Dialect::WITH_CHDIR) else { panic!() };
        assert_eq!(p.steps, vec![Step::Chroot { root: b"/r".to_vec() }, Step::Chdir { dir: b"/srv".to_vec() }, Step::Nice { inc: 1 }]);
        let Parsed::Usage(u) = parse_with(&["chpst"], Dialect::WITH_CHDIR) else { panic!() };
        assert!(u.windows(10).any(|w| w == b"[-C pwd] ["));
        let Parsed::Usage(u) = parse_with(&["chpst", "-C"], Dialect::WITH_CHDIR) else { panic!() };
        assert!(u.starts_with(b"chpst: option requires an argument -- C\n"));
    }

    #[test]
    fn test_no_argv_at_all() {
        let empty: [&str; 0] = [];
        assert!(matches!(parse(&empty), Parsed::Usage(_)));
    }
}
