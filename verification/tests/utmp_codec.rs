//! Property tests of utmpset's record codec and edits, and totality of its parsers.

use model::utmp::{self, Parsed, Record, DEAD_PROCESS, RECORD_LEN};
use proptest::prelude::*;

fn image() -> impl Strategy<Value = [u8; RECORD_LEN]> {
    prop::collection::vec(any::<u8>(), RECORD_LEN).prop_map(|v| {
        let mut a = [0u8; RECORD_LEN];
        a.copy_from_slice(&v);
        a
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Every 384-byte image decodes, and encodes back to the same bytes.
    #[test]
    fn image_round_trip(img in image()) {
        prop_assert_eq!(Record::decode(&img).encode(), img);
    }

    /// Every record encodes and decodes back to itself.
    #[test]
    fn record_round_trip(kind in any::<i16>(), pid in any::<i32>(), sec in any::<i32>(), usec in any::<i32>(), session in any::<i32>(), line in prop::collection::vec(any::<u8>(), 32)) {
        let mut r = Record { kind, pid, tv_sec: sec, tv_usec: usec, session, ..Record::default() };
        r.line.copy_from_slice(&line);
        prop_assert_eq!(Record::decode(&r.encode()), r);
    }

    /// Logging out changes exactly user, host, time and type.
    #[test]
    fn logout_touches_only_its_fields(img in image(), now in any::<i32>()) {
        let out = utmp::logged_out(&img, now as i64);
        let (a, b) = (Record::decode(&img), Record::decode(&out));
        prop_assert_eq!(b.kind, DEAD_PROCESS);
        prop_assert_eq!(b.tv_sec, now);
        prop_assert!(b.user.iter().all(|&c| c == 0) && b.host.iter().all(|&c| c == 0));
        let normalise = |mut r: Record| { r.kind = 0; r.tv_sec = 0; r.user = [0; 32]; r.host = [0; 256]; r };
        prop_assert_eq!(normalise(a), normalise(b));
    }

    /// A record matches its own line when it has a user; never when the user is empty.
    #[test]
    fn matching_own_line(line in "[a-z0-9/]{1,31}", user in "[a-z]{0,8}") {
        let mut r = Record::default();
        r.line[..line.len()].copy_from_slice(line.as_bytes());
        r.user[..user.len()].copy_from_slice(user.as_bytes());
        prop_assert_eq!(utmp::matches(&r.encode(), line.as_bytes()), !user.is_empty());
    }

    /// The wtmp entry is total on any line and keeps at most 32 bytes of it.
    #[test]
    fn wtmp_entry_total(line in prop::collection::vec(any::<u8>(), 0..80), now in any::<i64>()) {
        let r = Record::decode(&utmp::wtmp_entry(&line, now));
        prop_assert_eq!(r.kind, DEAD_PROCESS);
        let keep = if line.len() > 32 { 30 } else { line.len() };
        prop_assert_eq!(&r.line[..keep], &line[..keep]);
        prop_assert!(r.line[keep..].iter().all(|&c| c == 0));
        prop_assert_eq!(r.pid, 0);
    }

    /// Argument parsing is total.
    #[test]
    fn parse_never_panics(argv in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..5)) {
        match utmp::parse(&argv) {
            Parsed::Run { .. } => {}
            Parsed::Usage(u) => prop_assert!(u.ends_with(b"\n\n")),
        }
    }
}
