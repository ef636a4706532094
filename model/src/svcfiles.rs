//! The opt-in s6 files of a service directory, parsed (spec/additions.md §1):
//! `down-signal`, `timeout-kill`, `timeout-finish`, `max-death-tally`.
//!
//! Pure: the file's bytes come in (`None` when the file does not exist), a value to use
//! comes out, with a warning when the content was not valid. s6's reading rules are kept
//! (content up to the first `\n`; a number is plain decimal, no sign, no blanks, no
//! `0x`, at most 2^32 − 1; a signal is a name with or without `SIG`, any case, or its
//! number), but a missing or invalid file always means **runit's behaviour** for that
//! service, which is where runit-rs departs from s6's own defaults: no `./finish` time
//! limit (s6: 5 s) and no death tally (s6: 100 records). Bad content is never fatal and
//! never a panic: one warning line in runsv's format and the default.
//!
//! `down-signal`, `timeout-kill` and `timeout-finish` are wired into runsv through
//! `model::runsv::Stop::from_files` (issue 11, "Stop that ends"); `max-death-tally` is not
//! used yet (in s6 it is the number of death records kept, not a give-up threshold).
//!
//! The backoff files (issue 11, "Backoff and giving up"; s6 has none) take their names
//! and meanings from dinit (`restart-delay`, `restart-limit-interval`,
//! `restart-limit-count`) and systemd (`RestartSteps=`, `RestartMaxDelaySec=` →
//! `restart-steps`, `restart-max-delay`), in s6's form: one plain decimal per file, times
//! in milliseconds. They are wired through `model::runsv::Backoff::from_files`.

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::runsv::Sig;

/// One of the opt-in files, by its s6 name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SvcFile {
    /// `down-signal`: the signal that stops the service.
    DownSignal,
    /// `timeout-kill`: milliseconds after the stop signal before SIGKILL.
    TimeoutKill,
    /// `timeout-finish`: milliseconds `./finish` may run.
    TimeoutFinish,
    /// `max-death-tally`: how many deaths are remembered.
    MaxDeathTally,
    /// `restart-delay`: milliseconds before restarting after a quick death (backoff).
    RestartDelay,
    /// `restart-steps`: how many restarts the delay takes to grow to `restart-max-delay`.
    RestartSteps,
    /// `restart-max-delay`: milliseconds the growing delay stops at.
    RestartMaxDelay,
    /// `restart-limit-interval`: milliseconds of the give-up window.
    RestartLimitInterval,
    /// `restart-limit-count`: automatic restarts allowed in that window.
    RestartLimitCount,
}

impl SvcFile {
    /// The file name in the service directory.
    pub fn name(self) -> &'static str {
        match self {
            SvcFile::DownSignal => "down-signal",
            SvcFile::TimeoutKill => "timeout-kill",
            SvcFile::TimeoutFinish => "timeout-finish",
            SvcFile::MaxDeathTally => "max-death-tally",
            SvcFile::RestartDelay => "restart-delay",
            SvcFile::RestartSteps => "restart-steps",
            SvcFile::RestartMaxDelay => "restart-max-delay",
            SvcFile::RestartLimitInterval => "restart-limit-interval",
            SvcFile::RestartLimitCount => "restart-limit-count",
        }
    }
}

/// What was wrong with a file's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Problem {
    /// Nothing before the first newline.
    Empty,
    /// Not plain decimal digits (a sign, blanks, letters, a unit, `0x`...).
    NotANumber,
    /// More than 2^32 − 1.
    TooBig,
    /// Not one of the ten signals runit's `sv` can send.
    UnknownSignal,
    /// A restart delay under runit's 1 s throttle (delays never go below it).
    BelowThrottle,
}

impl Problem {
    fn text(self) -> &'static str {
        match self {
            Problem::Empty => "empty",
            Problem::NotANumber => "not a number",
            Problem::TooBig => "number too big",
            Problem::UnknownSignal => "not a signal sv can send",
            Problem::BelowThrottle => "less than runit's 1000 ms throttle",
        }
    }
}

/// Why a file's content was not used: runsv prints it ([`Warning::line`]) and applies
/// the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Warning {
    /// The file.
    pub file: SvcFile,
    /// What was wrong.
    pub problem: Problem,
}

impl Warning {
    /// `runsv <dir>: warning: invalid <file>: <problem>, using the default\n`.
    pub fn line(&self, dir: &[u8]) -> Vec<u8> {
        crate::msg::line(
            &[
                b"runsv ",
                dir,
                b": warning: invalid ",
                self.file.name().as_bytes(),
                b": ",
                self.problem.text().as_bytes(),
                b", using the default",
            ],
            None,
        )
    }
}

