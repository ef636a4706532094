//! What sv's machine output knows about one service (docs/readiness.md §4): the 20-byte
//! `status`, the `down` file, and the extended record `status.ext` when runsv writes one
//! and it agrees with the 20 bytes. Fields the 20 bytes cannot give are `None` (JSON
//! `null`), so the same output works against runit's own runsv.

use alloc::vec::Vec;

use crate::readiness::Protocol;
use crate::record::{self, LastExit, SlotRecord};
use crate::status::{RunState, StatusRecord, Want};
use crate::sv::line::age_secs;
use crate::time::{Tai64n, Wall};

/// Where a view's fields came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// `status.ext` (agreeing with the 20 bytes).
    Record,
    /// The 20 bytes alone.
    Status,
}

impl Source {
    /// The word in the JSON `source` field.
    pub fn word(self) -> &'static str {
        match self {
            Source::Record => "status.ext",
            Source::Status => "status",
        }
    }
}

/// One slot, as sv reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SlotView {
    /// Where the fields came from.
    pub source: Source,
    /// Byte 19 decoded (`None`: a value runsv never writes).
    pub state: Option<RunState>,
    /// Bytes 12–15.
    pub pid: u32,
    /// Bytes 0–11.
    pub since: Tai64n,
    /// From the record, else byte 17 (`u` up, `d` down, anything else `None`).
    pub wanted: Option<Want>,
    /// `down` does not exist (sv's own `stat`, as for the status line).
    pub normally_up: bool,
    /// Byte 16.
    pub paused: bool,
    /// Byte 18.
    pub got_term: bool,
    /// Declared readiness protocols (record only).
    pub readiness: Option<Protocol>,
    /// Ready; without a record: `state = run` (s6's rule for services without a protocol).
    pub ready: bool,
    /// When it became ready; without a record: `since` while running.
    pub ready_since: Option<Tai64n>,
    /// Last exit (record only).
    pub last_exit: Option<LastExit>,
    /// Restarts since runsv started (record only).
    pub restarts: Option<u64>,
    /// Consecutive quick deaths (record only).
    pub quick_deaths: Option<u64>,
    /// sd_notify `STATUS=` text (record only; `None` when empty).
    pub status_text: Option<Vec<u8>>,
    /// runsv gave up restarting it (record of a service with the backoff files only).
    pub given_up: Option<bool>,
}

/// A service: its name as given and its slots.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceView {
    /// The service argument exactly as given.
    pub name: Vec<u8>,
    /// The main slot.
    pub main: SlotView,
    /// The log slot, when `log/` exists and its status could be read.
    pub log: Option<SlotView>,
}

/// The view of a slot from the 20 bytes, `down`, and the record's slot if it agrees.
pub fn slot_view(status: &StatusRecord, normally_up: bool, ext: Option<&SlotRecord>) -> SlotView {
    if let Some(r) = ext.filter(|r| record::agrees(r, status)) {
        return SlotView {
            source: Source::Record,
            state: Some(r.state),
            pid: r.pid,
            since: r.since,
            wanted: Some(r.wanted),
            normally_up,
            paused: r.paused,
            got_term: r.got_term,
            readiness: Some(r.readiness),
            ready: r.ready,
            ready_since: r.ready_since,
            last_exit: r.last_exit,
            restarts: Some(r.restarts),
            quick_deaths: Some(r.quick_deaths),
            status_text: if r.status_text.is_empty() { None } else { Some(r.status_text.clone()) },
            given_up: r.backoff.map(|b| b.given_up),
        };
    }
    let state = status.state();
    let running = state == Some(RunState::Run) && status.pid != 0;
    SlotView {
        source: Source::Status,
        state,
        pid: status.pid,
        since: status.stamp,
        wanted: match status.want {
            b'u' => Some(Want::Up),
            b'd' => Some(Want::Down),
            _ => None,
        },
        normally_up,
        paused: status.paused,
        got_term: status.got_term,
        readiness: None,
        ready: running,
        ready_since: if running { Some(status.stamp) } else { None },
        last_exit: None,
        restarts: None,
        quick_deaths: None,
        status_text: None,
        given_up: None,
    }
}

/// Whether `status.ext` says the service was given up (backoff, issue 11): only a record
/// that decodes, agrees with the 20 bytes and has `given_up=1`. The status line then ends
/// in `, given up`; without such a record it is runit's, byte for byte.
pub fn given_up(status: &StatusRecord, ext: Option<&[u8]>) -> bool {
    let Some(rec) = ext.and_then(|b| record::decode(b).ok()) else { return false };
    record::agrees(&rec.main, status) && rec.main.backoff.is_some_and(|b| b.given_up)
}

/// The want the 20 bytes cannot tell apart: runsv writes want *exit* as `d` in `status`
/// but as `, want exit` in the `stat` line. Used for the fallback view when the `stat`
/// line (read just after the 20 bytes) names the same state; `None` otherwise.
pub fn want_exit_from_stat(stat: &[u8], status: &StatusRecord) -> bool {
    let Some(state) = status.state() else { return false };
    let line = stat.strip_suffix(b"\n").unwrap_or(stat);
    let first = line.split(|&c| c == b',').next().unwrap_or(b"");
    first == state.word().as_bytes() && status.want == b'd' && line.ends_with(b", want exit")
}

/// A service that has died quickly must stay up this long before a probe calls it
/// healthy again (docs/readiness.md §2 rule 11 uses the same 10 s to call a death quick).
pub const QUICK_DEATH_SECS: u64 = 10;

