//! `supervise/status.ext` decoding (docs/readiness.md §3): total on any bytes; what it
//! accepts re-encodes to a record that decodes to itself, and the readiness invariant
//! check is total too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::record;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = record::decode(data) {
        let text = record::encode(&r);
        assert_eq!(record::decode(&text), Ok(r.clone()));
        let _ = r.main.broken_invariant();
        assert!(record::agrees(&r.main, &r.main.status()));
    }
});
