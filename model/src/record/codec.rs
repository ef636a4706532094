//! `status.ext` text: `version=1`, then one `key=value` line per field in [`KEYS`] order,
//! then the same keys prefixed `log_` when there is a log slot. Every line ends in `\n`.

use alloc::vec::Vec;

use super::escape::{escape, unescape};
use super::{BackoffRecord, ExitHow, LastExit, Record, SlotRecord, VERSION};
use crate::readiness::{strict_decimal, Protocol};
use crate::status::{push_decimal, push_signed, RunState, Want};
use crate::time::{Tai64n, TAI64_UNIX_EPOCH};

/// The slot keys, in the order they are written.
pub const KEYS: [&str; 16] = [
    "state",
    "pid",
    "since",
    "wanted",
    "normally_up",
    "paused",
    "got_term",
    "readiness",
    "ready",
    "ready_since",
    "last_exit_code",
    "last_exit_signal",
    "last_exit_at",
    "restarts",
    "quick_deaths",
    "status_text",
];

/// The backoff keys, written after [`KEYS`] only for a service with the backoff files;
/// both or neither (a minor addition: version 1 readers ignore unknown keys).
pub const BACKOFF_KEYS: [&str; 2] = ["given_up", "restart_delay_ms"];

/// Largest record the decoder accepts (a status text of 512 bytes escaped is at most
/// 2 KiB per slot; the rest is well under 1 KiB).
pub const RECORD_MAX: usize = 16 * 1024;

const LOG_PREFIX: &str = "log_";

/// Why a record could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecodeError {
    /// 1-based line number (0: the record as a whole).
    pub line: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Longer than [`RECORD_MAX`].
    TooLarge,
    /// Empty, or the last line has no newline (a torn read).
    Unterminated,
    /// The first line is not `version=<number>`.
    NoVersion,
    /// A version this decoder does not know.
    UnsupportedVersion(u64),
    /// A line without `=`.
    NoEquals,
    /// A known key with a value of the wrong form.
    BadValue(&'static str),
    /// A known key given twice.
    Duplicate(&'static str),
    /// A key missing (for the log slot: some `log_` keys present, this one not).
    Missing(&'static str),
    /// `last_exit_*` fields that do not fit together.
    Inconsistent(&'static str),
}

/// The text of a record.
pub fn encode(rec: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"version=");
    push_decimal(&mut out, VERSION);
    out.push(b'\n');
    encode_slot(&mut out, "", &rec.main);
    if let Some(log) = &rec.log {
        encode_slot(&mut out, LOG_PREFIX, log);
    }
    out
}

fn encode_slot(out: &mut Vec<u8>, prefix: &str, s: &SlotRecord) {
    for key in KEYS {
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        match key {
            "state" => out.extend_from_slice(s.state.word().as_bytes()),
            "pid" => push_decimal(out, s.pid as u64),
            "since" => push_time(out, s.since),
            "wanted" => out.extend_from_slice(want_word(s.wanted).as_bytes()),
            "normally_up" => out.push(b'0' + s.normally_up as u8),
            "paused" => out.push(b'0' + s.paused as u8),
            "got_term" => out.push(b'0' + s.got_term as u8),
            "readiness" => out.extend_from_slice(s.readiness.word().as_bytes()),
            "ready" => out.push(b'0' + s.ready as u8),
            "ready_since" => {
                if let Some(t) = s.ready_since {
                    push_time(out, t)
                }
            }
            "last_exit_code" => {
                if let Some(LastExit { how: ExitHow::Code(c), .. }) = s.last_exit {
                    push_decimal(out, c as u64)
                }
            }
            "last_exit_signal" => {
                if let Some(LastExit { how: ExitHow::Signal(n), .. }) = s.last_exit {
                    push_decimal(out, n as u64)
                }
            }
            "last_exit_at" => {
                if let Some(e) = s.last_exit {
                    push_time(out, e.at)
                }
            }
            "restarts" => push_decimal(out, s.restarts),
            "quick_deaths" => push_decimal(out, s.quick_deaths),
            _ => out.extend_from_slice(&escape(&s.status_text)),
        }
        out.push(b'\n');
    }
    if let Some(b) = s.backoff {
        for (key, value) in BACKOFF_KEYS.into_iter().zip([u64::from(b.given_up), b.restart_delay_ms]) {
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(key.as_bytes());
            out.push(b'=');
            push_decimal(out, value);
            out.push(b'\n');
        }
    }
}

/// The word for a want, as `wanted=` and sv's JSON spell it.
pub fn want_word(w: Want) -> &'static str {
    match w {
        Want::Up => "up",
        Want::Down => "down",
        Want::Exit => "exit",
    }
}

/// `<unix seconds>.<9 digits>`: the exact value of a TAI64N stamp (nanoseconds below
/// one billion; runsv's stamps always are).
pub fn push_time(out: &mut Vec<u8>, t: Tai64n) {
    debug_assert!(t.nanos < 1_000_000_000);
    push_signed(out, t.unix_secs());
    out.push(b'.');
    let mut digits = [b'0'; 9];
    let mut n = t.nanos;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits);
}

