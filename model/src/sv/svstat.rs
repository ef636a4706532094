//! `sv -o field,field status`: s6-svstat's machine output (spec/additions.md §2): the
//! requested values in order, separated by one space, one line per service. s6's field
//! names and spellings, plus `state`, `readiness`, `restarts` and `quickdeaths`.

use alloc::vec::Vec;

use crate::record::ExitHow;
use crate::status::{push_decimal, push_signed, RunState, Want};
use crate::sv::view::{secs_since, SlotView};
use crate::time::Wall;

/// One `-o` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `true` iff running `./run`.
    Up,
    /// `true` iff want is up.
    WantedUp,
    /// `true` iff `down` does not exist.
    NormallyUp,
    /// `true` iff ready (and running).
    Ready,
    /// `true` iff paused and a process is there.
    Paused,
    /// pid if up, else `-1`.
    Pid,
    /// Same as pid (`./run` is a session and group leader).
    Pgid,
    /// Last exit status; `-1` if up, unknown, or killed by a signal.
    ExitCode,
    /// `SIG<name>` of the last killing signal, else `NA`.
    Signal,
    /// Its number, else `-1`.
    Signum,
    /// TAI64N label of the last up/down change.
    UpDownSince,
    /// TAI64N label of readiness, else `NA`.
    ReadySince,
    /// Whole seconds since the last up/down change.
    UpDownFor,
    /// Whole seconds since readiness, else `-1`.
    ReadyFor,
    /// `down`, `run`, `finish` (`NA` for a foreign byte).
    State,
    /// Readiness protocol word, else `NA`.
    Readiness,
    /// Restarts, else `-1`.
    Restarts,
    /// Consecutive quick deaths, else `-1`.
    QuickDeaths,
    /// `true` iff runsv gave up restarting it (backoff; `false` without a record).
    GivenUp,
}

const NAMES: [(&str, Field); 19] = [
    ("up", Field::Up),
    ("wantedup", Field::WantedUp),
    ("normallyup", Field::NormallyUp),
    ("ready", Field::Ready),
    ("paused", Field::Paused),
    ("pid", Field::Pid),
    ("pgid", Field::Pgid),
    ("exitcode", Field::ExitCode),
    ("signal", Field::Signal),
    ("signum", Field::Signum),
    ("updownsince", Field::UpDownSince),
    ("readysince", Field::ReadySince),
    ("updownfor", Field::UpDownFor),
    ("readyfor", Field::ReadyFor),
    ("state", Field::State),
    ("readiness", Field::Readiness),
    ("restarts", Field::Restarts),
    ("quickdeaths", Field::QuickDeaths),
    ("givenup", Field::GivenUp),
];

/// At most this many fields per call (s6-svstat's limit).
pub const FIELDS_MAX: usize = 16;

/// Parses `-o`'s argument; `Err(word)` names the first unknown (or the 17th) field.
pub fn parse_fields(arg: &[u8]) -> Result<Vec<Field>, &[u8]> {
    let mut out = Vec::new();
    for word in arg.split(|&c| c == b',') {
        let Some(&(_, f)) = NAMES.iter().find(|(n, _)| n.as_bytes() == word) else { return Err(word) };
        if out.len() == FIELDS_MAX {
            return Err(word);
        }
        out.push(f);
    }
    Ok(out)
}

/// Linux signal names without `SIG` (1..=31).
pub fn signal_name(n: u8) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT",
        "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    NAMES.get((n as usize).wrapping_sub(1)).copied()
}

