//! runsv: supervise one service directory (and its log service). See docs/man/runsv.8.
#![no_main]

use model::runsv::{text, Input, Runsv};
use runtime::driver::{self, RealOs};
use runtime::exec::runsv::{handled_signals, RunsvIo};
use runtime::signals::Signals;

runit_bins::c_main!(runsv_main);

fn runsv_main() -> i32 {
    let args = runit_bins::args_bytes();
    let argv0 = args.first().cloned().unwrap_or_else(|| b"runsv".to_vec());
    if args.len() != 2 {
        runit_bins::die(&text::usage(&argv0), 1);
    }
    let dir = &args[1];
    let handled = handled_signals();
    let signals = match Signals::install(&handled.all) {
        Ok(s) => s,
        Err(e) => runit_bins::die(&text::fatal(dir, b"unable to create selfpipe", Some(e)), 111),
    };
    let (mut io, config) = match RunsvIo::setup(runtime::os::Real, dir, handled) {
        Ok(x) => x,
        Err(f) => runit_bins::die(&f.0, 111),
    };
    let mut os = RealOs { signals };
    let now = runtime::clock::now();
    let mut trace = driver::trace_from_env();
    let stop = io.stop();
    let backoff = io.backoff();
    trace.note(&(now, &config, stop, backoff));
    let mut machine = Runsv::new(now, config).with_stop(stop).with_backoff(backoff);
    let first = io.take_resume().into_iter().chain([Input::Start]).collect();
    driver::run(&mut machine, &mut io, &mut os, first, &mut trace)
}
