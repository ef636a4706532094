//! Readiness protocols, decided purely (docs/readiness.md): s6's `notification-fd`
//! byte-stream rule, systemd's sd_notify datagrams and who may send them, and the
//! service-directory files that switch them on.
//!
//! Each piece is a total function from bytes (or a small state) to a value; the runsv
//! machine calls them (`runsv::ready`) and the runtime only moves bytes. Problems are values ([`config::ConfigWarning`], [`notify::NotifyError`],
//! [`notify::FieldWarning`], [`notify::Credit`]); [`text`] turns them into runsv's
//! `runsv <dir>: warning: …` lines.

pub mod config;
pub mod notify;
pub mod pipe;
pub mod text;

pub use config::{ConfigWarning, FileValue, Setting};
pub use notify::{authorize, parse_datagram, Credit, Datagram, FieldWarning, Notify, NotifyError, Sender};
pub use pipe::{PipeEvent, PipeReadiness};

/// The s6 file naming the descriptor `./run` writes its readiness newline to.
pub const NOTIFICATION_FD_FILE: &[u8] = b"notification-fd";

/// Opt-in file for sd_notify (existence only): runsv binds `supervise/notify` and exports
/// `NOTIFY_SOCKET` to `./run`.
pub const NOTIFY_SOCKET_FILE: &[u8] = b"notify-socket";

/// The watchdog period file, in milliseconds (s6's numeric-file rules).
pub const WATCHDOG_FILE: &[u8] = b"timeout-watchdog";

/// The datagram socket runsv binds, relative to the service directory.
pub const NOTIFY_SOCKET_PATH: &[u8] = b"supervise/notify";

/// Which readiness protocols the current child was started with (docs/readiness.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// None: the child is ready as soon as it runs (s6's rule for services without
    /// `notification-fd`).
    #[default]
    None,
    /// s6's `notification-fd`.
    NotificationFd,
    /// systemd's sd_notify.
    SdNotify,
    /// Both; the first event wins.
    Both,
}

impl Protocol {
    /// The protocol set from the two switches.
    pub fn from_switches(notification_fd: bool, sd_notify: bool) -> Protocol {
        match (notification_fd, sd_notify) {
            (false, false) => Protocol::None,
            (true, false) => Protocol::NotificationFd,
            (false, true) => Protocol::SdNotify,
            (true, true) => Protocol::Both,
        }
    }

    /// The word written in the record and in sv's machine output.
    pub fn word(self) -> &'static str {
        match self {
            Protocol::None => "none",
            Protocol::NotificationFd => "notification-fd",
            Protocol::SdNotify => "sd_notify",
            Protocol::Both => "both",
        }
    }

    /// Inverse of [`Protocol::word`].
    pub fn from_word(w: &[u8]) -> Option<Protocol> {
        [Protocol::None, Protocol::NotificationFd, Protocol::SdNotify, Protocol::Both].into_iter().find(|p| p.word().as_bytes() == w)
    }

    /// Whether the child is ready the moment it starts (no protocol declared).
    pub fn ready_at_start(self) -> bool {
        self == Protocol::None
    }
}

/// Parses a strict decimal unsigned integer as s6 reads its numeric files: the value ends
/// at the first newline; the rest must be one or more ASCII digits (no spaces, sign or
/// `0x`) and fit in a `u64`.
pub fn s6_uint(content: &[u8]) -> Option<u64> {
    let end = content.iter().position(|&c| c == b'\n').unwrap_or(content.len());
    strict_decimal(&content[..end])
}

/// One or more ASCII digits, nothing else, no overflow.
pub fn strict_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_s6_uint_rules() {
        assert_eq!(s6_uint(b"5000"), Some(5000));
        assert_eq!(s6_uint(b"5000\n"), Some(5000));
        assert_eq!(s6_uint(b"3\ngarbage"), Some(3));
        for bad in [&b" 5000"[..], b"5000 ", b"5s", b"", b"\n3", b"+3", b"0x10", b"-1", b"99999999999999999999999"] {
            assert_eq!(s6_uint(bad), None, "{bad:?}");
        }
        assert_eq!(s6_uint(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(s6_uint(b"18446744073709551616"), None);
    }

    #[test]
    fn test_protocol_words_round_trip() {
        for p in [Protocol::None, Protocol::NotificationFd, Protocol::SdNotify, Protocol::Both] {
            assert_eq!(Protocol::from_word(p.word().as_bytes()), Some(p));
        }
        assert_eq!(Protocol::from_word(b"s6"), None);
        assert_eq!(Protocol::from_switches(true, true), Protocol::Both);
        assert_eq!(Protocol::from_switches(false, true), Protocol::SdNotify);
        assert!(Protocol::None.ready_at_start() && !Protocol::SdNotify.ready_at_start());
    }
}
