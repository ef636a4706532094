//! `supervise/status` decoding: total on any bytes, and re-encoding gives back the first
//! 20 bytes (with the two flag bytes read as "non-zero = set", as sv reads them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::status::{StatusRecord, STATUS_LEN};

fuzz_target!(|data: &[u8]| {
    match StatusRecord::decode(data) {
        None => assert!(data.len() < STATUS_LEN),
        Some(rec) => {
            let mut canon = [0u8; STATUS_LEN];
            canon.copy_from_slice(&data[..STATUS_LEN]);
            canon[16] = (canon[16] != 0) as u8;
            canon[18] = (canon[18] != 0) as u8;
            assert_eq!(rec.encode(), canon);
            let _ = rec.state();
        }
    }
});
