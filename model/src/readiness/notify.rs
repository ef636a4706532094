//! systemd's sd_notify datagrams (spec/additions.md §3.2–§3.4): the payload parser and
//! the rule deciding whose datagrams count.
//!
//! A datagram is `KEY=VALUE` assignments separated by `\n` (trailing newline optional).
//! runsv acts on `READY=1`, `STOPPING=1`, `STATUS=`, `WATCHDOG=1`, `WATCHDOG=trigger`,
//! `WATCHDOG_USEC=`, `MAINPID=` and the `BARRIER=1` handshake; every other key is ignored,
//! as systemd requires. Limits are systemd's manager's: the receive buffer is
//! [`NOTIFY_BUFFER_MAX`] bytes and a datagram that fills it or was truncated is dropped;
//! embedded NULs drop the datagram (one trailing NUL is tolerated).

use alloc::vec::Vec;

use crate::readiness::strict_decimal;

/// systemd's `NOTIFY_BUFFER_MAX` (= `PIPE_BUF`): the receive buffer size. A datagram of
/// this size or more is dropped.
pub const NOTIFY_BUFFER_MAX: usize = 4096;

/// The longest `STATUS=` text kept (bytes, clipped at a UTF-8 boundary): enough for any
/// status line, and it bounds runsv's memory per slot.
pub const STATUS_TEXT_MAX: usize = 512;

/// A datagram that is dropped as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifyError {
    /// `len` ≥ [`NOTIFY_BUFFER_MAX`].
    TooLarge {
        /// Bytes received.
        len: usize,
    },
    /// The kernel reported `MSG_TRUNC`.
    Truncated,
    /// A NUL byte other than one trailing NUL.
    EmbeddedNul,
    /// `BARRIER=1` alone, but with a number of fds other than one.
    BadBarrier {
        /// Descriptors that came with it.
        fds: usize,
    },
}

/// A key whose value was not understood (the key is ignored, the rest of the datagram is
/// used).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldWarning {
    /// `READY=` other than `1`.
    Ready,
    /// `STOPPING=` other than `1`.
    Stopping,
    /// `STATUS=` that is not UTF-8.
    StatusNotUtf8,
    /// `WATCHDOG=` other than `1` or `trigger`.
    Watchdog,
    /// `WATCHDOG_USEC=` not a decimal number.
    WatchdogUsec,
    /// `MAINPID=` not a positive decimal pid.
    MainPid,
}

impl FieldWarning {
    /// The key, for messages.
    pub fn key(self) -> &'static [u8] {
        match self {
            FieldWarning::Ready => b"READY",
            FieldWarning::Stopping => b"STOPPING",
            FieldWarning::StatusNotUtf8 => b"STATUS",
            FieldWarning::Watchdog => b"WATCHDOG",
            FieldWarning::WatchdogUsec => b"WATCHDOG_USEC",
            FieldWarning::MainPid => b"MAINPID",
        }
    }
}

/// What one ordinary datagram asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Notify {
    /// `READY=1`.
    pub ready: bool,
    /// `STOPPING=1` (takes priority over `READY=1` in the same datagram, as in systemd).
    pub stopping: bool,
    /// The last `STATUS=` text, clipped to [`STATUS_TEXT_MAX`] bytes.
    pub status: Option<Vec<u8>>,
    /// `WATCHDOG=1`: keep-alive.
    pub watchdog_ping: bool,
    /// `WATCHDOG=trigger`: act as if the watchdog expired.
    pub watchdog_trigger: bool,
    /// `WATCHDOG_USEC=N`: new period for this child (0 = off).
    pub watchdog_usec: Option<u64>,
    /// `MAINPID=N`.
    pub main_pid: Option<u32>,
    /// Keys that were present but not understood, in order.
    pub warnings: Vec<FieldWarning>,
}

/// A parsed datagram.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Datagram {
    /// An ordinary message.
    Message(Notify),
    /// `BARRIER=1` with its one fd: close the fd once every earlier datagram is handled.
    Barrier,
}

