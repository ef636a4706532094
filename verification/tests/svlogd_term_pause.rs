//! svlogd stopped while a full disk holds it in runit's pause (docs/divergences.md,
//! "SIGTERM ends a pause"): it tries once more at once, then gives up what it cannot
//! write (saying how much) and exits, within no more simulated time than the retry.

mod svlogd_sim;

use svlogd_sim::{Event, Sim};

fn paused_on_full_disk(cfg: &str) -> Sim {
    let mut sim = Sim::new(&[], &[cfg]);
    sim.pending = b"one\ntwo\n".to_vec();
    sim.event(&Event::Enospc(true));
    sim.event(&Event::Data(100));
    assert!(sim.m.is_paused(), "not paused: {}", String::from_utf8_lossy(&sim.stderr));
    assert!(String::from_utf8_lossy(&sim.stderr).contains("svlogd: pausing: unable to write to current: d0: out of disk space\n"));
    sim
}

#[test]
fn term_during_a_disk_full_pause_exits_after_one_more_try() {
    let mut sim = paused_on_full_disk("");
    let before = sim.now;
    sim.event(&Event::Term);
    assert_eq!(sim.exited, Some(0), "still running in phase {}: {}", sim.m.phase(), String::from_utf8_lossy(&sim.stderr));
    assert_eq!(sim.now, before, "waited for the pause to end");
    let err = String::from_utf8_lossy(&sim.stderr);
    assert!(
        err.ends_with(
            "svlogd: warning: unable to write to current: d0: out of disk space\nsvlogd: warning: dropped 8 bytes after sigterm: d0\n"
        ),
        "{err}"
    );
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    assert!(sim.dirs[0].current_x, "current closed cleanly (0744)");
}

#[test]
fn term_after_space_came_back_writes_everything() {
    let mut sim = paused_on_full_disk("");
    sim.event(&Event::Enospc(false));
    sim.event(&Event::Term);
    assert_eq!(sim.exited, Some(0));
    assert_eq!(sim.dirs[0].files.get(&b"current"[..]).cloned().unwrap_or_default(), b"one\ntwo\n");
    assert!(!String::from_utf8_lossy(&sim.stderr).contains("dropped"));
}

#[test]
fn without_term_the_pause_is_runits() {
    let mut sim = paused_on_full_disk("");
    for _ in 0..5 {
        sim.event(&Event::Tick(3));
    }
    assert_eq!(sim.exited, None);
    assert!(sim.m.is_paused());
    assert_eq!(String::from_utf8_lossy(&sim.stderr).matches("svlogd: pausing: unable to write to current").count(), 6);
}

#[test]
fn term_with_a_processor_failing_on_the_full_disk_still_exits() {
    // A processor that fails (as one writing its output on a full disk would) is not
    // restarted after SIGTERM.
    let mut sim = Sim::new(&[], &["!cat\n"]);
    sim.pending = b"abc\n".to_vec();
    sim.event(&Event::Data(100));
    sim.event(&Event::Alrm);
    assert!(!sim.procs.is_empty(), "processor not started: {}", String::from_utf8_lossy(&sim.stderr));
    sim.event(&Event::ProcExit(false));
    sim.event(&Event::Term);
    sim.event(&Event::Tick(3));
    sim.event(&Event::ProcExit(false));
    assert_eq!(sim.exited, Some(0), "phase {}: {}", sim.m.phase(), String::from_utf8_lossy(&sim.stderr));
    assert!(String::from_utf8_lossy(&sim.stderr).contains("svlogd: warning: processor failed after sigterm, not restarted: d0\n"));
}

#[test]
fn term_while_current_cannot_be_created_reports_every_held_byte() {
    // Found by the joint simulation (kill-runsv soak, seed 1002087): a rotation whose new
    // `current` cannot be created, given up after SIGTERM, dropped the bytes waiting for
    // that rotation without counting them.
    let mut sim = Sim::new(&[], &["s20\n"]);
    sim.pending = b"aaaaaaaa\nbbbbbbbb\ncccccccc\n".to_vec();
    sim.open_fails = true;
    sim.event(&Event::Data(100));
    assert!(sim.m.is_paused(), "not paused: {}", String::from_utf8_lossy(&sim.stderr));
    sim.event(&Event::Term);
    assert_eq!(sim.exited, Some(0), "phase {}: {}", sim.m.phase(), String::from_utf8_lossy(&sim.stderr));
    let on_disk: usize = sim.dirs[0].files.iter().filter(|(name, _)| name[..] != b"config"[..]).map(|(_, f)| f.len()).sum();
    let held = sim.consumed - on_disk;
    assert!(held > 0, "nothing held: the test no longer reaches the give-up");
    let err = String::from_utf8_lossy(&sim.stderr);
    assert!(err.contains("svlogd: warning: unable to create new current: d0: "), "{err}");
    assert!(
        err.ends_with(&format!("svlogd: warning: dropped {held} bytes after sigterm: d0\n")),
        "held {held} (read {}, on disk {on_disk}): {err}",
        sim.consumed
    );
}
