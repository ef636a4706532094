//! The opt-in s6 service-directory files (`model::svcfiles`): total on any bytes; a
//! value comes with a warning exactly when the content was rejected, and then it is
//! runit's default; accepted numbers are the first line read as decimal. The backoff
//! files too, and the settings built from them keep every pause within [1 s, the longest].
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::runsv::Sig;
use model::runsv::Backoff;
use model::svcfiles::{self, MAX_DEATH_TALLY, MAX_RESTART_MS, MAX_RESTART_STEPS, THROTTLE_MS};

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

    // Backoff: delays within [runit's throttle, one day], or the default with a warning.
    for s in [svcfiles::restart_delay(Some(data)), svcfiles::restart_max_delay(Some(data))] {
        match s.warning {
            Some(_) => assert_eq!((s.value, decimal.filter(|&ms| (THROTTLE_MS..=MAX_RESTART_MS).contains(&ms))), (None, None)),
            None => assert_eq!(s.value, decimal),
        }
    }
    let s = svcfiles::restart_steps(Some(data));
    match s.warning {
        Some(_) => assert_eq!(s.value, 0),
        None => assert_eq!(Some(s.value), decimal.filter(|&n| n <= MAX_RESTART_STEPS)),
    }
    let s = svcfiles::restart_limit_interval(Some(data));
    match s.warning {
        Some(_) => assert_eq!(s.value, None),
        None => assert_eq!(s.value, decimal.filter(|&n| n <= MAX_RESTART_MS)),
    }
    let s = svcfiles::restart_limit_count(Some(data));
    match s.warning {
        Some(_) => assert_eq!((s.value, decimal), (None, None)),
        None => assert_eq!(s.value, decimal.filter(|&n| n > 0)),
    }
    // The same bytes in every file at once: the pauses stay within bounds for any run.
    let d = Some(data);
    let (b, warnings) = Backoff::from_files(b"dir", d, d, d, d, d);
    assert!(warnings.iter().all(|w| w.starts_with(b"runsv dir: warning: invalid restart-") && w.ends_with(b", using the default\n")));
    for k in [0, 1, 2, 3, b.steps, b.steps.saturating_add(1), u32::MAX] {
        let p = b.delay_after(k);
        assert!(p >= model::runsv::RESTART_THROTTLE && p <= b.longest(), "{b:?} {k}: {p:?}");
    }
});
