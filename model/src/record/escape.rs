//! The escaping of free text (`status_text`) so that a value never contains a newline:
//! `\` → `\\`, newline → `\n`, tab → `\t`, any other byte below 0x20 and 0x7f → `\xHH`
//! (lowercase hex). Every other byte, UTF-8 included, is kept as is.

use alloc::vec::Vec;

/// The escaped form of `raw`.
pub fn escape(raw: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(raw.len());
    for &c in raw {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => out.extend_from_slice(&[b'\\', b'x', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]),
            _ => out.push(c),
        }
    }
    out
}

/// Inverse of [`escape`]; `None` for a raw control byte, an unknown escape or bad hex.
pub fn unescape(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if c < 0x20 || c == 0x7f {
            return None;
        }
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        match text.get(i + 1)? {
            b'\\' => out.push(b'\\'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'x' => {
                let hi = hex(*text.get(i + 2)?)?;
                let lo = hex(*text.get(i + 3)?)?;
                out.push(hi * 16 + lo);
                i += 2;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(out)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}
