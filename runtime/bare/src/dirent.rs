//! The names in a `getdents64` buffer: one parser for `struct linux_dirent64`, shared by
//! sv's directory listing ([`crate::sv`]) and the runtime's `fs::Present` (runsv's
//! start-up listing), so the two walk the kernel's records the same way.

/// The names (`.` and `..` included) of the records the kernel wrote at the start of
/// `buf` (`getdents64`'s return value bytes of it), in order. A truncated or malformed
/// record ends the walk.
pub fn names(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    core::iter::from_fn(move || {
        // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name[]
        // (NUL-terminated, padded).
        let head = buf.get(at..at + 19)?;
        let reclen = u16::from_ne_bytes([head[16], head[17]]) as usize;
        let raw = buf.get(at + 19..at.checked_add(reclen)?)?;
        at += reclen;
        Some(&raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())])
    })
}

#[cfg(test)]
mod tests {
    use super::names;

    fn record(name: &[u8]) -> std::vec::Vec<u8> {
        let reclen = (19 + name.len() + 1).next_multiple_of(8);
        let mut r = std::vec![0u8; reclen];
        r[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        r[19..19 + name.len()].copy_from_slice(name);
        r
    }

    #[test]
    fn walks_every_record_and_stops_at_a_truncated_one() {
        let mut buf = [record(b"."), record(b".."), record(b"down"), record(b"notification-fd")].concat();
        let got: std::vec::Vec<&[u8]> = names(&buf).collect();
        assert_eq!(got, [&b"."[..], b"..", b"down", b"notification-fd"]);
        buf.truncate(buf.len() - 1);
        assert_eq!(names(&buf).count(), 3);
        // A zero record length cannot loop forever: it ends the walk.
        let mut zero = record(b"x");
        zero[16..18].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(names(&zero).count(), 0);
    }
}
