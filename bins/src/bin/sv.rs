//! sv: control and query services supervised by runsv (spec/sv.md).
//!
//! argv and the environment go to `model::sv::parse`; the session runs over the real
//! file system through `runtime::exec::sv`. The machine-output options (`-j`, `-o`,
//! `-m`/`-M`, `-r`; docs/readiness.md) run `model::sv::report` instead.
//!
//! `no_main`: sv is run in tight loops by init scripts and monitoring (`sv status` every
//! 100 ms in some containers), so it skips std's runtime start-up (which reads
//! `/proc/self/maps` and installs a stack-overflow handler). argv still reaches
//! `std::env::args_os` on Linux via glibc's init-array arguments.
#![no_main]

use std::os::unix::ffi::OsStringExt;

use model::sv::{parse, Env, Output, Parse, Rule, Session};
use runit_bins::args_bytes;

fn env_bytes(name: &str) -> Option<Vec<u8>> {
    std::env::var_os(name).map(|v| v.into_vec())
}

runit_bins::c_main!(sv_main);

/// Parse argv and the environment, then run the session (see the module docs for why
/// this is not `fn main`).
fn sv_main() -> i32 {
    // Rust ignores SIGPIPE; runit's sv (and the ./check scripts it runs) have the default.
    runtime::signals::default(libc::SIGPIPE);
    let argv = args_bytes();
    // SVDIR unset: the layout's directory (an empty SVDIR is used as given, as in runit).
    let svdir = env_bytes("SVDIR").or_else(|| Some(runit_bins::LAYOUT.svdir().to_vec()));
    let svwait = env_bytes("SVWAIT");
    let env = Env { svdir: svdir.as_deref(), svwait: svwait.as_deref() };
    match parse(&argv, env) {
        Parse::Refuse { stderr, code } => runit_bins::die_usage(&stderr, code),
        Parse::Run(inv) if inv.output != Output::Human => {
            let mut io = runtime::exec::sv::SvIo::new();
            let code = runtime::exec::sv::run_report(&inv, &mut io);
            drop(io);
            std::process::exit(code)
        }
        Parse::Run(inv) => {
            let mut session = Session::new(inv, Rule::RaceFree);
            let mut io = runtime::exec::sv::SvIo::new();
            let code = runtime::exec::sv::run(&mut session, &mut io);
            drop(io);
            std::process::exit(code)
        }
    }
}
