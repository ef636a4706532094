//! TAI64N text: parsing is total, and whatever parses prints back as the same text
//! (lowercased); packing round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::time::Tai64n;

fuzz_target!(|data: &[u8]| {
    if let Some(t) = Tai64n::parse_text(data) {
        assert_eq!(t.to_text()[..], data.to_ascii_lowercase()[..]);
        assert_eq!(Tai64n::unpack(&t.pack()), t);
    }
    if data.len() >= 12 {
        let mut b = [0u8; 12];
        b.copy_from_slice(&data[..12]);
        let t = Tai64n::unpack(&b);
        assert_eq!(t.pack(), b);
        assert_eq!(Tai64n::parse_text(&t.to_text()), Some(t));
    }
});
