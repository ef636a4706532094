//! argv and environment (spec/sv.md §1): runit's getopt with `w:vV`, the mode chosen by
//! the basename of `argv[0]` (exactly `sv` is normal, anything else is LSB init-script
//! mode), `SVDIR` and `SVWAIT`.
//!
//! Normal mode also takes the machine-output options `-j`, `-o fields`, `-m`, `-M` and
//! `-r sec` (docs/readiness.md §4). runit's sv refuses each of them as an illegal option,
//! so no invocation that runit accepts changes meaning; they apply to `status` only (any
//! other command with them is a usage error), the last one given wins, and LSB mode keeps
//! runit's `w:vV` exactly.

use alloc::vec::Vec;

use crate::getopt::{self, Opt};
use crate::msg;
use crate::sv::command::{dispatch, Command, Kind};
use crate::sv::svstat::{parse_fields, Field};
use crate::sv::{EXIT_USAGE, EXIT_USAGE_LSB, SVDIR_DEFAULT, SVWAIT_DEFAULT_SECS, SYNOPSIS, SYNOPSIS_LSB, VERSION};

/// Normal (`sv cmd svc…`) or LSB init-script mode (`/etc/init.d/<svc> cmd`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Program name is exactly `sv`.
    Normal,
    /// Any other name: the name is the one service.
    Lsb,
}

/// The environment variables sv reads, as raw bytes (`None` = unset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Env<'a> {
    /// `SVDIR`.
    pub svdir: Option<&'a [u8]>,
    /// `SVWAIT`.
    pub svwait: Option<&'a [u8]>,
}

/// What `status` prints.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Output {
    /// runit's status lines (and every other command).
    Human,
    /// `-j`: one JSON object per service.
    Json,
    /// `-o f,f,…`: s6-svstat's space-separated values.
    Fields(Vec<Field>),
    /// `-m` (Prometheus text 0.0.4) or `-M` (OpenMetrics 1.0).
    Metrics {
        /// `-M`.
        openmetrics: bool,
    },
    /// `-r sec`: the honest probe.
    Probe(u64),
}

/// getopt specification in normal mode: runit's `w:vV` plus the machine-output options.
pub const OPTSTRING: &[u8] = b"w:vVjo:mMr:";

/// getopt specification in LSB mode: exactly runit's.
pub const OPTSTRING_LSB: &[u8] = b"w:vV";

/// A runnable invocation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Invocation {
    /// Which mode.
    pub mode: Mode,
    /// basename(argv[0]).
    pub prog: Vec<u8>,
    /// `-v` (or implied by `-w`).
    pub verbose: bool,
    /// Wait limit in seconds.
    pub wait_secs: u64,
    /// The dispatched command word.
    pub command: Command,
    /// Service arguments exactly as given.
    pub services: Vec<Vec<u8>>,
    /// The services directory for bare names.
    pub svdir: Vec<u8>,
    /// What `status` prints.
    pub output: Output,
}

/// What parsing decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parse {
    /// Go ahead.
    Run(Invocation),
    /// Print `stderr` (getopt error / version line, then usage) and exit with `code`.
    Refuse {
        /// The complete text for fd 2.
        stderr: Vec<u8>,
        /// 100 (normal) or 2 (LSB).
        code: i32,
    },
}

