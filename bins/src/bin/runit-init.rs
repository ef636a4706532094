//! runit-init: `init 0` (halt) / `init 6` (reboot) set runit's flag files and send
//! SIGCONT to PID 1; started as PID 1 it execs runit (spec/init.md §2).
//!
//! `RUNIT_ROOT=/prefix` moves the flag files and `/sbin/runit` under a prefix (tests).
use std::os::unix::ffi::OsStrExt;

use model::errno::Errno;
use model::stage::init::{self, Command, Flag, Step};
use model::stage::{msg, Paths};
use runtime::sys;

fn paths() -> Paths {
    match std::env::var_os("RUNIT_ROOT") {
        Some(r) if !r.is_empty() => Paths::of(runit_bins::LAYOUT, r.as_bytes()),
        _ => Paths::of(runit_bins::LAYOUT, b""),
    }
}

fn exec_runit(paths: &Paths) -> ! {
    let e = runtime::process::exec(&paths.runit, &[b"runit"]);
    runit_bins::die(&msg::init::exec_failed(e), 111)
}

fn run_steps(paths: &Paths, steps: &[Step]) {
    let file = |f: Flag| match f {
        Flag::Stopit => &paths.stopit,
        Flag::Reboot => &paths.reboot,
    };
    for step in steps {
        match *step {
            Step::Create(f) => {
                let p = file(f);
                let r = sys::cstr(p).and_then(|c| runtime::fs::open_trunc(&c));
                match r {
                    Ok(fd) => {
                        let _ = sys::close(fd);
                    }
                    Err(e) => runit_bins::die(&msg::init::create_failed(p, e), 111),
                }
            }
            Step::Chmod { flag, mode, missing_ok } => {
                let p = file(flag);
                let r = sys::cstr(p).and_then(|c| sys::chmod(&c, mode));
                match r {
                    Ok(()) => {}
                    Err(e) if missing_ok && e == Errno::ENOENT => {}
                    Err(e) => runit_bins::die(&msg::init::chmod_failed(p, e), 111),
                }
            }
            Step::SignalInit => {
                let _ = sys::kill(1, libc::SIGCONT);
            }
        }
    }
}

fn main() {
    let args = runit_bins::args_bytes();
    let argv0: &[u8] = args.first().map_or(b"runit-init", |a| a.as_slice());
    let paths = paths();
    let is_pid1 = runtime::exec::stage::is_pid1();
    let cmd = init::command(is_pid1, args.get(1).map(|a| a.as_slice()));
    match cmd {
        Command::ExecRunit => exec_runit(&paths),
        Command::Halt | Command::Reboot => {
            run_steps(&paths, &init::steps(cmd));
            std::process::exit(0)
        }
        Command::Version => {
            let mut text = msg::init::VERSION.to_vec();
            text.extend_from_slice(&msg::init::usage(argv0));
            runit_bins::die_usage(&text, 0)
        }
        Command::Usage => runit_bins::die(&msg::init::usage(argv0), 0),
    }
}
