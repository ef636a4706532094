//! utmpset: mark a terminal line logged out in utmp (and wtmp with `-w`).
//!
//! `RUNIT_UTMP` / `RUNIT_WTMP` replace the two file paths; they exist so tests can work
//! on scratch files instead of the system's (documented in docs/divergences.md).

use std::os::unix::ffi::OsStringExt;

use model::utmp::{self, Parsed, EXIT_USAGE, UTMP_PATH, WTMP_PATH};
use runtime::exec::utmp::{logout, Paths};

fn path_from_env(var: &str, default: &[u8]) -> Vec<u8> {
    std::env::var_os(var).map(|v| v.into_vec()).unwrap_or_else(|| default.to_vec())
}

fn main() {
    let args = runit_bins::args_bytes();
    let (line, wtmp) = match utmp::parse(&args) {
        Parsed::Usage(text) => runit_bins::die_usage(&text, EXIT_USAGE),
        Parsed::Run { line, wtmp } => (line, wtmp),
    };
    let paths = Paths { utmp: path_from_env("RUNIT_UTMP", UTMP_PATH), wtmp: path_from_env("RUNIT_WTMP", WTMP_PATH) };
    let now = runtime::clock::now().wall.unix_secs;
    match logout(&paths, &line, wtmp, now) {
        Ok(()) => std::process::exit(0),
        Err(f) => runit_bins::die(&f.line(), f.code()),
    }
}
