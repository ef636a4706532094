//! The stage machine against a deliberately naive reference model of runit's stage
//! rules (spec/init.md §1.2–1.4, plus the documented corrections), driven by random
//! sequences of events: stage exits with every interesting status, signals with and
//! without flag files, ctrlaltdel, ticks and orphan exits. After every event the
//! machine's phase must equal the reference's, and the reference's invariants hold.

use model::scripted::Scripted;
use model::stage::*;
use model::{Mono, Now, Wall};
use proptest::prelude::*;

/// What is running, in the reference's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    One,
    Two,
    /// Stage 2 got TERM for a shutdown (or KILL after the grace period).
    Stopping,
    /// Stage 2 failed (111 / crash); waiting 5 s to restart it.
    Pause,
    /// ctrlaltdel runs; `stage2_exit` is stage 2's status if it exited meanwhile.
    CtrlAltDel {
        stage2_exit: Option<i32>,
    },
    Three,
    /// Final child (normal mode) or exited (container mode).
    End,
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    /// The current stage (or stage 2 under ctrlaltdel) exits with this status.
    StageExit(i32),
    /// ctrlaltdel exits; the stopit flag is then executable or not.
    CadExit(bool),
    Signal(Sig, Flags),
    /// Enough time passes for any pending deadline.
    Tick,
    Orphan,
}

fn arb_ev() -> impl Strategy<Value = Ev> {
    let status =
        prop_oneof![Just(status_exit(0)), Just(status_exit(1)), Just(status_exit(100)), Just(status_exit(111)), Just(status_signal(11))];
    let sig = prop_oneof![Just(Sig::Cont), Just(Sig::Int), Just(Sig::Pwr), Just(Sig::Alrm), Just(Sig::Term)];
    let flags = (any::<bool>(), any::<bool>()).prop_map(|(stopit, ctrlaltdel)| Flags { stopit, ctrlaltdel, ..Flags::default() });
    prop_oneof![
        3 => status.prop_map(Ev::StageExit),
        1 => any::<bool>().prop_map(Ev::CadExit),
        3 => (sig, flags).prop_map(|(s, f)| Ev::Signal(s, f)),
        2 => Just(Ev::Tick),
        1 => Just(Ev::Orphan),
    ]
}

/// The reference: runit's rules written as plainly as possible.
fn reference(phase: Phase, ev: Ev, container: bool, term_pending: &mut bool) -> Phase {
    let shutdown = |sig: Sig, f: Flags| match sig {
        Sig::Cont => f.stopit,
        Sig::Pwr => true,
        Sig::Term => container,
        Sig::Int | Sig::Alrm => false,
    };
    match (phase, ev) {
        (Phase::One, Ev::StageExit(st)) => {
            if (st >> 8) == 100 && st & 0x7f == 0 || *term_pending {
                Phase::Three
            } else {
                Phase::Two
            }
        }
        (Phase::One, Ev::Signal(Sig::Term, _)) if container => {
            *term_pending = true;
            Phase::One
        }
        (Phase::Two, Ev::StageExit(st)) => stage2_exit_of(st),
        (Phase::Two, Ev::Signal(sig, f)) if shutdown(sig, f) => Phase::Stopping,
        (Phase::Two, Ev::Signal(Sig::Int, f)) if f.ctrlaltdel => Phase::CtrlAltDel { stage2_exit: None },
        (Phase::Stopping, Ev::StageExit(_)) => Phase::Three,
        (Phase::Pause, Ev::Tick) => Phase::Two,
        (Phase::Pause, Ev::Signal(sig, f)) if shutdown(sig, f) => Phase::Three,
        (Phase::CtrlAltDel { stage2_exit: None }, Ev::StageExit(st)) => Phase::CtrlAltDel { stage2_exit: Some(st) },
        (Phase::CtrlAltDel { stage2_exit }, Ev::CadExit(stopit)) => match (stopit, stage2_exit) {
            (true, None) => Phase::Stopping,
            (true, Some(_)) => Phase::Three,
            (false, None) => Phase::Two,
            (false, Some(st)) => stage2_exit_of(st),
        },
        (Phase::Three, Ev::StageExit(_)) => Phase::End,
        (p, _) => p,
    }
}

fn stage2_exit_of(status: i32) -> Phase {
    if status & 0x7f != 0 || (status >> 8) == 111 {
        Phase::Pause
    } else {
        Phase::Three
    }
}

