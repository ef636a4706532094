//! Machine-output runs over a fake file system: JSON, `-o`, the exposition and the probe,
//! with and without the extended record, and every failure path's line and exit code.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::errno::Errno;
use crate::readiness::Protocol;
use crate::record::{self, Record, SlotRecord};
use crate::status::{RunState, StatusRecord, Want};
use crate::sv::report::{run, svdir_services, ReportEffects};
use crate::sv::session::{CheckRun, Effects, StatusError, WriteOutcome};
use crate::sv::{parse, Env, Parse};
use crate::time::{Mono, Now, Tai64n, Wall};

const T0: i64 = 1_764_921_600;

fn now(secs: i64) -> Now {
    Now { mono: Mono(0), wall: Wall { unix_secs: T0 + secs, nanos: 0 } }
}

fn status(pid: u32, state: RunState) -> StatusRecord {
    StatusRecord::new(Tai64n::from_wall(Wall { unix_secs: T0, nanos: 0 }), pid, false, Want::Up, false, state)
}

fn slot(st: &StatusRecord, ready: bool) -> SlotRecord {
    SlotRecord {
        state: st.state().unwrap(),
        pid: st.pid,
        since: st.stamp,
        wanted: Want::Up,
        normally_up: true,
        paused: false,
        got_term: false,
        readiness: Protocol::NotificationFd,
        ready,
        ready_since: if ready { Some(st.stamp) } else { None },
        last_exit: None,
        restarts: 2,
        quick_deaths: 0,
        status_text: b"hi".to_vec(),
        backoff: None,
    }
}

#[derive(Clone, Default)]
struct Dir {
    ok: Option<Errno>,
    statuses: VecDeque<Vec<u8>>,
    records: VecDeque<Option<Vec<u8>>>,
    down: bool,
    down_err: Option<Errno>,
    stat: Option<Vec<u8>>,
    status_reads: usize,
}

impl Dir {
    fn new(st: StatusRecord, rec: Option<Record>) -> Dir {
        Dir {
            statuses: VecDeque::from([st.encode().to_vec()]),
            records: VecDeque::from([rec.map(|r| record::encode(&r))]),
            ..Dir::default()
        }
    }
}

#[derive(Default)]
struct World {
    dirs: BTreeMap<String, Dir>,
    listing: Vec<(Vec<u8>, bool)>,
    cwd: String,
    out: String,
    err: String,
}

impl World {
    fn with(mut self, path: &str, d: Dir) -> World {
        self.dirs.insert(path.into(), d);
        self
    }
    fn here(&mut self) -> Option<&mut Dir> {
        self.dirs.get_mut(&self.cwd)
    }
}

fn pop<T: Clone>(q: &mut VecDeque<T>) -> Option<T> {
    if q.len() > 1 {
        q.pop_front()
    } else {
        q.front().cloned()
    }
}

impl Effects for World {
    fn open_home(&mut self) -> Result<(), Errno> {
        Ok(())
    }
    fn go_home(&mut self) -> Result<(), Errno> {
        self.cwd = String::from("/home");
        Ok(())
    }
    fn chdir(&mut self, path: &[u8]) -> Result<(), Errno> {
        let p = core::str::from_utf8(path).map_err(|_| Errno::EINVAL)?;
        let target = if p.starts_with('/') { String::from(p.trim_end_matches('/')) } else { alloc::format!("{}/{}", self.cwd, p) };
        if self.dirs.contains_key(&target) || target == "/svdir" {
            self.cwd = target;
            Ok(())
        } else {
            Err(Errno::ENOENT)
        }
    }
    fn probe_ok(&mut self) -> Result<(), Errno> {
        let d = self.here().ok_or(Errno::ENOENT)?;
        d.ok.map_or(Ok(()), Err)
    }
    fn read_status(&mut self) -> Result<Vec<u8>, StatusError> {
        let d = self.here().ok_or(StatusError::Open(Errno::ENOENT))?;
        d.status_reads += 1;
        pop(&mut d.statuses).ok_or(StatusError::Open(Errno::ENOENT))
    }
    fn stat(&mut self, file: &[u8]) -> Result<(), Errno> {
        let d = self.here().ok_or(Errno::ENOENT)?;
        if let Some(e) = d.down_err.filter(|_| file == b"down") {
            return Err(e);
        }
        if file == b"down" && d.down {
            Ok(())
        } else {
            Err(Errno::ENOENT)
        }
    }
    fn run_check(&mut self, _: &[u8]) -> CheckRun {
        CheckRun::Exited(0)
    }
    fn write_control(&mut self, _: &[u8]) -> WriteOutcome {
        WriteOutcome::OpenFailed(Errno::EINVAL)
    }
    fn read_record(&mut self) -> Option<Vec<u8>> {
        let d = self.here()?;
        pop(&mut d.records).flatten()
    }
    fn watch(&mut self, _: usize) -> bool {
        false
    }
    fn stdout(&mut self, line: &[u8]) {
        self.out.push_str(core::str::from_utf8(line).unwrap());
    }
    fn stderr(&mut self, line: &[u8]) {
        self.err.push_str(core::str::from_utf8(line).unwrap());
    }
}

