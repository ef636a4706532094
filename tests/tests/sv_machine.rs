//! End-to-end tests of sv's machine output (docs/readiness.md §4, sv.8): `-j` parsed by
//! Python's `json` module, `-m`/`-M` parsed by the `prometheus_client` parsers from PyPI,
//! `-o` fields, and the `-r` probe — on services run by our runsv (20-byte fallback), with
//! an extended record `supervise/status.ext` beside the 20 bytes, and on Debian's runsv.
//!
//! Prerequisites: `python3` and `pip install prometheus_client` (.ci/run installs it).
//! A test whose prerequisite is missing prints a `SKIP:` line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{bin, eventually, oracle, Scratch};
use model::readiness::Protocol;
use model::record::{self, ExitHow, LastExit, Record, SlotRecord};
use model::status::{StatusRecord, Want};

const LIMIT: Duration = Duration::from_secs(5);

/// Services under one runsv each. On drop: runsv first (so nothing restarts), then every
/// pid the run scripts recorded.
struct Fixture {
    scratch: Scratch,
    runsv: PathBuf,
    runsv_pids: Vec<i32>,
    pid_files: Vec<PathBuf>,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        Fixture::with_runsv(test, bin("runsv"))
    }

    fn with_runsv(test: &str, runsv: PathBuf) -> Fixture {
        Fixture { scratch: Scratch::new(test), runsv, runsv_pids: Vec::new(), pid_files: Vec::new() }
    }

    fn path(&self) -> &Path {
        &self.scratch.path
    }

    /// A service `name` whose run script records its pid and then runs `body`; with a log
    /// service when `log`.
    fn service(&mut self, name: &str, body: &str, log: bool) {
        self.scratch.script(&format!("{name}/run"), &format!("echo $$ >> pids\n{body}"));
        self.pid_files.push(self.scratch.join(&format!("{name}/pids")));
        if log {
            self.scratch.script(&format!("{name}/log/run"), "echo $$ >> pids\nexec cat > /dev/null");
            self.pid_files.push(self.scratch.join(&format!("{name}/log/pids")));
        }
    }

    fn start(&mut self, name: &str) {
        let mut cmd = Command::new(&self.runsv);
        cmd.arg(name).current_dir(self.path()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let pid = self.scratch.spawn(cmd);
        self.runsv_pids.push(pid as i32);
        let p = self.path().join(name).join("supervise/ok");
        eventually!(LIMIT, p.exists(), "{name}: runsv never created supervise/ok");
    }

    /// Starts a long-running service and waits until it runs.
    fn up(&mut self, name: &str, log: bool) {
        self.service(name, "exec sleep 3600", log);
        self.start(name);
        let dir = format!("./{name}");
        eventually!(LIMIT, self.sv(&["status", &dir]).1.starts_with("run: "), "{name} never ran");
        if log {
            eventually!(LIMIT, self.sv(&["status", &dir]).1.contains("; run: log:"), "{name}/log never ran");
        }
    }

    fn sv(&self, args: &[&str]) -> (i32, String, String) {
        self.sv_env(args, &[])
    }

    fn sv_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut cmd = Command::new(bin("sv"));
        cmd.args(args).current_dir(self.path()).stdin(Stdio::null()).env_remove("SVDIR").env_remove("SVWAIT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run sv");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn status20(&self, name: &str) -> StatusRecord {
        let bytes = std::fs::read(self.path().join(name).join("supervise/status")).expect("status");
        StatusRecord::decode(&bytes).expect("20 bytes")
    }

    /// Writes `supervise/status.ext` (atomically, as runsv will) for `name`.
    fn write_record(&self, name: &str, rec: &Record) {
        let dir = self.path().join(name).join("supervise");
        std::fs::write(dir.join("status.ext.new"), record::encode(rec)).expect("write record");
        std::fs::rename(dir.join("status.ext.new"), dir.join("status.ext")).expect("rename record");
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        e2e::end_supervision(&self.runsv_pids, self.pid_files.iter().cloned(), &self.scratch.path, LIMIT);
    }
}

/// The record a runsv with readiness would write for the slot whose 20 bytes are `st`.
fn record_for(st: &StatusRecord, ready: bool) -> SlotRecord {
    SlotRecord {
        state: st.state().expect("state"),
        pid: st.pid,
        since: st.stamp,
        wanted: if st.want == b'u' { Want::Up } else { Want::Down },
        normally_up: true,
        paused: st.paused,
        got_term: st.got_term,
        readiness: Protocol::SdNotify,
        ready,
        ready_since: if ready { Some(st.stamp) } else { None },
        last_exit: Some(LastExit { how: ExitHow::Signal(15), at: st.stamp }),
        restarts: 3,
        quick_deaths: 0,
        status_text: "Serving \"3\" clients\\ née\n".as_bytes().to_vec(),
        backoff: None,
    }
}

