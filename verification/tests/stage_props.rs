#![allow(clippy::explicit_counter_loop)]
//! Property tests for runit's stage machine and runit-init's argument decision:
//! arbitrary inputs never panic, and a naive reference model of runit's exit-status
//! table agrees with the machine on which stage runs next.

use model::errno::Errno;
use model::stage::init;
use model::stage::*;
use model::{Machine, Mono, Now, Wall};
use proptest::prelude::*;

/// Takes every pending action, failing past a cap (a machine that never stops acting).
fn drain(m: &mut Stages) {
    model::scripted::drain(m);
}

fn arb_flags() -> impl Strategy<Value = Flags> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(stopit, reboot, ctrlaltdel, nosync)| Flags {
        stopit,
        reboot,
        ctrlaltdel,
        nosync,
    })
}

fn arb_sig() -> impl Strategy<Value = Sig> {
    prop_oneof![Just(Sig::Cont), Just(Sig::Int), Just(Sig::Pwr), Just(Sig::Alrm), Just(Sig::Term)]
}

fn arb_input() -> impl Strategy<Value = Input> {
    prop_oneof![
        Just(Input::Boot),
        (0i32..8).prop_map(|pid| Input::Spawned { pid }),
        (0i32..200).prop_map(|e| Input::SpawnFailed { errno: Errno(e) }),
        (0i32..8, any::<i32>(), arb_flags()).prop_map(|(pid, status, flags)| Input::Exited { pid, status, flags }),
        (arb_sig(), arb_flags()).prop_map(|(sig, flags)| Input::Signal { sig, flags }),
        Just(Input::Tick),
    ]
}

proptest! {
    #[test]
    fn stage_never_panics_on_arbitrary_inputs(container: bool, steps in proptest::collection::vec((arb_input(), 0u64..10_000_000_000), 0..60)) {
        let mut m = Stages::new(Config { container });
        let mut t = 0u64;
        let paths = Paths::default();
        for (i, dt) in steps {
            t += dt;
            m.handle(Now { mono: Mono(t), wall: Wall::default() }, i);
            let actions = model::scripted::drain(&mut m);
            prop_assert!(actions.len() < 16, "unbounded actions per input");
            for a in actions {
                if let Action::Say(msg) = a {
                    let l = msg::line(msg, &paths);
                    prop_assert!(l.starts_with(b"- runit: ") && l.ends_with(b"\n"));
                }
            }
        }
    }

    #[test]
    fn init_command_total(pid1: bool, arg in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8))) {
        let c = init::command(pid1, arg.as_deref());
        let _ = init::steps(c);
        if !pid1 {
            match arg.as_deref().and_then(|a| a.first()) {
                Some(b'0') => prop_assert_eq!(c, init::Command::Halt),
                Some(b'6') => prop_assert_eq!(c, init::Command::Reboot),
                _ => prop_assert!(matches!(c, init::Command::Usage | init::Command::Version)),
            }
        }
    }

    #[test]
    fn paths_under_never_panics(root in proptest::collection::vec(any::<u8>(), 0..40)) {
        let p = Paths::under(&root);
        prop_assert!(p.stage1.ends_with(b"/etc/runit/1"));
    }

    /// The reference: runit's exit table, written as plainly as possible.
    #[test]
    fn stage_matches_reference_exit_table(codes in proptest::collection::vec(prop_oneof![Just(-9i32), Just(0), Just(1), Just(100), Just(111)], 1..8)) {
        let mut m = Stages::new(Config::default());
        let t = |s: u64| Now { mono: Mono(s * 1_000_000_000), wall: Wall::default() };
        m.handle(t(0), Input::Boot);
        drain(&mut m);
        let mut pid = 10;
        let mut clock = 1;
        let mut expected_stage = 1u8;
        m.handle(t(clock), Input::Spawned { pid });
        for code in codes {
            let State::Running { stage, pid: p } = m.state().clone() else { break };
            prop_assert_eq!(stage.number(), expected_stage);
            prop_assert_eq!(p, pid);
            let status = if code < 0 { status_signal(-code) } else { status_exit(code) };
            // Reference: what runs next.
            expected_stage = match (expected_stage, code) {
                (1, 100) => 3,
                (1, _) => 2,
                (2, 111) | (2, -9) => 2,
                (2, _) => 3,
                (3, _) => 0,
                _ => 0,
            };
            clock += 1;
            m.handle(t(clock), Input::Exited { pid, status, flags: Flags::default() });
            drain(&mut m);
            if let Some(d) = m.poll_deadline() {
                clock = d.0 / 1_000_000_000 + 1;
                m.handle(t(clock), Input::Tick);
                drain(&mut m);
            }
            if expected_stage == 0 {
                let at_final = matches!(m.state(), State::Spawning { job: Job::Final(_), .. });
                prop_assert!(at_final, "not at the final step");
                break;
            }
            pid += 1;
            m.handle(t(clock), Input::Spawned { pid });
        }
    }
}
