//! runit as a real PID 1, inside a private PID + mount namespace
//! (`unshare --pid --fork --kill-child --mount --mount-proc`, wrapped in
//! `timeout -s KILL`). Its files live under a scratch root given by `RUNIT_ROOT`, its
//! console is a FIFO the test reads, and `reboot(2)` only ends the namespace (the
//! kernel kills our runit with SIGINT for power-off, SIGHUP for reboot).
//!
//! Stage 2 runs runsvdir/runsv/sv: ours where they are built, Debian's (the oracle)
//! for any that is still a stub; chosen in one place, [`tool`].

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::{bin, eventually, poll_until, Scratch};

/// The binary to use for a stage-2 tool: ours unless it is still a stub, else the
/// oracle's; `None` if neither is available (the test then skips).
fn tool(name: &str) -> Option<PathBuf> {
    let ours = bin(name);
    let out = Command::new(&ours).stdin(Stdio::null()).output().ok()?;
    let stub = String::from_utf8_lossy(&out.stderr).contains("not implemented yet");
    if !stub {
        return Some(ours);
    }
    let root = e2e::oracle("runit")?;
    let p = root.join("usr/bin").join(name);
    p.exists().then_some(p)
}

/// A directory holding the stage-2 tools under their plain names (for PATH).
fn tools_dir(s: &Scratch) -> Option<PathBuf> {
    let d = s.join("tools");
    fs::create_dir_all(&d).ok()?;
    for name in ["runsvdir", "runsv", "sv"] {
        let t = tool(name)?;
        let _ = fs::remove_file(d.join(name));
        std::os::unix::fs::symlink(t, d.join(name)).ok()?;
    }
    Some(d)
}

/// The console: a FIFO at `<root>/dev/console`, drained by a thread into a buffer.
struct Console {
    fifo: PathBuf,
    /// While set, the reader thread does not read (the FIFO fills up).
    paused: Arc<AtomicBool>,
    buf: Arc<Mutex<Vec<u8>>>,
    /// Reads that found no writer and no data (EOF), counted.
    eofs: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Console {
    fn new(root: &Path) -> Console {
        let dev = root.join("dev");
        fs::create_dir_all(&dev).expect("mkdir dev");
        let fifo = dev.join("console");
        let c = std::ffi::CString::new(fifo.to_str().expect("utf8 path")).expect("cstr");
        // SAFETY: valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo console");
        // A non-blocking reader: counts as a reader at once (runit's non-blocking
        // open for writing then succeeds) and never blocks the thread.
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).expect("open console fifo");
        let fifo = fifo.clone();
        let buf = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let eofs = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let paused = Arc::new(AtomicBool::new(false));
        let (b, st, eo, pa) = (buf.clone(), stop.clone(), eofs.clone(), paused.clone());
        let thread = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            loop {
                if pa.load(Ordering::SeqCst) && !st.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                match f.read(&mut chunk) {
                    Ok(n) if n > 0 => b.lock().expect("lock").extend_from_slice(&chunk[..n]),
                    r => {
                        if let Ok(0) = r {
                            eo.fetch_add(1, Ordering::SeqCst);
                        }
                        if st.load(Ordering::SeqCst) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
            }
        });
        Console { fifo, paused, buf, eofs, stop, thread: Some(thread) }
    }

    /// Waits until everything written so far has been read (the FIFO shows EOF: every
    /// writer is gone and the buffer is empty).
    fn drain(&self) {
        let c = self.eofs.load(Ordering::SeqCst);
        poll_until(Duration::from_secs(5), || self.eofs.load(Ordering::SeqCst) > c + 1);
    }

    /// Stops reading and fills the FIFO until a write would block (a "busy console").
    fn fill(&self) -> usize {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        self.paused.store(true, Ordering::SeqCst);
        let mut w = fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&self.fifo).expect("open fifo for writing");
        let block = [b'.'; 4096];
        let mut n = 0;
        while let Ok(k) = w.write(&block) {
            n += k;
        }
        n
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().expect("lock")).into_owned()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One runit booted in a namespace.
struct Boot {
    s: Scratch,
    console: Console,
    /// The `timeout` process we spawned (its exit status is unshare's, i.e. runit's).
    outer: u32,
    root: PathBuf,
    /// Real paths (/etc/runit, /run bind-mounted from the root) instead of RUNIT_ROOT.
    bound: bool,
    /// The namespace ended and `outer` was reaped (its pid may be reused: never look
    /// at its children again).
    ended: bool,
}

