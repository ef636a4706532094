//! runsv's messages for readiness problems, in runit's shape
//! (`runsv <dir>: warning: <what>[: <errstr>]`, one line). Pure formatters: the runtime
//! prints what these return on runsv's stderr.

use alloc::vec::Vec;

use crate::msg;
use crate::readiness::config::{ConfigWarning, WATCHDOG_MAX_MS};
use crate::readiness::notify::{Credit, FieldWarning, NotifyError, NOTIFY_BUFFER_MAX};
use crate::status::push_decimal;

fn warning_line(dir: &[u8], what: &[u8]) -> Vec<u8> {
    msg::line(&[b"runsv ", dir, b": warning: ", what], None)
}

fn num(n: u64) -> Vec<u8> {
    let mut v = Vec::new();
    push_decimal(&mut v, n);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The warning for a service-directory value that was not used.
pub fn config_warning(dir: &[u8], w: ConfigWarning) -> Vec<u8> {
    let what = match w {
        ConfigWarning::Unreadable { file, errno } => {
            return msg::line(&[b"runsv ", dir, b": warning: unable to read ", file, b": "], Some(errno));
        }
        ConfigWarning::NotificationFdInvalid => b"invalid notification-fd".to_vec(),
        ConfigWarning::NotificationFdStdio(_) => b"notification-fd must not be 0, 1 or 2".to_vec(),
        ConfigWarning::NotificationFdTooLarge(_) => b"notification-fd above the descriptor limit".to_vec(),
        ConfigWarning::WatchdogInvalid => b"invalid timeout-watchdog".to_vec(),
        ConfigWarning::WatchdogZero => b"timeout-watchdog is 0, watchdog off".to_vec(),
        ConfigWarning::WatchdogAbsurd(_) => {
            debug_assert_eq!(WATCHDOG_MAX_MS, 604_800_000);
            b"timeout-watchdog above 7 days, watchdog off".to_vec()
        }
        ConfigWarning::WatchdogWithoutNotify => b"timeout-watchdog without notify-socket, watchdog off".to_vec(),
    };
    warning_line(dir, &what)
}

/// The warning for a dropped datagram.
pub fn notify_error(dir: &[u8], e: NotifyError) -> Vec<u8> {
    let what = match e {
        NotifyError::TooLarge { .. } => cat(&[b"notify datagram dropped: ", &num(NOTIFY_BUFFER_MAX as u64), b" bytes or more"]),
        NotifyError::Truncated => b"notify datagram dropped: truncated".to_vec(),
        NotifyError::EmbeddedNul => b"notify datagram dropped: embedded NUL".to_vec(),
        NotifyError::BadBarrier { fds } => cat(&[b"notify datagram dropped: BARRIER=1 with ", &num(fds as u64), b" fds"]),
    };
    warning_line(dir, &what)
}

/// The warning for a key with a bad value (the rest of the datagram was used).
pub fn field_warning(dir: &[u8], w: FieldWarning) -> Vec<u8> {
    warning_line(dir, &cat(&[b"notify: invalid ", w.key(), b"=, ignored"]))
}

/// The warning for a datagram not credited to the service, or `None` when it is dropped
/// silently ([`Credit::Accept`], and [`Credit::NoChild`]: a late datagram from a child
/// that has gone).
pub fn credit_warning(dir: &[u8], c: Credit) -> Option<Vec<u8>> {
    match c {
        Credit::Accept | Credit::NoChild => None,
        Credit::NoCredentials => Some(warning_line(dir, b"notify datagram without credentials ignored")),
        Credit::Foreign(pid) => {
            let pid = if pid > 0 { num(pid as u64) } else { b"?".to_vec() };
            Some(warning_line(dir, &cat(&[b"notify datagram from pid ", &pid, b" ignored: not this service"])))
        }
    }
}

/// The warning printed when the watchdog fires (missed deadline or `WATCHDOG=trigger`).
pub fn watchdog_timeout(dir: &[u8]) -> Vec<u8> {
    warning_line(dir, b"watchdog timeout")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::Errno;

    fn s(v: Vec<u8>) -> alloc::string::String {
        alloc::string::String::from_utf8(v).unwrap()
    }

    #[test]
    fn test_text_config_warnings() {
        assert_eq!(s(config_warning(b"web", ConfigWarning::NotificationFdInvalid)), "runsv web: warning: invalid notification-fd\n");
        assert_eq!(
            s(config_warning(b"web", ConfigWarning::NotificationFdStdio(1))),
            "runsv web: warning: notification-fd must not be 0, 1 or 2\n"
        );
        assert_eq!(
            s(config_warning(b"web", ConfigWarning::NotificationFdTooLarge(5000))),
            "runsv web: warning: notification-fd above the descriptor limit\n"
        );
        assert_eq!(s(config_warning(b"w", ConfigWarning::WatchdogInvalid)), "runsv w: warning: invalid timeout-watchdog\n");
        assert_eq!(s(config_warning(b"w", ConfigWarning::WatchdogZero)), "runsv w: warning: timeout-watchdog is 0, watchdog off\n");
        assert_eq!(
            s(config_warning(b"w", ConfigWarning::WatchdogAbsurd(1 << 40))),
            "runsv w: warning: timeout-watchdog above 7 days, watchdog off\n"
        );
        assert_eq!(
            s(config_warning(b"w", ConfigWarning::WatchdogWithoutNotify)),
            "runsv w: warning: timeout-watchdog without notify-socket, watchdog off\n"
        );
        assert_eq!(
            s(config_warning(b"w", ConfigWarning::Unreadable { file: b"notification-fd", errno: Errno::EACCES })),
            "runsv w: warning: unable to read notification-fd: access denied\n"
        );
    }

    #[test]
    fn test_text_notify_warnings() {
        assert_eq!(
            s(notify_error(b"w", NotifyError::TooLarge { len: 5000 })),
            "runsv w: warning: notify datagram dropped: 4096 bytes or more\n"
        );
        assert_eq!(s(notify_error(b"w", NotifyError::Truncated)), "runsv w: warning: notify datagram dropped: truncated\n");
        assert_eq!(s(notify_error(b"w", NotifyError::EmbeddedNul)), "runsv w: warning: notify datagram dropped: embedded NUL\n");
        assert_eq!(
            s(notify_error(b"w", NotifyError::BadBarrier { fds: 0 })),
            "runsv w: warning: notify datagram dropped: BARRIER=1 with 0 fds\n"
        );
        assert_eq!(s(field_warning(b"w", FieldWarning::MainPid)), "runsv w: warning: notify: invalid MAINPID=, ignored\n");
        assert_eq!(credit_warning(b"w", Credit::Accept), None);
        assert_eq!(credit_warning(b"w", Credit::NoChild), None);
        assert_eq!(
            credit_warning(b"w", Credit::Foreign(77)).map(s).as_deref(),
            Some("runsv w: warning: notify datagram from pid 77 ignored: not this service\n")
        );
        assert_eq!(
            credit_warning(b"w", Credit::NoCredentials).map(s).as_deref(),
            Some("runsv w: warning: notify datagram without credentials ignored\n")
        );
        assert_eq!(s(watchdog_timeout(b"w")), "runsv w: warning: watchdog timeout\n");
        assert_eq!(
            credit_warning(b"w", Credit::Foreign(0)).map(s).as_deref(),
            Some("runsv w: warning: notify datagram from pid ? ignored: not this service\n")
        );
    }
}
