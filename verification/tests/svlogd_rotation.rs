//! The svlogd machine over a simulated kernel, against a naive byte-at-a-time reference
//! of runit's placement rules, with injected ENOSPC, ALRM, clock steps, processors.

mod svlogd_sim;

use proptest::prelude::*;
use svlogd_sim::{reference, Event, Sim};

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![8 => b'a'..=b'e', 3 => Just(b'\n'), 1 => any::<u8>()], 0..300)
}

fn event(with_proc: bool) -> impl Strategy<Value = Event> {
    let base = prop_oneof![
        8 => (1usize..40).prop_map(Event::Data),
        1 => Just(Event::Alrm),
        1 => (1u64..5).prop_map(Event::Tick),
        1 => (1i64..20).prop_map(Event::ClockBack),
        1 => any::<bool>().prop_map(Event::Enospc),
    ];
    if with_proc {
        prop_oneof![6 => base, 2 => any::<bool>().prop_map(Event::ProcExit), 1 => Just(Event::Hup), 1 => Just(Event::Term)].boxed()
    } else {
        base.boxed()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Every byte lands exactly once, files are cut exactly where the reference cuts
    /// them, names increase although the wall clock steps back, nothing is lost while
    /// writes fail with ENOSPC.
    #[test]
    fn rotation_matches_reference(input in input(), events in prop::collection::vec(event(false), 0..60),
                                  size in prop_oneof![Just(0u64), 1u64..60], line_max in 1usize..12) {
        let l = line_max.to_string();
        let cfg = format!("s{size}\nn0\n");
        let mut sim = Sim::new(&["-l", &l], &[&cfg]);
        sim.pending = input.clone();
        for e in &events {
            sim.event(e);
        }
        sim.finish();
        prop_assert!(sim.violations.is_empty(), "{:?}", sim.violations);
        prop_assert_eq!(sim.exited, Some(0));
        let (files, cur) = reference(&input, line_max, size, &sim.alrm_at);
        prop_assert_eq!(sim.dirs[0].rotated(), files);
        prop_assert_eq!(sim.dirs[0].files.get(&b"current"[..]).cloned().unwrap_or_default(), cur);
        prop_assert!(sim.dirs[0].current_x, "current closed cleanly (0744)");
    }

    /// With a processor, deletion (`n`), HUP and TERM: never more than `n` old files
    /// besides the one handed to the processor (Debian's svlogd does not count it),
    /// the pending `.u` is never deleted, names increase, and what is kept is exactly
    /// the end of what was read (unless svlogd reported giving up bytes after TERM).
    #[test]
    fn rotation_invariants_with_processor(input in input(), events in prop::collection::vec(event(true), 0..60),
                                         size in 1u64..40, n in 1u64..4, line_max in 1usize..8) {
        let l = line_max.to_string();
        let cfg = format!("s{size}\nn{n}\n!cat\n");
        let mut sim = Sim::new(&["-l", &l], &[&cfg]);
        sim.pending = input.clone();
        for e in &events {
            sim.event(e);
            prop_assert!(sim.dirs[0].old_count() as u64 <= n + 1, "more than n+1 old files: {:?}", sim.dirs[0].files.keys());
        }
        sim.finish();
        prop_assert!(sim.violations.is_empty(), "{:?}", sim.violations);
        prop_assert_eq!(sim.exited, Some(0));
        prop_assert!(sim.dirs[0].files.keys().all(|k| k.len() != 27 || k[26] != b't'), "no processor leftovers");
        // After SIGTERM svlogd gives up what a full disk keeps it from writing, and says
        // so (svlogd_term_pause.rs); only then may bytes be missing.
        let gave_up = String::from_utf8_lossy(&sim.stderr).contains("after sigterm");
        let (_, stream) = reference(&input[..sim.consumed], line_max, 0, &[]);
        let kept = sim.dirs[0].all_bytes();
        if !gave_up {
            prop_assert!(stream.ends_with(&kept), "kept bytes are not the end of the input");
            if sim.dirs[0].generated.len() as u64 <= n {
                prop_assert_eq!(kept, stream);
            }
        }
    }
}

/// Regression-style fixed case: a clock that goes back between rotations.
#[test]
fn names_increase_when_the_clock_goes_back() {
    let mut sim = Sim::new(&[], &["s0\n"]);
    sim.pending = b"a\nb\nc\n".to_vec();
    for e in [
        Event::Data(2),
        Event::Alrm,
        Event::ClockBack(100),
        Event::Data(2),
        Event::Alrm,
        Event::ClockBack(100),
        Event::Data(2),
        Event::Alrm,
    ] {
        sim.event(&e);
    }
    sim.finish();
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    assert_eq!(sim.dirs[0].rotated(), [b"a\n".to_vec(), b"b\n".to_vec(), b"c\n".to_vec()]);
}
