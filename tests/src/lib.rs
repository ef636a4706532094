//! End-to-end test harness: builds the binaries once, makes scratch directories, starts
//! processes and guarantees they are killed (by pid) when a test ends, and polls for
//! conditions instead of sleeping.
//!
//! Every test runs in its own directory under the system temp dir and never touches the
//! host's `/etc`, `/service`, `/run` or utmp.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The directory holding the built binaries (`target/<profile>/`), building them first
/// if this is the first call in the test process.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(d) = std::env::var_os("RUNIT_BIN_DIR") {
            return PathBuf::from(d);
        }
        // target/<profile>/deps/<test-binary>
        let exe = std::env::current_exe().expect("current_exe");
        let dir = exe.parent().and_then(Path::parent).expect("target dir").to_path_buf();
        let profile_release = dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", "runit-bins", "--bins"]);
        if profile_release {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build");
        assert!(st.success(), "building the binaries failed");
        dir
    })
}

/// The path of one built binary.
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// A scratch directory, removed when dropped (after its processes are killed).
pub struct Scratch {
    /// The directory.
    pub path: PathBuf,
    children: Vec<Child>,
    /// Processes started indirectly, each with its start time: a pid is killed at the end
    /// only while it still names that process (pids are reused; pid_max may be 32768).
    pids: Vec<(i32, Option<u64>)>,
}

