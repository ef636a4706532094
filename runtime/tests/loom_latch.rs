//! loom models of the signal hand-off (ARCHITECTURE layer 6), run with
//! `RUSTFLAGS="--cfg loom" cargo test -p runit-runtime --test loom_latch --release`.
//!
//! The real [`runtime::latch::Latch`] (loom atomics under `cfg(loom)`) plus a modelled
//! self-pipe: a loom `AtomicUsize` counting unread wake bytes. The signal handler is a
//! loom thread doing what `signals::on_signal` does (record, then write one byte); the
//! event loop drains the pipe, then takes the latch. loom runs every interleaving.
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use runtime::latch::{Latch, SignalSet};

/// `loom::model`, printing how many interleavings it explored (figures for
/// docs/assurance.md; see the output with `-- --nocapture`).
fn model<F: Fn() + Sync + Send + 'static>(name: &str, f: F) {
    use std::sync::atomic::AtomicUsize as StdCount;
    let count = std::sync::Arc::new(StdCount::new(0));
    let c2 = count.clone();
    loom::model(move || {
        c2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    println!("loom {name}: {} interleavings", count.load(std::sync::atomic::Ordering::Relaxed));
}

const SIGCHLD: i32 = 17;
const SIGTERM: i32 = 15;

/// The self-pipe: wake bytes written and not yet read.
struct Pipe(AtomicUsize);

impl Pipe {
    fn new() -> Pipe {
        Pipe(AtomicUsize::new(0))
    }
    /// The handler's `write(fd, "", 1)`.
    fn write(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    /// The loop's non-blocking drain (reads everything there is).
    fn drain(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
    /// Whether the next `ppoll` would return at once.
    fn readable(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }
}

/// What `signals::on_signal` does.
fn handler(latch: &Latch, pipe: &Pipe, signo: i32) {
    latch.record(signo);
    pipe.write();
}

/// The loop's order: drain the pipe, then take the latch (`Signals::take`).
fn loop_take(latch: &Latch, pipe: &Pipe) -> SignalSet {
    pipe.drain();
    latch.take()
}

/// The wrong order: take, then drain (a signal in between leaves a bit and no byte).
fn loop_take_wrong(latch: &Latch, pipe: &Pipe) -> SignalSet {
    let s = latch.take();
    pipe.drain();
    s
}

/// One loop iteration racing one signal, then "the next wait": if the signal was not seen
/// in the first take, the pipe must still be readable (so the wait returns at once) and
/// the second take must see it.
fn race_one_signal(take: fn(&Latch, &Pipe) -> SignalSet) {
    let latch = Arc::new(Latch::new());
    let pipe = Arc::new(Pipe::new());
    let (l2, p2) = (latch.clone(), pipe.clone());
    let h = thread::spawn(move || handler(&l2, &p2, SIGCHLD));
    let first = take(&latch, &pipe);
    h.join().expect("handler thread");
    if !first.contains(SIGCHLD) {
        assert!(pipe.readable(), "signal pending but no wake byte: the loop would sleep on it");
        assert!(take(&latch, &pipe).contains(SIGCHLD), "woken, but the signal is gone");
    }
}

#[test]
fn no_lost_signal() {
    model("no_lost_signal", || race_one_signal(loop_take));
}

/// A signal that lands after `take()` leaves a wake-up: model the late case explicitly by
/// racing the handler against a loop that has already taken once.
#[test]
fn late_signal_after_take_leaves_wakeup() {
    model("late_signal_after_take_leaves_wakeup", || {
        let latch = Arc::new(Latch::new());
        let pipe = Arc::new(Pipe::new());
        assert!(loop_take(&latch, &pipe).is_empty());
        let (l2, p2) = (latch.clone(), pipe.clone());
        let h = thread::spawn(move || handler(&l2, &p2, SIGTERM));
        h.join().expect("handler thread");
        assert!(pipe.readable(), "late signal left no wake byte");
        assert!(loop_take(&latch, &pipe).contains(SIGTERM));
        assert!(!pipe.readable() && latch.take().is_empty(), "everything consumed");
    });
}

/// Two deliveries of the same signal and one of another, racing the loop: the loop keeps
/// iterating while the pipe is readable, as the real one does. Every signal is seen, none
/// is invented, nothing is left pending without a wake byte, and a repeat that lands before
/// a take coalesces with the first (the loop needs at most one wake-up per byte).
#[test]
fn coalescing_and_no_invention() {
    model("coalescing_and_no_invention", || {
        let latch = Arc::new(Latch::new());
        let pipe = Arc::new(Pipe::new());
        let (l2, p2) = (latch.clone(), pipe.clone());
        let h1 = thread::spawn(move || {
            handler(&l2, &p2, SIGCHLD);
            handler(&l2, &p2, SIGCHLD);
        });
        let (l3, p3) = (latch.clone(), pipe.clone());
        let h2 = thread::spawn(move || handler(&l3, &p3, SIGTERM));
        let allowed = (1u64 << SIGCHLD) | (1u64 << SIGTERM);
        let mut seen = loop_take(&latch, &pipe).0;
        h1.join().expect("handler 1");
        h2.join().expect("handler 2");
        let mut wakeups = 0;
        while pipe.readable() {
            wakeups += 1;
            seen |= loop_take(&latch, &pipe).0;
        }
        assert!(wakeups <= 3, "more wake-ups than bytes written");
        assert_eq!(seen & !allowed, 0, "a take reported a signal never sent");
        assert_eq!(seen, allowed, "a signal was lost");
        assert!(latch.take().is_empty(), "a signal left pending without a wake byte");
    });
}

/// Repeats before a take coalesce into one bit: the loop learns "SIGCHLD happened", then
/// reaps every child in one `waitpid` loop.
#[test]
fn repeats_coalesce() {
    model("repeats_coalesce", || {
        let latch = Latch::new();
        let pipe = Pipe::new();
        handler(&latch, &pipe, SIGCHLD);
        handler(&latch, &pipe, SIGCHLD);
        assert_eq!(loop_take(&latch, &pipe), SignalSet(1u64 << SIGCHLD));
        assert!(!pipe.readable() && latch.take().is_empty());
    });
}

/// The deliberately wrong order (take before drain) must be caught by loom: there is an
/// interleaving where the signal's byte is drained after the take missed its bit.
#[test]
fn wrong_order_is_caught() {
    let caught = std::panic::catch_unwind(|| {
        loom::model(|| race_one_signal(loop_take_wrong));
    });
    assert!(caught.is_err(), "loom did not find the lost wake-up of take-before-drain");
}