/// The line for a file that exists but cannot be read (s6: a warning, then "not set"):
/// `runsv <dir>: warning: unable to read <file>: <errstr>\n`.
pub fn unreadable_line(dir: &[u8], file: SvcFile, e: Errno) -> Vec<u8> {
    crate::msg::line(&[b"runsv ", dir, b": warning: unable to read ", file.name().as_bytes(), b": "], Some(e))
}

/// A file's outcome: the value to use, and the warning when the content was not valid
/// (the value is then the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Setting<T> {
    /// What the service gets.
    pub value: T,
    /// Set when the file's content was rejected.
    pub warning: Option<Warning>,
}

/// (name without `SIG`, Linux number, signal): the table names and numbers resolve in —
/// the signals runit's `sv` can send (`sv term`, ... `sv kill`), the only ones a
/// `down-signal` may name, so a stop is always something `sv` could have done.
const SIGNALS: [(&[u8], u32, Sig); 10] = [
    (b"HUP", 1, Sig::Hup),
    (b"INT", 2, Sig::Int),
    (b"QUIT", 3, Sig::Quit),
    (b"KILL", 9, Sig::Kill),
    (b"USR1", 10, Sig::Usr1),
    (b"USR2", 12, Sig::Usr2),
    (b"ALRM", 14, Sig::Alrm),
    (b"TERM", 15, Sig::Term),
    (b"CONT", 18, Sig::Cont),
    (b"STOP", 19, Sig::Stop),
];

/// s6 reads at most this many bytes of a signal file.
const SIGNAL_FILE_MAX: usize = 15;
/// s6's `S6_MAX_DEATH_TALLY`: larger `max-death-tally` values are clamped to it.
pub const MAX_DEATH_TALLY: u32 = 4096;

/// The content s6 looks at: up to the first newline.
fn first_line(content: &[u8]) -> &[u8] {
    content.split(|&b| b == b'\n').next().unwrap_or(&[])
}

/// A plain decimal unsigned 32-bit number (skalibs' `uint0_scan` on a whole line).
fn number(content: &[u8]) -> Result<u32, Problem> {
    let line = first_line(content);
    if line.is_empty() {
        return Err(Problem::Empty);
    }
    if !line.iter().all(u8::is_ascii_digit) {
        return Err(Problem::NotANumber);
    }
    let mut v: u32 = 0;
    for &d in line {
        v = v.checked_mul(10).and_then(|v| v.checked_add(u32::from(d - b'0'))).ok_or(Problem::TooBig)?;
    }
    Ok(v)
}

fn setting<T>(file: SvcFile, parsed: Result<T, Problem>, default: T) -> Setting<T> {
    match parsed {
        Ok(value) => Setting { value, warning: None },
        Err(problem) => Setting { value: default, warning: Some(Warning { file, problem }) },
    }
}

/// `down-signal`: the signal that stops the service; SIGTERM (runit's) when the file is
/// missing or names anything else than what `sv` can send.
pub fn down_signal(content: Option<&[u8]>) -> Setting<Sig> {
    let Some(content) = content else { return Setting { value: Sig::Term, warning: None } };
    let head = &content[..content.len().min(SIGNAL_FILE_MAX)];
    let line = first_line(head);
    let parsed = if line.is_empty() {
        Err(Problem::Empty)
    } else if line.iter().all(u8::is_ascii_digit) {
        let n = number(line).ok();
        SIGNALS.iter().find(|s| Some(s.1) == n).map(|s| s.2).ok_or(Problem::UnknownSignal)
    } else {
        let bare = match line {
            [s, i, g, rest @ ..] if [*s, *i, *g].eq_ignore_ascii_case(b"SIG") => rest,
            _ => line,
        };
        SIGNALS.iter().find(|s| s.0.eq_ignore_ascii_case(bare)).map(|s| s.2).ok_or(Problem::UnknownSignal)
    };
    setting(SvcFile::DownSignal, parsed, Sig::Term)
}

/// `timeout-kill`: milliseconds between the stop signal and SIGKILL; `None` = never
/// (runit's behaviour): a missing file, `0`, or invalid content.
pub fn timeout_kill(content: Option<&[u8]>) -> Setting<Option<u32>> {
    let Some(content) = content else { return Setting { value: None, warning: None } };
    setting(SvcFile::TimeoutKill, number(content).map(|ms| (ms > 0).then_some(ms)), None)
}

