//! sv's machine-output modes (`-j`, `-o`, `-m`/`-M`, `-r`; docs/readiness.md §4): for
//! each service, read what [`view`](crate::sv::view) needs and print it in the requested
//! form. Separate from [`Session`](crate::sv::Session) because none of these modes sends
//! a command or waits; the failure lines and the exit code (failures, capped at 99) are
//! sv's. With `-j`, `-o` and `-m` the failure lines go to stderr so stdout stays parseable;
//! `-r` is a human mode and prints them on stdout as `sv status` does.

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::record::{self, Record};
use crate::status::StatusRecord;
use crate::status::Want;
use crate::sv::args::{Invocation, Output};
use crate::sv::line;
use crate::sv::metrics::{exposition, Entry};
use crate::sv::resolve::{self, Base};
use crate::sv::session::{Effects, StatusError};
use crate::sv::view::{healthy, slot_view, want_exit_from_stat, ServiceView, SlotView, Source};
use crate::sv::{json, svstat, EXIT_FAILURES_MAX, EXIT_USAGE};
use crate::time::Now;

/// How many times a reader re-reads `status` and `status.ext` when they disagree (runsv
/// was between its two renames) before it uses the 20 bytes alone.
pub const AGREEMENT_TRIES: usize = 3;

/// What the machine-output modes need beyond sv's [`Effects`] (whose
/// [`Effects::read_record`] they use too).
pub trait ReportEffects: Effects {
    /// Reads `supervise/stat` of the current directory; `None` if it cannot be read.
    fn read_stat(&mut self) -> Option<Vec<u8>>;
    /// Lists a directory: `(name, is a directory)` for every entry but `.` and `..`.
    fn list_dir(&mut self, path: &[u8]) -> Result<Vec<(Vec<u8>, bool)>, Errno>;
}

/// The services `sv -m status` reports when given none: every directory in `$SVDIR`
/// whose name does not start with `.` (runsvdir's rule), in byte order.
pub fn svdir_services(mut entries: Vec<(Vec<u8>, bool)>) -> Vec<Vec<u8>> {
    entries.retain(|(name, is_dir)| *is_dir && !name.starts_with(b"."));
    let mut names: Vec<Vec<u8>> = entries.into_iter().map(|(n, _)| n).collect();
    names.sort();
    names
}

struct Report<'a, E> {
    inv: &'a Invocation,
    fx: &'a mut E,
    failures: u32,
}

enum Fail {
    /// runsv not running, or the status could not be read (message printed).
    Unreadable,
    /// Could not even change into the directory (message printed).
    NoDir,
}