fn phase_of(s: &State) -> Option<Phase> {
    Some(match s {
        State::Running { stage: StageId::One, .. } => Phase::One,
        State::Running { stage: StageId::Two, .. } => Phase::Two,
        State::Running { stage: StageId::Three, .. } => Phase::Three,
        State::Stopping { .. } | State::Killing { .. } => Phase::Stopping,
        State::RestartPause { .. } => Phase::Pause,
        State::CtrlAltDel { stage2, .. } => Phase::CtrlAltDel { stage2_exit: stage2.exited },
        State::Final { .. } | State::Halted => Phase::End,
        State::Start | State::Spawning { .. } | State::ForkPause { .. } => return None,
    })
}

struct Harness {
    /// The machine in the shared scripted harness (`model::scripted`).
    s: Scripted<Stages>,
    t: u64,
    next_pid: Pid,
    /// Pids of the children the machine started last, per kind.
    stage_pid: Pid,
    stage2_pid: Pid,
    cad_pid: Pid,
    final_pid: Pid,
}

impl Harness {
    fn now(&self) -> Now {
        Now { mono: Mono(self.t), wall: Wall::default() }
    }
    /// Feeds one input and answers every spawn obligation at once (as the driver does),
    /// each with the next pid, noted per kind of child.
    fn feed(&mut self, input: Input) {
        self.s.now = self.now();
        let Harness { s, next_pid, stage_pid, stage2_pid, cad_pid, final_pid, .. } = self;
        s.run(input, |owed| {
            let Owed::Spawn(job) = owed;
            *next_pid += 1;
            let pid = *next_pid;
            match job {
                Job::Stage(s) => {
                    *stage_pid = pid;
                    if *s == StageId::Two {
                        *stage2_pid = pid;
                    }
                }
                Job::CtrlAltDel => *cad_pid = pid,
                Job::Final(_) => *final_pid = pid,
            }
            Some(Input::Spawned { pid })
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn stage_agrees_with_reference(container: bool, evs in proptest::collection::vec(arb_ev(), 1..40)) {
        let mut h = Harness { s: Scripted::new(Stages::new(Config { container }), Now::default()), t: 1_000_000_000, next_pid: 100, stage_pid: 0, stage2_pid: 0, cad_pid: 0, final_pid: 0 };
        h.feed(Input::Boot);
        let mut phase = Phase::One;
        let mut term_pending = false;
        prop_assert_eq!(phase_of(h.s.m.state()), Some(phase));
        for ev in evs {
            if phase == Phase::End {
                break;
            }
            let input = match ev {
                Ev::StageExit(status) => {
                    let pid = match phase {
                        Phase::CtrlAltDel { .. } | Phase::Stopping => h.stage2_pid,
                        _ => h.stage_pid,
                    };
                    Input::Exited { pid, status, flags: Flags::default() }
                }
                Ev::CadExit(stopit) => Input::Exited { pid: h.cad_pid, status: 0, flags: Flags { stopit, ..Flags::default() } },
                Ev::Signal(sig, flags) => Input::Signal { sig, flags },
                Ev::Tick => {
                    h.t += 6_000_000_000;
                    Input::Tick
                }
                Ev::Orphan => Input::Exited { pid: 7, status: 0, flags: Flags::default() },
            };
            // A ctrlaltdel exit only exists while ctrlaltdel runs.
            if let Ev::CadExit(_) = ev {
                if !matches!(phase, Phase::CtrlAltDel { .. }) {
                    continue;
                }
            }
            // Stage 2 that already exited (under ctrlaltdel) cannot exit again.
            if let (Ev::StageExit(_), Phase::CtrlAltDel { stage2_exit: Some(_) }) = (ev, phase) {
                continue;
            }
            // In Pause no stage runs: a "stage exit" is a stale pid, ignored by both.
            let before = phase;
            phase = reference(phase, ev, container, &mut term_pending);
            // A tick in Stopping sends KILL; the phase stays Stopping in both.
            h.feed(input);
            prop_assert_eq!(phase_of(h.s.m.state()), Some(phase), "after {:?} from {:?}", ev, before);
            prop_assert_eq!(h.s.m.term_pending(), term_pending);
        }
        if phase == Phase::End && !container {
            // The final child's exit leaves runit halted (sleeping, reaping).
            h.feed(Input::Exited { pid: h.final_pid, status: 0, flags: Flags::default() });
            prop_assert_eq!(h.s.m.state(), &State::Halted);
        }
    }
}