/// `timeout-finish`: milliseconds `./finish` may run; `None` = unlimited, runit's
/// behaviour, for a missing file, `0`, or invalid content (s6 would use 5000 for the
/// last; runit-rs keeps runit's default for a service whose file is wrong).
pub fn timeout_finish(content: Option<&[u8]>) -> Setting<Option<u32>> {
    let Some(content) = content else { return Setting { value: None, warning: None } };
    setting(SvcFile::TimeoutFinish, number(content).map(|ms| (ms > 0).then_some(ms)), None)
}

/// `max-death-tally`: how many deaths to remember, clamped to [`MAX_DEATH_TALLY`] as s6
/// does; `None` = no tally (runit's behaviour) for a missing file or invalid content.
pub fn max_death_tally(content: Option<&[u8]>) -> Setting<Option<u32>> {
    let Some(content) = content else { return Setting { value: None, warning: None } };
    setting(SvcFile::MaxDeathTally, number(content).map(|n| Some(n.min(MAX_DEATH_TALLY))), None)
}

/// The longest restart delay or give-up window a file may ask for: one day. A service
/// restarted less often than that is in effect given up, which has its own files.
pub const MAX_RESTART_MS: u32 = 86_400_000;
/// The most steps `restart-steps` may ask for (systemd has no bound; the growth is
/// computed per step, so it is kept small).
pub const MAX_RESTART_STEPS: u32 = 1000;
/// runit's restart throttle, the floor of every restart delay.
pub const THROTTLE_MS: u32 = 1000;

/// A delay in milliseconds between runit's throttle and [`MAX_RESTART_MS`].
fn delay_ms(content: &[u8]) -> Result<u32, Problem> {
    match number(content)? {
        ms if ms < THROTTLE_MS => Err(Problem::BelowThrottle),
        ms if ms > MAX_RESTART_MS => Err(Problem::TooBig),
        ms => Ok(ms),
    }
}

/// `restart-delay` (dinit's name; the pause after the death, as systemd's `RestartSec=`
/// and runit's throttle): milliseconds before restarting after a quick death; `None` =
/// runit's throttle (missing or invalid; under 1000 is invalid: delays never go below it).
pub fn restart_delay(content: Option<&[u8]>) -> Setting<Option<u32>> {
    let Some(content) = content else { return Setting { value: None, warning: None } };
    setting(SvcFile::RestartDelay, delay_ms(content).map(Some), None)
}

/// `restart-steps` (systemd's `RestartSteps=`): in how many restarts the delay grows from
/// `restart-delay` to `restart-max-delay`; `0` (runit's, and missing or invalid) = no
/// growth.
pub fn restart_steps(content: Option<&[u8]>) -> Setting<u32> {
    let Some(content) = content else { return Setting { value: 0, warning: None } };
    let parsed = number(content).and_then(|n| if n > MAX_RESTART_STEPS { Err(Problem::TooBig) } else { Ok(n) });
    setting(SvcFile::RestartSteps, parsed, 0)
}

/// `restart-max-delay` (systemd's `RestartMaxDelaySec=`): milliseconds the growing delay
/// stops at; `None` = no growth (missing or invalid).
pub fn restart_max_delay(content: Option<&[u8]>) -> Setting<Option<u32>> {
    let Some(content) = content else { return Setting { value: None, warning: None } };
    setting(SvcFile::RestartMaxDelay, delay_ms(content).map(Some), None)
}

/// `restart-limit-interval` (dinit's name, in milliseconds): the window in which
/// `restart-limit-count` restarts are allowed; `None` = dinit's 10 s when missing or
/// invalid; `0` = no limit (as in dinit).
pub fn restart_limit_interval(content: Option<&[u8]>) -> Setting<Option<u32>> {
    let Some(content) = content else { return Setting { value: None, warning: None } };
    let parsed = number(content).and_then(|n| if n > MAX_RESTART_MS { Err(Problem::TooBig) } else { Ok(Some(n)) });
    setting(SvcFile::RestartLimitInterval, parsed, None)
}