/// Runs a Python script with `input` on stdin: `None` (and a SKIP line) without python3.
fn python(test: &str, script: &str, input: &str) -> Option<(i32, String, String)> {
    use std::io::Write;
    let child = Command::new("python3").arg("-c").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let Ok(mut child) = child else {
        e2e::skip(test, e2e::Prerequisite::Python3, "python3 is not installed");
        return None;
    };
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("python3");
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Whether `prometheus_client` can be imported (prints a SKIP line if not).
fn have_prometheus_client(test: &str) -> bool {
    match python(test, "import prometheus_client.parser, prometheus_client.openmetrics.parser", "") {
        Some((0, _, _)) => true,
        Some((_, _, err)) => {
            e2e::skip(
                test,
                e2e::Prerequisite::PrometheusClient,
                &format!("python3 module prometheus_client missing (pip install prometheus_client): {}", err.trim()),
            );
            false
        }
        None => false,
    }
}

/// Strict JSON Lines: every line one object; prints `service state pid ready source log`
/// per line, and the sorted key list of the first object.
const JSON_SCRIPT: &str = r#"
import json, sys
def reject(c): raise ValueError("non-JSON constant " + c)
objs = [json.loads(l, parse_constant=reject) for l in sys.stdin.read().split("\n") if l]
for o in objs:
    log = o["log"]
    print(o["service"], o["state"], o["pid"], o["ready"], o["source"], o["seconds"] >= 0,
          None if log is None else (log["state"], log["pid"]))
print(",".join(sorted(objs[0].keys())))
"#;

/// Parses an exposition: prints `family type` lines and `sample name labels value`.
const PROM_SCRIPT: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
text = sys.stdin.read()
parse = om if sys.argv[1] == "om" else text_string_to_metric_families
for f in parse(text):
    print("family", f.name, f.type)
    for s in f.samples:
        assert s.timestamp is None, "client-side timestamp"
        labels = ",".join(k + "=" + v for k, v in sorted(s.labels.items()))
        print("sample", s.name, labels, repr(float(s.value)))
"#;

fn prom(test: &str, text: &str, openmetrics: bool) -> Option<String> {
    let script = PROM_SCRIPT.replace("sys.argv[1]", if openmetrics { "\"om\"" } else { "\"prom\"" });
    let (code, out, err) = python(test, &script, text)?;
    assert_eq!(code, 0, "prometheus_client rejected the exposition: {err}\n{text}");
    Some(out)
}

#[test]
fn json_from_20_bytes_on_our_runsv() {
    let mut fx = Fixture::new("json20");
    fx.up("web", true);
    let (code, out, err) = fx.sv(&["-j", "status", "./web"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let st = fx.status20("web");
    let log = StatusRecord::decode(&std::fs::read(fx.path().join("web/log/supervise/status")).unwrap()).unwrap();
    let Some((pc, parsed, perr)) = python("json_from_20_bytes_on_our_runsv", JSON_SCRIPT, &out) else { return };
    assert_eq!(pc, 0, "python json: {perr}\n{out}");
    let mut lines = parsed.lines();
    assert_eq!(lines.next(), Some(format!("./web run {} True status True ('run', {})", st.pid, log.pid).as_str()), "{parsed}");
    assert_eq!(
        lines.next(),
        Some(
            "given_up,got_term,last_exit_at,last_exit_code,last_exit_signal,log,normally_up,paused,pid,quick_deaths,readiness,\
             ready,ready_since,restarts,seconds,service,since,source,state,status_text,wanted"
        )
    );
}

#[test]
fn json_fields_and_probe_use_an_agreeing_record() {
    let mut fx = Fixture::new("jsonrec");
    fx.up("web", false);
    let st = fx.status20("web");
    fx.write_record("web", &Record { main: record_for(&st, false), log: None });

    let (code, out, _) = fx.sv(&["-j", "status", "./web"]);
    assert_eq!(code, 0);
    let script = r#"
import json, sys
o = json.loads(sys.stdin.read())
print(o["source"], o["readiness"], o["ready"], o["restarts"], o["last_exit_signal"], o["last_exit_code"])
print(o["status_text"])
"#;
    let Some((pc, parsed, perr)) = python("json_fields_and_probe_use_an_agreeing_record", script, &out) else { return };
    assert_eq!(pc, 0, "{perr}");
    assert_eq!(parsed, "status.ext sd_notify False 3 15 None\nServing \"3\" clients\\ née\n\n");

    assert_eq!(fx.sv(&["-o", "up,ready,readiness,restarts,signal", "status", "./web"]).1, "true false sd_notify 3 NA\n");
    // Not ready: the probe fails whatever the uptime.
    let (code, out, _) = fx.sv(&["-r", "0", "status", "./web"]);
    assert_eq!((code, out.starts_with("unhealthy: run: ./web: (pid ")), (1, true), "{out}");
    // Ready: healthy.
    fx.write_record("web", &Record { main: record_for(&st, true), log: None });
    let (code, out, _) = fx.sv(&["-r", "0", "status", "./web"]);
    assert_eq!((code, out.starts_with("ok: run: ./web: (pid ")), (0, true), "{out}");
    // A record that disagrees with the 20 bytes (another pid) is not used.
    let mut stale = record_for(&st, false);
    stale.pid += 1;
    fx.write_record("web", &Record { main: stale, log: None });
    assert_eq!(fx.sv(&["-o", "ready,readiness,restarts", "status", "./web"]).1, "true NA -1\n");
}

#[test]
fn metrics_parsed_by_prometheus_client() {
    let test = "metrics_parsed_by_prometheus_client";
    let mut fx = Fixture::new("metrics");
    fx.up("web", true);
    fx.up("db", false);
    // A service directory runsv never ran: reported with supervisor_up 0.
    fx.scratch.script("idle/run", "exit 0");
    let st = fx.status20("db");
    fx.write_record("db", &Record { main: record_for(&st, true), log: None });
    let svdir = fx.path().to_str().unwrap().to_string();
    let (code, out, err) = fx.sv_env(&["-m", "status"], &[("SVDIR", &svdir)]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err, "warning: idle: unable to open supervise/ok: file does not exist\n");
    if !have_prometheus_client(test) {
        return;
    }
    let Some(parsed) = prom(test, &out, false) else { return };
    let web_pid = fx.status20("web").pid;
    for want in [
        "family node_service_state gauge".to_string(),
        "sample node_service_state service=web,supervisor=runit 1.0".to_string(),
        "sample node_service_desired_state service=db,supervisor=runit 1.0".to_string(),
        "sample node_service_normal_state service=web,supervisor=runit 1.0".to_string(),
        "sample runit_service_supervisor_up service=idle 0.0".to_string(),
        "sample runit_service_supervisor_up service=web 1.0".to_string(),
        format!("sample runit_service_pid service=web,slot=main {}.0", web_pid),
        "sample runit_service_ready service=web,slot=log 1.0".to_string(),
        "family runit_service_restarts counter".to_string(),
        "sample runit_service_restarts_total service=db,slot=main 3.0".to_string(),
        "sample runit_service_last_exit_signal service=db,slot=main 15.0".to_string(),
    ] {
        assert!(parsed.lines().any(|l| l == want), "missing {want:?} in\n{parsed}");
    }
    let since =
        parsed.lines().find(|l| l.starts_with("sample node_service_state_last_change_timestamp_seconds service=web,")).expect("since");
    let secs: f64 = since.rsplit(' ').next().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((now - secs).abs() < 3600.0, "{since}");

    // OpenMetrics, through its own parser.
    let (_, om_text, _) = fx.sv_env(&["-M", "status", "web", "db"], &[("SVDIR", &svdir)]);
    assert!(om_text.ends_with("# EOF\n"));
    let Some(parsed) = prom(test, &om_text, true) else { return };
    assert!(parsed.lines().any(|l| l == "sample runit_service_restarts_total service=db,slot=main 3.0"), "{parsed}");
}

#[test]
fn probe_never_healthy_in_a_crash_loop() {
    let mut fx = Fixture::new("probeloop");
    // Dies after 0.3 s, every time: a quick death (under 1 s) each round, never up for 2 s
    // even on a loaded machine (a 1 s life could stretch past the quick-death bound).
    fx.service("loop", "sleep 0.3; exit 1", false);
    fx.start("loop");
    fx.up("web", false);
    let mut probes = 0;
    let mut starts_seen = 0;
    // Sample across at least three restarts (step-capped).
    for _ in 0..400 {
        let (code, out, _) = fx.sv(&["-r", "2", "status", "./loop"]);
        assert_ne!(code, 0, "a crash-looping service answered healthy: {out}");
        probes += 1;
        starts_seen = std::fs::read_to_string(fx.path().join("loop/pids")).unwrap_or_default().lines().count();
        if starts_seen >= 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(starts_seen >= 4, "the loop service restarted only {starts_seen} times in {probes} probes");
    // A steady service becomes healthy once up for 1 s.
    eventually!(LIMIT, fx.sv(&["-r", "1", "status", "./web"]).0 == 0, "steady service never healthy");
}

#[test]
fn machine_options_leave_runit_behaviour_alone() {
    let mut fx = Fixture::new("compat");
    fx.up("web", false);
    // A plain status is the runit line.
    let (code, out, _) = fx.sv(&["status", "./web"]);
    assert!(code == 0 && out.starts_with("run: ./web: (pid ") && out.ends_with("s\n"), "{out}");
    // The new options only go with status: anything else is usage, and nothing is sent.
    let (code, out, err) = fx.sv(&["-j", "down", "./web"]);
    assert_eq!((code, out.as_str(), err.as_str()), (100, "", "usage: sv [-v] [-w sec] command service ...\n\n"));
    assert_eq!(fx.status20("web").want, b'u');
    let (code, _, err) = fx.sv(&["-o", "up,nonsense", "status", "./web"]);
    assert_eq!((code, err.as_str()), (100, "sv: invalid field -- nonsense\nusage: sv [-v] [-w sec] command service ...\n\n"));
    // LSB mode keeps runit's options.
    let lsb = fx.path().join("web-lsb");
    std::os::unix::fs::symlink(bin("sv"), &lsb).expect("symlink");
    let out = Command::new(&lsb).args(["-j", "status"]).current_dir(fx.path()).env("SVDIR", fx.path()).output().expect("lsb");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "web-lsb: illegal option -- j\nusage: web-lsb [-w sec] command\n\n");
}

#[test]
fn json_and_metrics_on_debian_runsv() {
    let test = "json_and_metrics_on_debian_runsv";
    let Some(root) = oracle("runit") else {
        e2e::skip(test, e2e::Prerequisite::DebianRunit, "Debian's runit package is not available");
        return;
    };
    let Some(runsv) = ["usr/bin/runsv", "sbin/runsv"].iter().map(|p| root.join(p)).find(|p| p.exists()) else {
        e2e::skip(test, e2e::Prerequisite::DebianRunit, "no runsv in Debian's runit package");
        return;
    };
    let mut fx = Fixture::with_runsv("debjson", runsv);
    fx.up("web", true);
    let (code, out, _) = fx.sv(&["-j", "status", "./web"]);
    assert_eq!(code, 0);
    let st = fx.status20("web");
    let Some((pc, parsed, perr)) = python(test, JSON_SCRIPT, &out) else { return };
    assert_eq!(pc, 0, "{perr}");
    assert!(parsed.starts_with(&format!("./web run {} True status True ('run', ", st.pid)), "{parsed}");
    assert_eq!(fx.sv(&["-o", "up,wantedup,pid,readiness", "status", "./web"]).1, format!("true true {} NA\n", st.pid));
    if !have_prometheus_client(test) {
        return;
    }
    let (_, text, _) = fx.sv(&["-m", "status", "./web"]);
    let Some(parsed) = prom(test, &text, false) else { return };
    assert!(parsed.lines().any(|l| l == "sample node_service_state service=web,supervisor=runit 1.0"), "{parsed}");
}

#[test]
fn wait_up_returns_on_readiness_record() {
    let mut fx = Fixture::new("waitready");
    fx.up("web", false);
    let st = fx.status20("web");
    fx.write_record("web", &Record { main: record_for(&st, false), log: None });
    // Running but not ready: `up` is not done.
    let (code, out, _) = fx.sv(&["-w", "0", "up", "./web"]);
    assert_eq!((code, out.starts_with("timeout: run: ./web: (pid ")), (1, true), "{out}");
    // A waiting sv returns once the record says ready (inotify on status.ext).
    let outf = std::fs::File::create(fx.scratch.join("wait.out")).expect("out");
    let mut cmd = Command::new(bin("sv"));
    cmd.args(["-w", "30", "up", "./web"]).current_dir(fx.path()).stdin(Stdio::null()).stdout(outf).env_remove("SVWAIT");
    let pid = fx.scratch.spawn(cmd);
    // Once past its fast-poll phase sv watches supervise/ with inotify: wait for that
    // descriptor so the readiness event, not a poll, is what ends the wait.
    let has_inotify = || {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|d| {
            d.filter_map(|e| e.ok()).any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().contains("inotify")))
        })
    };
    eventually!(LIMIT, has_inotify(), "sv never set up its inotify watch");
    fx.write_record("web", &Record { main: record_for(&st, true), log: None });
    let status = fx.scratch.wait_exit(pid, LIMIT).expect("sv -w up did not return after readiness");
    assert_eq!(status.code(), Some(0));
    assert!(fx.scratch.read("wait.out").starts_with("ok: run: ./web: (pid "), "{}", fx.scratch.read("wait.out"));
}
