//! proptest "never panics on arbitrary bytes" checks for every parser this crate covers
//! (spec: parsers are total), plus arbitrary control-byte streams into a real runsv.
//! The quickcheck properties in `codecs_roundtrip.rs` check the values; these check
//! totality on unstructured input, as the fuzz targets do, in plain `cargo test`.

use model::getopt;
use model::runsv::{Config, Slot};
use model::status::StatusRecord;
use model::time::Tai64n;
use proptest::prelude::*;
use verification::reference::runsv::{Event, Replies, Step};
use verification::reference::runsv_world::{PidPolicy, World};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn status_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let r = StatusRecord::decode(&bytes);
        prop_assert_eq!(r.is_some(), bytes.len() >= 20);
        if let Some(r) = r {
            let _ = (r.state(), r.encode());
        }
    }

    #[test]
    fn tai64n_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Some(t) = Tai64n::parse_text(&bytes) {
            prop_assert_eq!(&t.to_text()[..], &bytes.to_ascii_lowercase()[..]);
        }
    }

    #[test]
    fn getopt_never_panics(
        argv in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..6), 0..8),
        spec in proptest::collection::vec(any::<u8>(), 0..6),
    ) {
        let p = getopt::parse(&argv, &spec);
        prop_assert!(p.operands <= argv.len());
        let _ = p.error();
    }

    #[test]
    fn scan_ulong_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let (_, n) = getopt::scan_ulong(&bytes);
        prop_assert!(n <= bytes.len());
        let _ = getopt::basename(&bytes);
    }

    /// Arbitrary bytes on both control FIFOs, interleaved with time: no panic (the model's
    /// debug assertions are on in tests), no invariant broken.
    #[test]
    fn runsv_control_bytes_never_panic(
        log in prop_oneof![Just(None), Just(Some(false)), Just(Some(true))],
        down in any::<bool>(),
        script in proptest::collection::vec((any::<u8>(), any::<u8>()), 0..64),
    ) {
        let mut w = World::new(Config { dir: b"s".to_vec(), down, log, readiness: Default::default() }, PidPolicy::Fresh, false, Replies::default());
        for (sel, arg) in script {
            let event = match sel % 4 {
                0 | 1 => Event::Control(Slot::Main, arg),
                2 => Event::Control(Slot::Log, arg),
                _ => Event::Tick(arg as u64 * 10),
            };
            w.apply(&Step { event, replies: Replies::default() });
            prop_assert!(w.violations == 0, "{:?}", w.first_violation);
        }
    }
}
