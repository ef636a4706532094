//! Randomised deep traces of runsv with readiness (issue 10), beyond the explorer's depth:
//! lost notifications (a protocol event simply never sent), duplicated ones (the same
//! event several times), forged ones (an unrelated sender), late ones (the previous
//! child's newline and `READY=1` after its reap), pings that come too late for the
//! watchdog, and ticks of up to 5 s between them, mixed with commands, exits and failed
//! forks. The real machine runs in a [`World`] with fresh pids and a moving wall clock;
//! after every step every named invariant must hold, including "ready only while that
//! child runs" and "the record agrees with the 20 bytes".
//!
//! Cases: `PROPTEST_CASES` (default 256) sequences of 1..80 steps.

use model::readiness::Protocol;
use model::runsv::{Config, Readiness, Slot};
use model::time::Span;
use proptest::prelude::*;
use verification::reference::runsv::{Event, ReadyEvent, Replies, Step};
use verification::reference::runsv_world::{PidPolicy, World, INVARIANTS};

fn readiness() -> impl Strategy<Value = Readiness> {
    (
        prop_oneof![Just(Protocol::NotificationFd), Just(Protocol::SdNotify), Just(Protocol::Both)],
        prop_oneof![Just(None), Just(Some(300u64)), Just(Some(1000))],
    )
        .prop_map(|(protocol, wd)| Readiness {
            protocol,
            // A watchdog only with sd_notify, as the runtime's parser allows.
            watchdog: wd.filter(|_| protocol != Protocol::NotificationFd).map(Span::from_millis),
        })
}

fn ready_event() -> impl Strategy<Value = ReadyEvent> {
    prop_oneof![
        Just(ReadyEvent::PipeNewline),
        Just(ReadyEvent::PipeEof),
        Just(ReadyEvent::NotifyReady),
        Just(ReadyEvent::NotifyStopping),
        Just(ReadyEvent::NotifyPing),
        Just(ReadyEvent::Forged),
        Just(ReadyEvent::Previous),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        6 => ready_event().prop_map(Event::Ready),
        // Duplicates: the same event twice in a row is generated as two steps; here a
        // burst of pings or READY=1 is just more weight on them.
        2 => Just(Event::Ready(ReadyEvent::NotifyPing)),
        3 => proptest::sample::select(&b"udxtkopc"[..]).prop_map(|b| Event::Control(Slot::Main, b)),
        1 => proptest::sample::select(&b"udx"[..]).prop_map(|b| Event::Control(Slot::Log, b)),
        3 => prop_oneof![Just(0u64), Just(299), Just(300), Just(301), Just(999), Just(1000), Just(5000), 0u64..2000].prop_map(Event::Tick),
        2 => (prop_oneof![Just(0), Just(6), Just(9), Just(15), Just(3 << 8)], any::<bool>())
            .prop_map(|(status, finish)| Event::ChildExit { slot: Slot::Main, status, finish }),
        1 => Just(Event::ChildExit { slot: Slot::Log, status: 0, finish: false }),
        1 => Just(Event::Terminate),
    ]
}

fn replies() -> impl Strategy<Value = Replies> {
    prop_oneof![4 => Just(vec![]), 1 => proptest::collection::vec(prop::bool::weighted(0.7), 1..3)]
        .prop_map(|spawn_ok| Replies { spawn_ok, control: vec![] })
}

proptest! {
    #[test]
    fn readiness_invariants_hold_on_random_traces(
        readiness in readiness(),
        log in prop_oneof![Just(None), Just(Some(false))],
        steps in proptest::collection::vec((event(), replies()), 1..80),
    ) {
        let config = Config { dir: b"s".to_vec(), down: false, log, readiness };
        let mut w = World::new(config, PidPolicy::Fresh, false, Replies::default());
        for (event, replies) in steps {
            w.apply(&Step { event, replies });
            prop_assert!(w.violations == 0, "{:?}", w.first_violation);
        }
        prop_assert_eq!(INVARIANTS.len(), 23);
    }
}
