//! svlogd: reads log lines on stdin and writes them to rotated log directories
//! (spec/svlogd.md). argv parsing and wiring only; behaviour lives in `model::svlogd`.
#![no_main]

use model::svlogd::options::{self, Parsed};
use model::svlogd::{diag, Input, Logger};
use runtime::driver::{self, RealOs};
use runtime::exec::svlogd::{handled_signals, SvlogdIo};
use runtime::signals::Signals;

runit_bins::c_main!(svlogd_main);

fn svlogd_main() -> i32 {
    let argv = runit_bins::args_bytes();
    let settings = match options::parse(&argv) {
        Parsed::Run(s) => s,
        Parsed::Exit(text, code) => runit_bins::die_usage(&text, code),
    };
    match runtime::fs::open_read(c".") {
        Ok(fd) => {
            let _ = runtime::sys::close(fd);
        }
        Err(e) => runit_bins::die(&diag::fatal("unable to open current working directory", e), 111),
    }
    // runit puts stdin into non-blocking mode (visible to others sharing the pipe).
    let _ = runtime::sys::set_nonblock(0, true);
    let (handled, strays) = handled_signals();
    let signals = match Signals::install(&handled) {
        Ok(s) => s,
        Err(_) => runit_bins::die(b"svlogd: pausing: out of memory.\n", 111),
    };
    let dirs = settings.dirs.clone();
    let mut machine = Logger::new(settings);
    let mut io = SvlogdIo::new(dirs, &strays);
    let mut os = RealOs { signals };
    driver::run(&mut machine, &mut io, &mut os, vec![Input::Start], &mut driver::trace_from_env())
}