/// Inverse of [`push_time`].
pub fn parse_time(v: &[u8]) -> Option<Tai64n> {
    let dot = v.iter().position(|&c| c == b'.')?;
    let (int, frac) = (&v[..dot], &v[dot + 1..]);
    let (neg, digits) = match int.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, int),
    };
    let mag = strict_decimal(digits)?;
    let unix: i64 = if neg { 0i64.checked_sub_unsigned(mag)? } else { i64::try_from(mag).ok()? };
    if frac.len() != 9 {
        return None;
    }
    let nanos = strict_decimal(frac)? as u32;
    Some(Tai64n { secs: TAI64_UNIX_EPOCH.wrapping_add(unix as u64), nanos })
}

/// Decodes a record. Unknown keys are ignored (a later minor addition); everything else
/// must be exactly as [`encode`] writes it, in any order.
pub fn decode(text: &[u8]) -> Result<Record, DecodeError> {
    let whole = |kind| DecodeError { line: 0, kind };
    if text.len() > RECORD_MAX {
        return Err(whole(ErrorKind::TooLarge));
    }
    let Some(body) = text.strip_suffix(b"\n") else { return Err(whole(ErrorKind::Unterminated)) };
    let mut lines = body.split(|&c| c == b'\n');
    let first = lines.next().unwrap_or(b"");
    let version = first.strip_prefix(b"version=").and_then(strict_decimal).ok_or(DecodeError { line: 1, kind: ErrorKind::NoVersion })?;
    if version != VERSION {
        return Err(DecodeError { line: 1, kind: ErrorKind::UnsupportedVersion(version) });
    }
    let mut main: [Option<(&[u8], usize)>; 16] = [None; 16];
    let mut log: [Option<(&[u8], usize)>; 16] = [None; 16];
    let mut main_b: [Option<(&[u8], usize)>; 2] = [None; 2];
    let mut log_b: [Option<(&[u8], usize)>; 2] = [None; 2];
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let Some(eq) = line.iter().position(|&c| c == b'=') else { return Err(DecodeError { line: n, kind: ErrorKind::NoEquals }) };
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        let (table, btable, key) = match key.strip_prefix(LOG_PREFIX.as_bytes()) {
            Some(k) => (&mut log, &mut log_b, k),
            None => (&mut main, &mut main_b, key),
        };
        if let Some(idx) = BACKOFF_KEYS.iter().position(|k| k.as_bytes() == key) {
            if btable[idx].is_some() {
                return Err(DecodeError { line: n, kind: ErrorKind::Duplicate(BACKOFF_KEYS[idx]) });
            }
            btable[idx] = Some((value, n));
            continue;
        }
        let Some(idx) = KEYS.iter().position(|k| k.as_bytes() == key) else { continue };
        if table[idx].is_some() {
            return Err(DecodeError { line: n, kind: ErrorKind::Duplicate(KEYS[idx]) });
        }
        table[idx] = Some((value, n));
    }
    let main_rec = decode_slot(&main, &main_b, body_lines(body))?;
    let log_rec =
        if log.iter().chain(log_b.iter()).all(Option::is_none) { None } else { Some(decode_slot(&log, &log_b, body_lines(body))?) };
    Ok(Record { main: main_rec, log: log_rec })
}

fn body_lines(body: &[u8]) -> usize {
    body.split(|&c| c == b'\n').count()
}

/// The backoff keys of one slot: both (decoded) or neither.
fn decode_backoff(t: &[Option<(&[u8], usize)>; 2], last_line: usize) -> Result<Option<BackoffRecord>, DecodeError> {
    let bad = |key, line| DecodeError { line, kind: ErrorKind::BadValue(key) };
    match (t[0], t[1]) {
        (None, None) => Ok(None),
        (Some((g, gl)), Some((d, dl))) => {
            let given_up = match g {
                b"0" => false,
                b"1" => true,
                _ => return Err(bad(BACKOFF_KEYS[0], gl)),
            };
            let restart_delay_ms = strict_decimal(d).ok_or(bad(BACKOFF_KEYS[1], dl))?;
            Ok(Some(BackoffRecord { given_up, restart_delay_ms }))
        }
        (None, Some(_)) => Err(DecodeError { line: last_line, kind: ErrorKind::Missing(BACKOFF_KEYS[0]) }),
        (Some(_), None) => Err(DecodeError { line: last_line, kind: ErrorKind::Missing(BACKOFF_KEYS[1]) }),
    }
}