impl<E: ReportEffects> Report<'_, E> {
    fn to_stdout(&self) -> bool {
        matches!(self.inv.output, Output::Probe(_))
    }

    fn say(&mut self, line: Vec<u8>) {
        let mut line = line;
        line.push(b'\n');
        if self.to_stdout() {
            self.fx.stdout(&line);
        } else {
            self.fx.stderr(&line);
        }
    }

    fn fail(&mut self, prefix: &[u8], name: &[u8], msg: &[u8], errno: Option<Errno>) {
        self.failures += 1;
        self.say(line::service_msg(prefix, name, msg, errno));
    }

    /// sv's liveness probe and 20-byte read, with its messages.
    fn status(&mut self, name: &[u8]) -> Result<StatusRecord, Fail> {
        match self.fx.probe_ok() {
            Ok(()) => {}
            Err(Errno::ENXIO) => {
                self.fail(b"fail: ", name, b"runsv not running", None);
                return Err(Fail::Unreadable);
            }
            Err(e) => {
                self.fail(b"warning: ", name, b"unable to open supervise/ok", Some(e));
                return Err(Fail::Unreadable);
            }
        }
        let (msg, errno): (&[u8], Option<Errno>) = match self.fx.read_status() {
            Ok(bytes) => match StatusRecord::decode(&bytes) {
                Some(rec) => return Ok(rec),
                None => (b"unable to read supervise/status: bad format", None),
            },
            Err(StatusError::Open(e)) => (b"unable to open supervise/status", Some(e)),
            Err(StatusError::Read(e)) => (b"unable to read supervise/status", Some(e)),
        };
        self.fail(b"warning: ", name, msg, errno);
        Err(Fail::Unreadable)
    }

    /// `stat("down")`: `None` (after a stderr warning, as sv prints it) on an odd error.
    fn normally_up(&mut self, name: &[u8]) -> Option<bool> {
        match self.fx.stat(b"down") {
            Ok(()) => Some(false),
            Err(Errno::ENOENT) => Some(true),
            Err(e) => {
                self.failures += 1;
                self.fx.stderr(&line::file_warning(b"stat", name, b"down", e));
                None
            }
        }
    }

    /// The 20 bytes and the record, re-read until they agree (or the tries run out).
    fn status_and_record(&mut self, name: &[u8]) -> Result<(StatusRecord, Option<Record>), Fail> {
        let mut st = self.status(name)?;
        let mut rec = None;
        for attempt in 1..=AGREEMENT_TRIES {
            rec = self.fx.read_record().and_then(|b| record::decode(&b).ok());
            match &rec {
                // (No re-read after the last comparison: the pair returned is one that
                // was compared, as in the session's readiness gate.)
                Some(r) if !record::agrees(&r.main, &st) && attempt < AGREEMENT_TRIES => st = self.status(name)?,
                _ => break,
            }
        }
        Ok((st, rec))
    }

    /// Without a record, `stat` tells want exit apart from want down.
    fn fallback_want(&mut self, mut v: SlotView, st: &StatusRecord) -> SlotView {
        if v.source == Source::Status && self.fx.read_stat().is_some_and(|stat| want_exit_from_stat(&stat, st)) {
            v.wanted = Some(Want::Exit);
        }
        v
    }

    fn gather(&mut self, i: usize) -> Result<(ServiceView, StatusRecord), Fail> {
        let name = self.inv.services[i].clone();
        let ok = match resolve::first_pass(&name) {
            Base::Cwd => self.fx.chdir(&name),
            Base::Svdir => self.fx.chdir(&self.inv.svdir).and_then(|()| self.fx.chdir(&name)),
        };
        if let Err(e) = ok {
            self.fail(b"fail: ", &name, b"unable to change to service directory", Some(e));
            return Err(Fail::NoDir);
        }
        let (st, rec) = self.status_and_record(&name)?;
        let normally_up = self.normally_up(&name).ok_or(Fail::Unreadable)?;
        let main = self.fallback_want(slot_view(&st, normally_up, rec.as_ref().map(|r| &r.main)), &st);
        let mut log_name = name.clone();
        log_name.extend_from_slice(b"/log");
        let log = match self.fx.chdir(b"log") {
            Err(Errno::ENOENT) => None,
            Err(e) => {
                self.fail(b"warning: ", &log_name, b"unable to change directory", Some(e));
                None
            }
            Ok(()) => match self.status(&log_name) {
                Err(_) => None,
                Ok(log_st) => {
                    let log_up = self.normally_up(&log_name).unwrap_or(true);
                    Some(self.fallback_want(slot_view(&log_st, log_up, rec.as_ref().and_then(|r| r.log.as_ref())), &log_st))
                }
            },
        };
        Ok((ServiceView { name, main, log }, st))
    }
}

/// Runs one machine-output invocation to its exit code.
pub fn run<E: ReportEffects>(inv: &Invocation, now: Now, fx: &mut E) -> i32 {
    if let Err(e) = fx.open_home() {
        fx.stderr(&line::fatal(b"unable to open current directory", e));
        return EXIT_USAGE;
    }
    let mut inv = inv.clone();
    if inv.services.is_empty() {
        match fx.list_dir(&inv.svdir) {
            Ok(entries) => inv.services = svdir_services(entries),
            Err(e) => {
                fx.stderr(&line::fatal(b"unable to read services directory", e));
                return EXIT_USAGE;
            }
        }
    }
    let mut r = Report { inv: &inv, fx, failures: 0 };
    let mut entries = Vec::new();
    for i in 0..inv.services.len() {
        let got = r.gather(i);
        if let Err(e) = r.fx.go_home() {
            r.fx.stderr(&line::fatal(b"unable to change to original directory", e));
            return EXIT_USAGE;
        }
        let name = &inv.services[i];
        match (&inv.output, got) {
            (Output::Metrics { .. }, Ok((v, _))) => entries.push(Entry::new(name, Some(v))),
            (Output::Metrics { .. }, Err(Fail::Unreadable)) => entries.push(Entry::new(name, None)),
            (_, Err(_)) => {}
            (Output::Json, Ok((v, _))) => r.fx.stdout(&json::service_json(&v, now.wall)),
            (Output::Fields(f), Ok((v, _))) => r.fx.stdout(&svstat::fields_line(&v.main, f, now.wall)),
            (Output::Probe(min), Ok((v, st))) => {
                let ok = healthy(&v.main, *min, now.wall);
                let mut out = Vec::from(if ok { &b"ok: "[..] } else { &b"unhealthy: "[..] });
                out.extend_from_slice(&line::status_text(name, &st, now.wall, v.main.normally_up));
                out.push(b'\n');
                r.fx.stdout(&out);
                if !ok {
                    r.failures += 1;
                }
            }
            (Output::Human, Ok(_)) => {}
        }
    }
    if let Output::Metrics { openmetrics } = inv.output {
        r.fx.stdout(&exposition(&entries, openmetrics));
    }
    r.failures.min(EXIT_FAILURES_MAX) as i32
}
