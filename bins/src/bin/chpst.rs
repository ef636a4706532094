//! chpst and its daemontools personalities (envdir, envuidgid, pgrphack, setlock,
//! setuidgid, softlimit, chosen by the name it is run under).
//!
//! This binary has no Rust `main` (`#![no_main]`): the standard runtime would set
//! SIGPIPE to ignored before `main`, and an exec'd program would inherit that. With a C
//! `main` the program gets exactly the signal dispositions chpst was started with, as
//! with runit's chpst.
#![no_main]

use model::chpst::{parse, Parsed, EXIT_USAGE};

runit_bins::c_main!(chpst_main);

/// argv as bytes, parse, then run the plan (never returns on success).
fn chpst_main() -> i32 {
    match parse(&runit_bins::args_bytes()) {
        Parsed::Usage(text) => runit_bins::die(&text, EXIT_USAGE),
        Parsed::Run(plan) => runtime::exec::chpst::run(&plan),
    }
}