fn decode_slot(t: &[Option<(&[u8], usize)>; 16], b: &[Option<(&[u8], usize)>; 2], last_line: usize) -> Result<SlotRecord, DecodeError> {
    let get = |key: &'static str| -> Result<(&[u8], usize), DecodeError> {
        let idx = KEYS.iter().position(|k| *k == key).unwrap_or(0);
        t[idx].ok_or(DecodeError { line: last_line, kind: ErrorKind::Missing(key) })
    };
    fn bad(key: &'static str, line: usize) -> DecodeError {
        DecodeError { line, kind: ErrorKind::BadValue(key) }
    }
    let field = |key: &'static str| -> Result<(&[u8], usize), DecodeError> { get(key) };
    let flag = |key: &'static str| -> Result<bool, DecodeError> {
        let (v, n) = field(key)?;
        match v {
            b"0" => Ok(false),
            b"1" => Ok(true),
            _ => Err(bad(key, n)),
        }
    };
    let number = |key: &'static str| -> Result<u64, DecodeError> {
        let (v, n) = field(key)?;
        strict_decimal(v).ok_or(bad(key, n))
    };
    let time = |key: &'static str| -> Result<Tai64n, DecodeError> {
        let (v, n) = field(key)?;
        parse_time(v).ok_or(bad(key, n))
    };
    let opt_time = |key: &'static str| -> Result<Option<Tai64n>, DecodeError> {
        let (v, n) = field(key)?;
        if v.is_empty() {
            Ok(None)
        } else {
            parse_time(v).map(Some).ok_or(bad(key, n))
        }
    };
    let opt_u8 = |key: &'static str| -> Result<Option<u8>, DecodeError> {
        let (v, n) = field(key)?;
        if v.is_empty() {
            return Ok(None);
        }
        strict_decimal(v).and_then(|x| u8::try_from(x).ok()).map(Some).ok_or(bad(key, n))
    };

    // Report the first missing key in the order the keys are written.
    for key in KEYS {
        field(key)?;
    }
    let (v, n) = field("state")?;
    let state = match v {
        b"down" => RunState::Down,
        b"run" => RunState::Run,
        b"finish" => RunState::Finish,
        _ => return Err(bad("state", n)),
    };
    let (v, n) = field("pid")?;
    let pid = strict_decimal(v).and_then(|x| u32::try_from(x).ok()).ok_or(bad("pid", n))?;
    let (v, n) = field("wanted")?;
    let wanted = match v {
        b"up" => Want::Up,
        b"down" => Want::Down,
        b"exit" => Want::Exit,
        _ => return Err(bad("wanted", n)),
    };
    let (v, n) = field("readiness")?;
    let readiness = Protocol::from_word(v).ok_or(bad("readiness", n))?;
    let code = opt_u8("last_exit_code")?;
    let signal = opt_u8("last_exit_signal")?;
    let at = opt_time("last_exit_at")?;
    let (_, exit_line) = field("last_exit_at")?;
    let inconsistent = |what| DecodeError { line: exit_line, kind: ErrorKind::Inconsistent(what) };
    let last_exit = match (code, signal, at) {
        (None, None, None) => None,
        (Some(c), None, Some(at)) => Some(LastExit { how: ExitHow::Code(c), at }),
        (None, Some(s), Some(at)) => Some(LastExit { how: ExitHow::Signal(s), at }),
        (Some(_), Some(_), _) => return Err(inconsistent("last_exit_code and last_exit_signal both set")),
        (None, None, Some(_)) => return Err(inconsistent("last_exit_at without an exit")),
        (_, _, None) => return Err(inconsistent("an exit without last_exit_at")),
    };
    let (v, n) = field("status_text")?;
    let status_text = unescape(v).ok_or(bad("status_text", n))?;
    Ok(SlotRecord {
        state,
        pid,
        since: time("since")?,
        wanted,
        normally_up: flag("normally_up")?,
        paused: flag("paused")?,
        got_term: flag("got_term")?,
        readiness,
        ready: flag("ready")?,
        ready_since: opt_time("ready_since")?,
        last_exit,
        restarts: number("restarts")?,
        quick_deaths: number("quick_deaths")?,
        status_text,
        backoff: decode_backoff(b, last_line)?,
    })
}
