//! sd_notify datagram parsing (spec/additions.md §3.2–§3.3): total on any bytes.
//! Byte 0 gives the fd count (low 2 bits) and MSG_TRUNC (bit 2); the rest is the payload.
//! Whatever it accepts stays within the documented limits, and every warning and error has
//! a one-line message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::readiness::notify::{parse_datagram, Datagram, NOTIFY_BUFFER_MAX, STATUS_TEXT_MAX};
use model::readiness::text;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, payload)) = data.split_first() else { return };
    let fds = (flags & 3) as usize;
    let truncated = flags & 4 != 0;
    match parse_datagram(payload, fds, truncated) {
        Ok(Datagram::Barrier) => assert_eq!(fds, 1),
        Ok(Datagram::Message(n)) => {
            assert!(payload.len() < NOTIFY_BUFFER_MAX && !truncated);
            assert!(!(n.ready && n.stopping));
            if let Some(s) = &n.status {
                assert!(s.len() <= STATUS_TEXT_MAX && core::str::from_utf8(s).is_ok());
            }
            for w in n.warnings {
                let line = text::field_warning(b"svc", w);
                assert!(line.ends_with(b"\n") && line.iter().filter(|&&c| c == b'\n').count() == 1);
            }
        }
        Err(e) => {
            let line = text::notify_error(b"svc", e);
            assert!(line.ends_with(b"\n") && line.iter().filter(|&&c| c == b'\n').count() == 1);
        }
    }
});
