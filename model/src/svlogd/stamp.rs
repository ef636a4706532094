//! Line timestamps (spec/svlogd.md §1): `-t` TAI64N text, `-tt` UTC
//! `YYYY-MM-DD_HH:MM:SS.fffff`, `-ttt` the same with `T`. The calendar conversion is our
//! own (proleptic Gregorian, no leap seconds, like `gmtime`), so the model stays pure.

use crate::time::{Tai64n, Wall};

/// Which prefix `-t`, `-tt`, `-ttt` select (0 = none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StampKind {
    /// No timestamp.
    None,
    /// `@` + 24 hex digits.
    Tai64n,
    /// `2026-11-24_09:39:10.11242`.
    Utc,
    /// `2026-11-24T09:39:10.11242`.
    Iso,
}

impl StampKind {
    /// From the number of `-t` flags (saturating at 3).
    pub fn from_count(n: u8) -> StampKind {
        match n {
            0 => StampKind::None,
            1 => StampKind::Tai64n,
            2 => StampKind::Utc,
            _ => StampKind::Iso,
        }
    }
}

/// Days since 1970-01-01 -> (year, month 1..=12, day 1..=31) (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Broken-down UTC time of a unix second: (year, month, day, hour, minute, second).
pub fn utc(unix_secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix_secs.div_euclid(86_400);
    let rem = unix_secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

fn put_num(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Formats the 25-character stamp for `wall` plus the separating space into `out`;
/// returns 26, or 0 for [`StampKind::None`].
pub fn format(kind: StampKind, wall: Wall, out: &mut [u8; 26]) -> usize {
    let tai = Tai64n::from_wall(wall);
    match kind {
        StampKind::None => return 0,
        StampKind::Tai64n => out[..25].copy_from_slice(&tai.to_text()),
        StampKind::Utc | StampKind::Iso => {
            let (y, mo, d, h, mi, s) = utc(tai.unix_secs());
            put_num(&mut out[0..4], y.rem_euclid(10_000) as u64);
            out[4] = b'-';
            put_num(&mut out[5..7], mo as u64);
            out[7] = b'-';
            put_num(&mut out[8..10], d as u64);
            out[10] = if kind == StampKind::Utc { b'_' } else { b'T' };
            put_num(&mut out[11..13], h as u64);
            out[13] = b':';
            put_num(&mut out[14..16], mi as u64);
            out[16] = b':';
            put_num(&mut out[17..19], s as u64);
            out[19] = b'.';
            // runit prints the 9-digit nanoseconds and keeps the first five.
            put_num(&mut out[20..25], (tai.nanos / 10_000) as u64);
        }
    }
    out[25] = b' ';
    26
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: StampKind, secs: i64, nanos: u32) -> alloc::vec::Vec<u8> {
        let mut b = [0u8; 26];
        let n = format(kind, Wall { unix_secs: secs, nanos }, &mut b);
        b[..n].to_vec()
    }

    #[test]
    fn utc_known_dates() {
        assert_eq!(utc(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(utc(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(utc(1_795_513_150), (2026, 11, 24, 9, 39, 10));
        assert_eq!(utc(-1), (1969, 12, 31, 23, 59, 59));
        assert_eq!(utc(4_102_444_800), (2100, 1, 1, 0, 0, 0));
    }

    #[test]
    fn formats_match_spec_examples() {
        assert_eq!(f(StampKind::Utc, 1_795_513_150, 112_429_000), b"2026-11-24_09:39:10.11242 ");
        assert_eq!(f(StampKind::Iso, 1_795_513_150, 114_170_000), b"2026-11-24T09:39:10.11417 ");
        assert_eq!(f(StampKind::Tai64n, 0x6b05_5b48 - 10, 110_531_000), b"@400000006b055b48069693ac ");
        assert_eq!(f(StampKind::None, 1, 1), b"");
    }
}
