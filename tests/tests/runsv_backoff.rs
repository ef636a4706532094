//! End-to-end tests of runsv's opt-in backoff files (issue 11, "Backoff and giving up"):
//! the spacing of restarts of a crash-looping service against the lower bounds the model
//! promises, giving up after the limit, `sv up` leaving it, and bad values falling back to
//! runit's 1 s throttle. Real runsv and sv binaries on scratch service directories; every
//! wait polls a condition with a cap; no upper bound on time is asserted.

use std::path::PathBuf;
use std::time::Duration;

use e2e::{end_supervision, eventually, run, Scratch};
use model::runsv::Backoff;
use model::StepCap;

/// A crash loop with these pauses takes well under this; it only caps the polling.
const LIMIT: Duration = Duration::from_secs(30);

/// `./run` appends its start time (ns since the epoch) to `starts` and dies at once.
const CRASH: &str = "date +%s%N >> starts\nexit 1";

/// One runsv on `<scratch>/s`.
struct Svc {
    sc: Scratch,
    runsv: u32,
}

impl Svc {
    fn new(test: &str, files: &[(&str, &str)]) -> Svc {
        let sc = Scratch::new(test);
        sc.script("s/run", CRASH);
        for (name, content) in files {
            sc.write(&format!("s/{name}"), content, 0o644);
        }
        let mut svc = Svc { sc, runsv: 0 };
        svc.runsv = svc.sc.start("runsv", &["s"], "runsv");
        svc
    }
    /// The start times `./run` recorded, in ms since the first.
    fn starts(&self) -> Vec<u64> {
        let ns: Vec<u64> = self.sc.read("s/starts").lines().filter_map(|l| l.trim().parse().ok()).collect();
        ns.iter().map(|t| (t - ns[0]) / 1_000_000).collect()
    }
    fn sv(&self, args: &[&str]) -> (i32, String, String) {
        run("sv", args, &self.sc.path, &[])
    }
    fn status(&self) -> String {
        self.sv(&["status", "./s"]).1
    }
    fn stderr(&self) -> String {
        self.sc.read("runsv.err")
    }
    /// Waits until `./run` has started `n` times.
    fn wait_starts(&self, n: usize) -> Vec<u64> {
        let mut cap = StepCap::new("runsv_backoff: starts", 100_000);
        eventually!(
            LIMIT,
            {
                cap.step();
                self.starts().len() >= n
            },
            "only {:?} starts; stderr {:?}",
            self.starts(),
            self.stderr()
        );
        self.starts()
    }
}

impl Drop for Svc {
    fn drop(&mut self) {
        let pid_file: PathBuf = self.sc.join("s/supervise/pid");
        end_supervision(&[self.runsv as i32], [pid_file], &self.sc.path, Duration::from_secs(10));
    }
}