fn children_of(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

impl Boot {
    /// A scratch root with the stage scripts written by `setup`, then runit started.
    fn start(name: &str, container: Option<&str>, setup: impl FnOnce(&Scratch, &Path)) -> Boot {
        let s = Scratch::new(name);
        let root = s.path.clone();
        fs::create_dir_all(root.join("etc/runit")).expect("mkdir");
        fs::create_dir_all(root.join("run")).expect("mkdir");
        // No sync(2) of the host's disks from a test.
        fs::write(root.join("etc/runit/nosync"), "").expect("nosync");
        setup(&s, &root);
        let console = Console::new(&root);
        let mut cmd = Command::new("timeout");
        cmd.args(["-s", "KILL", "40", "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"])
            .arg(bin("runit"))
            .env("RUNIT_ROOT", &root)
            .env_remove("RUNIT_CONTAINER")
            .env_remove("container")
            .env("RUNIT_TRACE", root.join("trace"))
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(fs::File::create(root.join("unshare.out")).expect("out"))
            .stderr(fs::File::create(root.join("unshare.err")).expect("err"));
        if let Some(v) = container {
            cmd.env("RUNIT_CONTAINER", v);
        }
        let mut s = s;
        let outer = s.spawn(cmd);
        Boot { s, console, outer, root, bound: false, ended: false }
    }

    /// Like [`Boot::start`], but for any runit binary (ours or Debian's) using the real
    /// paths: inside the namespace a tmpfs hides the host's /etc, and /etc/runit, /run
    /// and /dev/console are bind mounts of the scratch root's (mounts are private to
    /// the namespace; the host's files are never touched).
    fn start_bound(name: &str, init: &Path, setup: impl FnOnce(&Scratch, &Path)) -> Boot {
        let s = Scratch::new(name);
        let root = s.path.clone();
        fs::create_dir_all(root.join("etc/runit")).expect("mkdir");
        fs::create_dir_all(root.join("run")).expect("mkdir");
        fs::write(root.join("etc/runit/nosync"), "").expect("nosync");
        setup(&s, &root);
        let console = Console::new(&root);
        let r = root.display();
        let mounts = format!(
            "mount -t tmpfs tmpfs /etc && mkdir /etc/runit && mount --bind {r}/etc/runit /etc/runit && mount --bind {r}/run /run && mount --bind {r}/dev/console /dev/console && exec '{}'",
            init.display()
        );
        let mut cmd = Command::new("timeout");
        cmd.args(["-s", "KILL", "40", "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "/bin/sh", "-c", &mounts])
            .env_remove("RUNIT_ROOT")
            .env("RUNIT_CONTAINER", "0")
            .env_remove("container")
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(fs::File::create(root.join("unshare.out")).expect("out"))
            .stderr(fs::File::create(root.join("unshare.err")).expect("err"));
        let mut s = s;
        let outer = s.spawn(cmd);
        Boot { s, console, outer, root, bound: true, ended: false }
    }

    /// runit's pid as seen from here (timeout -> unshare -> runit).
    fn runit_pid(&self) -> Option<u32> {
        let unshare = *children_of(self.outer).first()?;
        children_of(unshare).first().copied()
    }

    fn wait_console(&self, needle: &str, secs: u64) {
        eventually!(
            Duration::from_secs(secs),
            self.console.text().contains(needle),
            "console never showed {needle:?}:\n{}",
            self.console.text()
        );
    }

    /// Runs a command inside the namespace (nsenter into runit's PID + mount ns).
    fn inside(&self, prog: &Path, args: &[&str]) -> (i32, String, String) {
        let pid = self.runit_pid().expect("runit pid");
        let out = Command::new("timeout")
            .args(["-s", "KILL", "10", "nsenter", "-t", &pid.to_string(), "-p", "-m", "--"])
            .arg(prog)
            .args(args)
            .env("RUNIT_ROOT", if self.bound { Path::new("") } else { self.root.as_path() })
            .stdin(Stdio::null())
            .output()
            .expect("nsenter");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn signal(&self, sig: i32) {
        let pid = self.runit_pid().expect("runit pid");
        // SAFETY: kill by pid of the runit this test started.
        unsafe { libc::kill(pid as i32, sig) };
    }

    fn wait_end(&mut self, secs: u64) -> ExitStatus {
        let outer = self.outer;
        match self.s.wait_exit(outer, Duration::from_secs(secs)) {
            Some(st) => {
                self.ended = true;
                self.console.drain();
                st
            }
            None => panic!("runit did not end the namespace; console:\n{}", self.console.text()),
        }
    }

    fn p(&self, rel: &str) -> String {
        self.root.join(rel).to_string_lossy().into_owned()
    }
}

impl Drop for Boot {
    /// A test that fails half-way must not leave its namespace behind: killing the
    /// `timeout` wrapper (Scratch does that) would orphan `unshare`, which ignores
    /// TERM and INT. SIGKILL to the namespace's init (our runit, by pid) ends every
    /// process in it, and unshare with it.
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        if let Some(pid) = self.runit_pid() {
            // SAFETY: kill by pid of the init this test started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            let outer = self.outer;
            let _ = self.s.wait_exit(outer, Duration::from_secs(5));
        }
    }
}

/// The exit status of the namespace for power-off (runit killed by SIGINT, which
/// unshare re-raises; timeout passes that on as 128+2 or as the signal itself).
fn is_poweroff(st: ExitStatus) -> bool {
    st.code() == Some(130) || st.signal() == Some(libc::SIGINT)
}

fn is_reboot(st: ExitStatus) -> bool {
    st.code() == Some(129) || st.signal() == Some(libc::SIGHUP)
}

fn script(path: &Path, body: &str) {
    e2e::write_executable(path, format!("#!/bin/sh\n{body}\n").as_bytes(), 0o755);
}

/// Stage 1 that prepares Debian's flag files (mode 000) like Debian's `/etc/runit/1`.
fn stage1_debian(root: &Path) {
    let r = root.display();
    script(
        &root.join("etc/runit/1"),
        &format!("touch {r}/run/runit.stopit {r}/run/runit.reboot\nchmod 0 {r}/run/runit.stopit {r}/run/runit.reboot\necho stage-one-ran"),
    );
}

/// Order of `needles` in `hay` (each found after the previous).
fn in_order(hay: &str, needles: &[&str]) -> Result<(), String> {
    let mut at = 0;
    for n in needles {
        match hay[at..].find(n) {
            Some(i) => at += i + n.len(),
            None => return Err(format!("missing (in order) {n:?} in:\n{hay}")),
        }
    }
    Ok(())
}

fn mode(p: &str) -> u32 {
    fs::metadata(p).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o7777)
}

#[test]
fn runit_boot_service_sv_status_then_halt() {
    let mut probe = Scratch::new("runit-tools");
    let Some(tools) = tools_dir(&probe) else {
        e2e::skip("runit_boot_service_sv_status_then_halt", e2e::Prerequisite::DebianRunit, "no runsvdir/runsv/sv (ours are stubs)");
        return;
    };
    let _ = &mut probe;
    let mut b = Boot::start("runit-boot", Some("0"), |_s, root| {
        let r = root.display();
        let t = tools.display();
        stage1_debian(root);
        script(&root.join("service/svc/run"), &format!("echo started > {r}/svc.started\nexec sleep 1000"));
        script(
            &root.join("etc/runit/2"),
            &format!("PATH={t}:$PATH\nexport PATH\nexec runsvdir -P {r}/service 'log: ...........................................................'"),
        );
        script(
            &root.join("etc/runit/3"),
            &format!("PATH={t}:$PATH\necho stage-three-ran\nsv force-stop {r}/service/* > {r}/stage3.out 2>&1\nsv exit {r}/service/* >> {r}/stage3.out 2>&1\nexit 0"),
        );
    });
    b.wait_console(&format!("enter stage: {}", b.p("etc/runit/2")), 10);
    eventually!(Duration::from_secs(10), b.root.join("svc.started").exists(), "service never started: {}", b.console.text());
    let sv = tools.join("sv");
    let svc = b.p("service/svc");
    let mut last = String::new();
    let ok = poll_until(Duration::from_secs(10), || {
        let (_c, out, _e) = b.inside(&sv, &["status", &svc]);
        last = out.clone();
        out.starts_with(&format!("run: {svc}: (pid "))
    });
    assert!(ok, "sv status never said run: {last:?}");
    let (code, _o, err) = b.inside(&bin("runit-init"), &["0"]);
    assert_eq!(code, 0, "runit-init 0: {err}");
    let st = b.wait_end(20);
    b.wait_console("- runit: power off...\n", 5);
    let con = b.console.text();
    assert!(is_poweroff(st), "namespace should end by power-off (SIGINT), got {st:?}\n{con}");
    let r = b.root.display().to_string();
    in_order(
        &con,
        &[
            "- runit: $Id: 25da3b86f7bed4038b8a039d2f8e8c9bbcf0822b $: booting.\n",
            &format!("- runit: enter stage: {r}/etc/runit/1\n"),
            "stage-one-ran",
            &format!("- runit: leave stage: {r}/etc/runit/1\n"),
            &format!("- runit: enter stage: {r}/etc/runit/2\n"),
            &format!("- runit: leave stage: {r}/etc/runit/2\n"),
            &format!("- runit: enter stage: {r}/etc/runit/3\n"),
            "stage-three-ran",
            &format!("- runit: leave stage: {r}/etc/runit/3\n"),
            "- runit: sending KILL signal to all processes...\n",
            "- runit: power off...\n",
        ],
    )
    .unwrap();
    assert!(!con.contains("warning"), "no warnings expected:\n{con}");
    // runit chmods stopit to 0 when it acts on it; runit-init 0 made reboot 0.
    assert_eq!(mode(&b.p("run/runit.stopit")), 0);
    assert_eq!(mode(&b.p("run/runit.reboot")), 0);
    assert!(
        b.s.read("stage3.out").contains("ok: down") || b.s.read("stage3.out").contains("down:"),
        "stage 3 sv output: {}",
        b.s.read("stage3.out")
    );
}

#[test]
fn runit_stage2_crash_is_restarted() {
    let mut b = Boot::start("runit-crash", Some("0"), |_s, root| {
        let r = root.display();
        stage1_debian(root);
        // First run: leave a grandchild behind, then die of SIGSEGV. Second run: stay.
        script(
            &root.join("etc/runit/2"),
            &format!(
                "if [ ! -e {r}/crashed ]; then\n  touch {r}/crashed\n  sleep 1000 &\n  echo $! > {r}/orphan.pid\n  kill -SEGV $$\nfi\necho second-stage-two\ntrap 'exit 0' TERM\nwhile :; do sleep 0.1; done"
            ),
        );
        script(&root.join("etc/runit/3"), "exit 0");
    });
    b.wait_console("second-stage-two", 15);
    let con = b.console.text();
    let s2 = b.p("etc/runit/2");
    in_order(
        &con,
        &[
            &format!("- runit: enter stage: {s2}\n"),
            &format!("- runit: warning: child crashed: {s2}\n"),
            "- runit: warning: killing all processes in stage 2...\n",
            "- runit: warning: restarting.\n",
            &format!("- runit: enter stage: {s2}\n"),
        ],
    )
    .unwrap();
    assert!(!con.contains(&format!("leave stage: {s2}")), "a crashed stage 2 must not be left:\n{con}");
    // Stage 2's process group was killed: the grandchild is gone (its pid is the ns's).
    let orphan = b.s.read("orphan.pid").trim().to_string();
    assert!(!orphan.is_empty());
    let (alive, _, _) = b.inside(Path::new("/bin/sh"), &["-c", &format!("kill -0 {orphan}")]);
    assert_ne!(alive, 0, "stage 2's grandchild {orphan} survived the process-group kill");
    b.signal(libc::SIGCONT); // stopit is mode 0: ignored
    let (code, _, err) = b.inside(&bin("runit-init"), &["0"]);
    assert_eq!(code, 0, "{err}");
    let st = b.wait_end(15);
    assert!(is_poweroff(st), "{st:?}\n{}", b.console.text());
}

#[test]
fn runit_container_sigterm_runs_stage3_and_exits_with_its_code() {
    let mut b = Boot::start("runit-container", None, |_s, root| {
        let r = root.display();
        script(&root.join("etc/runit/1"), "exit 0");
        script(
            &root.join("etc/runit/2"),
            // The trap is set before the file that tells the test to send TERM.
            &format!("trap 'echo stage2-term; exit 0' TERM\necho stage2-up > {r}/s2.up\nwhile :; do sleep 0.1; done"),
        );
        script(&root.join("etc/runit/3"), &format!("echo stage3 > {r}/s3.ran\nexit 7"));
    });
    eventually!(Duration::from_secs(10), b.root.join("s2.up").exists(), "stage 2 never ran: {}", b.console.text());
    b.signal(libc::SIGTERM);
    let st = b.wait_end(15);
    let con = b.console.text();
    assert_eq!(st.code(), Some(7), "container exit code should be stage 3's: {st:?}\n{con}");
    assert!(b.root.join("s3.ran").exists());
    let r = b.root.display().to_string();
    in_order(
        &con,
        &[
            "stage2-term",
            &format!("- runit: leave stage: {r}/etc/runit/2\n"),
            &format!("- runit: warning: child failed: {r}/etc/runit/3\n"),
            "- runit: sending KILL signal to all processes...\n",
            "- runit: exit 7.\n",
        ],
    )
    .unwrap();
}

#[test]
fn runit_sigterm_ignored_outside_container_mode() {
    let mut b = Boot::start("runit-noterm", Some("0"), |_s, root| {
        let r = root.display();
        stage1_debian(root);
        script(&root.join("etc/runit/2"), &format!("trap 'exit 0' TERM\necho up > {r}/s2.up\nwhile :; do sleep 0.1; done"));
        script(&root.join("etc/runit/3"), "exit 0");
    });
    eventually!(Duration::from_secs(10), b.root.join("s2.up").exists(), "stage 2 never ran");
    b.signal(libc::SIGTERM);
    b.signal(libc::SIGHUP);
    // SIGCONT without an executable stopit: ignored.
    b.signal(libc::SIGCONT);
    std::thread::sleep(Duration::from_millis(300)); // a negative check: nothing may happen
    assert!(b.runit_pid().is_some(), "runit must survive TERM/HUP");
    assert!(!b.console.text().contains(&format!("leave stage: {}", b.p("etc/runit/2"))));
    let (code, _, _) = b.inside(&bin("runit-init"), &["6"]);
    assert_eq!(code, 0);
    let st = b.wait_end(15);
    assert!(is_reboot(st), "runit-init 6 should reboot (SIGHUP): {st:?}\n{}", b.console.text());
    b.wait_console("- runit: system reboot.\n", 5);
}

#[test]
fn runit_missing_stages_boot_to_poweroff() {
    let mut b = Boot::start("runit-missing", Some("0"), |_s, _root| {});
    let st = b.wait_end(15);
    let con = b.console.text();
    assert!(is_poweroff(st), "{st:?}\n{con}");
    for n in 1..=3 {
        let p = b.p(&format!("etc/runit/{n}"));
        assert!(con.contains(&format!("- runit: fatal: unable to start child: {p}: file does not exist\n")), "{con}");
        assert!(con.contains(&format!("- runit: leave stage: {p}\n")), "{con}");
    }
}

#[test]
fn runit_stage1_exit100_skips_stage2_and_signals_in_stage1_warn() {
    let mut b = Boot::start("runit-skip", Some("0"), |_s, root| {
        let r = root.display();
        // Stage 1 waits for the test to signal runit, then fails with 100.
        script(&root.join("etc/runit/1"), &format!("touch {r}/s1.up\nwhile [ ! -e {r}/go ]; do sleep 0.05; done\nexit 100"));
        script(&root.join("etc/runit/2"), &format!("touch {r}/s2.ran"));
        script(&root.join("etc/runit/3"), "exit 0");
    });
    eventually!(Duration::from_secs(10), b.root.join("s1.up").exists(), "stage 1 never ran");
    b.signal(libc::SIGCONT);
    b.wait_console("- runit: warning: signals only work in stage 2.\n", 5);
    fs::write(b.root.join("go"), "").expect("go");
    let st = b.wait_end(15);
    let con = b.console.text();
    assert!(is_poweroff(st), "{st:?}\n{con}");
    let s1 = b.p("etc/runit/1");
    in_order(
        &con,
        &[
            &format!("- runit: warning: child failed: {s1}\n"),
            &format!("- runit: leave stage: {s1}\n"),
            "- runit: warning: skipping stage 2...\n",
            &format!("- runit: enter stage: {}\n", b.p("etc/runit/3")),
        ],
    )
    .unwrap();
    assert!(!b.root.join("s2.ran").exists());
}

#[test]
fn runit_ctrlaltdel_and_stage2_ignoring_term_gets_kill() {
    let mut b = Boot::start("runit-cad", Some("0"), |_s, root| {
        let r = root.display();
        stage1_debian(root);
        // Stage 2 ignores TERM: runit must KILL it after 5 s.
        script(&root.join("etc/runit/2"), &format!("trap '' TERM\ntouch {r}/s2.up\nwhile :; do sleep 0.1; done"));
        script(&root.join("etc/runit/ctrlaltdel"), &format!("echo cad-ran\ntouch {r}/run/runit.stopit\nchmod 100 {r}/run/runit.stopit"));
        script(&root.join("etc/runit/3"), "exit 0");
    });
    eventually!(Duration::from_secs(10), b.root.join("s2.up").exists(), "stage 2 never ran");
    b.signal(libc::SIGINT);
    let st = b.wait_end(20);
    let con = b.console.text();
    assert!(is_poweroff(st), "{st:?}\n{con}");
    let cad = b.p("etc/runit/ctrlaltdel");
    in_order(
        &con,
        &[
            "- runit: ctrl-alt-del request...\n",
            &format!("- runit: enter stage: {cad}\n"),
            "cad-ran",
            &format!("- runit: leave stage: {cad}\n"),
            "- runit: warning: stage 2 not terminated, sending sigkill...\n",
            &format!("- runit: leave stage: {}\n", b.p("etc/runit/2")),
        ],
    )
    .unwrap();
    assert_eq!(mode(&b.p("run/runit.stopit")), 0, "runit chmods stopit to 0");
}

#[test]
fn runit_not_pid1_is_fatal() {
    let s = Scratch::new("runit-notpid1");
    let (code, out, err) = e2e::run("runit", &[], &s.path, &[]);
    assert_eq!(code, 111);
    assert_eq!(out, "");
    assert_eq!(err, "- runit: fatal: must be run as process no 1.\n");
}

#[test]
fn runit_stage1_not_executable_and_stage2_exit111_waits_5s() {
    let mut b = Boot::start("runit-111", Some("0"), |_s, root| {
        let r = root.display();
        fs::write(root.join("etc/runit/1"), "#!/bin/sh\nexit 0\n").expect("write");
        fs::set_permissions(root.join("etc/runit/1"), fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::write(root.join("run/runit.stopit"), "").expect("stopit");
        fs::set_permissions(root.join("run/runit.stopit"), fs::Permissions::from_mode(0o0)).expect("chmod");
        // Exits 111 at once the first time (runit must not spin: 5 s pause), then stays.
        script(
            &root.join("etc/runit/2"),
            &format!("cat /proc/uptime >> {r}/starts\nif [ ! -e {r}/once ]; then touch {r}/once; exit 111; fi\ntrap 'exit 0' TERM\nwhile :; do sleep 0.1; done"),
        );
        script(&root.join("etc/runit/3"), "exit 0");
    });
    eventually!(Duration::from_secs(15), b.s.read("starts").lines().count() >= 2, "stage 2 never restarted:\n{}", b.console.text());
    let starts: Vec<f64> = b.s.read("starts").lines().filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect();
    assert!(starts.len() >= 2);
    let gap = starts[1] - starts[0];
    assert!((4.9..7.0).contains(&gap), "restart after exit 111 should take 5 s, took {gap}");
    let con = b.console.text();
    let s1 = b.p("etc/runit/1");
    let s2 = b.p("etc/runit/2");
    in_order(
        &con,
        &[
            &format!("- runit: fatal: unable to start child: {s1}: access denied\n"),
            &format!("- runit: leave stage: {s1}\n"),
            &format!("- runit: warning: child failed: {s2}\n"),
            "- runit: warning: killing all processes in stage 2...\n",
            "- runit: warning: restarting.\n",
        ],
    )
    .unwrap();
    let (code, _, _) = b.inside(&bin("runit-init"), &["0"]);
    assert_eq!(code, 0);
    let st = b.wait_end(15);
    assert!(is_poweroff(st), "{st:?}");
}

#[test]
fn runit_reaps_orphans_and_forwards_alrm() {
    let mut b = Boot::start("runit-orphans", Some("1"), |_s, root| {
        let r = root.display();
        script(&root.join("etc/runit/1"), "exit 0");
        // Orphans: children of subshells that exit at once are re-parented to PID 1.
        script(
            &root.join("etc/runit/2"),
            &format!(
                "trap 'echo alrm >> {r}/alrm' ALRM\ntrap 'exit 0' TERM\nfor i in 1 2 3 4 5; do ( sh -c 'exit 3' & ); ( sleep 0.2 & ); done\ntouch {r}/s2.up\nwhile :; do sleep 0.1; done"
            ),
        );
        script(&root.join("etc/runit/3"), "exit 0");
    });
    eventually!(Duration::from_secs(10), b.root.join("s2.up").exists(), "stage 2 never ran");
    // No zombie may remain in the namespace once the orphans are done.
    let zombies = || {
        let (_, out, _) = b.inside(Path::new("/bin/sh"), &["-c", "grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l"]);
        out.trim().to_string()
    };
    eventually!(Duration::from_secs(5), zombies() == "0", "zombies left in the namespace: {}", zombies());
    b.signal(libc::SIGALRM);
    eventually!(Duration::from_secs(5), b.s.read("alrm").contains("alrm"), "SIGALRM was not forwarded to stage 2");
    b.signal(libc::SIGTERM);
    let st = b.wait_end(15);
    assert_eq!(st.code(), Some(0), "{st:?}\n{}", b.console.text());
    assert!(b.console.text().contains("- runit: exit 0.\n"));
}

#[test]
fn runit_container_sigterm_in_stage1_skips_stage2() {
    let mut b = Boot::start("runit-ct1", None, |_s, root| {
        let r = root.display();
        script(&root.join("etc/runit/1"), &format!("touch {r}/s1.up\nwhile [ ! -e {r}/go ]; do sleep 0.05; done\nexit 0"));
        script(&root.join("etc/runit/2"), &format!("touch {r}/s2.ran"));
        script(&root.join("etc/runit/3"), "exit 0");
    });
    eventually!(Duration::from_secs(10), b.root.join("s1.up").exists(), "stage 1 never ran");
    b.signal(libc::SIGTERM);
    // The request is taken (not warned about) and acted on when stage 1 ends; the
    // trace shows when runit has taken it.
    eventually!(Duration::from_secs(5), b.s.read("trace").contains("Signal { sig: Term"), "runit never took SIGTERM");
    fs::write(b.root.join("go"), "").expect("go");
    let st = b.wait_end(15);
    let con = b.console.text();
    assert_eq!(st.code(), Some(0), "{st:?}\n{con}");
    assert!(!b.root.join("s2.ran").exists(), "stage 2 must be skipped:\n{con}");
    assert!(!con.contains("signals only work in stage 2."), "{con}");
    in_order(
        &con,
        &["- runit: warning: skipping stage 2...\n", &format!("- runit: leave stage: {}\n", b.p("etc/runit/3")), "- runit: exit 0.\n"],
    )
    .unwrap();
}

#[test]
fn runit_busy_console_does_not_lose_its_lines() {
    let mut b = Boot::start("runit-busycon", Some("1"), |_s, root| {
        let r = root.display();
        script(&root.join("etc/runit/1"), &format!("touch {r}/s1.up\nwhile [ ! -e {r}/go ]; do sleep 0.05; done\nexit 0"));
        script(&root.join("etc/runit/2"), "exit 0");
        script(&root.join("etc/runit/3"), "exit 0");
    });
    eventually!(Duration::from_secs(10), b.root.join("s1.up").exists(), "stage 1 never ran");
    b.wait_console(&format!("enter stage: {}", b.p("etc/runit/1")), 5);
    let filled = b.console.fill();
    assert!(filled >= 4096, "the console FIFO should have filled");
    b.signal(libc::SIGCONT);
    // runit's write hits EAGAIN now; the console frees up only later.
    eventually!(Duration::from_secs(5), b.s.read("trace").contains("Signal { sig: Cont"), "runit never took SIGCONT");
    std::thread::sleep(Duration::from_millis(200)); // part of the scenario: a console busy for a while
    b.console.resume();
    b.wait_console("- runit: warning: signals only work in stage 2.\n", 5);
    fs::write(b.root.join("go"), "").expect("go");
    let st = b.wait_end(15);
    assert_eq!(st.code(), Some(0), "{st:?}");
}

#[test]
fn runit_sigpwr_shuts_down_without_stopit() {
    let mut b = Boot::start("runit-pwr", Some("0"), |_s, root| {
        let r = root.display();
        stage1_debian(root);
        script(&root.join("etc/runit/2"), &format!("trap 'echo stage2-term; exit 0' TERM\ntouch {r}/s2.up\nwhile :; do sleep 0.05; done"));
        script(&root.join("etc/runit/3"), "exit 0");
    });
    eventually!(Duration::from_secs(10), b.root.join("s2.up").exists(), "stage 2 never ran");
    assert_eq!(mode(&b.p("run/runit.stopit")), 0, "stopit is not executable");
    b.signal(libc::SIGPWR);
    let st = b.wait_end(15);
    let con = b.console.text();
    assert!(is_poweroff(st), "{st:?}\n{con}");
    in_order(&con, &["stage2-term", &format!("- runit: leave stage: {}\n", b.p("etc/runit/2")), "- runit: power off...\n"]).unwrap();
}

/// Debian's runit binary, if the oracle can be had.
fn oracle_runit() -> Option<PathBuf> {
    let p = e2e::oracle("runit")?.join("sbin/runit");
    p.exists().then_some(p)
}

/// A scenario run the same way under our runit and Debian's; returns both consoles.
fn differential(name: &str, setup: fn(&Path), drive: fn(&Boot)) -> Option<(String, String)> {
    let oracle = oracle_runit()?;
    let run = |tag: &str, init: PathBuf| {
        let mut b = Boot::start_bound(&format!("{name}-{tag}"), &init, |_s, root| setup(root));
        drive(&b);
        let st = b.wait_end(25);
        assert!(is_poweroff(st) || is_reboot(st), "{tag}: {st:?}\n{}", b.console.text());
        let end = if is_reboot(st) { "[namespace ended: reboot]\n" } else { "[namespace ended: power off]\n" };
        b.console.text() + end
    };
    std::thread::scope(|sc| {
        let ours = sc.spawn(|| run("ours", bin("runit")));
        let theirs = run("debian", oracle);
        let ours = ours.join().expect("our run");
        Some((ours, theirs))
    })
}

fn assert_same_console(name: &str, setup: fn(&Path), drive: fn(&Boot), must: &[&str]) {
    let Some((ours, theirs)) = differential(name, setup, drive) else {
        e2e::skip(name, e2e::Prerequisite::DebianRunit, "apt-get download runit failed");
        return;
    };
    for m in must {
        assert!(theirs.contains(m), "scenario did not reach {m:?} under Debian's runit:\n{theirs}");
    }
    assert_eq!(ours, theirs, "console differs from Debian's runit\n--- ours:\n{ours}\n--- debian:\n{theirs}");
}

fn wait_file(b: &Boot, rel: &str) {
    eventually!(Duration::from_secs(10), b.root.join(rel).exists(), "{rel} never appeared:\n{}", b.console.text());
}

#[test]
fn runit_same_console_as_debian_boot_and_halt() {
    assert_same_console(
        "diff-halt",
        |root| {
            let r = root.display();
            // Each stage shows its signal mask and ignored set (compared with Debian's).
            script(&root.join("etc/runit/1"), "touch /run/runit.stopit /run/runit.reboot\nchmod 0 /run/runit.stopit /run/runit.reboot\necho one $(grep -E '^Sig(Blk|Ign)' /proc/self/status)\nexit 1");
            script(&root.join("etc/runit/2"), &format!("echo two $(grep -E '^Sig(Blk|Ign)' /proc/self/status)\ntrap 'echo two-term; exit 0' TERM\ntouch {r}/s2.up\nwhile :; do sleep 0.05; done"));
            script(&root.join("etc/runit/3"), "echo three $(grep -E '^Sig(Blk|Ign)' /proc/self/status)\nexit 2");
        },
        |b| {
            wait_file(b, "s2.up");
            // Stage 1 -> 2 happened; SIGCONT without executable stopit does nothing.
            b.signal(libc::SIGCONT);
            let (code, _, err) = b.inside(&bin("runit-init"), &["0"]);
            assert_eq!(code, 0, "{err}");
        },
        &[
            "one SigBlk:",
            "two SigBlk:",
            "warning: child failed: /etc/runit/1",
            "two-term",
            "warning: child failed: /etc/runit/3",
            "power off...",
        ],
    );
}

#[test]
fn runit_same_console_as_debian_skip_and_warn() {
    assert_same_console(
        "diff-skip",
        |root| {
            let r = root.display();
            script(&root.join("etc/runit/1"), &format!("touch {r}/s1.up\nwhile [ ! -e {r}/go ]; do sleep 0.05; done\nexit 100"));
            script(&root.join("etc/runit/3"), "echo three");
        },
        |b| {
            wait_file(b, "s1.up");
            b.signal(libc::SIGCONT);
            b.wait_console("signals only work in stage 2.", 5);
            fs::write(b.root.join("go"), "").expect("go");
        },
        &["skipping stage 2...", "three"],
    );
}

#[test]
fn runit_same_console_as_debian_missing_stages() {
    assert_same_console("diff-missing", |_root| {}, |_b| {}, &["unable to start child: /etc/runit/3: file does not exist"]);
}

#[test]
fn runit_same_console_as_debian_restart_and_ctrlaltdel() {
    assert_same_console(
        "diff-cad",
        |root| {
            let r = root.display();
            script(&root.join("etc/runit/1"), "touch /run/runit.stopit\nchmod 0 /run/runit.stopit");
            script(
                &root.join("etc/runit/2"),
                &format!("echo two $(grep -E '^Sig(Blk|Ign)' /proc/self/status)\nif [ ! -e {r}/once ]; then touch {r}/once; echo two-fails; exit 111; fi\ntrap '' TERM\ntouch {r}/s2.up\nwhile :; do sleep 0.05; done"),
            );
            script(
                &root.join("etc/runit/ctrlaltdel"),
                "echo cad $(grep -E '^Sig(Blk|Ign)' /proc/self/status)\ntouch /run/runit.stopit\nchmod 100 /run/runit.stopit",
            );
            script(&root.join("etc/runit/3"), "echo three");
        },
        |b| {
            wait_file(b, "s2.up");
            b.signal(libc::SIGINT);
        },
        &["two-fails", "restarting.", "ctrl-alt-del request...", "cad", "stage 2 not terminated, sending sigkill...", "three"],
    );
}

#[test]
fn runit_container_propagates_stage2_exit_code() {
    // A container whose stage 2 is the application itself: its exit code becomes the
    // container's, through stage 3.
    let mut b = Boot::start("runit-ct2", Some("1"), |_s, root| {
        let r = root.display();
        script(&root.join("etc/runit/1"), "exit 0");
        script(&root.join("etc/runit/2"), "exit 4");
        script(&root.join("etc/runit/3"), &format!("touch {r}/s3.ran"));
    });
    let st = b.wait_end(15);
    let con = b.console.text();
    assert_eq!(st.code(), Some(4), "{st:?}\n{con}");
    assert!(b.root.join("s3.ran").exists(), "stage 3 must run:\n{con}");
    in_order(&con, &[&format!("- runit: warning: child failed: {}\n", b.p("etc/runit/2")), "- runit: exit 4.\n"]).unwrap();
}

#[test]
fn runit_same_console_as_debian_alrm_and_reboot() {
    assert_same_console(
        "diff-reboot",
        |root| {
            let r = root.display();
            script(&root.join("etc/runit/1"), "echo one");
            script(
                &root.join("etc/runit/2"),
                &format!("trap 'echo two-alrm; touch {r}/alrm' ALRM\ntrap 'exit 0' TERM\ntouch {r}/s2.up\nwhile :; do sleep 0.05; done"),
            );
            script(&root.join("etc/runit/3"), "echo three");
        },
        |b| {
            wait_file(b, "s2.up");
            b.signal(libc::SIGALRM);
            wait_file(b, "alrm");
            let (code, _, err) = b.inside(&bin("runit-init"), &["6"]);
            assert_eq!(code, 0, "{err}");
        },
        &["two-alrm", "system reboot.", "[namespace ended: reboot]"],
    );
}

#[test]
fn runit_same_console_as_debian_stage1_killed() {
    // 2.1.2's quirk, kept: a stage 1 killed by a signal counts as exit 0 (stage 2 runs).
    assert_same_console(
        "diff-s1kill",
        |root| {
            script(&root.join("etc/runit/1"), "kill -9 $$");
            script(&root.join("etc/runit/2"), "echo two\nexit 0");
            script(&root.join("etc/runit/3"), "echo three");
        },
        |_b| {},
        &["two", "three", "[namespace ended: power off]"],
    );
}

#[test]
fn runit_same_console_as_debian_bad_scripts() {
    assert_same_console(
        "diff-bad",
        |root| {
            let r = root.display();
            // Stage 1 not executable; ctrlaltdel first not executable, later crashing.
            fs::write(root.join("etc/runit/1"), "#!/bin/sh\necho never\n").expect("write");
            script(&root.join("etc/runit/2"), &format!("trap 'exit 0' TERM\ntouch {r}/s2.up\nwhile :; do sleep 0.05; done"));
            // Not executable yet; written the ETXTBSY-proof way, as it is run later.
            let cad = format!("#!/bin/sh\necho cad-crashes\ntouch {r}/cad.ran\nkill -9 $$\n");
            e2e::write_executable(&root.join("etc/runit/ctrlaltdel"), cad.as_bytes(), 0o644);
            script(&root.join("etc/runit/3"), "echo three");
        },
        |b| {
            wait_file(b, "s2.up");
            b.signal(libc::SIGINT); // ctrlaltdel not executable: nothing
            b.signal(libc::SIGCONT); // no stopit at all: nothing
            let cad = b.root.join("etc/runit/ctrlaltdel");
            fs::set_permissions(&cad, fs::Permissions::from_mode(0o755)).expect("chmod");
            b.signal(libc::SIGINT);
            wait_file(b, "cad.ran");
            b.wait_console("leave stage: /etc/runit/ctrlaltdel", 5);
            let (code, _, err) = b.inside(&bin("runit-init"), &["0"]);
            assert_eq!(code, 0, "{err}");
        },
        &["unable to start child: /etc/runit/1: access denied", "cad-crashes", "warning: child crashed: /etc/runit/ctrlaltdel", "three"],
    );
}
