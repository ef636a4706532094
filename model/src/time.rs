//! Time as values: the model never reads a clock.
//!
//! Two clocks arrive with every input, as [`Now`]: a monotonic one ([`Mono`]) that drives
//! every behaviour (throttles, rescans, timeouts, rotation age) and a wall clock ([`Wall`])
//! that is only ever written out (status stamps, log file names, timestamps). runit uses
//! the wall clock for both; keeping them apart is why a stepped clock cannot make our
//! supervisors spin or stall (docs/divergences.md).

use core::fmt;
use core::ops::{Add, Sub};

/// A point on the monotonic clock, in nanoseconds from an arbitrary origin.
///
/// Only differences mean anything; the origin is whatever the runtime's clock uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mono(pub u64);

/// A span of monotonic time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub u64);

impl Span {
    /// Zero-length span: "now".
    pub const ZERO: Span = Span(0);
    /// A span of whole milliseconds.
    pub const fn from_millis(ms: u64) -> Span {
        Span(ms.saturating_mul(1_000_000))
    }
    /// A span of whole seconds.
    pub const fn from_secs(s: u64) -> Span {
        Span(s.saturating_mul(1_000_000_000))
    }
    /// Whole milliseconds, rounded down.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }
}

impl Add<Span> for Mono {
    type Output = Mono;
    fn add(self, rhs: Span) -> Mono {
        Mono(self.0.saturating_add(rhs.0))
    }
}

impl Sub<Mono> for Mono {
    type Output = Span;
    /// Saturating: a later point minus an earlier one; zero if reversed.
    fn sub(self, rhs: Mono) -> Span {
        Span(self.0.saturating_sub(rhs.0))
    }
}

/// Wall-clock time as the kernel reports it (`CLOCK_REALTIME`), seconds since the Unix
/// epoch plus nanoseconds. Only formatted, never compared for behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Wall {
    /// Seconds since 1970-01-01T00:00:00Z (may be negative on a badly set clock).
    pub unix_secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

/// Both clocks, read once by the runtime per loop iteration and handed to the machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Now {
    /// Drives behaviour.
    pub mono: Mono,
    /// Only written out.
    pub wall: Wall,
}

impl Now {
    /// A `Now` advanced by `span` on both clocks (for tests and simulation).
    pub fn after(self, span: Span) -> Now {
        let total = self.wall.nanos as u64 + span.0 % 1_000_000_000;
        Now {
            mono: self.mono + span,
            wall: Wall {
                unix_secs: self.wall.unix_secs + (span.0 / 1_000_000_000) as i64 + (total / 1_000_000_000) as i64,
                nanos: (total % 1_000_000_000) as u32,
            },
        }
    }
}

/// The TAI64 label of the Unix epoch as daemontools counts it: 2^62 + 10
/// (a fixed 10 s TAI-UTC offset, no leap-second table).
pub const TAI64_UNIX_EPOCH: u64 = (1u64 << 62) + 10;

/// A TAI64N time stamp as runit writes it (status records, svlogd names and `-t` lines).
///
/// Built from the wall clock exactly as runit does: seconds label `2^62 + 10 + unix`,
/// nanoseconds `usec * 1000 + 500` (runit's clock has microsecond resolution, so every
/// stamp ends in ...500 ns; tools that compare stamps byte for byte rely on it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tai64n {
    /// TAI64 seconds label.
    pub secs: u64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nanos: u32,
}

impl Tai64n {
    /// The stamp runit would write for this wall-clock time.
    pub fn from_wall(wall: Wall) -> Tai64n {
        Tai64n { secs: TAI64_UNIX_EPOCH.wrapping_add(wall.unix_secs as u64), nanos: (wall.nanos / 1000) * 1000 + 500 }
    }

    /// Unix seconds of this stamp (inverse of the label offset).
    pub fn unix_secs(self) -> i64 {
        self.secs.wrapping_sub(TAI64_UNIX_EPOCH) as i64
    }

    /// The 12-byte packed form: big-endian seconds, then big-endian nanoseconds.
    pub fn pack(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.secs.to_be_bytes());
        out[8..].copy_from_slice(&self.nanos.to_be_bytes());
        out
    }

    /// Inverse of [`Tai64n::pack`].
    pub fn unpack(b: &[u8; 12]) -> Tai64n {
        let mut s = [0u8; 8];
        s.copy_from_slice(&b[..8]);
        let mut n = [0u8; 4];
        n.copy_from_slice(&b[8..]);
        Tai64n { secs: u64::from_be_bytes(s), nanos: u32::from_be_bytes(n) }
    }

    /// The 25-character text form `@` + 24 lowercase hex digits.
    pub fn to_text(self) -> [u8; 25] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 25];
        out[0] = b'@';
        for (i, byte) in self.pack().iter().enumerate() {
            out[1 + 2 * i] = HEX[(byte >> 4) as usize];
            out[2 + 2 * i] = HEX[(byte & 15) as usize];
        }
        out
    }

    /// Parses the text form (`@` + 24 hex digits, either case). `None` if malformed.
    pub fn parse_text(text: &[u8]) -> Option<Tai64n> {
        if text.len() != 25 || text[0] != b'@' {
            return None;
        }
        let mut packed = [0u8; 12];
        for (i, slot) in packed.iter_mut().enumerate() {
            let hi = hex_val(text[1 + 2 * i])?;
            let lo = hex_val(text[2 + 2 * i])?;
            *slot = (hi << 4) | lo;
        }
        Some(Tai64n::unpack(&packed))
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Tai64n {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.to_text();
        // to_text is ASCII by construction.
        f.write_str(core::str::from_utf8(&t).unwrap_or("@"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tai64n_matches_runit_example() {
        // formats.md example: seconds 0x400000006b05576c, nanos 0x3b754e4c.
        let t = Tai64n { secs: 0x4000_0000_6b05_576c, nanos: 0x3b75_4e4c };
        assert_eq!(&t.to_text(), b"@400000006b05576c3b754e4c");
        assert_eq!(Tai64n::parse_text(&t.to_text()), Some(t));
    }

    #[test]
    fn from_wall_adds_offset_and_half_microsecond() {
        let t = Tai64n::from_wall(Wall { unix_secs: 1, nanos: 1_234_567 });
        assert_eq!(t.secs, (1u64 << 62) + 11);
        assert_eq!(t.nanos, 1_234_500);
        assert_eq!(t.unix_secs(), 1);
    }

    #[test]
    fn now_after_carries_nanos() {
        let n = Now { mono: Mono(5), wall: Wall { unix_secs: 10, nanos: 900_000_000 } };
        let m = n.after(Span::from_millis(200));
        assert_eq!(m.mono, Mono(200_000_005));
        assert_eq!(m.wall, Wall { unix_secs: 11, nanos: 100_000_000 });
    }
}
