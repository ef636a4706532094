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
    pids: Vec<i32>,
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

    /// Writes a file (creating parent directories) with the given mode.
    pub fn write(&self, rel: &str, content: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.join(rel);
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
        self.pids.push(pid);
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
        for pid in &self.pids {
            // SAFETY: kill by pid of a process this test started.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::env::var_os("RUNIT_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
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
