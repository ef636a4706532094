//! runsv: supervise one service directory (and its log service). See docs/man/runsv.8.
//!
//! The executor is `bare::exec::runsv` (one, generic over its system calls). A thousand
//! runsv processes start on a big host, each paying its start-up: on x86_64 Linux runsv is
//! freestanding (`#![no_std]`, no libc, as sv: see the `bare` crate for why; glibc's
//! start-up alone runs 68 `cpuid`, each a trap under a hypervisor), running the executor
//! over `bare::raw_runsv` (raw system calls). Elsewhere it is a std program with a C
//! `main` (`no_main`, so SIGPIPE keeps its inherited disposition), running the same
//! executor over `runtime::os::Real`.
#![no_main]
#![cfg_attr(all(target_os = "linux", target_arch = "x86_64", not(test), not(runit_hosted)), no_std)]

// (`not(test)`: `cargo clippy --all-targets` checks this file as a test too, where std's
// panic handler is already there; the binary is never built as a test, see bins/Cargo.toml.)
#[cfg(all(target_os = "linux", target_arch = "x86_64", not(test), not(runit_hosted)))]
mod freestanding {
    extern crate alloc;

    use alloc::vec::Vec;

    use bare::exec::runsv::supervise;
    use bare::raw_runsv::{handled_signals, trace_from_env, RawKernel, RawOs};
    use bare::signal::Signals;
    use bare::{start, sys};
    use model::runsv::text;

    bare::freestanding_main!(runsv_main);

    /// `msg` on fd 2, then exit with `code` (as `runit_bins::die`).
    fn die(msg: &[u8], code: i32) -> ! {
        sys::write_all(2, msg);
        sys::exit(code)
    }

    fn runsv_main() -> i32 {
        let args: Vec<&[u8]> = start::args();
        let argv0 = args.first().copied().unwrap_or(b"runsv");
        if args.len() != 2 {
            die(&text::usage(argv0), 1);
        }
        let dir = args[1];
        let handled = handled_signals();
        let signals = match Signals::install(&handled.all) {
            Ok(s) => s,
            Err(e) => die(&text::fatal(dir, b"unable to create selfpipe", Some(e)), 111),
        };
        match supervise(RawKernel, dir, handled, &mut RawOs { signals }, trace_from_env) {
            Ok(code) => code,
            Err(f) => die(&f.0, 111),
        }
    }
}

// `--cfg runit_hosted` selects the hosted main on x86_64 Linux too: it exists so CI
// compiles and runs this main (.ci/run), which no other installed target would.
#[cfg(any(not(all(target_os = "linux", target_arch = "x86_64")), runit_hosted))]
mod hosted {
    use model::runsv::text;
    use runtime::driver::{trace_from_env, RealOs};
    use runtime::exec::runsv::{handled_signals, supervise};
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
        match supervise(runtime::os::Real, dir, handled, &mut RealOs { signals }, trace_from_env) {
            Ok(code) => code,
            Err(f) => runit_bins::die(&f.0, 111),
        }
    }
}