/// `restart-limit-count` (dinit's name): automatic restarts allowed in the window before
/// runsv gives up; `None` = never give up (runit's; missing, `0` as in dinit, or invalid).
pub fn restart_limit_count(content: Option<&[u8]>) -> Setting<Option<u32>> {
    let Some(content) = content else { return Setting { value: None, warning: None } };
    setting(SvcFile::RestartLimitCount, number(content).map(|n| (n > 0).then_some(n)), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warned<T>(s: &Setting<T>) -> Option<Problem> {
        s.warning.map(|w| w.problem)
    }

    #[test]
    fn missing_files_mean_runit() {
        assert_eq!(down_signal(None), Setting { value: Sig::Term, warning: None });
        assert_eq!(timeout_kill(None), Setting { value: None, warning: None });
        assert_eq!(timeout_finish(None), Setting { value: None, warning: None });
        assert_eq!(max_death_tally(None), Setting { value: None, warning: None });
    }

    #[test]
    fn numbers_as_s6_reads_them() {
        assert_eq!(timeout_kill(Some(b"5000")).value, Some(5000));
        assert_eq!(timeout_kill(Some(b"5000\n")).value, Some(5000));
        assert_eq!(timeout_kill(Some(b"5000\nanything after the line")).value, Some(5000));
        assert_eq!(timeout_kill(Some(b"0")), Setting { value: None, warning: None }, "0 = never");
        assert_eq!(timeout_finish(Some(b"0\n")), Setting { value: None, warning: None }, "0 = unlimited");
        assert_eq!(timeout_finish(Some(b"250")).value, Some(250));
        assert_eq!(timeout_kill(Some(b"4294967295")).value, Some(u32::MAX));
        assert_eq!(timeout_kill(Some(b"007")).value, Some(7));
    }

    #[test]
    fn bad_numbers_warn_and_keep_runits_default() {
        for bad in [&b" 5000"[..], b"5000 ", b"5s", b"-5", b"+5", b"0x10", b"1.5", b"5000\r\n", b"\xff", b"five"] {
            let s = timeout_kill(Some(bad));
            assert_eq!((s.value, warned(&s)), (None, Some(Problem::NotANumber)), "{bad:?}");
            let s = timeout_finish(Some(bad));
            assert_eq!((s.value, warned(&s)), (None, Some(Problem::NotANumber)), "{bad:?}");
            let s = max_death_tally(Some(bad));
            assert_eq!((s.value, warned(&s)), (None, Some(Problem::NotANumber)), "{bad:?}");
        }
        for empty in [&b""[..], b"\n", b"\n5000"] {
            assert_eq!(warned(&timeout_kill(Some(empty))), Some(Problem::Empty), "{empty:?}");
        }
        for huge in [&b"4294967296"[..], b"99999999999999999999999999"] {
            let s = timeout_finish(Some(huge));
            assert_eq!((s.value, warned(&s)), (None, Some(Problem::TooBig)), "{huge:?}");
        }
    }

    #[test]
    fn death_tally_is_clamped_like_s6() {
        assert_eq!(max_death_tally(Some(b"100")).value, Some(100));
        assert_eq!(max_death_tally(Some(b"0")).value, Some(0), "0 = keep no records");
        assert_eq!(max_death_tally(Some(b"4096")).value, Some(4096));
        assert_eq!(max_death_tally(Some(b"4097")), Setting { value: Some(MAX_DEATH_TALLY), warning: None });
        assert_eq!(max_death_tally(Some(b"4294967295")).value, Some(MAX_DEATH_TALLY));
    }

    #[test]
    fn signal_names_and_numbers() {
        for (text, sig) in [
            (&b"TERM"[..], Sig::Term),
            (b"SIGTERM\n", Sig::Term),
            (b"sigterm", Sig::Term),
            (b"Term", Sig::Term),
            (b"15", Sig::Term),
            (b"HUP", Sig::Hup),
            (b"SIGINT", Sig::Int),
            (b"3", Sig::Quit),
            (b"KILL", Sig::Kill),
            (b"USR1", Sig::Usr1),
            (b"SIGUSR2", Sig::Usr2),
            (b"alrm", Sig::Alrm),
            (b"CONT", Sig::Cont),
            (b"19", Sig::Stop),
        ] {
            assert_eq!(down_signal(Some(text)), Setting { value: sig, warning: None }, "{text:?}");
        }
    }

    #[test]
    fn unknown_signals_warn_and_keep_term() {
        for bad in
            [&b"WINCH"[..], b"SIGRTMIN", b"SIG", b"SIGSIGTERM", b"0", b"28", b"65", b"99999999999", b" TERM", b"TERM ", b"-15", b"ALARM"]
        {
            let s = down_signal(Some(bad));
            assert_eq!((s.value, warned(&s)), (Sig::Term, Some(Problem::UnknownSignal)), "{bad:?}");
        }
        assert_eq!(warned(&down_signal(Some(b"\nTERM"))), Some(Problem::Empty));
        // s6 reads at most 15 bytes: a name cut there is not a name.
        assert_eq!(warned(&down_signal(Some(b"TERM           x"))), Some(Problem::UnknownSignal));
        assert_eq!(down_signal(Some(b"SIGTERM\n and a long comment after the line")).value, Sig::Term);
    }

    #[test]
    fn warning_lines() {
        let w = Warning { file: SvcFile::TimeoutKill, problem: Problem::NotANumber };
        assert_eq!(w.line(b"web"), b"runsv web: warning: invalid timeout-kill: not a number, using the default\n");
        let w = down_signal(Some(b"WINCH")).warning.unwrap();
        assert_eq!(w.line(b"web"), b"runsv web: warning: invalid down-signal: not a signal sv can send, using the default\n");
        assert_eq!(
            unreadable_line(b"web", SvcFile::TimeoutFinish, Errno::EACCES),
            b"runsv web: warning: unable to read timeout-finish: access denied\n"
        );
    }

    #[test]
    fn backoff_files_missing_mean_runit() {
        assert_eq!(restart_delay(None), Setting { value: None, warning: None });
        assert_eq!(restart_steps(None), Setting { value: 0, warning: None });
        assert_eq!(restart_max_delay(None), Setting { value: None, warning: None });
        assert_eq!(restart_limit_interval(None), Setting { value: None, warning: None });
        assert_eq!(restart_limit_count(None), Setting { value: None, warning: None });
    }

    #[test]
    fn backoff_files_valid() {
        assert_eq!(restart_delay(Some(b"1000\n")).value, Some(1000));
        assert_eq!(restart_delay(Some(b"86400000")).value, Some(MAX_RESTART_MS));
        assert_eq!(restart_steps(Some(b"5")).value, 5);
        assert_eq!(restart_steps(Some(b"0")), Setting { value: 0, warning: None });
        assert_eq!(restart_steps(Some(b"1000")).value, 1000);
        assert_eq!(restart_max_delay(Some(b"60000")).value, Some(60000));
        assert_eq!(restart_limit_interval(Some(b"0")), Setting { value: Some(0), warning: None }, "0 = no limit");
        assert_eq!(restart_limit_interval(Some(b"10000")).value, Some(10000));
        assert_eq!(restart_limit_count(Some(b"3")).value, Some(3));
        assert_eq!(restart_limit_count(Some(b"0")), Setting { value: None, warning: None }, "0 = no limit (dinit)");
    }

    #[test]
    fn backoff_files_bad_values_warn_and_keep_runit() {
        for bad in [&b"-5"[..], b"5s", b"1.5", b" 2000", b"2000 ", b"0x10", b"ten"] {
            assert_eq!(warned(&restart_delay(Some(bad))), Some(Problem::NotANumber), "{bad:?}");
            assert_eq!(restart_delay(Some(bad)).value, None);
            assert_eq!(restart_steps(Some(bad)).value, 0);
            assert_eq!(restart_max_delay(Some(bad)).value, None);
            assert_eq!(restart_limit_interval(Some(bad)).value, None);
            assert_eq!(restart_limit_count(Some(bad)).value, None);
            assert_eq!(warned(&restart_limit_count(Some(bad))), Some(Problem::NotANumber));
        }
        // Under the 1 s throttle (a dinit value in seconds, say): warned, runit's throttle.
        for low in [&b"0"[..], b"5", b"999"] {
            let s = restart_delay(Some(low));
            assert_eq!((s.value, warned(&s)), (None, Some(Problem::BelowThrottle)), "{low:?}");
            assert_eq!(warned(&restart_max_delay(Some(low))), Some(Problem::BelowThrottle));
        }
        for huge in [&b"86400001"[..], b"4294967295", b"99999999999999999999"] {
            assert_eq!(warned(&restart_delay(Some(huge))), Some(Problem::TooBig), "{huge:?}");
            assert_eq!(warned(&restart_max_delay(Some(huge))), Some(Problem::TooBig));
            assert_eq!(warned(&restart_limit_interval(Some(huge))), Some(Problem::TooBig));
        }
        assert_eq!(warned(&restart_steps(Some(b"1001"))), Some(Problem::TooBig));
        assert_eq!(warned(&restart_limit_count(Some(b"99999999999"))), Some(Problem::TooBig));
        assert_eq!(warned(&restart_limit_count(Some(b""))), Some(Problem::Empty));
        let w = restart_delay(Some(b"5")).warning.unwrap();
        assert_eq!(w.line(b"web"), b"runsv web: warning: invalid restart-delay: less than runit's 1000 ms throttle, using the default\n");
    }
}
