//! Shared glue for the binaries: argv as bytes, exiting with runit's codes.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// argv as raw bytes (runit's arguments are bytes, not UTF-8).
pub fn args_bytes() -> Vec<Vec<u8>> {
    std::env::args_os().map(OsString::into_vec).collect()
}

/// Writes a message to stderr in one write and exits with `code`.
pub fn die(msg: &[u8], code: i32) -> ! {
    runtime::diag::write_stderr(msg);
    std::process::exit(code)
}
