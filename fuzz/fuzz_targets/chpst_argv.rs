//! chpst's argv under every personality (chpst, setuidgid, envuidgid, envdir,
//! pgrphack, setlock, softlimit, with and without the leading `d`) and both dialects:
//! total; a plan's steps never decrease in rank and its exec has a program; a usage
//! refusal ends in a newline and names the program.
//!
//! Input layout: byte 0 picks the personality and dialect; the rest is argv[1..] split
//! at NUL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::chpst::{self, Dialect, Parsed};

const NAMES: [&[u8]; 8] = [b"chpst", b"/usr/bin/setuidgid", b"envuidgid", b"envdir", b"pgrphack", b"setlock", b"softlimit", b"dsetuidgid"];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let argv0: &[u8] = NAMES[(sel & 7) as usize];
    let mut argv: Vec<&[u8]> = vec![argv0];
    if !rest.is_empty() {
        argv.extend(rest.split(|&b| b == 0));
    }
    let (who, name) = chpst::personality(argv0);
    let _ = who.synopsis();
    let dialect = if sel & 8 != 0 { Dialect::DEBIAN } else { Dialect::WITH_CHDIR };
    match chpst::parse_with(&argv, dialect) {
        Parsed::Run(plan) => {
            for w in plan.steps.windows(2) {
                assert!(w[0].rank() <= w[1].rank(), "steps out of order: {:?}", plan.steps);
            }
            let _ = plan.exec.failure_name();
        }
        Parsed::Usage(text) => {
            assert!(text.ends_with(b"\n"));
            assert!(text.windows(name.len().max(1)).any(|w| w == name), "usage does not name {:?}", name);
        }
    }
});
