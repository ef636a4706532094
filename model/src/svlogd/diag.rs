//! svlogd's message lines (spec/svlogd.md §10), built from pieces exactly as runit
//! concatenates them. Every function returns one complete line for one `write(2)`.

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::msg::line;

/// `svlogd: warning: <msg>: <name>: <errstr>`.
pub fn warn2(msg: &str, name: &[u8], e: Errno) -> Vec<u8> {
    line(&[b"svlogd: warning: ", msg.as_bytes(), b": ", name, b": "], Some(e))
}

/// `svlogd: warning: <msg>: <name>` (no errno).
pub fn warnx(msg: &str, name: &[u8]) -> Vec<u8> {
    line(&[b"svlogd: warning: ", msg.as_bytes(), b": ", name], None)
}

/// `svlogd: pausing: <msg>: <name>: <errstr>` (then a 3 s pause).
pub fn pause2(msg: &str, name: &[u8], e: Errno) -> Vec<u8> {
    line(&[b"svlogd: pausing: ", msg.as_bytes(), b": ", name, b": "], Some(e))
}

/// `svlogd: info: <pieces...>`.
pub fn info(pieces: &[&[u8]]) -> Vec<u8> {
    let mut v: Vec<&[u8]> = Vec::with_capacity(pieces.len() + 1);
    v.push(b"svlogd: info: ");
    v.extend_from_slice(pieces);
    line(&v, None)
}

/// `svlogd: fatal: <msg>` (no errno).
pub fn fatalx(msg: &str) -> Vec<u8> {
    line(&[b"svlogd: fatal: ", msg.as_bytes()], None)
}

/// `svlogd: fatal: <msg>: <errstr>`.
pub fn fatal(msg: &str, e: Errno) -> Vec<u8> {
    line(&[b"svlogd: fatal: ", msg.as_bytes(), b": "], Some(e))
}

/// `svlogd: warning: <msg>: <errstr>` (no name).
pub fn warn2_noname(msg: &str, e: Errno) -> Vec<u8> {
    line(&[b"svlogd: warning: ", msg.as_bytes(), b": "], Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_texts() {
        assert_eq!(
            warn2("unable to lock directory", b"a", Errno::EAGAIN),
            b"svlogd: warning: unable to lock directory: a: temporary failure\n"
        );
        assert_eq!(warnx("processor failed, restart", b"d"), b"svlogd: warning: processor failed, restart: d\n");
        assert_eq!(pause2("unable to open current", b"d", Errno::EISDIR), b"svlogd: pausing: unable to open current: d: is a directory\n");
        assert_eq!(info(&[b"new: ", b"d", b"/current"]), b"svlogd: info: new: d/current\n");
        assert_eq!(fatalx("no functional log directories."), b"svlogd: fatal: no functional log directories.\n");
    }
}
