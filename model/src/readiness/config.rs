//! The service-directory files that switch readiness on (docs/readiness.md §1), read at
//! every start of `./run`. A bad value is a warning and means "off": the service is still
//! started and supervised exactly as runit would.

use crate::errno::Errno;
use crate::readiness::s6_uint;
use crate::time::Span;

/// What the runtime found when it tried to read one of the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileValue<'a> {
    /// `ENOENT`: the feature is off, silently.
    Missing,
    /// Any other open/read error: a warning, the feature is off.
    Unreadable(Errno),
    /// The file's first bytes (the runtime reads at most [`READ_MAX`]).
    Content(&'a [u8]),
}

/// How many bytes of a numeric file the runtime needs to read (a `u64` and a newline,
/// with room to spare; longer values are invalid anyway).
pub const READ_MAX: usize = 32;

/// Why a file's value was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfigWarning {
    /// The file exists but could not be read.
    Unreadable {
        /// Which file.
        file: &'static [u8],
        /// The error.
        errno: Errno,
    },
    /// `notification-fd` is not a decimal number.
    NotificationFdInvalid,
    /// `notification-fd` names stdin, stdout or stderr.
    NotificationFdStdio(u8),
    /// `notification-fd` is at or above the descriptor limit.
    NotificationFdTooLarge(u64),
    /// `timeout-watchdog` is not a decimal number.
    WatchdogInvalid,
    /// `timeout-watchdog` is 0.
    WatchdogZero,
    /// `timeout-watchdog` is above [`WATCHDOG_MAX_MS`].
    WatchdogAbsurd(u64),
    /// `timeout-watchdog` is given but sd_notify is not switched on.
    WatchdogWithoutNotify,
}

/// A parsed setting: off, on with a value, or off because of a warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Setting<T> {
    /// Not configured.
    Off,
    /// Configured and valid.
    On(T),
    /// Configured but unusable; treated as [`Setting::Off`] after the warning is printed.
    Bad(ConfigWarning),
}

impl<T: Copy> Setting<T> {
    /// The value, if usable.
    pub fn value(&self) -> Option<T> {
        match self {
            Setting::On(v) => Some(*v),
            _ => None,
        }
    }
    /// The warning to print, if any.
    pub fn warning(&self) -> Option<ConfigWarning> {
        match self {
            Setting::Bad(w) => Some(*w),
            _ => None,
        }
    }
}

/// Largest accepted watchdog period: 7 days. Anything longer is a mistake (typically a
/// value meant in microseconds), and a watchdog that never fires is no watchdog.
pub const WATCHDOG_MAX_MS: u64 = 7 * 24 * 3600 * 1000;

/// `notification-fd`: a descriptor number above 2 and below `fd_limit` (the soft
/// `RLIMIT_NOFILE` the child will have).
pub fn notification_fd(file: FileValue<'_>, fd_limit: u64) -> Setting<u32> {
    let content = match file {
        FileValue::Missing => return Setting::Off,
        FileValue::Unreadable(errno) => return Setting::Bad(ConfigWarning::Unreadable { file: super::NOTIFICATION_FD_FILE, errno }),
        FileValue::Content(c) => c,
    };
    match s6_uint(content) {
        None => Setting::Bad(ConfigWarning::NotificationFdInvalid),
        Some(n @ 0..=2) => Setting::Bad(ConfigWarning::NotificationFdStdio(n as u8)),
        Some(n) if n >= fd_limit || n > i32::MAX as u64 => Setting::Bad(ConfigWarning::NotificationFdTooLarge(n)),
        Some(n) => Setting::On(n as u32),
    }
}

/// `notify-socket`: existence only (its content is ignored).
pub fn notify_socket(file: FileValue<'_>) -> Setting<()> {
    match file {
        FileValue::Missing => Setting::Off,
        FileValue::Unreadable(errno) => Setting::Bad(ConfigWarning::Unreadable { file: super::NOTIFY_SOCKET_FILE, errno }),
        FileValue::Content(_) => Setting::On(()),
    }
}

/// `timeout-watchdog`: milliseconds in `1..=WATCHDOG_MAX_MS`, only with sd_notify on.
pub fn watchdog(file: FileValue<'_>, sd_notify: bool) -> Setting<Span> {
    let content = match file {
        FileValue::Missing => return Setting::Off,
        FileValue::Unreadable(errno) => return Setting::Bad(ConfigWarning::Unreadable { file: super::WATCHDOG_FILE, errno }),
        FileValue::Content(c) => c,
    };
    match s6_uint(content) {
        None => Setting::Bad(ConfigWarning::WatchdogInvalid),
        Some(0) => Setting::Bad(ConfigWarning::WatchdogZero),
        Some(ms) if ms > WATCHDOG_MAX_MS => Setting::Bad(ConfigWarning::WatchdogAbsurd(ms)),
        Some(_) if !sd_notify => Setting::Bad(ConfigWarning::WatchdogWithoutNotify),
        Some(ms) => Setting::On(Span::from_millis(ms)),
    }
}