/// Parses argv (including argv[0]) and the environment. Total: any bytes give a value.
pub fn parse<S: AsRef<[u8]>>(argv: &[S], env: Env<'_>) -> Parse {
    let prog: &[u8] = argv.first().map(|a| getopt::basename(a.as_ref())).unwrap_or(b"");
    let mode = if prog == b"sv" { Mode::Normal } else { Mode::Lsb };
    let refuse = |prelude: Vec<u8>| {
        let (synopsis, code) = match mode {
            Mode::Normal => (SYNOPSIS, EXIT_USAGE),
            Mode::Lsb => (SYNOPSIS_LSB, EXIT_USAGE_LSB),
        };
        let mut stderr = prelude;
        stderr.extend_from_slice(&msg::usage(prog, synopsis));
        Parse::Refuse { stderr, code }
    };

    let parsed = getopt::parse(argv, if mode == Mode::Normal { OPTSTRING } else { OPTSTRING_LSB });
    let mut verbose = false;
    let mut output = Output::Human;
    let mut wait_secs = env.svwait.map_or(SVWAIT_DEFAULT_SECS, |w| getopt::scan_ulong(w).0);
    for opt in &parsed.opts {
        match opt {
            Opt::Flag(b'w', value) => {
                wait_secs = getopt::scan_ulong(value.unwrap_or(b"")).0;
                verbose = true;
            }
            Opt::Flag(b'v', _) => verbose = true,
            Opt::Flag(b'V', _) => return refuse(VERSION.to_vec()),
            Opt::Flag(b'j', _) => output = Output::Json,
            Opt::Flag(b'm', _) => output = Output::Metrics { openmetrics: false },
            Opt::Flag(b'M', _) => output = Output::Metrics { openmetrics: true },
            Opt::Flag(b'o', value) => match parse_fields(value.unwrap_or(b"")) {
                Ok(fields) => output = Output::Fields(fields),
                Err(word) => return refuse(msg::line(&[prog, b": invalid field -- ", word], None)),
            },
            Opt::Flag(b'r', value) => match crate::readiness::strict_decimal(value.unwrap_or(b"")) {
                Some(secs) => output = Output::Probe(secs),
                None => return refuse(msg::line(&[prog, b": invalid seconds -- ", value.unwrap_or(b"")], None)),
            },
            Opt::Flag(c, _) | Opt::Illegal(c) => {
                return refuse(msg::line(&[prog, b": illegal option -- ", &[*c]], None));
            }
            Opt::MissingArg(c) => {
                return refuse(msg::line(&[prog, b": option requires an argument -- ", &[*c]], None));
            }
        }
    }

    let operands: Vec<&[u8]> = argv[parsed.operands.min(argv.len())..].iter().map(|a| a.as_ref()).collect();
    let Some((word, rest)) = operands.split_first() else { return refuse(Vec::new()) };
    let Some(command) = dispatch(word, mode) else { return refuse(Vec::new()) };
    if output != Output::Human && command.kind != Kind::Status {
        return refuse(Vec::new());
    }
    let services: Vec<Vec<u8>> = match mode {
        Mode::Normal => rest.iter().map(|s| s.to_vec()).collect(),
        Mode::Lsb => alloc::vec![prog.to_vec()],
    };
    // `-m`/`-M` without services: every service in SVDIR.
    if services.is_empty() && !matches!(output, Output::Metrics { .. }) {
        return refuse(Vec::new());
    }
    Parse::Run(Invocation {
        mode,
        prog: prog.to_vec(),
        verbose,
        wait_secs,
        command,
        services,
        svdir: env.svdir.unwrap_or(SVDIR_DEFAULT).to_vec(),
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn run(argv: &[&str], env: Env<'_>) -> Invocation {
        match parse(argv, env) {
            Parse::Run(i) => i,
            other => panic!("{argv:?}: {other:?}"),
        }
    }
    fn refused(argv: &[&str]) -> (alloc::string::String, i32) {
        match parse(argv, Env::default()) {
            Parse::Refuse { stderr, code } => (alloc::string::String::from_utf8(stderr).unwrap(), code),
            other => panic!("{argv:?}: {other:?}"),
        }
    }

    #[test]
    fn test_args_normal_mode() {
        let i = run(&["/usr/bin/sv", "status", "a", "b"], Env::default());
        assert_eq!(i.mode, Mode::Normal);
        assert_eq!(i.services, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(i.svdir, b"/etc/service/");
        assert_eq!(i.wait_secs, 7);
        assert!(!i.verbose);
    }

    #[test]
    fn test_args_wait_implies_verbose_and_scan() {
        let i = run(&["sv", "-w", "3x", "up", "a"], Env::default());
        assert!(i.verbose);
        assert_eq!(i.wait_secs, 3);
        let i = run(&["sv", "-wabc", "up", "a"], Env { svdir: None, svwait: Some(b"9") });
        assert_eq!(i.wait_secs, 0);
        let i = run(&["sv", "-v", "up", "a"], Env { svdir: Some(b""), svwait: Some(b"12s") });
        assert_eq!((i.verbose, i.wait_secs, i.svdir.as_slice()), (true, 12, &b""[..]));
        let i = run(&["sv", "up", "a"], Env { svdir: None, svwait: Some(b"abc") });
        assert_eq!(i.wait_secs, 0);
    }

    #[test]
    fn test_args_options_stop_at_operand() {
        let i = run(&["sv", "status", "-v", "./s"], Env::default());
        assert_eq!(i.services, vec![b"-v".to_vec(), b"./s".to_vec()]);
        assert!(!i.verbose);
    }

    #[test]
    fn test_args_usage_normal() {
        let usage = "usage: sv [-v] [-w sec] command service ...\n\n";
        assert_eq!(refused(&["sv"]), (usage.into(), 100));
        assert_eq!(refused(&["sv", "status"]), (usage.into(), 100));
        assert_eq!(refused(&["sv", "bogus", "./s"]), (usage.into(), 100));
        assert_eq!(refused(&["sv", "-x", "status", "x"]), (alloc::format!("sv: illegal option -- x\n{usage}"), 100));
        assert_eq!(refused(&["sv", "-w"]), (alloc::format!("sv: option requires an argument -- w\n{usage}"), 100));
        let (text, code) = refused(&["sv", "-V", "status", "x"]);
        assert_eq!(code, 100);
        assert!(text.starts_with("$Id: ") && text.ends_with(usage), "{text}");
    }

    #[test]
    fn test_args_lsb_mode() {
        let i = run(&["/etc/init.d/foo", "-w", "1", "stop", "other"], Env::default());
        assert_eq!(i.mode, Mode::Lsb);
        assert_eq!(i.services, vec![b"foo".to_vec()]);
        assert!(i.verbose);
        for name in ["mysv", "sv.static", "SV", ""] {
            assert_eq!(run(&[name, "status"], Env::default()).mode, Mode::Lsb, "{name}");
        }
        let usage = "usage: foo [-w sec] command\n\n";
        assert_eq!(refused(&["/etc/init.d/foo"]), (usage.into(), 2));
        assert_eq!(refused(&["foo", "bogus"]), (usage.into(), 2));
        assert_eq!(refused(&["foo", "stat"]), (usage.into(), 2));
        assert_eq!(refused(&["foo", "-q", "stat"]), (alloc::format!("foo: illegal option -- q\n{usage}"), 2));
    }

    #[test]
    fn test_args_machine_output_options() {
        assert_eq!(run(&["sv", "-j", "status", "a"], Env::default()).output, Output::Json);
        assert_eq!(run(&["sv", "-m", "status"], Env::default()).output, Output::Metrics { openmetrics: false });
        assert_eq!(run(&["sv", "-M", "s", "a"], Env::default()).output, Output::Metrics { openmetrics: true });
        assert!(run(&["sv", "-m", "status"], Env::default()).services.is_empty());
        assert_eq!(run(&["sv", "-r", "10", "status", "a"], Env::default()).output, Output::Probe(10));
        assert_eq!(run(&["sv", "-r10", "status", "a"], Env::default()).output, Output::Probe(10));
        assert_eq!(run(&["sv", "-o", "up,ready", "status", "a"], Env::default()).output, Output::Fields(vec![Field::Up, Field::Ready]));
        // The last one wins; -v and -w still parse.
        let i = run(&["sv", "-j", "-v", "-m", "status", "a"], Env::default());
        assert_eq!((i.output, i.verbose), (Output::Metrics { openmetrics: false }, true));
        assert_eq!(run(&["sv", "status", "a"], Env::default()).output, Output::Human);
    }

    #[test]
    fn test_args_machine_output_refusals() {
        let usage = "usage: sv [-v] [-w sec] command service ...\n\n";
        assert_eq!(refused(&["sv", "-j", "up", "a"]), (usage.into(), 100));
        assert_eq!(refused(&["sv", "-r", "5", "check", "a"]), (usage.into(), 100));
        assert_eq!(refused(&["sv", "-j", "status"]), (usage.into(), 100));
        assert_eq!(refused(&["sv", "-o", "up,bogus", "status", "a"]), (alloc::format!("sv: invalid field -- bogus\n{usage}"), 100));
        assert_eq!(refused(&["sv", "-r", "5s", "status", "a"]), (alloc::format!("sv: invalid seconds -- 5s\n{usage}"), 100));
        assert_eq!(refused(&["sv", "-r"]), (alloc::format!("sv: option requires an argument -- r\n{usage}"), 100));
        // LSB mode keeps runit's option string.
        let lsb = "usage: foo [-w sec] command\n\n";
        assert_eq!(refused(&["foo", "-j", "status"]), (alloc::format!("foo: illegal option -- j\n{lsb}"), 2));
    }

    #[test]
    fn test_args_empty_argv_is_total() {
        assert!(matches!(parse::<&[u8]>(&[], Env::default()), Parse::Refuse { code: 2, .. }));
    }
}
