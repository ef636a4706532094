//! Shared glue for the binaries: argv as bytes, exiting with runit's codes.

use std::ffi::OsString;

// Every binary takes the unwinder from libgcc_eh.a (whole archive, so it is linked before
// std asks for it) instead of loading libgcc_s.so.1 at every start: one shared library
// less to map per process (start-up time of chpst/sv, memory of each of the thousand
// runsv processes on a big host).
#[cfg_attr(all(target_os = "linux", target_env = "gnu"), link(name = "gcc_eh", kind = "static", modifiers = "+whole-archive,-bundle"))]
extern "C" {}
use std::os::unix::ffi::OsStringExt;

/// The file layout this build follows: Debian's unless built with `--features void`.
pub const LAYOUT: model::stage::Layout = if cfg!(feature = "void") { model::stage::Layout::Void } else { model::stage::Layout::Debian };

/// argv as raw bytes (runit's arguments are bytes, not UTF-8).
pub fn args_bytes() -> Vec<Vec<u8>> {
    std::env::args_os().map(OsString::into_vec).collect()
}

/// runit-rs's own identity: `runit-rs <version> (commit <hash>|unknown)`, from the
/// workspace version and `bins/build.rs`. Printed only after runit's `-V` output, so
/// the `$Id: ... $` line scripts parse stays runit's.
pub fn identity() -> String {
    format!("runit-rs {} (commit {})\n", env!("CARGO_PKG_VERSION"), env!("RUNIT_RS_COMMIT"))
}

/// [`die`] for a usage text: when it is `-V`'s (it starts with runit's `$Id: ` line),
/// the [`identity`] line follows it, in the same write.
pub fn die_usage(text: &[u8], code: i32) -> ! {
    if text.starts_with(b"$Id: ") {
        let mut t = text.to_vec();
        t.extend_from_slice(identity().as_bytes());
        die(&t, code)
    }
    die(text, code)
}

/// Writes a message to stderr in one write and exits with `code`.
pub fn die(msg: &[u8], code: i32) -> ! {
    runtime::diag::write_stderr(msg);
    std::process::exit(code)
}

/// Defines the C `main` for a binary whose crate root says `#![no_main]`, calling `$body`
/// (a `fn() -> i32`, the exit code).
///
/// Why not `fn main`: Rust's start-up sets SIGPIPE to ignored before `main` runs, and every
/// child (services, log services, processors) would inherit that — under runit they get
/// the disposition runit itself inherited. It also skips std's start-up work (a
/// stack-overflow handler with its own mapping), which matters for processes that run by
/// the thousand, like runsv. Such binaries are never built as test targets (see
/// bins/Cargo.toml), since their `main` would replace the test harness's.
#[macro_export]
macro_rules! c_main {
    ($body:path) => {
        #[no_mangle]
        pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
            $body()
        }
    };
}
