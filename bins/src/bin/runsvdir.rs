//! runsvdir: starts and watches one runsv per service directory (spec/runsvdir.md).
//! argv parsing and wiring only; decisions live in `model::runsvdir`.
#![no_main]

use std::os::unix::ffi::OsStrExt;

use model::runsvdir::{msg, parse_args, Input, Runsvdir};
use runtime::driver::{self, RealOs};
use runtime::exec::runsvdir::{handled_signals, RunsvdirIo, TitleMem};

runit_bins::c_main!(runsvdir_main);

fn runsvdir_main() -> i32 {
    let argv = runit_bins::args_bytes();
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(usage) => runit_bins::die(&usage, 1),
    };
    // runit keeps "." open to return to after scans; we never leave it, so only the check
    // is kept and the descriptor is closed (one less needed under a tight limit).
    match runtime::sys::open(c".", libc::O_RDONLY | libc::O_NONBLOCK, 0) {
        Ok(fd) => {
            let _ = runtime::sys::close(fd);
        }
        Err(e) => runit_bins::die(&msg::fatal_cwd(&args.dir, e), msg::EXIT_FATAL),
    }
    let title = match (args.log.as_ref(), args.log_index) {
        (Some(l), Some(i)) if model::runsvdir::title::usable(l) => TitleMem::locate(&argv, i),
        _ => None,
    };
    let path = std::env::var_os("PATH");
    let (handled, strays) = handled_signals();
    let mut io = match RunsvdirIo::new(&args.dir, args.pgrp, path.as_ref().map(|p| p.as_bytes()), title, &strays) {
        Ok(io) => io,
        // A directory name with a NUL byte cannot come from argv; treat as unstat-able.
        Err(e) => runit_bins::die(&msg::fatal_cwd(&args.dir, e), msg::EXIT_FATAL),
    };
    let signals = match runtime::signals::Signals::install(&handled) {
        Ok(s) => s,
        Err(e) => runit_bins::die(&msg::fatal_cwd(&args.dir, e), msg::EXIT_FATAL),
    };
    // A runsv killed by SIGKILL leaves its service and logger to this process rather than
    // to init, so the next runsv can take them over (docs/divergences.md "Adoption");
    // their exits are reaped like any child's and matched against no runsv.
    let _ = runtime::pidfd::become_child_subreaper();
    let mut os = RealOs { signals };
    let mut machine = Runsvdir::new(args.log.as_deref());
    let mut trace = driver::trace_from_env();
    driver::run(&mut machine, &mut io, &mut os, vec![Input::Start], &mut trace)
}
