//! runit's stage machine on arbitrary event sequences (signals with arbitrary flag
//! files, exits of known and unknown pids, spawn failures, clock jumps): it never
//! panics, never emits more than `MAX_ACTIONS_PER_INPUT` actions for one input, every
//! message is a `- runit: ` line, it exits at most once and does nothing after, and a
//! spawn request is answered before anything else (the runtime's contract) without the
//! machine asking twice.
//!
//! Input layout: byte 0 picks the configuration (container or not); then each group of
//! 3 bytes is one event (kind, argument, flags).
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::errno::Errno;
use model::stage::{msg, Action, Config, Flags, Input, Paths, Sig, Stages, MAX_ACTIONS_PER_INPUT};
use model::{Machine, Mono, Now, Wall};

fn flags(b: u8) -> Flags {
    Flags { stopit: b & 1 != 0, reboot: b & 2 != 0, ctrlaltdel: b & 4 != 0, nosync: b & 8 != 0 }
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else { return };
    let mut m = Stages::new(Config { container: cfg & 1 != 0 });
    let paths = Paths::default();
    let mut t: u64 = 1_000_000_000;
    let mut next_pid = 100;
    let mut pids: Vec<i32> = vec![1];
    let mut exited = false;
    let mut events = rest.chunks(3).take(200);
    let mut first = true;
    loop {
        let input = if first {
            first = false;
            Input::Boot
        } else if m.owes_spawn_reply() {
            // Answer the spawn as the runtime must; the fuzzer picks success or errno.
            match events.next() {
                Some(e) if e[0] & 0xe0 == 0xe0 => Input::SpawnFailed { errno: Errno(e.get(1).copied().unwrap_or(11) as i32) },
                Some(_) | None => {
                    next_pid += 1;
                    pids.push(next_pid);
                    Input::Spawned { pid: next_pid }
                }
            }
        } else {
            let Some(e) = events.next() else { break };
            let (kind, arg, fl) = (e[0], e.get(1).copied().unwrap_or(0), e.get(2).copied().unwrap_or(0));
            match kind % 5 {
                0 | 1 => {
                    let pid = if arg & 0x80 != 0 { (arg & 0x7f) as i32 } else { pids[(arg as usize) % pids.len()] };
                    let status = match fl >> 6 {
                        0 => (arg as i32 & 0x7f) << 8,
                        1 => 111 << 8,
                        2 => 100 << 8,
                        _ => (fl & 0x1f) as i32,
                    };
                    Input::Exited { pid, status, flags: flags(fl) }
                }
                2 => {
                    let sig = [Sig::Cont, Sig::Int, Sig::Pwr, Sig::Alrm, Sig::Term][(arg % 5) as usize];
                    Input::Signal { sig, flags: flags(fl) }
                }
                3 => {
                    t += (arg as u64) * 100_000_000;
                    Input::Tick
                }
                _ => {
                    if let Some(d) = m.poll_deadline() {
                        t = t.max(d.0);
                    }
                    Input::Tick
                }
            }
        };
        let owed_before = m.owes_spawn_reply();
        m.handle(Now { mono: Mono(t), wall: Wall::default() }, input);
        let mut n = 0;
        let mut spawns = 0;
        while let Some(a) = m.poll_action() {
            n += 1;
            assert!(n <= MAX_ACTIONS_PER_INPUT, "more than {MAX_ACTIONS_PER_INPUT} actions for one input");
            assert!(!exited, "action after Exit: {a:?}");
            match a {
                Action::Say(s) => {
                    let l = msg::line(s, &paths);
                    assert!(l.starts_with(b"- runit: ") && l.ends_with(b"\n"));
                }
                Action::Spawn(_) => spawns += 1,
                Action::Exit(_) => exited = true,
                Action::Kill { .. }
                | Action::KillGroup { .. }
                | Action::ClearStopit
                | Action::KillAll
                | Action::Sync
                | Action::RunInline(_) => {}
            }
        }
        assert!(n <= MAX_ACTIONS_PER_INPUT, "{n} actions for one input");
        assert!(spawns <= 1, "two spawns for one input");
        if spawns == 1 {
            assert!(m.owes_spawn_reply(), "spawn requested but no reply owed");
        }
        let _ = owed_before;
        if exited {
            break;
        }
    }
});
