//! The readproctitle buffer (spec/runsvdir.md §6): the log argument's own bytes in argv
//! become a scrolling display of everything written to runsvdir's stderr, so `ps` shows
//! the latest errors. The first five bytes stay; each non-NUL byte read drops the byte at
//! position 5, shifts the rest left and lands at the end. The length never changes.

use alloc::vec::Vec;

/// Bytes kept at the front of the buffer (`log: `).
pub const KEEP: usize = 5;
/// Minimum length of a usable log argument.
pub const MIN_LEN: usize = 7;
/// Seconds between the `.` markers written into the log pipe.
pub const DOT_INTERVAL_SECS: u64 = 900;

/// Whether a log argument is long enough to be used (shorter ones are warned about and
/// ignored): the one rule both the machine and the binary's argv lookup follow.
pub fn usable(arg: &[u8]) -> bool {
    arg.len() >= MIN_LEN
}

/// The scrolling process-title buffer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Title {
    buf: Vec<u8>,
}

impl Title {
    /// Starts from the log argument as given (callers check [`MIN_LEN`] first).
    pub fn new(arg: &[u8]) -> Title {
        Title { buf: arg.to_vec() }
    }

    /// Appends bytes read from the log pipe, runit style; NULs are dropped.
    pub fn feed(&mut self, bytes: &[u8]) {
        let n = self.buf.len();
        if n <= KEEP {
            return;
        }
        for &b in bytes.iter().filter(|&&b| b != 0) {
            self.buf.copy_within(KEEP + 1..n, KEEP);
            self.buf[n - 1] = b;
        }
        debug_assert_eq!(self.buf.len(), n);
    }

    /// The current contents (same length as the argument).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_scroll() {
        let mut t = Title::new(b"log: ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
        t.feed(b".");
        t.feed(b"to-stderr-from-a\n");
        assert_eq!(t.bytes(), &b"log: STUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.to-stderr-from-a\n"[..]);
    }

    #[test]
    fn usable_from_seven_bytes() {
        // spec/runsvdir.md §9: `short` (5 bytes) and `-X` are too short; seven is enough.
        assert!(!usable(b"short"));
        assert!(!usable(b"log: ."));
        assert!(usable(b"log: .."));
    }

    #[test]
    fn nul_dropped_and_length_kept() {
        let mut t = Title::new(b"log: ...");
        t.feed(b"a\0b");
        assert_eq!(t.bytes(), b"log: .ab");
        t.feed(b"xyzw");
        assert_eq!(t.bytes(), b"log: yzw");
    }

    #[test]
    fn tiny_buffers_never_panic() {
        let mut t = Title::new(b"log: ");
        t.feed(b"abc");
        assert_eq!(t.bytes(), b"log: ");
        let mut t = Title::new(b"log: x");
        t.feed(b"abc");
        assert_eq!(t.bytes(), b"log: c");
    }
}
