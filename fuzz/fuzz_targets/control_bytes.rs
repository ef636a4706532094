//! Arbitrary bytes as an input script for a real `Runsv` inside the verification `World`
//! (obligations auto-answered): it must never panic (the model's `debug_assert!`s are real
//! checks: build with `-a`) and never break a named invariant.
//!
//! Input layout: byte 0 picks the start-up facts (`down` file, log service, the stop files
//! of issue 11 with or without `flag-timeout-killpg`); then each
//! pair of bytes is one step: the first selects the event kind and how obligations are
//! answered, the second is its argument (a control byte, a wait status, milliseconds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::errno::Errno;
use model::runsv::{Config, ControlOutcome, Sig, Slot, Stop};
use model::time::Span;
use verification::reference::runsv::{Event, Replies, Step};
use verification::reference::runsv_world::{PidPolicy, World};

fn replies(sel: u8) -> Replies {
    match sel >> 5 {
        0 | 1 | 2 => Replies::default(),
        3 => Replies { spawn_ok: vec![false], control: vec![] },
        4 => Replies { spawn_ok: vec![], control: vec![ControlOutcome::Exited(0); 4] },
        5 => Replies { spawn_ok: vec![], control: vec![ControlOutcome::Exited(1 << 8), ControlOutcome::Exited(9)] },
        6 => Replies {
            spawn_ok: vec![],
            control: vec![ControlOutcome::StatFailed(Errno::EACCES), ControlOutcome::WaitFailed(Errno::ECHILD)],
        },
        _ => Replies { spawn_ok: vec![true, false], control: vec![ControlOutcome::ForkFailed(Errno::EAGAIN)] },
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else { return };
    let log = match cfg % 3 {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    let stop = if cfg & 8 != 0 {
        Stop {
            signal: Sig::Hup,
            kill_after: Some(Span::from_millis(1000)),
            finish_limit: Some(Span::from_millis(500)),
            group: cfg & 16 != 0,
        }
    } else {
        Stop::RUNIT
    };
    let config = Config { dir: b"s".to_vec(), down: cfg & 4 != 0, log, readiness: Default::default() };
    let mut w = World::new_with_stop(config, stop, PidPolicy::Fresh, false, Replies::default());
    for pair in rest.chunks(2).take(256) {
        let (sel, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let event = match sel & 7 {
            0 | 1 => Event::Control(Slot::Main, arg),
            2 => Event::Control(Slot::Log, arg),
            3 => Event::Terminate,
            4 => Event::ChildExit {
                slot: Slot::Main,
                status: if sel & 16 != 0 { (arg as i32) << 8 } else { arg as i32 },
                finish: sel & 8 != 0,
            },
            5 => Event::ChildExit { slot: Slot::Log, status: arg as i32, finish: false },
            6 => Event::Tick(arg as u64 * 25),
            _ => Event::Stray,
        };
        w.apply(&Step { event, replies: replies(sel) });
        assert!(w.violations == 0, "{:?}", w.first_violation);
        if w.exited {
            break;
        }
    }
});
