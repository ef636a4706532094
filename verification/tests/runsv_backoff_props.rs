//! Randomised deep traces of runsv with the backoff files (issue 11, "Backoff and giving
//! up"), beyond the explorer's depth: crash loops with random run times (quick and not),
//! `./finish` and failed forks, commands in every phase (including while given up), and
//! ticks up to 70 s, under random settings (delays, growth, limits, and readiness so that
//! "never ready" counts as quick). The real machine runs in a [`World`] with fresh pids
//! and a moving wall clock; after every step every named invariant must hold, among them
//! `BackoffWithinBounds`, `GiveUpOnlyByCommand` and `ThrottleSpacing`.
//!
//! Cases: `PROPTEST_CASES` (default 256) sequences of 1..120 steps.

use model::readiness::Protocol;
use model::runsv::{Backoff, Config, Limit, Readiness, Slot, Stop};
use model::time::Span;
use proptest::prelude::*;
use verification::reference::runsv::{Event, ReadyEvent, Replies, Step};
use verification::reference::runsv_world::{PidPolicy, World};

fn backoff() -> impl Strategy<Value = Backoff> {
    (
        prop_oneof![Just(None), (1000u64..5000).prop_map(Some)],
        0u32..5,
        prop_oneof![Just(None), (1000u64..20_000).prop_map(Some)],
        prop_oneof![Just(None), (1u32..4, 1000u64..30_000).prop_map(Some)],
    )
        .prop_map(|(delay, steps, max, limit)| Backoff {
            delay: delay.map(Span::from_millis),
            steps,
            max_delay: max.map(Span::from_millis),
            limit: limit.map(|(count, ms)| Limit { count, interval: Span::from_millis(ms) }),
        })
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (prop_oneof![Just(0), Just(9), Just(15), Just(1 << 8)], prop::bool::weighted(0.2))
            .prop_map(|(status, finish)| Event::ChildExit { slot: Slot::Main, status, finish }),
        5 => prop_oneof![Just(0u64), Just(999), Just(1000), Just(2000), Just(9_999), Just(10_000), 0u64..70_000].prop_map(Event::Tick),
        2 => proptest::sample::select(&b"uodxtkpc"[..]).prop_map(|b| Event::Control(Slot::Main, b)),
        1 => Just(Event::Ready(ReadyEvent::PipeNewline)),
        1 => Just(Event::ChildExit { slot: Slot::Log, status: 0, finish: false }),
        1 => Just(Event::Terminate),
    ]
}

fn replies() -> impl Strategy<Value = Replies> {
    prop_oneof![6 => Just(vec![]), 1 => proptest::collection::vec(prop::bool::weighted(0.7), 1..3)]
        .prop_map(|spawn_ok| Replies { spawn_ok, control: vec![] })
}

proptest! {
    #[test]
    fn backoff_invariants_hold_on_random_traces(
        b in backoff(),
        fd in any::<bool>(),
        log in prop_oneof![Just(None), Just(Some(false))],
        steps in proptest::collection::vec((event(), replies()), 1..120),
    ) {
        let readiness = Readiness { protocol: if fd { Protocol::NotificationFd } else { Protocol::None }, watchdog: None };
        let config = Config { dir: b"s".to_vec(), down: false, log, readiness };
        let mut w = World::new_with_backoff(config, Stop::RUNIT, b, PidPolicy::Fresh, false, Replies::default());
        for (event, replies) in steps {
            w.apply(&Step { event, replies });
            prop_assert!(w.violations == 0, "{:?} with {:?}", w.first_violation, b);
        }
    }
}

/// A crash loop in the World reaches every new state: growing pauses, giving up, `u`
/// leaving it; with every invariant holding (the random traces above are not vacuous).
#[test]
fn a_crash_loop_backs_off_gives_up_and_is_brought_back() {
    let b = Backoff {
        delay: None,
        steps: 2,
        max_delay: Some(Span::from_secs(4)),
        limit: Some(Limit { count: 3, interval: Span::from_secs(60) }),
    };
    let config = Config { dir: b"s".to_vec(), down: false, log: None, readiness: Readiness::default() };
    let mut w = World::new_with_backoff(config, Stop::RUNIT, b, PidPolicy::Fresh, false, Replies::default());
    let step = |w: &mut World, event| w.apply(&Step { event, replies: Replies::default() });
    let mut pauses = Vec::new();
    let mut cap = model::StepCap::new("crash loop", 100);
    while !w.m.given_up() {
        cap.step();
        step(&mut w, Event::ChildExit { slot: Slot::Main, status: 1 << 8, finish: false });
        let mut waited = 0;
        while w.m.slot(Slot::Main).is_some_and(|m| m.pid() == 0) && !w.m.given_up() {
            cap.step();
            step(&mut w, Event::Tick(500));
            waited += 500;
        }
        if !w.m.given_up() {
            pauses.push(waited);
        }
    }
    assert_eq!(pauses, [1000, 2000, 4000], "1 s growing to 4 s in 2 steps, then the 4th death gives up");
    assert_eq!(w.violations, 0, "{:?}", w.first_violation);
    step(&mut w, Event::Tick(5000));
    assert!(w.m.given_up());
    step(&mut w, Event::Control(Slot::Main, b'u'));
    assert!(!w.m.given_up() && w.m.slot(Slot::Main).is_some_and(|m| m.pid() != 0));
    assert_eq!(w.violations, 0, "{:?}", w.first_violation);
}
