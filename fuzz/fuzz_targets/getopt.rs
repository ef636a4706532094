//! runit's getopt on arbitrary argv: total, operands index within bounds, option values
//! are slices of argv, parsing stops at the first error.
//!
//! Input layout: the first byte is the option-spec length `n`, the next `n` bytes are the
//! spec, the rest is argv split at NUL bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::getopt::{self, Opt};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n as usize).min(rest.len());
    let (spec, args) = rest.split_at(n);
    let argv: Vec<&[u8]> = args.split(|&b| b == 0).collect();
    let p = getopt::parse(&argv, spec);
    assert!(p.operands <= argv.len());
    let errors = p.opts.iter().filter(|o| !matches!(o, Opt::Flag(..))).count();
    assert!(errors <= 1);
    if errors == 1 {
        assert!(!matches!(p.opts.last(), Some(Opt::Flag(..))));
    }
    for o in &p.opts {
        if let Opt::Flag(c, v) = o {
            assert!(spec.contains(c) && *c != b':');
            if let Some(v) = v {
                let inside = argv.iter().any(|a| {
                    let (s, e) = (a.as_ptr() as usize, a.as_ptr() as usize + a.len());
                    let vs = v.as_ptr() as usize;
                    v.is_empty() || (vs >= s && vs + v.len() <= e)
                });
                assert!(inside, "option value not taken from argv");
            }
        }
    }
    let _ = p.error();
    let _ = getopt::scan_ulong(args);
    let _ = getopt::basename(args);
});