impl Scratch {
    /// A fresh directory named after the test.
    pub fn new(name: &str) -> Scratch {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("runit-e2e-{}-{}-{}", name, std::process::id(), n));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("mkdir scratch");
        Scratch { path, children: Vec::new(), pids: Vec::new() }
    }

    /// A path inside the scratch directory.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    /// Writes a file (creating parent directories) with the given mode; executables
    /// (any x bit) go through [`write_executable`], so running them cannot fail with
    /// ETXTBSY.
    pub fn write(&self, rel: &str, content: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.join(rel);
        if mode & 0o111 != 0 {
            write_executable(&p, content.as_bytes(), mode);
            return p;
        }
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    /// Writes an executable shell script.
    pub fn script(&self, rel: &str, body: &str) -> PathBuf {
        self.write(rel, &format!("#!/bin/sh\n{body}\n"), 0o755)
    }

    /// Starts a process that is killed (SIGKILL, by pid) when the scratch is dropped.
    pub fn spawn(&mut self, mut cmd: Command) -> u32 {
        default_signals(&mut cmd);
        let child = cmd.spawn().expect("spawn");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Starts a built binary with args, cwd = scratch dir, stdout/stderr to files
    /// `<name>.out` / `<name>.err` in the scratch dir. Returns its pid.
    pub fn start(&mut self, binary: &str, args: &[&str], tag: &str) -> u32 {
        let out = std::fs::File::create(self.join(&format!("{tag}.out"))).expect("out");
        let err = std::fs::File::create(self.join(&format!("{tag}.err"))).expect("err");
        let mut cmd = Command::new(bin(binary));
        cmd.args(args).current_dir(&self.path).stdin(Stdio::null()).stdout(out).stderr(err);
        self.spawn(cmd)
    }

    /// Remembers a pid started indirectly (e.g. a service under runsv) to kill at the end.
    pub fn adopt(&mut self, pid: i32) {
        if pid > 0 {
            self.pids.push((pid, process_start_time(pid)));
        }
    }

    /// Waits for a started child to exit, up to `limit`; returns its exit status.
    pub fn wait_exit(&mut self, pid: u32, limit: Duration) -> Option<std::process::ExitStatus> {
        let idx = self.children.iter().position(|c| c.id() == pid)?;
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.children[idx].try_wait() {
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Reads a file in the scratch dir as a string ("" if missing).
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel)).unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for &(pid, started) in &self.pids {
            // A pid whose process ended may by now name another test's process: kill only
            // the process that was adopted (same start time), never a reused pid.
            if started.is_some() && process_start_time(pid) == started {
                // SAFETY: kill by pid of a process this test started, checked just above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Whatever a killed supervisor had just started (before the test could learn its
        // pid) still runs in this directory: end it too, so no test leaves a process.
        poll_until(Duration::from_secs(10), || kill_all_under(&self.path) == 0);
        if std::env::var_os("RUNIT_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A process's start time (clock ticks since boot, field 22 of `/proc/PID/stat`): with the
/// pid, it names one process even after the pid is reused.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// SIGKILLs `pid` only if its working directory lies under `dir` (a service runsv started
/// in this test's scratch dir). A pid recorded long ago may since have been reused by
/// another test's process (pid_max may be 32768); that one's directory is elsewhere.
pub fn kill_if_under(pid: i32, dir: &Path) -> bool {
    let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd")) else { return false };
    if pid <= 0 || !cwd.starts_with(dir) {
        return false;
    }
    // SAFETY: kill by pid of a process whose directory is this test's own, checked above.
    unsafe { libc::kill(pid, libc::SIGKILL) == 0 }
}

/// Ends a fixture's supervision: SIGKILLs each runsv (the test's own children, so their
/// pids stay theirs until reaped), waits up to `limit` for each to be gone, then SIGKILLs
/// every pid the services wrote into `pid_files` that still runs under `dir` (the
/// services outlive a killed runsv; [`kill_if_under`] spares reused pids).
pub fn end_supervision(runsv_pids: &[i32], pid_files: impl IntoIterator<Item = PathBuf>, dir: &Path, limit: Duration) {
    for &pid in runsv_pids {
        // SAFETY: kill by pid of a runsv this test started (a zombie until it is reaped).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    for &pid in runsv_pids {
        poll_until(limit, || !alive(pid));
    }
    for f in pid_files {
        for pid in std::fs::read_to_string(f).unwrap_or_default().lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            kill_if_under(pid, dir);
        }
    }
    // A service started just before runsv was killed may not have written its pid yet
    // (sv reports a new run as soon as runsv's status says so): end whatever still runs
    // in the test's own directory.
    poll_until(limit, || kill_all_under(dir) == 0);
}

/// SIGKILLs every process whose working directory is under `dir` (a test's own scratch
/// directory, so only what the test started); returns how many it signalled.
pub fn kill_all_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|&pid| kill_if_under(pid, dir))
        .count()
}

/// Gives the process the default SIGINT and SIGQUIT dispositions. A test suite started
/// from a background job inherits them ignored, and a shell cannot trap a signal it
/// started with ignored, so services that record signals would miss INT and QUIT.
pub fn default_signals(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
}

pub mod debug_text;
pub mod replay;

/// Writes a file that something will execute (a run script, a stage, a copied binary)
/// with `mode`, creating parent directories, so that the exec can never fail with
/// ETXTBSY ("text file busy").
///
/// The kernel refuses to exec an inode that any process holds open for writing. A file
/// written by this test process is open for writing for a moment, and a child that a
/// parallel test thread forks in that moment inherits the descriptor and keeps it until
/// its own exec; a rename does not help (the child holds the inode, not the name). So
/// the bytes are written by a short-lived `sh -c 'cat > tmp'` child: the write
/// descriptor only ever exists in that process, which nobody forks. The file appears
/// under its final name by rename, complete and with its mode (a supervisor scanning the
/// directory never sees a half-written script).
pub fn write_executable(path: &Path, content: &[u8], mode: u32) {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = path.parent().expect("a file path has a parent");
    std::fs::create_dir_all(dir).expect("mkdir");
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let tmp = dir.join(format!(".e2e-tmp-{}-{n}", std::process::id()));
    let mut child = Command::new("/bin/sh")
        .args(["-c", "umask 077 && exec cat > \"$1\"", "sh"])
        .arg(&tmp)
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn sh to write an executable");
    child.stdin.take().expect("stdin").write_all(content).expect("write to sh");
    let st = child.wait().expect("wait for sh");
    assert!(st.success(), "writing {} failed: {st}", tmp.display());
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).expect("chmod");
    std::fs::rename(&tmp, path).expect("rename into place");
}

/// Copies an executable (keeping its mode) the ETXTBSY-proof way of [`write_executable`].
pub fn copy_executable(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(from).expect("stat source").permissions().mode() & 0o7777;
    write_executable(to, &std::fs::read(from).expect("read source"), mode);
}

/// A prerequisite that some machines lack. Each has a stable key that `.ci/run` reads from
/// the skip log to decide whether the skip is acceptable on a CI machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prerequisite {
    /// Debian's runit 2.1.2, via `apt-get download` (the reference binaries).
    DebianRunit,
    /// Debian's daemontools, via `apt-get download`.
    DebianDaemontools,
    /// `unshare --mount` (private mount namespaces; needs root).
    MountNamespace,
    /// `/usr/bin/python3` (a program that tries to regain root).
    Python3,
    /// util-linux's `setpriv` and `prlimit`.
    SetprivPrlimit,
    /// Debian's `libnss-extrausers` (a non-`files` NSS source), installed by `.ci/run`.
    NssExtrausers,
    /// An x86_64 glibc target (ELF layout checks).
    X86_64Glibc,
    /// Python's `prometheus_client` (pip), installed by `.ci/run`.
    PrometheusClient,
    /// `/usr/bin/perl` (perl-base, essential in Debian).
    Perl,
    /// dpkg's tools and binutils, and a dpkg database with libc6 (any Debian).
    Dpkg,
    /// Debian's systemd (`systemd-notify`, a real sd_notify client), via `apt-get download`.
    DebianSystemd,
    /// Debian's s6 (`s6-notifyoncheck`, a real notification-fd client), via `apt-get download`.
    DebianS6,
}

