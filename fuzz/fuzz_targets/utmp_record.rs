//! utmp records and utmpset's argv: decode/encode round-trips any 384 bytes; the
//! logged-out record and the wtmp entry keep the line and clear user and host; argv
//! parsing is total.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::utmp::{self, Parsed, Record, RECORD_LEN};

fuzz_target!(|data: &[u8]| {
    if data.len() >= RECORD_LEN + 8 {
        let mut img = [0u8; RECORD_LEN];
        img.copy_from_slice(&data[..RECORD_LEN]);
        let now = i64::from_le_bytes(data[RECORD_LEN..RECORD_LEN + 8].try_into().unwrap());
        let r = Record::decode(&img);
        assert_eq!(r.encode(), img);
        let out = utmp::logged_out(&img, now);
        assert_eq!(&out[8..40], &img[8..40], "line changed");
        assert!(out[44..76].iter().all(|&b| b == 0), "user kept");
        assert!(!utmp::matches(&out, &img[8..40]));
        let line = &data[RECORD_LEN + 8..];
        let w = utmp::wtmp_entry(line, now);
        assert_eq!(Record::decode(&w).encode(), w);
        let _ = utmp::matches(&img, line);
    }
    let argv: Vec<&[u8]> = data.split(|&b| b == 0).take(8).collect();
    match utmp::parse(&argv) {
        Parsed::Run { line, .. } => assert!(argv.contains(&&line[..])),
        Parsed::Usage(text) => assert!(text.ends_with(b"\n")),
    }
});