/// Parses one received datagram. `fds` is how many descriptors came with it (runsv closes
/// them all; only a barrier's one matters), `truncated` the kernel's `MSG_TRUNC`.
pub fn parse_datagram(payload: &[u8], fds: usize, truncated: bool) -> Result<Datagram, NotifyError> {
    if truncated {
        return Err(NotifyError::Truncated);
    }
    if payload.len() >= NOTIFY_BUFFER_MAX {
        return Err(NotifyError::TooLarge { len: payload.len() });
    }
    let body = payload.strip_suffix(b"\0").unwrap_or(payload);
    if body.contains(&0) {
        return Err(NotifyError::EmbeddedNul);
    }
    let mut lines = body.split(|&c| c == b'\n').filter(|l| !l.is_empty());
    let first = lines.next();
    if first == Some(&b"BARRIER=1"[..]) && lines.next().is_none() {
        return if fds == 1 { Ok(Datagram::Barrier) } else { Err(NotifyError::BadBarrier { fds }) };
    }
    let mut n = Notify::default();
    for line in body.split(|&c| c == b'\n') {
        let Some(eq) = line.iter().position(|&c| c == b'=') else { continue };
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        match key {
            b"READY" => flag(value, &mut n.ready, FieldWarning::Ready, &mut n.warnings),
            b"STOPPING" => flag(value, &mut n.stopping, FieldWarning::Stopping, &mut n.warnings),
            b"STATUS" => match core::str::from_utf8(value) {
                Ok(text) => n.status = Some(clip_utf8(text, STATUS_TEXT_MAX).as_bytes().to_vec()),
                Err(_) => n.warnings.push(FieldWarning::StatusNotUtf8),
            },
            b"WATCHDOG" => match value {
                b"1" => n.watchdog_ping = true,
                b"trigger" => n.watchdog_trigger = true,
                _ => n.warnings.push(FieldWarning::Watchdog),
            },
            b"WATCHDOG_USEC" => match strict_decimal(value) {
                Some(v) => n.watchdog_usec = Some(v),
                None => n.warnings.push(FieldWarning::WatchdogUsec),
            },
            b"MAINPID" => match strict_decimal(value) {
                Some(v) if v > 0 && v <= i32::MAX as u64 => n.main_pid = Some(v as u32),
                _ => n.warnings.push(FieldWarning::MainPid),
            },
            _ => {}
        }
    }
    if n.stopping {
        n.ready = false;
    }
    Ok(Datagram::Message(n))
}

fn flag(value: &[u8], out: &mut bool, warning: FieldWarning, warnings: &mut Vec<FieldWarning>) {
    if value == b"1" {
        *out = true;
    } else {
        warnings.push(warning);
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn clip_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// How many ancestors of a sender the runtime reports (its parent, grandparent, …): deep
/// enough for any `./run` → shell → daemon chain, and it bounds the `/proc` walk.
pub const ANCESTRY_MAX: usize = 16;

/// The sender of a datagram as the kernel and `/proc` describe it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sender {
    /// `SCM_CREDENTIALS` pid (0 or negative: none).
    pub pid: i32,
    /// Its parent, grandparent, … read from `/proc/<pid>/stat` at receive time (at most
    /// [`ANCESTRY_MAX`], stopping at pid 1 or a vanished process).
    pub ancestors: Vec<i32>,
}

/// Whether a datagram is credited to the slot's current child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Credit {
    /// From the child or one of its descendants: act on it.
    Accept,
    /// No `./run` is running in the slot: nothing to credit it to (dropped silently: a
    /// late datagram from the previous child).
    NoChild,
    /// No credentials, or pid ≤ 0: dropped with a warning.
    NoCredentials,
    /// Another process: dropped with a warning (a forged `READY=1`).
    Foreign(i32),
}