/// The watchdog variables `./run` gets (spec/additions.md §3.5): `WATCHDOG_USEC` and
/// `WATCHDOG_PID`, as `(name, value)`.
pub fn watchdog_env(period: Span, child_pid: u32) -> [(&'static [u8], alloc::vec::Vec<u8>); 2] {
    let mut usec = alloc::vec::Vec::new();
    crate::status::push_decimal(&mut usec, period.0 / 1000);
    let mut pid = alloc::vec::Vec::new();
    crate::status::push_decimal(&mut pid, child_pid as u64);
    [(b"WATCHDOG_USEC", usec), (b"WATCHDOG_PID", pid)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_config_notification_fd() {
        let f = |b: &'static [u8]| notification_fd(FileValue::Content(b), 1024);
        assert_eq!(notification_fd(FileValue::Missing, 1024), Setting::Off);
        assert_eq!(f(b"3\n"), Setting::On(3));
        assert_eq!(f(b"1023"), Setting::On(1023));
        assert_eq!(f(b"1024"), Setting::Bad(ConfigWarning::NotificationFdTooLarge(1024)));
        for (v, n) in [(&b"0"[..], 0u8), (b"1\n", 1), (b"2", 2)] {
            assert_eq!(f(v), Setting::Bad(ConfigWarning::NotificationFdStdio(n)));
        }
        for bad in [&b"three"[..], b" 3", b"3 ", b"", b"-3"] {
            assert_eq!(f(bad), Setting::Bad(ConfigWarning::NotificationFdInvalid), "{bad:?}");
        }
        assert_eq!(
            notification_fd(FileValue::Content(b"99999999999"), u64::MAX),
            Setting::Bad(ConfigWarning::NotificationFdTooLarge(99999999999))
        );
        assert_eq!(notification_fd(FileValue::Content(b"2147483647"), u64::MAX), Setting::On(i32::MAX as u32));
        assert_eq!(
            notification_fd(FileValue::Content(b"2147483648"), u64::MAX),
            Setting::Bad(ConfigWarning::NotificationFdTooLarge(1 << 31))
        );
        let w = notification_fd(FileValue::Unreadable(Errno::EACCES), 1024);
        assert_eq!(w.warning(), Some(ConfigWarning::Unreadable { file: b"notification-fd", errno: Errno::EACCES }));
        assert_eq!(w.value(), None);
    }

    #[test]
    fn test_config_notify_socket_and_watchdog() {
        assert_eq!(notify_socket(FileValue::Missing), Setting::Off);
        assert_eq!(notify_socket(FileValue::Content(b"")), Setting::On(()));
        assert!(notify_socket(FileValue::Unreadable(Errno::EIO)).warning().is_some());
        let w = |b: &'static [u8], on| watchdog(FileValue::Content(b), on);
        assert_eq!(w(b"5000\n", true), Setting::On(Span::from_millis(5000)));
        assert_eq!(w(b"5000", true).value(), Some(Span::from_secs(5)));
        assert_eq!(w(b"0", true), Setting::Bad(ConfigWarning::WatchdogZero));
        assert_eq!(w(b"604800000", true), Setting::On(Span::from_millis(WATCHDOG_MAX_MS)));
        assert_eq!(w(b"604800001", true), Setting::Bad(ConfigWarning::WatchdogAbsurd(604_800_001)));
        assert_eq!(w(b"5s", true), Setting::Bad(ConfigWarning::WatchdogInvalid));
        assert_eq!(w(b"5000", false), Setting::Bad(ConfigWarning::WatchdogWithoutNotify));
        assert_eq!(watchdog(FileValue::Missing, true), Setting::Off);
        assert!(watchdog(FileValue::Unreadable(Errno::EIO), true).warning().is_some());
    }

    #[test]
    fn test_config_watchdog_env() {
        let [(k1, v1), (k2, v2)] = watchdog_env(Span::from_millis(2500), 4242);
        assert_eq!((k1, v1.as_slice()), (&b"WATCHDOG_USEC"[..], &b"2500000"[..]));
        assert_eq!((k2, v2.as_slice()), (&b"WATCHDOG_PID"[..], &b"4242"[..]));
    }
}
