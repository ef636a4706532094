//! runit: PID 1. Runs `/etc/runit/1`, `/etc/runit/2`, `/etc/runit/3` as the stage
//! machine in `model::stage` decides, reaps every orphan, and reboots or powers off at
//! the end (spec/init.md §1).
//!
//! Overrides for tests and containers (read only here, passed on as values):
//! - `RUNIT_ROOT=/prefix`: every file runit uses (`/etc/runit/*`, `/run/runit.*`,
//!   `/dev/console`) is looked up under the prefix;
//! - `RUNIT_CONTAINER=1|0`: force container mode on or off (default: on iff the
//!   environment has `container=<name>` or runit is PID 1 of a non-initial PID
//!   namespace).
use std::os::unix::ffi::OsStrExt;

use model::stage::{msg, Config, Input, Msg, Paths, Stages};
use runtime::driver::{self, RealOs};
use runtime::exec::stage::{self as exec, StageIo, StagePaths};

/// The file paths, under `RUNIT_ROOT` if it is set.
fn paths() -> Paths {
    match std::env::var_os("RUNIT_ROOT") {
        Some(r) if !r.is_empty() => Paths::of(runit_bins::LAYOUT, r.as_bytes()),
        _ => Paths::of(runit_bins::LAYOUT, b""),
    }
}

/// Container mode: forced by `RUNIT_CONTAINER`, else on when the container manager
/// says so (`container=<name>`, set by podman, LXC, systemd-nspawn) or when runit is in
/// a non-initial PID namespace.
fn container_mode() -> bool {
    match std::env::var_os("RUNIT_CONTAINER").as_deref().map(|v| v.as_bytes()) {
        Some(b"1") => true,
        Some(b"0") => false,
        _ => std::env::var_os("container").is_some_and(|v| !v.is_empty()) || exec::in_child_pid_namespace(),
    }
}

fn main() {
    let paths = paths();
    if !exec::is_pid1() {
        runit_bins::die(&msg::line(Msg::NotPid1, &paths), 111);
    }
    let container = container_mode();
    exec::take_over_console_and_cad();
    // HUP, PIPE (and TERM outside container mode) are blocked, as in runit, and also
    // ignored: the shared wait unblocks every signal while it sleeps.
    let ignored = exec::blocked_signals(container);
    exec::block(&ignored);
    for &s in &ignored {
        runtime::signals::ignore(s);
    }
    exec::point_at_console(&std::ffi::CString::new(paths.console.clone()).unwrap_or_default(), true);
    let args = runit_bins::args_bytes();
    if let Some(warning) = msg::ignored_arguments(container, args.get(1..).unwrap_or(&[])) {
        runtime::diag::write_stderr(&warning);
    }
    let signals = loop {
        match runtime::signals::Signals::install(&exec::handled_signals(container)) {
            Ok(s) => break s,
            Err(e) => {
                runtime::diag::write_stderr(&msg::line(Msg::SelfpipeFailed(e), &paths));
                std::thread::sleep(std::time::Duration::from_secs(5));
            }
        }
    };
    let mut machine = Stages::new(Config { container });
    let mut io = StageIo::new(StagePaths::new(paths));
    let mut os = RealOs { signals };
    let code = driver::run(&mut machine, &mut io, &mut os, vec![Input::Boot], &mut driver::trace_from_env());
    std::process::exit(code)
}
