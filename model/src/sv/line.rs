//! The status line (spec/sv.md §5) and the other output lines (§8), as pure formatters.
//!
//! `<state>: <name>: [(pid <pid>) ]<secs>s[, normally down|, normally up][, paused][, want up|, want down][, got TERM]`

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::status::{push_decimal, StatusRecord};
use crate::time::{Wall, TAI64_UNIX_EPOCH};

/// What [`status_text`] tells the caller about the pid (runit's 1 = running, 2 = down;
/// the LSB `status` exit code is derived from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shown {
    /// A status with a non-zero pid was printed.
    Pid,
    /// A status with pid 0 was printed.
    NoPid,
    /// Nothing was printed (`stat("down")` failed).
    Nothing,
}

/// Whole seconds from the record's stamp to `now`, 0 if the stamp is in the future.
pub fn age_secs(rec: &StatusRecord, now: Wall) -> u64 {
    let tnow = TAI64_UNIX_EPOCH.wrapping_add(now.unix_secs as u64);
    tnow.saturating_sub(rec.stamp.secs)
}

/// The status text (no newline). `normally_up` is "`down` does not exist".
pub fn status_text(name: &[u8], rec: &StatusRecord, now: Wall, normally_up: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 64);
    match rec.state_byte {
        0 => out.extend_from_slice(b"down: "),
        1 => out.extend_from_slice(b"run: "),
        2 => out.extend_from_slice(b"finish: "),
        _ => {}
    }
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    if rec.state_byte != 0 {
        out.extend_from_slice(b"(pid ");
        // runit keeps the pid in an `int` and prints it with fmt_ulong: a pid >= 2^31
        // (only in a corrupt record) comes out sign-extended to 64 bits.
        push_decimal(&mut out, rec.pid as i32 as i64 as u64);
        out.extend_from_slice(b") ");
    }
    push_decimal(&mut out, age_secs(rec, now));
    out.push(b's');
    let pid = rec.pid != 0;
    if pid && !normally_up {
        out.extend_from_slice(b", normally down");
    }
    if !pid && normally_up {
        out.extend_from_slice(b", normally up");
    }
    if pid && rec.paused {
        out.extend_from_slice(b", paused");
    }
    if !pid && rec.want == b'u' {
        out.extend_from_slice(b", want up");
    }
    if pid && rec.want == b'd' {
        out.extend_from_slice(b", want down");
    }
    if pid && rec.got_term {
        out.extend_from_slice(b", got TERM");
    }
    out
}

/// Which of the two values a printed status gives (for the LSB exit code).
pub fn shown(rec: &StatusRecord) -> Shown {
    if rec.pid != 0 {
        Shown::Pid
    } else {
        Shown::NoPid
    }
}

/// `<prefix><name>: <msg>[: <errstr>]` (no newline): `fail: `, `warning: `, `ok: `.
pub fn service_msg(prefix: &[u8], name: &[u8], msg: &[u8], errno: Option<Errno>) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + name.len() + msg.len() + 32);
    out.extend_from_slice(prefix);
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(msg);
    if let Some(e) = errno {
        out.extend_from_slice(b": ");
        out.extend_from_slice(e.text().as_bytes());
    }
    out
}

/// stderr: `warning: unable to <what> <name>/<file>: <errstr>\n` (down/check problems).
pub fn file_warning(what: &[u8], name: &[u8], file: &[u8], errno: Errno) -> Vec<u8> {
    crate::msg::line(&[b"warning: unable to ", what, b" ", name, b"/", file, b": "], Some(errno))
}

/// stderr: `fatal: <msg>: <errstr>\n`.
pub fn fatal(msg: &[u8], errno: Errno) -> Vec<u8> {
    crate::msg::line(&[b"fatal: ", msg, b": "], Some(errno))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Tai64n;

    fn rec(secs: i64, pid: u32, paused: bool, want: u8, term: bool, state: u8) -> StatusRecord {
        StatusRecord { stamp: Tai64n::from_wall(Wall { unix_secs: secs, nanos: 0 }), pid, paused, want, got_term: term, state_byte: state }
    }
    fn text(r: &StatusRecord, now: i64, up: bool) -> alloc::string::String {
        alloc::string::String::from_utf8(status_text(b"./s", r, Wall { unix_secs: now, nanos: 0 }, up)).unwrap()
    }

    #[test]
    fn test_line_state_words_and_pid() {
        assert_eq!(text(&rec(100, 10492, false, b'u', false, 1), 100, false), "run: ./s: (pid 10492) 0s, normally down");
        assert_eq!(text(&rec(100, 10612, false, b'd', false, 2), 101, true), "finish: ./s: (pid 10612) 1s, want down");
        assert_eq!(text(&rec(100, 0, false, b'u', false, 0), 104, true), "down: ./s: 4s, normally up, want up");
        assert_eq!(text(&rec(100, 0, false, b'd', false, 0), 101, false), "down: ./s: 1s");
    }

    #[test]
    fn test_line_flags() {
        assert_eq!(
            text(&rec(100, 10492, false, b'd', true, 1), 101, false),
            "run: ./s: (pid 10492) 1s, normally down, want down, got TERM"
        );
        assert_eq!(text(&rec(100, 10492, true, b'd', true, 1), 101, true), "run: ./s: (pid 10492) 1s, paused, want down, got TERM");
        assert_eq!(text(&rec(0, 4242, true, b'u', true, 2), 100, true), "finish: ./s: (pid 4242) 100s, paused, got TERM");
        // Flags only shown for the side of pid they belong to.
        assert_eq!(text(&rec(100, 0, true, b'd', true, 0), 100, false), "down: ./s: 0s");
    }

    #[test]
    fn test_line_unknown_state_and_future_stamp() {
        assert_eq!(text(&rec(500, 0, false, b'u', false, 7), 100, true), "./s: (pid 0) 0s, normally up, want up");
        assert_eq!(text(&rec(500, 9, false, b'u', false, 1), 100, true), "run: ./s: (pid 9) 0s");
    }

    #[test]
    fn test_line_age_extremes() {
        let r = StatusRecord { stamp: Tai64n { secs: u64::MAX, nanos: 0 }, ..rec(0, 0, false, 0, false, 0) };
        assert_eq!(age_secs(&r, Wall { unix_secs: i64::MAX, nanos: 0 }), 0);
        let r = StatusRecord { stamp: Tai64n { secs: 0, nanos: 0 }, ..r };
        assert!(age_secs(&r, Wall { unix_secs: 0, nanos: 0 }) > 0);
    }

    #[test]
    fn test_line_messages() {
        assert_eq!(
            service_msg(b"fail: ", b"nosuch", b"unable to change to service directory", Some(Errno::ENOENT)),
            b"fail: nosuch: unable to change to service directory: file does not exist"
        );
        assert_eq!(service_msg(b"ok: ", b"./s", b"runsv not running", None), b"ok: ./s: runsv not running");
        assert_eq!(file_warning(b"run", b"./s", b"check", Errno::EACCES), b"warning: unable to run ./s/check: access denied\n");
        assert_eq!(
            fatal(b"unable to change to original directory", Errno::ENOENT),
            b"fatal: unable to change to original directory: file does not exist\n"
        );
    }
}
