//! Exhaustive bounded exploration of a small svlogd rotation model: one directory
//! (`s6 n2 !cat`, `-l 3`), a fixed input, and every interleaving of reads, ALRM, time,
//! clock steps, processor exits (good or failing) and ENOSPC.

mod svlogd_sim;

use std::hash::{Hash, Hasher};

use svlogd_sim::{Event, Sim};
use verification::explore::{explore, Explore, Property};

#[derive(Clone, Debug)]
struct State {
    sim: Sim,
    key: String,
}

impl State {
    fn new(sim: Sim) -> State {
        let key = format!("{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}", sim.m, sim.dirs, sim.armed, sim.enospc, sim.procs, sim.pending, sim.exited);
        State { sim, key }
    }
}

impl PartialEq for State {
    fn eq(&self, o: &State) -> bool {
        self.key == o.key
    }
}
impl Eq for State {}
impl Hash for State {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.key.hash(h)
    }
}

struct Model;

impl Explore for Model {
    type State = State;
    type Input = Event;

    fn initial(&self) -> Vec<State> {
        let mut sim = Sim::new(&["-l", "3"], &["s6\nn2\n!cat\n"]);
        sim.pending = b"ab\ncdef\ng\nhi\n".to_vec();
        vec![State::new(sim)]
    }

    fn inputs(&self, _s: &State) -> Vec<Event> {
        vec![
            Event::Data(4),
            Event::Alrm,
            Event::Tick(3),
            Event::ClockBack(10),
            Event::ProcExit(true),
            Event::ProcExit(false),
            Event::Enospc(true),
            Event::Enospc(false),
        ]
    }

    fn fair_inputs(&self, _s: &State) -> Vec<Event> {
        vec![Event::Progress]
    }

    fn step(&self, s: &State, i: &Event) -> State {
        let mut sim = s.sim.clone();
        sim.event(i);
        State::new(sim)
    }
}

#[test]
fn explore_rotation_model() {
    let props = [
        Property::always("no simulator violation (names increase, pending .u kept, no write to a closed current)", |s: &State| {
            s.sim.violations.is_empty()
        }),
        // n=2, plus the file handed to the processor, which Debian's svlogd does not count.
        Property::always("never more than n=2 old files besides the processor's", |s: &State| s.sim.dirs[0].old_count() <= 3),
        Property::always("what is kept is one contiguous run of what was read", |s: &State| {
            // Kept (rotated + current) is a suffix of what was read, minus the line in progress.
            let read = &Model.initial()[0].sim.pending[..s.sim.consumed];
            let kept = s.sim.dirs[0].all_bytes();
            kept.is_empty() || contains(read, &kept)
        }),
        Property::sometimes("a rotation happened", |s: &State| !s.sim.dirs[0].generated.is_empty()),
        Property::sometimes("a processed .s exists", |s: &State| s.sim.dirs[0].files.keys().any(|k| k.len() == 27 && k[26] == b's')),
        Property::sometimes("paused on ENOSPC", |s: &State| s.sim.m.is_paused()),
        Property::sometimes("a processor is running", |s: &State| !s.sim.procs.is_empty()),
        Property::eventually(
            "all input is consumed and the machine idles again",
            |s: &State| !s.sim.pending.is_empty(),
            |s: &State| s.sim.pending.is_empty() && s.sim.m.is_idle(),
            16,
        ),
    ];
    let report = explore(&Model, 8, 200_000, &props);
    report.assert_ok("svlogd rotation");
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
