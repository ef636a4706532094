//! A fast newline search (no dependencies): eight bytes at a time with the classic
//! "has zero byte" bit trick, so line assembly costs a fraction of a byte copy.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Index of the first `needle` in `hay`, like `memchr`.
#[inline]
pub fn find_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    let pat = LO.wrapping_mul(needle as u64);
    let mut i = 0;
    let n = hay.len();
    while i + 8 <= n {
        let mut w = [0u8; 8];
        w.copy_from_slice(&hay[i..i + 8]);
        let x = u64::from_le_bytes(w) ^ pat;
        let t = x.wrapping_sub(LO) & !x & HI;
        if t != 0 {
            return Some(i + (t.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while i < n {
        if hay[i] == needle {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Index of the first `\n` in `hay`.
#[inline]
pub fn find_newline(hay: &[u8]) -> Option<usize> {
    find_byte(b'\n', hay)
}

/// Index of the last `\n` in `hay`, scanning backwards a word at a time.
#[inline]
pub fn rfind_newline(hay: &[u8]) -> Option<usize> {
    let pat = LO.wrapping_mul(b'\n' as u64);
    let mut end = hay.len();
    while end >= 8 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&hay[end - 8..end]);
        let x = u64::from_le_bytes(w) ^ pat;
        let t = x.wrapping_sub(LO) & !x & HI;
        if t != 0 {
            // A flag proves a match in this word, but borrows can flag a byte above a
            // real match (`\n` then `\x0b`), so find the last one byte by byte.
            let base = end - 8;
            return hay[base..end].iter().rposition(|&b| b == b'\n').map(|j| base + j);
        }
        end -= 8;
    }
    hay[..end].iter().rposition(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = alloc::vec![b'a'; len];
                v[at] = b'\n';
                if at + 1 < len {
                    v[len - 1] = b'\n';
                }
                assert_eq!(find_newline(&v), Some(at), "len {len} at {at}");
            }
            assert_eq!(find_newline(&alloc::vec![0x8au8; len]), None);
        }
    }

    #[test]
    fn rfind_finds_last_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = alloc::vec![0x8au8; len];
                v[at] = b'\n';
                if at > 0 {
                    v[0] = b'\n';
                }
                assert_eq!(rfind_newline(&v), Some(at), "len {len} at {at}");
            }
            assert_eq!(rfind_newline(&alloc::vec![b'a'; len]), None);
        }
    }

    #[test]
    fn rfind_is_not_fooled_by_borrows() {
        let v = [b'a', b'\n', 0x0b, b'a', b'a', b'a', b'a', b'a'];
        assert_eq!(rfind_newline(&v), Some(1));
        assert_eq!(find_newline(&v), Some(1));
    }

    #[test]
    fn high_bytes_do_not_confuse_the_trick() {
        let v = [0xffu8, 0x0b, 0x09, 0x8a, 0x0a, 0, 0, 0, 0x0a];
        assert_eq!(find_newline(&v), Some(4));
    }
}
