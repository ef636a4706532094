//! The opt-in s6 service-directory files (`model::svcfiles`): total on any bytes; a
//! value comes with a warning exactly when the content was rejected, and then it is
//! runit's default; accepted numbers are the first line read as decimal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::runsv::Sig;
use model::svcfiles::{self, MAX_DEATH_TALLY};

fuzz_target!(|data: &[u8]| {
    let line = data.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let decimal: Option<u32> = if !line.is_empty() && line.iter().all(u8::is_ascii_digit) {
        std::str::from_utf8(line).ok().and_then(|s| s.parse().ok())
    } else {
        None
    };

    let s = svcfiles::down_signal(Some(data));
    if s.warning.is_some() {
        assert_eq!(s.value, Sig::Term);
    }
    if let Some(w) = s.warning {
        assert!(w.line(b"dir").ends_with(b", using the default\n"));
    }

    for s in [svcfiles::timeout_kill(Some(data)), svcfiles::timeout_finish(Some(data))] {
        match s.warning {
            Some(_) => {
                assert_eq!(s.value, None);
                assert_eq!(decimal, None);
            }
            None => assert_eq!(s.value, decimal.filter(|&ms| ms > 0)),
        }
    }

    let s = svcfiles::max_death_tally(Some(data));
    match s.warning {
        Some(_) => assert_eq!((s.value, decimal), (None, None)),
        None => assert_eq!(s.value, decimal.map(|n| n.min(MAX_DEATH_TALLY))),
    }
});