impl Prerequisite {
    /// The key in `SKIP:` lines (and in `.ci/run`'s list of what CI must have).
    pub fn key(self) -> &'static str {
        match self {
            Prerequisite::DebianRunit => "debian-runit",
            Prerequisite::DebianDaemontools => "debian-daemontools",
            Prerequisite::MountNamespace => "mount-namespace",
            Prerequisite::Python3 => "python3",
            Prerequisite::SetprivPrlimit => "setpriv-prlimit",
            Prerequisite::NssExtrausers => "nss-extrausers",
            Prerequisite::X86_64Glibc => "x86_64-glibc",
            Prerequisite::PrometheusClient => "prometheus-client",
            Prerequisite::Perl => "perl",
            Prerequisite::Dpkg => "dpkg",
            Prerequisite::DebianSystemd => "debian-systemd",
            Prerequisite::DebianS6 => "debian-s6",
        }
    }
}

/// Records that `test` did not run its checks because `need` is missing: a test that
/// skips must say so where it is counted, not pass in silence.
///
/// Prints `SKIP: <test>: <key>: <reason>` straight to the process's stderr (the test
/// harness captures `eprintln!` of passing tests, not the stderr handle itself) and, when
/// `RUNIT_SKIP_LOG` names a file, appends the same line to it (one `write`, O_APPEND, so
/// parallel tests do not interleave). `.ci/run` counts that file and fails when CI lacks a
/// prerequisite it should have.
pub fn skip(test: &str, need: Prerequisite, reason: &str) {
    use std::io::Write;
    let line = format!("SKIP: {test}: {}: {reason}\n", need.key());
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(log) = std::env::var_os("RUNIT_SKIP_LOG") {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("open RUNIT_SKIP_LOG");
        f.write_all(line.as_bytes()).expect("append to RUNIT_SKIP_LOG");
    }
}

/// Debian's runit, or `None` after recording a skip of `test` ([`skip`]).
pub fn oracle_or_skip(test: &str) -> Option<PathBuf> {
    let root = oracle("runit");
    if root.is_none() {
        skip(test, Prerequisite::DebianRunit, "apt-get download runit failed");
    }
    root
}

/// Polls `cond` every 2 ms until it holds or `limit` passes; returns whether it held.
pub fn poll_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Asserts that `cond` becomes true within `limit`, with a message on failure.
#[macro_export]
macro_rules! eventually {
    ($limit:expr, $cond:expr, $($msg:tt)+) => {
        assert!($crate::poll_until($limit, || $cond), $($msg)+)
    };
}

/// Runs a built binary to completion: (exit code, stdout, stderr).
pub fn run(binary: &str, args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin(binary));
    cmd.args(args).current_dir(cwd).stdin(Stdio::null());
    default_signals(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run binary");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Whether a process with `pid` exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

/// The Debian reference binaries (runit, daemontools), unpacked into a cache directory
/// with `apt-get download` + `dpkg -x` (never installed). `None` if unavailable (no
/// network to the package registry); interop tests then skip with a message.
pub fn oracle(package: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("RUNIT_ORACLE_DIR").map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("runit-rs-oracle"));
    let root = cache.join(package);
    let marker = root.join(".unpacked");
    if marker.exists() {
        return Some(root);
    }
    let _lock = OracleLock::take(&cache);
    if marker.exists() {
        return Some(root);
    }
    std::fs::create_dir_all(&root).ok()?;
    let dl = Command::new("apt-get").args(["download", package]).current_dir(&cache).output().ok()?;
    if !dl.status.success() {
        return None;
    }
    let deb =
        std::fs::read_dir(&cache).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })?;
    let x = Command::new("dpkg").arg("-x").arg(&deb).arg(&root).status().ok()?;
    if !x.success() {
        return None;
    }
    std::fs::write(&marker, b"").ok()?;
    Some(root)
}

struct OracleLock(#[allow(dead_code)] std::fs::File);

impl OracleLock {
    fn take(dir: &Path) -> OracleLock {
        use std::os::unix::io::AsRawFd;
        std::fs::create_dir_all(dir).expect("oracle cache");
        let f = std::fs::File::create(dir.join(".lock")).expect("oracle lock");
        // SAFETY: flock on an fd we own.
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        OracleLock(f)
    }
}

/// `text` without runit-rs's identity line (`runit-rs <version> (commit <hash>)`), which
/// our programs print after runit's `-V` output: comparisons with Debian's binaries use
/// this so the rest must still match byte for byte.
pub fn without_identity(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&b| b == b'\n') {
        let is_identity = line.starts_with(b"runit-rs ") && line.windows(8).any(|w| w == b"(commit ");
        if !is_identity {
            out.extend_from_slice(line);
        }
    }
    out
}