impl ReportEffects for World {
    fn read_stat(&mut self) -> Option<Vec<u8>> {
        self.here()?.stat.clone()
    }
    fn list_dir(&mut self, path: &[u8]) -> Result<Vec<(Vec<u8>, bool)>, Errno> {
        if path == b"/svdir" {
            Ok(self.listing.clone())
        } else {
            Err(Errno::ENOENT)
        }
    }
}

fn world() -> World {
    World { cwd: String::from("/home"), ..World::default() }
}

fn sv(args: &[&str], w: &mut World, at: i64) -> i32 {
    let mut argv = vec!["sv"];
    argv.extend_from_slice(args);
    match parse(&argv, Env { svdir: Some(b"/svdir"), svwait: None }) {
        Parse::Run(inv) => run(&inv, now(at), w),
        other => panic!("{other:?}"),
    }
}

#[test]
fn test_report_json_from_record_and_from_20_bytes() {
    let st = status(42, RunState::Run);
    let rec = Record { main: slot(&st, false), log: None };
    let mut w = world().with("/svdir/web", Dir::new(st, Some(rec))).with("/svdir/old", Dir::new(st, None));
    assert_eq!(sv(&["-j", "status", "web", "old"], &mut w, 5), 0);
    let lines: Vec<&str> = w.out.lines().collect();
    assert_eq!(lines.len(), 2, "{}", w.out);
    assert!(lines[0].starts_with("{\"service\":\"web\",\"source\":\"status.ext\",\"state\":\"run\",\"pid\":42,"), "{}", lines[0]);
    assert!(lines[0].contains("\"ready\":false,\"ready_since\":null,") && lines[0].contains("\"restarts\":2,"));
    assert!(lines[1].contains("\"source\":\"status\",") && lines[1].contains("\"ready\":true,") && lines[1].contains("\"restarts\":null"));
    assert!(lines[1].contains("\"seconds\":5,"));
    assert_eq!(w.err, "");
}

#[test]
fn test_report_rereads_until_record_agrees() {
    let old = status(41, RunState::Run);
    let new = status(42, RunState::Run);
    let rec = Record { main: slot(&new, true), log: None };
    // Status read while runsv was between its renames: old 20 bytes, new record; the
    // re-read gives the new 20 bytes.
    let mut d = Dir::new(old, Some(rec.clone()));
    d.statuses.push_back(new.encode().to_vec());
    let mut w = world().with("/svdir/web", d);
    assert_eq!(sv(&["-o", "pid,readiness", "status", "web"], &mut w, 1), 0);
    assert_eq!(w.out, "42 notification-fd\n");
    // Never agreeing: the 20 bytes alone.
    let mut w = world().with("/svdir/web", Dir::new(old, Some(rec)));
    assert_eq!(sv(&["-o", "pid,readiness", "status", "web"], &mut w, 1), 0);
    assert_eq!(w.out, "41 NA\n");
}

#[test]
fn test_report_failures_go_to_stderr_and_count() {
    let mut stopped = Dir::new(status(0, RunState::Down), None);
    stopped.ok = Some(Errno::ENXIO);
    let mut w =
        world().with("/svdir/stopped", stopped).with("/svdir/short", Dir { statuses: VecDeque::from([vec![0u8; 19]]), ..Dir::default() });
    assert_eq!(sv(&["-j", "status", "stopped", "nosuch", "short"], &mut w, 1), 3);
    assert_eq!(w.out, "");
    assert_eq!(
        w.err,
        "fail: stopped: runsv not running\nfail: nosuch: unable to change to service directory: file does not exist\n\
         warning: short: unable to read supervise/status: bad format\n"
    );
}