/// The line for one slot.
pub fn fields_line(s: &SlotView, fields: &[Field], now: Wall) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * fields.len());
    let up = s.state == Some(RunState::Run) && s.pid != 0;
    let signal = match s.last_exit.map(|e| e.how) {
        Some(ExitHow::Signal(n)) => Some(n),
        _ => None,
    };
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        let b = |v: bool| -> &'static [u8] {
            if v {
                b"true"
            } else {
                b"false"
            }
        };
        match f {
            Field::Up => out.extend_from_slice(b(up)),
            Field::WantedUp => out.extend_from_slice(b(s.wanted == Some(Want::Up))),
            Field::NormallyUp => out.extend_from_slice(b(s.normally_up)),
            Field::Ready => out.extend_from_slice(b(up && s.ready)),
            Field::Paused => out.extend_from_slice(b(s.paused && s.pid != 0)),
            Field::Pid | Field::Pgid => push_signed(&mut out, if up { s.pid as i64 } else { -1 }),
            Field::ExitCode => match s.last_exit.map(|e| e.how) {
                Some(ExitHow::Code(c)) if !up => push_decimal(&mut out, c as u64),
                _ => out.extend_from_slice(b"-1"),
            },
            Field::Signal => match signal.filter(|_| !up) {
                Some(n) => {
                    out.extend_from_slice(b"SIG");
                    match signal_name(n) {
                        Some(name) => out.extend_from_slice(name.as_bytes()),
                        None => push_decimal(&mut out, n as u64),
                    }
                }
                None => out.extend_from_slice(b"NA"),
            },
            Field::Signum => push_signed(&mut out, signal.filter(|_| !up).map_or(-1, |n| n as i64)),
            Field::UpDownSince => out.extend_from_slice(&s.since.to_text()),
            Field::ReadySince => match s.ready_since {
                Some(t) => out.extend_from_slice(&t.to_text()),
                None => out.extend_from_slice(b"NA"),
            },
            Field::UpDownFor => push_decimal(&mut out, secs_since(s.since, now)),
            Field::ReadyFor => push_signed(&mut out, s.ready_since.map_or(-1, |t| secs_since(t, now) as i64)),
            Field::State => out.extend_from_slice(s.state.map_or("NA", |st| st.word()).as_bytes()),
            Field::Readiness => out.extend_from_slice(s.readiness.map_or("NA", |p| p.word()).as_bytes()),
            Field::Restarts => push_signed(&mut out, s.restarts.map_or(-1, |n| n as i64)),
            Field::QuickDeaths => push_signed(&mut out, s.quick_deaths.map_or(-1, |n| n as i64)),
            Field::GivenUp => out.extend_from_slice(b(s.given_up == Some(true))),
        }
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::LastExit;
    use crate::sv::view::slot_view;
    use crate::time::Tai64n;
    use alloc::string::String;

    fn line(s: &SlotView, arg: &str, now: i64) -> String {
        let f = parse_fields(arg.as_bytes()).unwrap();
        String::from_utf8(fields_line(s, &f, Wall { unix_secs: now, nanos: 0 })).unwrap()
    }

    fn status(pid: u32, state: RunState) -> crate::status::StatusRecord {
        crate::status::StatusRecord::new(Tai64n::from_wall(Wall { unix_secs: 100, nanos: 0 }), pid, false, Want::Up, false, state)
    }

    #[test]
    fn test_svstat_fields_from_20_bytes() {
        let v = slot_view(&status(42, RunState::Run), true, None);
        assert_eq!(line(&v, "up,wantedup,normallyup,ready,paused,pid,pgid", 105), "true true true true false 42 42\n");
        assert_eq!(line(&v, "exitcode,signal,signum,updownfor,readyfor", 105), "-1 NA -1 5 5\n");
        assert_eq!(line(&v, "state,readiness,restarts,quickdeaths", 105), "run NA -1 -1\n");
        assert_eq!(line(&v, "updownsince", 105), "@400000000000006e000001f4\n");
        let d = slot_view(&status(0, RunState::Down), false, None);
        assert_eq!(line(&d, "up,ready,pid,readysince,readyfor", 105), "false false -1 NA -1\n");
    }

    #[test]
    fn test_svstat_exit_fields() {
        let mut d = slot_view(&status(0, RunState::Down), false, None);
        d.last_exit = Some(LastExit { how: ExitHow::Signal(15), at: d.since });
        assert_eq!(line(&d, "exitcode,signal,signum", 0), "-1 SIGTERM 15\n");
        d.last_exit = Some(LastExit { how: ExitHow::Signal(40), at: d.since });
        assert_eq!(line(&d, "signal", 0), "SIG40\n");
        d.last_exit = Some(LastExit { how: ExitHow::Code(3), at: d.since });
        assert_eq!(line(&d, "exitcode,signal,signum", 0), "3 NA -1\n");
        // While up, s6 reports no exit.
        let mut u = slot_view(&status(42, RunState::Run), true, None);
        u.last_exit = Some(LastExit { how: ExitHow::Code(3), at: u.since });
        assert_eq!(line(&u, "exitcode", 0), "-1\n");
    }

    #[test]
    fn test_svstat_up_ready_paused_need_a_running_process() {
        let mut fin = slot_view(&status(9, RunState::Finish), true, None);
        fin.paused = true;
        assert_eq!(line(&fin, "up,pid,paused", 0), "false -1 true\n");
        let mut down = slot_view(&status(0, RunState::Down), true, None);
        down.paused = true;
        assert_eq!(line(&down, "paused", 0), "false\n");
        let mut not_ready = slot_view(&status(42, RunState::Run), true, None);
        not_ready.ready = false;
        not_ready.ready_since = None;
        assert_eq!(line(&not_ready, "up,ready", 0), "true false\n");
        // A record's `ready` on a slot that is not running is not shown as ready.
        let mut stale = slot_view(&status(9, RunState::Finish), true, None);
        stale.ready = true;
        assert_eq!(line(&stale, "ready", 0), "false\n");
    }

    #[test]
    fn test_svstat_parse_fields() {
        assert_eq!(parse_fields(b"up,ready"), Ok(alloc::vec![Field::Up, Field::Ready]));
        assert_eq!(parse_fields(b"up,bogus"), Err(&b"bogus"[..]));
        assert_eq!(parse_fields(b""), Err(&b""[..]));
        assert_eq!(parse_fields(b"up,"), Err(&b""[..]));
        let sixteen = ["up"; 16].join(",");
        assert_eq!(parse_fields(sixteen.as_bytes()).map(|v| v.len()), Ok(16));
        let seventeen = ["up"; 17].join(",");
        assert_eq!(parse_fields(seventeen.as_bytes()), Err(&b"up"[..]));
        assert_eq!(signal_name(1), Some("HUP"));
        assert_eq!(signal_name(31), Some("SYS"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(32), None);
    }
}