/// The gaps between successive starts.
fn gaps(starts: &[u64]) -> Vec<u64> {
    starts.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn crash_loop_restarts_are_spaced_at_least_as_the_model_promises() {
    let files = [("restart-delay", "1000\n"), ("restart-steps", "2\n"), ("restart-max-delay", "3000\n")];
    let svc = Svc::new("backoff-spacing", &files);
    let starts = svc.wait_starts(5);
    let (b, warnings) = Backoff::from_files(b"s", Some(b"1000"), Some(b"2"), Some(b"3000"), None, None);
    assert!(warnings.is_empty());
    let promised: Vec<u64> = (1..=4).map(|k| b.delay_after(k).as_millis()).collect();
    assert_eq!(promised, [1000, 1732, 3000, 3000]);
    let measured = gaps(&starts[..5]);
    for (gap, min) in measured.iter().zip(&promised) {
        assert!(gap >= min, "restart after {gap} ms, the model promises at least {min} ms: gaps {measured:?}");
    }
    eprintln!("backoff spacing (ms): measured {measured:?}, promised lower bounds {promised:?}");
    assert_eq!(svc.stderr(), "", "valid files: no warning");
    let ext = svc.sc.read("s/supervise/status.ext");
    assert!(ext.contains("\ngiven_up=0\n"), "{ext}");
}

#[test]
fn give_up_after_the_limit_and_sv_up_leaves_it() {
    let files = [("restart-limit-count", "2\n"), ("restart-limit-interval", "60000\n")];
    let svc = Svc::new("backoff-giveup", &files);
    let mut cap = StepCap::new("runsv_backoff: given up", 100_000);
    eventually!(
        LIMIT,
        {
            cap.step();
            svc.status().ends_with(", given up\n")
        },
        "never gave up: {:?}, starts {:?}",
        svc.status(),
        svc.starts()
    );
    // 2 automatic restarts allowed: the first start, two restarts, the third death gives up.
    assert_eq!(svc.starts().len(), 3, "{:?}", svc.starts());
    for gap in gaps(&svc.starts()) {
        assert!(gap >= 1000, "runit's 1 s throttle between starts: {:?}", svc.starts());
    }
    let status = svc.status();
    assert!(status.starts_with("down: ./s: ") && status.ends_with("s, normally up, given up\n"), "{status:?}");
    // What runit's sv and daemontools see: the 20 bytes say down, want down (so that
    // runit's `sv up`, which skips `u` when the want byte is already `u`, sends it).
    let raw = std::fs::read(svc.sc.join("s/supervise/status")).unwrap();
    assert_eq!((raw.len(), raw[12..16] == [0; 4], raw[17], raw[19]), (20, true, b'd', 0), "{raw:?}");
    assert_eq!(svc.sc.read("s/supervise/stat"), "down\n");
    let (code, json, _) = svc.sv(&["-j", "status", "./s"]);
    assert_eq!(code, 0);
    assert!(json.contains("\"given_up\":true"), "{json}");
    let (code, fields, _) = svc.sv(&["-o", "givenup,state", "status", "./s"]);
    assert_eq!((code, fields.as_str()), (0, "true down\n"));

    let (code, out, err) = svc.sv(&["up", "./s"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    svc.wait_starts(4);
    let mut cap = StepCap::new("runsv_backoff: left", 100_000);
    eventually!(
        LIMIT,
        {
            cap.step();
            !svc.status().contains("given up")
        },
        "still given up: {:?}",
        svc.status()
    );
}

#[test]
fn bad_values_warn_and_keep_runits_throttle() {
    let files = [("restart-delay", "5s\n"), ("restart-limit-count", "-1\n"), ("restart-max-delay", "99999999999\n")];
    let svc = Svc::new("backoff-bad", &files);
    let starts = svc.wait_starts(3);
    for gap in gaps(&starts) {
        assert!(gap >= 1000, "runit's 1 s throttle: {starts:?}");
    }
    let err = svc.stderr();
    for line in [
        "runsv s: warning: invalid restart-delay: not a number, using the default\n",
        "runsv s: warning: invalid restart-max-delay: number too big, using the default\n",
        "runsv s: warning: invalid restart-limit-count: not a number, using the default\n",
    ] {
        assert!(err.contains(line), "{err:?} lacks {line:?}");
    }
    assert!(!svc.sc.join("s/supervise/status.ext").exists(), "runit's files only");
    assert!(!svc.status().contains("given up"));
}

#[test]
fn a_delay_under_runits_throttle_is_refused() {
    // dinit's restart-delay is in seconds: "5" here would be 5 ms, under runit's 1 s.
    let svc = Svc::new("backoff-low", &[("restart-delay", "5\n")]);
    let starts = svc.wait_starts(2);
    assert!(starts[1] >= 1000, "{starts:?}");
    let err = svc.stderr();
    assert!(err.contains("runsv s: warning: invalid restart-delay: less than runit's 1000 ms throttle, using the default\n"), "{err:?}");
}

#[test]
fn runits_own_sv_reads_a_given_up_service_and_brings_it_back() {
    let Some(root) = e2e::oracle_or_skip("backoff-runit-sv") else { return };
    let theirs = root.join("usr/bin/sv");
    let svc = Svc::new("backoff-runit-sv", &[("restart-limit-count", "1\n")]);
    let mut cap = StepCap::new("runsv_backoff: given up (runit's sv)", 100_000);
    eventually!(
        LIMIT,
        {
            cap.step();
            svc.status().ends_with(", given up\n")
        },
        "never gave up: {:?}",
        svc.status()
    );
    let runit_sv = |args: &[&str]| {
        let out = std::process::Command::new(&theirs).args(args).current_dir(&svc.sc.path).output().expect("run Debian's sv");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = runit_sv(&["status", "./s"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("down: ./s: ") && out.ends_with("s, normally up\n"), "runit's sv: {out:?}");
    let ours = svc.status();
    assert!(ours.starts_with("down: ./s: ") && ours.ends_with("s, normally up, given up\n"), "ours adds only the suffix: {ours:?}");
    // runit's sv sends `u` only when byte 17 is not already `u`: the give-up's want down
    // lets it through.
    let (code, out) = runit_sv(&["up", "./s"]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
    svc.wait_starts(3);
    assert!(!svc.status().contains("given up"), "{}", svc.status());
}
