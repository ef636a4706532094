//! chpst and its daemontools personalities (envdir, envuidgid, pgrphack, setlock,
//! setuidgid, softlimit, chosen by the name it is run under).
//!
//! This binary has no Rust `main` (`#![no_main]`): the standard runtime would set
//! SIGPIPE to ignored before `main`, and an exec'd program would inherit that. With a C
//! `main` the program gets exactly the signal dispositions chpst was started with, as
//! with runit's chpst.
#![no_main]

use model::chpst::{parse_with, Dialect, Parsed, EXIT_USAGE};

runit_bins::c_main!(chpst_main);

/// argv as bytes, parse (in the build's layout dialect), then run the plan (never returns on success).
fn chpst_main() -> i32 {
    let dialect = if runit_bins::LAYOUT == model::stage::Layout::Void { Dialect::WITH_CHDIR } else { Dialect::DEBIAN };
    match parse_with(&runit_bins::args_bytes(), dialect) {
        Parsed::Usage(text) => runit_bins::die_usage(&text, EXIT_USAGE),
        Parsed::Run(plan) => runtime::exec::chpst::run(&plan),
    }
}