#[test]
fn test_report_metrics_whole_svdir() {
    let mut stopped = Dir::new(status(0, RunState::Down), None);
    stopped.ok = Some(Errno::ENXIO);
    let mut web = Dir::new(status(42, RunState::Run), None);
    web.down = true;
    let mut w = world().with("/svdir/web", web).with("/svdir/stopped", stopped);
    w.listing = vec![(b"web".to_vec(), true), (b".hidden".to_vec(), true), (b"file".to_vec(), false), (b"stopped".to_vec(), true)];
    assert_eq!(sv(&["-m", "status"], &mut w, 1), 1);
    assert!(
        w.out.contains("runit_service_supervisor_up{service=\"stopped\"} 0\nrunit_service_supervisor_up{service=\"web\"} 1\n"),
        "{}",
        w.out
    );
    assert!(w.out.contains("node_service_normal_state{service=\"web\",supervisor=\"runit\"} 0\n"));
    assert!(!w.out.contains("service=\".hidden\"") && !w.out.contains("service=\"file\""));
    assert_eq!(w.err, "fail: stopped: runsv not running\n");
    assert_eq!(svdir_services(vec![(b"b".to_vec(), true), (b"a".to_vec(), true)]), vec![b"a".to_vec(), b"b".to_vec()]);
}

#[test]
fn test_report_probe() {
    let st = status(42, RunState::Run);
    let mut w = world().with("/svdir/web", Dir::new(st, Some(Record { main: slot(&st, true), log: None })));
    assert_eq!(sv(&["-r", "5", "status", "web"], &mut w, 7), 0);
    assert_eq!(w.out, "ok: run: web: (pid 42) 7s\n");
    let mut w = world().with("/svdir/web", Dir::new(st, Some(Record { main: slot(&st, true), log: None })));
    assert_eq!(sv(&["-r", "10", "status", "web"], &mut w, 7), 1);
    assert_eq!(w.out, "unhealthy: run: web: (pid 42) 7s\n");
    let mut w = world().with("/svdir/web", Dir::new(st, Some(Record { main: slot(&st, false), log: None })));
    assert_eq!(sv(&["-r", "0", "status", "web"], &mut w, 700), 1);
    // Failure lines stay on stdout in this human mode.
    let mut w = world();
    assert_eq!(sv(&["-r", "0", "status", "gone"], &mut w, 1), 1);
    assert_eq!(w.out, "fail: gone: unable to change to service directory: file does not exist\n");
}

#[test]
fn test_report_log_slot() {
    let st = status(42, RunState::Run);
    let log_st = status(43, RunState::Run);
    let rec = Record { main: slot(&st, true), log: Some(slot(&log_st, true)) };
    let mut log = Dir::new(log_st, None);
    log.down = true;
    let mut w = world().with("/svdir/web", Dir::new(st, Some(rec))).with("/svdir/web/log", log);
    assert_eq!(sv(&["-j", "status", "web"], &mut w, 1), 0);
    assert!(w.out.contains(",\"log\":{\"source\":\"status.ext\",\"state\":\"run\",\"pid\":43,"), "{}", w.out);
    assert!(w.out.contains("\"normally_up\":false"), "{}", w.out);
    // A log whose runsv is gone: counted, reported on stderr, `log` null.
    let mut log = Dir::new(log_st, None);
    log.ok = Some(Errno::ENXIO);
    let mut w = world().with("/svdir/web", Dir::new(st, None)).with("/svdir/web/log", log);
    assert_eq!(sv(&["-j", "status", "web"], &mut w, 1), 1);
    assert!(w.out.ends_with(",\"log\":null}\n"), "{}", w.out);
    assert_eq!(w.err, "fail: web/log: runsv not running\n");
}

#[test]
fn test_report_want_exit_from_stat_without_record() {
    let mut st = status(42, RunState::Run);
    st.want = b'd';
    let mut d = Dir::new(st, None);
    d.stat = Some(b"run, want exit\n".to_vec());
    let mut w = world().with("/svdir/web", d);
    assert_eq!(sv(&["-j", "status", "web"], &mut w, 1), 0);
    assert!(w.out.contains("\"wanted\":\"exit\""), "{}", w.out);
    let mut d = Dir::new(st, None);
    d.stat = Some(b"run, want down\n".to_vec());
    let mut w = world().with("/svdir/web", d);
    assert_eq!(sv(&["-j", "status", "web"], &mut w, 1), 0);
    assert!(w.out.contains("\"wanted\":\"down\""), "{}", w.out);
}

#[test]
fn test_report_agreeing_record_read_once_and_stat_down_error_counts() {
    let st = status(42, RunState::Run);
    let mut w = world().with("/svdir/web", Dir::new(st, Some(Record { main: slot(&st, true), log: None })));
    assert_eq!(sv(&["-o", "ready", "status", "web"], &mut w, 1), 0);
    assert_eq!(w.dirs["/svdir/web"].status_reads, 1, "an agreeing record needs no re-read");
    let mut d = Dir::new(st, None);
    d.down_err = Some(Errno::EACCES);
    let mut w = world().with("/svdir/web", d);
    assert_eq!(sv(&["-j", "status", "web"], &mut w, 1), 1);
    assert_eq!(w.out, "");
    assert_eq!(w.err, "warning: unable to stat web/down: access denied\n");
}