/// docs/readiness.md §2 rule 5: the sender must be the current child (`./run`) or one of
/// its descendants (runit gives `./run` no session or cgroup of its own, so the parent
/// chain is what says "this service's process"; spec/additions.md §3.4). `child` is the
/// pid of the running `./run`, if any.
pub fn authorize(sender: Option<&Sender>, child: Option<u32>) -> Credit {
    let Some(child) = child.filter(|&c| c != 0) else { return Credit::NoChild };
    let Some(s) = sender.filter(|s| s.pid > 0) else { return Credit::NoCredentials };
    if s.pid as i64 == child as i64 || s.ancestors.iter().any(|&a| a as i64 == child as i64) {
        Credit::Accept
    } else {
        Credit::Foreign(s.pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn msg(payload: &[u8]) -> Notify {
        match parse_datagram(payload, 0, false) {
            Ok(Datagram::Message(n)) => n,
            other => panic!("{payload:?}: {other:?}"),
        }
    }

    #[test]
    fn test_notify_keys() {
        let n = msg(b"READY=1\nSTATUS=Serving 3 clients\nMAINPID=42\nWATCHDOG=1\nWATCHDOG_USEC=5000000\n");
        assert!(n.ready && n.watchdog_ping && !n.stopping && !n.watchdog_trigger);
        assert_eq!(n.status.as_deref(), Some(&b"Serving 3 clients"[..]));
        assert_eq!((n.main_pid, n.watchdog_usec), (Some(42), Some(5_000_000)));
        assert!(n.warnings.is_empty());
        assert!(msg(b"WATCHDOG=trigger").watchdog_trigger);
        assert_eq!(msg(b"WATCHDOG_USEC=0").watchdog_usec, Some(0));
    }

    #[test]
    fn test_notify_unknown_and_keyless_lines_ignored() {
        let n = msg(b"X_FOO=bar\nRELOADING=1\nFDSTORE=1\nnonsense\n\n=\nREADY=1");
        assert!(n.ready);
        assert!(n.warnings.is_empty());
        assert_eq!(msg(b""), Notify::default());
    }

    #[test]
    fn test_notify_stopping_beats_ready_and_last_status_wins() {
        let n = msg(b"READY=1\nSTOPPING=1\nSTATUS=a\nSTATUS=b");
        assert!(n.stopping && !n.ready);
        assert_eq!(n.status.as_deref(), Some(&b"b"[..]));
        assert_eq!(msg(b"STATUS=").status.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn test_notify_bad_values_are_warnings() {
        let n = msg(
            b"READY=0\nSTOPPING=yes\nSTATUS=\xff\xfe\nWATCHDOG=2\nWATCHDOG_USEC=5s\nMAINPID=0\nMAINPID=-1\nMAINPID=99999999999\nREADY=1",
        );
        assert!(n.ready);
        assert_eq!(
            n.warnings,
            vec![
                FieldWarning::Ready,
                FieldWarning::Stopping,
                FieldWarning::StatusNotUtf8,
                FieldWarning::Watchdog,
                FieldWarning::WatchdogUsec,
                FieldWarning::MainPid,
                FieldWarning::MainPid,
                FieldWarning::MainPid
            ]
        );
        assert_eq!(n.status, None);
        assert_eq!(n.main_pid, None);
    }

    #[test]
    fn test_notify_limits() {
        let big = vec![b'a'; NOTIFY_BUFFER_MAX];
        assert_eq!(parse_datagram(&big, 0, false), Err(NotifyError::TooLarge { len: 4096 }));
        let mut fits = b"READY=1\nX=".to_vec();
        fits.resize(NOTIFY_BUFFER_MAX - 1, b'x');
        assert!(matches!(parse_datagram(&fits, 0, false), Ok(Datagram::Message(n)) if n.ready));
        assert_eq!(parse_datagram(b"READY=1", 0, true), Err(NotifyError::Truncated));
        assert_eq!(parse_datagram(b"READY=1\0STATUS=x", 0, false), Err(NotifyError::EmbeddedNul));
        assert_eq!(parse_datagram(b"READY=1\0\0", 0, false), Err(NotifyError::EmbeddedNul));
        assert!(msg(b"READY=1\0").ready);
    }

    #[test]
    fn test_notify_status_clipped_on_char_boundary() {
        let mut p = b"STATUS=".to_vec();
        p.extend_from_slice(&[b'a'; STATUS_TEXT_MAX - 1]);
        p.extend_from_slice("é".as_bytes());
        let n = msg(&p);
        assert_eq!(n.status.as_ref().map(|s| s.len()), Some(STATUS_TEXT_MAX - 1));
        assert_eq!(clip_utf8("héllo", 2), "h");
        assert_eq!(clip_utf8("héllo", 3), "hé");
        assert_eq!(clip_utf8("abc", 10), "abc");
    }

    #[test]
    fn test_notify_barrier() {
        assert_eq!(parse_datagram(b"BARRIER=1", 1, false), Ok(Datagram::Barrier));
        assert_eq!(parse_datagram(b"BARRIER=1\n", 1, false), Ok(Datagram::Barrier));
        assert_eq!(parse_datagram(b"BARRIER=1", 0, false), Err(NotifyError::BadBarrier { fds: 0 }));
        assert_eq!(parse_datagram(b"BARRIER=1", 2, false), Err(NotifyError::BadBarrier { fds: 2 }));
        // Not alone: an ordinary message; the BARRIER key is ignored like any unknown key.
        assert!(matches!(parse_datagram(b"BARRIER=1\nREADY=1", 1, false), Ok(Datagram::Message(n)) if n.ready));
    }

    #[test]
    fn test_notify_authorize() {
        let s = |pid, ancestors: &[i32]| Sender { pid, ancestors: ancestors.to_vec() };
        let a = |s: Sender, child| authorize(Some(&s), child);
        assert_eq!(a(s(100, &[1]), Some(100)), Credit::Accept);
        assert_eq!(a(s(150, &[100, 1]), Some(100)), Credit::Accept);
        assert_eq!(a(s(170, &[150, 100, 1]), Some(100)), Credit::Accept);
        assert_eq!(a(s(150, &[]), Some(100)), Credit::Foreign(150));
        assert_eq!(a(s(150, &[7, 1]), Some(100)), Credit::Foreign(150));
        assert_eq!(a(s(0, &[100]), Some(100)), Credit::NoCredentials);
        assert_eq!(a(s(-5, &[100]), Some(100)), Credit::NoCredentials);
        assert_eq!(authorize(None, Some(100)), Credit::NoCredentials);
        assert_eq!(a(s(100, &[]), None), Credit::NoChild);
        assert_eq!(a(s(100, &[]), Some(0)), Credit::NoChild);
        assert_eq!(a(s(150, &[0]), Some(100)), Credit::Foreign(150));
    }
}
