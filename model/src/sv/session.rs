//! One run of sv (spec/sv.md §3–§9): the first pass over the services, then the wait
//! rounds, producing runit's exact output lines and exit code.
//!
//! The world is reached only through [`Effects`]. Output is assembled like runit's
//! buffered stdout: pieces are appended and a line is handed to [`Effects::stdout`] when
//! it ends, so lines that runit builds from several steps (`<main>; <log>`) come out the
//! same way.
//!
//! Waiting: after the first pass a *full round* runs at once and then every
//! [`CHECK_INTERVAL`] (re-running `./check`), plus one at the timeout deadline. Between
//! full rounds the status is re-read and re-evaluated only if its bytes changed: every
//! [`FAST_POLL`] during the first [`FAST_PHASE`], then on [`Session::on_changed`] (the
//! runtime's inotify watch on `supervise/`), or every [`STATUS_POLL_FALLBACK`] for
//! services that cannot be watched. A service times out in the first
//! full round whose start is more than the limit after sv started, as in runit, but that
//! round is scheduled right at the limit instead of on the next 420 ms boundary, and sv
//! exits as soon as nothing is pending (runit sleeps one more 420 ms).

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::record;
use crate::status::{StatusRecord, STATUS_LEN};
use crate::sv::args::{Invocation, Mode};
use crate::sv::command::Kind;
use crate::sv::line::{self, Shown};
use crate::sv::predicate::{self, Baseline, Rule};
use crate::sv::report::AGREEMENT_TRIES;
use crate::sv::resolve::{self, Base};
use crate::sv::{CHECK_INTERVAL, EXIT_FAILURES_MAX, EXIT_FATAL_LSB, EXIT_USAGE, FAST_PHASE, FAST_POLL, STATUS_POLL_FALLBACK};
use crate::time::{Mono, Now, Span, Tai64n};

/// Why reading `supervise/status` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusError {
    /// The open failed.
    Open(Errno),
    /// The read failed.
    Read(Errno),
}

/// How writing to `supervise/control` went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// `write` returned this many bytes.
    Written(usize),
    /// The non-blocking open failed (ENXIO = runsv not running).
    OpenFailed(Errno),
    /// `write` failed.
    WriteFailed(Errno),
}

/// How running `./check` went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckRun {
    /// It ran; raw wait status.
    Exited(i32),
    /// fork failed.
    ForkFailed(Errno),
    /// waiting for it failed.
    WaitFailed(Errno),
}

/// Everything sv needs from the world. All paths are relative to the current directory,
/// which the session changes with [`Effects::chdir`] and restores with [`Effects::go_home`].
pub trait Effects {
    /// Opens `.` to return to later (runit: `open_read(".")`).
    fn open_home(&mut self) -> Result<(), Errno>;
    /// Returns to the directory opened by `open_home` (`fchdir`).
    fn go_home(&mut self) -> Result<(), Errno>;
    /// `chdir(path)`.
    fn chdir(&mut self, path: &[u8]) -> Result<(), Errno>;
    /// Opens `supervise/ok` for writing, non-blocking, and closes it again.
    fn probe_ok(&mut self) -> Result<(), Errno>;
    /// Opens `supervise/status` and reads up to 20 bytes in one `read`.
    fn read_status(&mut self) -> Result<Vec<u8>, StatusError>;
    /// `stat(file)`: only whether it succeeds matters (`down`, `check`).
    fn stat(&mut self, file: &[u8]) -> Result<(), Errno>;
    /// Runs `./check` (argv `["./check"]`, stdout closed) and waits for it. If exec fails
    /// the child writes `exec_fail_line` + errstr + newline to fd 2 and exits 0.
    fn run_check(&mut self, exec_fail_line: &[u8]) -> CheckRun;
    /// Opens `supervise/control` for writing, non-blocking, and writes `bytes` in one `write`.
    fn write_control(&mut self, bytes: &[u8]) -> WriteOutcome;
    /// Reads `supervise/status.ext`, the extended record (docs/readiness.md §3); `None`
    /// when there is none. The default is runit's world, where there never is one.
    fn read_record(&mut self) -> Option<Vec<u8>> {
        None
    }
    /// Starts watching `supervise/` of the current directory for service number `index`;
    /// false if that is not possible (then the session polls).
    fn watch(&mut self, index: usize) -> bool;
    /// Writes one complete stdout line (flushed).
    fn stdout(&mut self, line: &[u8]);
    /// Writes one complete stderr line.
    fn stderr(&mut self, line: &[u8]);
}

