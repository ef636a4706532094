//! Diagnostics go to fd 2 as one complete line per `write(2)`, as runit does, so lines
//! from many processes sharing a log pipe never interleave mid-line.

/// Writes `line` (already terminated) to fd 2 in one call; errors are ignored (there is
/// nowhere left to report them).
pub fn write_stderr(line: &[u8]) {
    write_all_fd(2, line);
}

/// Writes `bytes` to fd 1 in one call where possible.
pub fn write_stdout(bytes: &[u8]) {
    write_all_fd(1, bytes);
}

fn write_all_fd(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live slice.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if crate::sys::errno() == libc::EINTR {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// Builds a runit-format line from pieces and an optional errno, and writes it to fd 2.
pub fn emit(pieces: &[&[u8]], errno: Option<model::errno::Errno>) {
    write_stderr(&model::msg::line(pieces, errno));
}
