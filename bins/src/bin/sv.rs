//! sv: control and query services supervised by runsv (spec/sv.md).
//!
//! argv and the environment go to `model::sv::parse`; the session runs over the real
//! file system through `bare::sv`, over raw system calls (`bare::raw`, x86_64 Linux) or
//! libc (`runtime::exec::sv`, elsewhere). The
//! machine-output options (`-j`, `-o`, `-m`/`-M`, `-r`; docs/readiness.md) run
//! `model::sv::report` instead.
//!
//! sv is run in tight loops by init scripts and monitoring (`sv status` every 100 ms in
//! some containers). On x86_64 Linux it is freestanding (`#![no_std]`, no libc: see the
//! `bare` crate for why): glibc's start-up alone costs more than all of sv's work
//! (docs/performance.md, "clients: where sv's and chpst's time goes"). Elsewhere it is a
//! std program with a C `main` (`no_main`), which skips std's runtime start-up; argv
//! still reaches `std::env::args_os` on Linux via glibc's init-array arguments.
#![no_main]
#![cfg_attr(all(target_os = "linux", target_arch = "x86_64", not(test), not(runit_hosted)), no_std)]

// (`not(test)`: `cargo clippy --all-targets` checks this file as a test too, where std's
// panic handler is already there; the binary is never built as a test, see bins/Cargo.toml.)
#[cfg(all(target_os = "linux", target_arch = "x86_64", not(test), not(runit_hosted)))]
mod freestanding {
    extern crate alloc;

    use alloc::vec::Vec;

    use bare::raw::RawSys;
    use bare::sv::{run, run_report, SvIo};
    use bare::{start, sys};
    use model::sv::{parse, Env, Output, Parse, Rule, Session};

    bare::freestanding_main!(sv_main);

    /// The file layout this build follows (as `runit_bins::LAYOUT`).
    const LAYOUT: model::stage::Layout = if cfg!(feature = "void") { model::stage::Layout::Void } else { model::stage::Layout::Debian };

    /// A usage text on stderr, then exit with `code`; after `-V`'s text (it starts with
    /// runit's `$Id: ` line) the identity line follows in the same write (as
    /// `runit_bins::die_usage`).
    fn die_usage(text: &[u8], code: i32) -> ! {
        let mut t = text.to_vec();
        if text.starts_with(b"$Id: ") {
            t.extend_from_slice(alloc::format!("runit-rs {} (commit {})\n", env!("CARGO_PKG_VERSION"), env!("RUNIT_RS_COMMIT")).as_bytes());
        }
        sys::write_all(2, &t);
        sys::exit(code)
    }

    /// Parse argv and the environment, then run the session.
    fn sv_main() -> i32 {
        // SIGPIPE: a freestanding program keeps the disposition it was started with, as
        // runit's sv (no runtime sets it to ignored).
        let argv: Vec<&[u8]> = start::args();
        // SVDIR unset: the layout's directory (an empty SVDIR is used as given, as in runit).
        let svdir = start::env(b"SVDIR").or_else(|| Some(LAYOUT.svdir()));
        let env = Env { svdir, svwait: start::env(b"SVWAIT") };
        match parse(&argv, env) {
            Parse::Refuse { stderr, code } => die_usage(&stderr, code),
            Parse::Run(inv) if inv.output != Output::Human => {
                let mut io = SvIo::new(RawSys);
                let code = run_report(&inv, &mut io);
                drop(io);
                code
            }
            Parse::Run(inv) => {
                let mut session = Session::new(inv, Rule::RaceFree);
                let mut io = SvIo::new(RawSys);
                let code = run(&mut session, &mut io);
                drop(io);
                code
            }
        }
    }
}

// `--cfg runit_hosted` selects the hosted main on x86_64 Linux too: it exists so CI
// compiles and runs this main (.ci/run), which no other installed target would.
#[cfg(any(not(all(target_os = "linux", target_arch = "x86_64")), runit_hosted))]
mod hosted {
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
                let mut io = runtime::exec::sv::new_io();
                let code = runtime::exec::sv::run_report(&inv, &mut io);
                drop(io);
                std::process::exit(code)
            }
            Parse::Run(inv) => {
                let mut session = Session::new(inv, Rule::RaceFree);
                let mut io = runtime::exec::sv::new_io();
                let code = runtime::exec::sv::run(&mut session, &mut io);
                drop(io);
                std::process::exit(code)
            }
        }
    }
}