/// Whole seconds since `t` (0 if in the future), as sv's status line counts.
pub fn secs_since(t: Tai64n, now: Wall) -> u64 {
    let probe = StatusRecord { stamp: t, pid: 0, paused: false, want: 0, got_term: false, state_byte: 0 };
    age_secs(&probe, now)
}

/// The honest probe (`sv -r N status`): running, wanted up, not paused, no TERM pending,
/// ready, up for at least `min_secs`, and — after a quick death — up for at least
/// [`QUICK_DEATH_SECS`].
pub fn healthy(v: &SlotView, min_secs: u64, now: Wall) -> bool {
    let up_for = secs_since(v.since, now);
    v.state == Some(RunState::Run)
        && v.pid != 0
        && v.wanted == Some(Want::Up)
        && !v.paused
        && !v.got_term
        && v.ready
        && up_for >= min_secs
        && (v.quick_deaths.unwrap_or(0) == 0 || up_for >= QUICK_DEATH_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ExitHow;

    fn wall(s: i64) -> Wall {
        Wall { unix_secs: s, nanos: 0 }
    }
    fn st(at: i64, pid: u32, want: u8, state: RunState) -> StatusRecord {
        StatusRecord::new(Tai64n::from_wall(wall(at)), pid, false, if want == b'u' { Want::Up } else { Want::Down }, false, state)
    }
    fn rec(s: &StatusRecord, ready: bool, quick: u64) -> SlotRecord {
        SlotRecord {
            state: s.state().unwrap(),
            pid: s.pid,
            since: s.stamp,
            wanted: if s.want == b'u' { Want::Up } else { Want::Down },
            normally_up: true,
            paused: s.paused,
            got_term: s.got_term,
            readiness: Protocol::NotificationFd,
            ready,
            ready_since: if ready { Some(s.stamp) } else { None },
            last_exit: Some(LastExit { how: ExitHow::Code(1), at: s.stamp }),
            restarts: 3,
            quick_deaths: quick,
            status_text: alloc::vec![],
            backoff: None,
        }
    }

    #[test]
    fn test_view_fallback_from_20_bytes() {
        let s = st(100, 42, b'u', RunState::Run);
        let v = slot_view(&s, true, None);
        assert_eq!(v.source, Source::Status);
        assert!(v.ready && v.ready_since == Some(s.stamp));
        assert_eq!((v.restarts, v.last_exit, v.readiness), (None, None, None));
        let d = slot_view(&st(100, 0, b'd', RunState::Down), false, None);
        assert!(!d.ready && d.ready_since.is_none() && d.wanted == Some(Want::Down));
        let f = slot_view(&st(100, 9, b'u', RunState::Finish), true, None);
        assert!(!f.ready);
        let mut odd = s;
        odd.want = b'?';
        odd.state_byte = 9;
        let o = slot_view(&odd, true, None);
        assert_eq!((o.wanted, o.state, o.ready), (None, None, false));
    }

    #[test]
    fn test_view_uses_record_only_when_it_agrees() {
        let s = st(100, 42, b'u', RunState::Run);
        let r = rec(&s, false, 0);
        let v = slot_view(&s, true, Some(&r));
        assert_eq!(v.source, Source::Record);
        assert!(!v.ready);
        assert_eq!(v.restarts, Some(3));
        let newer = st(101, 43, b'u', RunState::Run);
        let v = slot_view(&newer, true, Some(&r));
        assert_eq!(v.source, Source::Status);
        assert!(v.ready && v.pid == 43);
    }

    #[test]
    fn test_view_want_exit_from_stat() {
        let run_d = st(100, 42, b'd', RunState::Run);
        assert!(want_exit_from_stat(b"run, want exit\n", &run_d));
        assert!(want_exit_from_stat(b"run, got TERM, want exit\n", &run_d));
        assert!(!want_exit_from_stat(b"run, want down\n", &run_d));
        assert!(!want_exit_from_stat(b"finish, want exit\n", &run_d), "stale stat line");
        assert!(!want_exit_from_stat(b"run, want exit\n", &st(100, 42, b'u', RunState::Run)));
        assert!(!want_exit_from_stat(b"", &run_d));
    }

    #[test]
    fn test_view_probe() {
        let s = st(100, 42, b'u', RunState::Run);
        let ready = slot_view(&s, true, Some(&rec(&s, true, 0)));
        assert!(healthy(&ready, 5, wall(105)));
        assert!(!healthy(&ready, 5, wall(104)));
        assert!(healthy(&ready, 0, wall(100)));
        let not_ready = slot_view(&s, true, Some(&rec(&s, false, 0)));
        assert!(!healthy(&not_ready, 0, wall(1000)));
        // After quick deaths: 10 s of uptime needed whatever N is.
        let looping = slot_view(&s, true, Some(&rec(&s, true, 2)));
        assert!(!healthy(&looping, 2, wall(109)));
        assert!(healthy(&looping, 2, wall(110)));
        // The 20-byte fallback: up for N.
        let plain = slot_view(&s, true, None);
        assert!(healthy(&plain, 3, wall(103)) && !healthy(&plain, 4, wall(103)));
        for bad in [st(100, 42, b'd', RunState::Run), st(100, 0, b'u', RunState::Down), st(100, 42, b'u', RunState::Finish)] {
            assert!(!healthy(&slot_view(&bad, true, None), 0, wall(200)), "{bad:?}");
        }
        let mut paused = s;
        paused.paused = true;
        assert!(!healthy(&slot_view(&paused, true, None), 0, wall(200)));
        let mut term = s;
        term.got_term = true;
        assert!(!healthy(&slot_view(&term, true, None), 0, wall(200)));
        // A stamp in the future counts as 0 s.
        assert!(!healthy(&plain, 1, wall(50)));
    }
}
