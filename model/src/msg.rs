//! Diagnostic lines as runit builds them: plain concatenation of pieces, then the errno
//! text, then `\n` (spec/common.md §1). Separators live in the pieces, which is why some
//! runit messages have doubled or missing `": "`; callers pass pieces exactly.

use alloc::vec::Vec;

use crate::errno::Errno;

/// Concatenates `pieces`, appends `errstr(errno)` when given, and a newline.
pub fn line(pieces: &[&[u8]], errno: Option<Errno>) -> Vec<u8> {
    let mut out = Vec::with_capacity(pieces.iter().map(|p| p.len()).sum::<usize>() + 32);
    for p in pieces {
        out.extend_from_slice(p);
    }
    if let Some(e) = errno {
        out.extend_from_slice(e.text().as_bytes());
    }
    out.push(b'\n');
    out
}

/// A usage message: `usage: <prog><synopsis>\n\n` (runit prints an empty line after it).
pub fn usage(prog: &[u8], synopsis: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() + synopsis.len() + 9);
    out.extend_from_slice(b"usage: ");
    out.extend_from_slice(prog);
    out.extend_from_slice(synopsis);
    out.extend_from_slice(b"\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn shapes() {
        assert_eq!(
            line(&[b"runsv a", b": fatal: ", b"unable to lock supervise/lock: "], Some(Errno::EAGAIN)),
            b"runsv a: fatal: unable to lock supervise/lock: temporary failure\n"
        );
        assert_eq!(usage(b"runsv", b" dir"), b"usage: runsv dir\n\n");
    }
}
