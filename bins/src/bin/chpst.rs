//! chpst and its daemontools personalities (envdir, envuidgid, pgrphack, setlock,
//! setuidgid, softlimit, chosen by the name it is run under).
//!
//! This binary has no Rust `main` (`#![no_main]`): the standard runtime would set
//! SIGPIPE to ignored before `main`, and an exec'd program would inherit that. With a C
//! `main` the program gets exactly the signal dispositions chpst was started with, as
//! with runit's chpst.
#![no_main]

use std::ffi::CStr;

use model::chpst::{parse_with, Dialect, Parsed, EXIT_USAGE};

/// The C entry point: argv as bytes, parse, then run the plan (never returns on success).
///
/// # Safety
/// Called only by the C runtime, with `argc` valid NUL-terminated strings in `argv`.
#[no_mangle]
pub unsafe extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    let mut args: Vec<Vec<u8>> = Vec::with_capacity(argc.max(0) as usize);
    for i in 0..argc.max(0) as usize {
        // SAFETY: the C runtime passes argc valid, NUL-terminated strings in argv.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            break;
        }
        args.push(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec());
    }
    let dialect = if runit_bins::LAYOUT == model::stage::Layout::Void { Dialect::WITH_CHDIR } else { Dialect::DEBIAN };
    match parse_with(&args, dialect) {
        Parsed::Usage(text) => runit_bins::die_usage(&text, EXIT_USAGE),
        Parsed::Run(plan) => runtime::exec::chpst::run(&plan),
    }
}