/// A change in a watched `supervise/` directory, as the runtime saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirEvent {
    /// A file was renamed into the directory (`status.new` → `status`).
    MovedTo,
    /// A file opened for writing was closed.
    ClosedWrite,
    /// A file opened read-only was closed (runsv exiting closes `ok`).
    ClosedNoWrite,
    /// Anything else.
    Other,
}

/// Whether an event on `name` in `supervise/` can change a wait's outcome. sv's own
/// probes (write-open of `ok`, read of `status`) must not wake it, or it would spin.
/// `status.ext` counts too: readiness changes only the extended record.
pub fn event_wakes(name: &[u8], event: DirEvent) -> bool {
    match event {
        DirEvent::MovedTo | DirEvent::ClosedWrite => name == b"status" || name == b"status.ext",
        DirEvent::ClosedNoWrite => name == b"ok",
        DirEvent::Other => false,
    }
}

/// The session stopped early (fatal error or an LSB `status` exit); the code is set.
struct Halt;

enum Get {
    Ok(StatusRecord, [u8; STATUS_LEN]),
    NotRunning,
    /// Failed (already reported); carries the bytes of a short read (1–19 bytes, else
    /// empty), which runit's `read(fd, svstatus, 20)` has already written over the start
    /// of the record it printed last.
    Failed(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Watch {
    NotTried,
    Watched,
    Unwatched,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Slot {
    pending: bool,
    before: Option<StatusRecord>,
    last_seen: Option<[u8; STATUS_LEN]>,
    last_record: Option<Vec<u8>>,
    watch: Watch,
    dirty: bool,
}

/// One invocation of sv, from the first pass to the exit code. Cloneable and hashable
/// so the explorer in `verification` can branch on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Session {
    inv: Invocation,
    rule: Rule,
    slots: Vec<Slot>,
    failures: u32,
    out: Vec<u8>,
    exit: Option<i32>,
    tstart: Mono,
    tstart_tai: Tai64n,
    limit: Span,
    next_full: Option<Mono>,
    next_poll: Option<Mono>,
}

impl Session {
    /// A session for a parsed invocation; `rule` is [`Rule::RaceFree`] in sv itself.
    pub fn new(inv: Invocation, rule: Rule) -> Session {
        let slots = inv
            .services
            .iter()
            .map(|_| Slot { pending: false, before: None, last_seen: None, last_record: None, watch: Watch::NotTried, dirty: false })
            .collect();
        let limit = Span::from_secs(inv.wait_secs);
        Session {
            inv,
            rule,
            slots,
            failures: 0,
            out: Vec::new(),
            exit: None,
            tstart: Mono(0),
            tstart_tai: Tai64n::default(),
            limit,
            next_full: None,
            next_poll: None,
        }
    }

    /// The exit code once sv is done.
    pub fn finished(&self) -> Option<i32> {
        self.exit
    }

    /// When to call [`Session::on_tick`] next (`None` when done).
    pub fn poll_deadline(&self) -> Option<Mono> {
        if self.exit.is_some() {
            return None;
        }
        let timeout = self.timeout_at();
        [self.next_full, self.next_poll, Some(timeout)].into_iter().flatten().min()
    }

    fn timeout_at(&self) -> Mono {
        // The first instant at which "elapsed > limit" holds, with a margin of 1 ms.
        self.tstart + self.limit + Span::from_millis(1)
    }

    /// Runs the first pass and, if the command waits, the first wait round.
    pub fn start<E: Effects>(&mut self, now: Now, fx: &mut E) {
        self.tstart = now.mono;
        self.tstart_tai = Tai64n::from_wall(now.wall);
        if let Err(e) = fx.open_home() {
            self.fatal(b"unable to open current directory", e, fx);
            return;
        }
        for i in 0..self.slots.len() {
            if self.first_pass_one(i, now, fx).is_err() {
                return;
            }
        }
        let _ = self.round(now, true, fx);
    }

    /// The deadline passed: a full round if one is due, else a status poll of the
    /// services that cannot be watched.
    pub fn on_tick<E: Effects>(&mut self, now: Now, fx: &mut E) {
        if self.exit.is_some() {
            return;
        }
        let full_due = self.next_full.is_some_and(|t| now.mono >= t) || now.mono >= self.timeout_at();
        if full_due {
            let _ = self.round(now, true, fx);
            return;
        }
        if self.next_poll.is_some_and(|t| now.mono >= t) {
            for s in self.slots.iter_mut().filter(|s| s.pending && s.watch != Watch::Watched) {
                s.dirty = true;
            }
            let _ = self.round(now, false, fx);
        }
    }

    /// Service `index`'s `supervise/` changed (`None`: maybe any of them, e.g. an event
    /// queue overflow): re-read it now and re-evaluate if its status bytes changed.
    pub fn on_changed<E: Effects>(&mut self, now: Now, index: Option<usize>, fx: &mut E) {
        if self.exit.is_some() {
            return;
        }
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.pending && (index.is_none() || index == Some(i)) {
                s.dirty = true;
            }
        }
        let _ = self.round(now, false, fx);
    }

    /// The kernel dropped service `index`'s watch (its `supervise/` was deleted or
    /// replaced): poll it again, and re-arm a watch on whatever directory is there now.
    pub fn on_watch_lost(&mut self, now: Now, index: usize) {
        if self.exit.is_some() {
            return;
        }
        if let Some(s) = self.slots.get_mut(index) {
            if s.pending && s.watch == Watch::Watched {
                s.watch = Watch::NotTried;
                let next = now.mono + STATUS_POLL_FALLBACK;
                self.next_poll = Some(self.next_poll.map_or(next, |t| t.min(next)));
            }
        }
    }

    // ---- output --------------------------------------------------------------------

    fn outs(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn flush_line<E: Effects>(&mut self, fx: &mut E) {
        self.out.push(b'\n');
        fx.stdout(&self.out);
        self.out.clear();
    }

    fn fail_line<E: Effects>(&mut self, prefix: &[u8], name: &[u8], msg: &[u8], errno: Option<Errno>, fx: &mut E) {
        let text = line::service_msg(prefix, name, msg, errno);
        self.outs(&text);
        self.flush_line(fx);
    }

    fn fatal<E: Effects>(&mut self, msg: &[u8], errno: Errno, fx: &mut E) {
        fx.stderr(&line::fatal(msg, errno));
        self.exit = Some(match self.inv.mode {
            Mode::Normal => EXIT_USAGE,
            Mode::Lsb => EXIT_FATAL_LSB,
        });
    }

    fn go_home<E: Effects>(&mut self, fx: &mut E) -> Result<(), Halt> {
        match fx.go_home() {
            Ok(()) => Ok(()),
            Err(e) => {
                self.fatal(b"unable to change to original directory", e, fx);
                Err(Halt)
            }
        }
    }

    fn finish(&mut self) {
        self.exit = Some(self.failures.min(EXIT_FAILURES_MAX) as i32);
    }

    // ---- steps ---------------------------------------------------------------------

    fn chdir_service<E: Effects>(&mut self, i: usize, base: Base, fx: &mut E) -> bool {
        let name = self.inv.services[i].clone();
        let r = match base {
            Base::Cwd => fx.chdir(&name),
            Base::Svdir => fx.chdir(&self.inv.svdir).and_then(|()| fx.chdir(&name)),
        };
        match r {
            Ok(()) => true,
            Err(e) => {
                self.failures += 1;
                self.fail_line(b"fail: ", &name, b"unable to change to service directory", Some(e), fx);
                false
            }
        }
    }

    /// runit's `svstatus_get`: liveness, then the 20-byte record; prints on failure.
    fn get<E: Effects>(&mut self, name: &[u8], fx: &mut E) -> Get {
        match fx.probe_ok() {
            Ok(()) => {}
            Err(Errno::ENXIO) => {
                if self.inv.command.first_byte() == b'x' {
                    self.fail_line(b"ok: ", name, b"runsv not running", None, fx);
                } else {
                    self.failures += 1;
                    self.fail_line(b"fail: ", name, b"runsv not running", None, fx);
                }
                return Get::NotRunning;
            }
            Err(e) => {
                self.failures += 1;
                self.fail_line(b"warning: ", name, b"unable to open supervise/ok", Some(e), fx);
                return Get::Failed(Vec::new());
            }
        }
        let mut short = Vec::new();
        let (msg, errno): (&[u8], Option<Errno>) = match fx.read_status() {
            Ok(bytes) => match StatusRecord::decode(&bytes) {
                Some(rec) => {
                    let mut raw = [0u8; STATUS_LEN];
                    raw.copy_from_slice(&bytes[..STATUS_LEN]);
                    return Get::Ok(rec, raw);
                }
                None => {
                    short = bytes;
                    (b"unable to read supervise/status: bad format", None)
                }
            },
            Err(StatusError::Open(e)) => (b"unable to open supervise/status", Some(e)),
            Err(StatusError::Read(e)) => (b"unable to read supervise/status", Some(e)),
        };
        self.failures += 1;
        self.fail_line(b"warning: ", name, msg, errno, fx);
        Get::Failed(short)
    }

    /// runit's `svstatus_print`: appends the status text (after `stat("down")`).
    fn print_status<E: Effects>(&mut self, shown_name: &[u8], i: usize, rec: &StatusRecord, now: Now, fx: &mut E) -> Shown {
        let normally_up = match fx.stat(b"down") {
            Ok(()) => false,
            Err(Errno::ENOENT) => true,
            Err(e) => {
                fx.stderr(&line::file_warning(b"stat", &self.inv.services[i], b"down", e));
                return Shown::Nothing;
            }
        };
        let text = line::status_text(shown_name, rec, now.wall, normally_up);
        self.outs(&text);
        line::shown(rec)
    }

    fn first_pass_one<E: Effects>(&mut self, i: usize, now: Now, fx: &mut E) -> Result<(), Halt> {
        let name = self.inv.services[i].clone();
        if self.chdir_service(i, resolve::first_pass(&name), fx) {
            let waits = self.inv.command.waits(self.inv.verbose);
            match self.inv.command.kind {
                Kind::Status => self.status_command(i, now, fx)?,
                Kind::Send => {
                    let bytes = self.inv.command.bytes;
                    if let Some(before) = self.control(i, bytes, fx) {
                        self.slots[i].pending = waits;
                        self.slots[i].before = Some(before);
                    }
                }
                Kind::CheckOnly => self.slots[i].pending = waits,
            }
        }
        self.go_home(fx)
    }

    /// The `status` command for one service: main status, then `; <log status>`.
    fn status_command<E: Effects>(&mut self, i: usize, now: Now, fx: &mut E) -> Result<(), Halt> {
        let name = self.inv.services[i].clone();
        let (rec, raw) = match self.get(&name, fx) {
            Get::Ok(rec, raw) => (rec, raw),
            Get::NotRunning => return Ok(()),
            Get::Failed(_) => {
                if self.inv.mode == Mode::Lsb {
                    self.exit = Some(4);
                    return Err(Halt);
                }
                return Ok(());
            }
        };
        let mut shown = self.print_status(&name, i, &rec, now, fx);
        if shown != Shown::Nothing && crate::sv::view::given_up(&rec, fx.read_record().as_deref()) {
            self.outs(b", given up");
        }
        let mut log_name = name.clone();
        log_name.extend_from_slice(b"/log");
        let mut line_open = true;
        match fx.chdir(b"log") {
            Err(Errno::ENOENT) => {}
            Err(e) => {
                self.failures += 1;
                let text = line::service_msg(b"; warning: ", &log_name, b"unable to change directory", Some(e));
                self.outs(&text);
            }
            Ok(()) => {
                self.outs(b"; ");
                match self.get(&log_name, fx) {
                    Get::Ok(log_rec, _) => shown = self.print_status(b"log", i, &log_rec, now, fx),
                    // The fail line already ended the output line.
                    Get::NotRunning => line_open = false,
                    // runit quirk: the main service's bytes are printed as the log status,
                    // with the bytes of a short read written over their start.
                    Get::Failed(short) => {
                        let mut overlaid = raw;
                        overlaid[..short.len()].copy_from_slice(&short);
                        let log_rec = StatusRecord::decode(&overlaid).unwrap_or(rec);
                        shown = self.print_status(b"log", i, &log_rec, now, fx)
                    }
                }
            }
        }
        if line_open {
            self.flush_line(fx);
        }
        if self.inv.mode == Mode::Lsb {
            self.exit = Some(match shown {
                Shown::Pid => 0,
                Shown::NoPid => 3,
                Shown::Nothing => 4,
            });
            return Err(Halt);
        }
        Ok(())
    }

    /// runit's `control`: skip rule, then one write of all bytes. Returns the record read
    /// before writing when the command was sent or skipped.
    fn control<E: Effects>(&mut self, i: usize, bytes: &[u8], fx: &mut E) -> Option<StatusRecord> {
        let name = self.inv.services[i].clone();
        let rec = match self.get(&name, fx) {
            Get::Ok(rec, _) => rec,
            Get::NotRunning | Get::Failed(_) => return None,
        };
        let first = bytes.first().copied().unwrap_or(0);
        if rec.want == first && (first != b'd' || rec.got_term) {
            return Some(rec);
        }
        match fx.write_control(bytes) {
            WriteOutcome::Written(n) if n == bytes.len() => Some(rec),
            WriteOutcome::Written(_) => {
                self.failures += 1;
                self.fail_line(b"warning: ", &name, b"unable to write to supervise/control", None, fx);
                None
            }
            WriteOutcome::OpenFailed(Errno::ENXIO) => {
                if self.inv.command.first_byte() == b'x' {
                    self.fail_line(b"ok: ", &name, b"runsv not running", None, fx);
                } else {
                    self.failures += 1;
                    self.fail_line(b"fail: ", &name, b"runsv not running", None, fx);
                }
                None
            }
            WriteOutcome::OpenFailed(e) => {
                self.failures += 1;
                self.fail_line(b"warning: ", &name, b"unable to open supervise/control", Some(e), fx);
                None
            }
            WriteOutcome::WriteFailed(e) => {
                self.failures += 1;
                self.fail_line(b"warning: ", &name, b"unable to write to supervise/control", Some(e), fx);
                None
            }
        }
    }

    /// One wait round over the pending services (all of them when `full`, else only the
    /// dirty ones).
    fn round<E: Effects>(&mut self, now: Now, full: bool, fx: &mut E) -> Result<(), Halt> {
        for i in 0..self.slots.len() {
            let s = &mut self.slots[i];
            if !s.pending || !(full || s.dirty) {
                continue;
            }
            s.dirty = false;
            self.wait_one(i, now, full, fx)?;
        }
        if full {
            self.next_full = Some(now.mono + CHECK_INTERVAL);
        }
        let pending = self.slots.iter().filter(|s| s.pending).count();
        let unwatched = self.slots.iter().filter(|s| s.pending && s.watch != Watch::Watched).count() as u64;
        if pending == 0 {
            self.finish();
        }
        // Fast polls cost ~10 us per service: spread them so a long service list polls
        // no more often per service than one service alone would (and no slower than
        // the fallback period).
        let period = if now.mono - self.tstart < FAST_PHASE {
            Span(FAST_POLL.0.saturating_mul(unwatched).min(STATUS_POLL_FALLBACK.0))
        } else {
            STATUS_POLL_FALLBACK
        };
        self.next_poll = if unwatched > 0 { Some(now.mono + period) } else { None };
        Ok(())
    }

    fn wait_one<E: Effects>(&mut self, i: usize, now: Now, full: bool, fx: &mut E) -> Result<(), Halt> {
        let name = self.inv.services[i].clone();
        if !self.chdir_service(i, resolve::wait_pass(&name), fx) {
            self.slots[i].pending = false;
            return self.go_home(fx);
        }
        if self.slots[i].watch == Watch::NotTried && now.mono - self.tstart >= FAST_PHASE {
            self.slots[i].watch = if fx.watch(i) { Watch::Watched } else { Watch::Unwatched };
        }
        let got = match self.get(&name, fx) {
            Get::Ok(rec, raw) => self.readiness_gate(&name, rec, raw, fx),
            Get::NotRunning | Get::Failed(_) => None,
        };
        match got {
            None => self.slots[i].pending = false,
            Some((rec, raw, record_bytes, ready)) => {
                if full || self.slots[i].last_seen != Some(raw) || self.slots[i].last_record != record_bytes {
                    self.slots[i].last_seen = Some(raw);
                    self.slots[i].last_record = record_bytes;
                    let base = Baseline { tstart: self.tstart_tai, before: self.slots[i].before };
                    let bytes = self.inv.command.wait_bytes();
                    let ok = predicate::satisfied(self.rule, bytes, &rec, &base, &mut || ready && check_script(&name, fx));
                    if ok {
                        self.outs(b"ok: ");
                        self.print_status(&name, i, &rec, now, fx);
                        self.flush_line(fx);
                        self.slots[i].pending = false;
                    }
                }
                if self.slots[i].pending && full && now.mono - self.tstart > self.limit {
                    let kill = self.inv.command.kill;
                    self.outs(if kill { b"kill: " } else { b"timeout: " });
                    self.print_status(&name, i, &rec, now, fx);
                    self.failures += 1;
                    self.flush_line(fx);
                    self.slots[i].pending = false;
                    if kill {
                        self.control(i, b"k", fx);
                    }
                }
            }
        }
        self.go_home(fx)
    }
}

impl Session {
    /// Readiness for the up-type conditions (docs/readiness.md §4): when the extended
    /// record agrees with the 20 bytes and declares a readiness protocol, "up" also needs
    /// the child to be ready, so `sv -w up`, `sv check` and `sv restart` return on the
    /// readiness event instead of on the start. Records that disagree are re-read with the
    /// status (runsv was between its two renames), then ignored; without a record, or for
    /// commands with no up-type condition, nothing changes. Returns the (possibly re-read)
    /// status, its bytes, the record's bytes and the gate; `None` if a re-read failed
    /// (its line is printed).
    #[allow(clippy::type_complexity)]
    fn readiness_gate<E: Effects>(
        &mut self,
        name: &[u8],
        mut rec: StatusRecord,
        mut raw: [u8; STATUS_LEN],
        fx: &mut E,
    ) -> Option<(StatusRecord, [u8; STATUS_LEN], Option<Vec<u8>>, bool)> {
        if !self.inv.command.wait_bytes().iter().any(|b| b"utkC".contains(b)) {
            return Some((rec, raw, None, true));
        }
        let mut record_bytes = None;
        for attempt in 1..=AGREEMENT_TRIES {
            record_bytes = fx.read_record();
            let Some(ext) = record_bytes.as_deref().and_then(|b| record::decode(b).ok()) else { break };
            if record::agrees(&ext.main, &rec) {
                return Some((rec, raw, record_bytes, ext.main.readiness.ready_at_start() || ext.main.ready));
            }
            // No re-read after the last comparison: the status judged below must be one
            // that was compared with a record (a newer one could be the "run" whose
            // record says "not ready yet"; the next round reads both again).
            if attempt == AGREEMENT_TRIES {
                break;
            }
            match self.get(name, fx) {
                Get::Ok(r, b) => (rec, raw) = (r, b),
                Get::NotRunning | Get::Failed(_) => return None,
            }
        }
        Some((rec, raw, record_bytes, true))
    }
}

/// runit's `checkscript`: a missing `check` passes; otherwise it passes iff it exits 0.
fn check_script<E: Effects>(name: &[u8], fx: &mut E) -> bool {
    match fx.stat(b"check") {
        Ok(()) => {}
        Err(Errno::ENOENT) => return true,
        Err(e) => {
            fx.stderr(&line::file_warning(b"stat", name, b"check", e));
            return false;
        }
    }
    let mut exec_fail = Vec::with_capacity(name.len() + 32);
    exec_fail.extend_from_slice(b"warning: unable to run ");
    exec_fail.extend_from_slice(name);
    exec_fail.extend_from_slice(b"/check: ");
    match fx.run_check(&exec_fail) {
        CheckRun::Exited(status) => (status >> 8) & 0xff == 0,
        CheckRun::ForkFailed(e) => {
            fx.stderr(&line::file_warning(b"fork for", name, b"check", e));
            false
        }
        CheckRun::WaitFailed(e) => {
            fx.stderr(&line::file_warning(b"wait for", name, b"check", e));
            false
        }
    }
}
