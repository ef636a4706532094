//! The chpst executor: carries out a [`Plan`] with syscalls, step by step, then execs.
//!
//! Mechanism only. Every decision met on the way (which envdir entries count, what a
//! file's value is, who an account is, what soft limit to set, where to look for the
//! program, what a failure prints and returns) is asked of `model::chpst`; this file
//! performs the syscalls and hands their results back as values. Nothing here runs the
//! program unless every earlier step succeeded: a failure ends the process at once.

use std::ffi::{CStr, CString};
use std::os::fd::IntoRawFd;

use model::chpst::account::{self, Ids, Lookup, UserDb};
use model::chpst::{env, envdir, limits, path, EnvEdit, Fatal, Limit, Plan, Step, Termination};
use model::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};

use crate::sys::{self, SysResult};

/// Carries out `plan` and execs its program; returns only through `exit`.
pub fn run(plan: &Plan) -> ! {
    let environ = environ();
    let mut edits: Vec<EnvEdit> = Vec::new();
    for step in &plan.steps {
        if let Err(t) = perform(step, &mut edits) {
            finish(&t);
        }
    }
    let err = exec(plan, &environ, &edits);
    finish(&Termination::for_failure(&Fatal::Run { prog: plan.exec.failure_name().to_vec(), errno: err }, plan.exec.on_failure))
}

/// Prints what the termination says and exits with its code.
pub fn finish(t: &Termination) -> ! {
    if let Some(line) = &t.stderr {
        crate::diag::write_stderr(line);
    }
    // SAFETY: _exit ends the process without running anything else; chpst holds no
    // buffered output (diagnostics are written in one write).
    unsafe { libc::_exit(t.code) }
}

fn perform(step: &Step, edits: &mut Vec<EnvEdit>) -> Result<(), Termination> {
    let fatal = |f: Fatal| Termination::fatal(&f);
    match step {
        Step::Setsid => {
            // Failure (already a leader) is ignored, as in runit.
            let _ = nix::unistd::setsid();
            Ok(())
        }
        Step::EnvDir { dir, subdirs } => read_envdir(dir, *subdirs, edits).map_err(fatal),
        Step::Chroot { root } => {
            let c = sys::cstr(root).map_err(|errno| fatal(Fatal::ChangeDir { root: root.clone(), errno }))?;
            sys::chdir(&c).map_err(|errno| fatal(Fatal::ChangeDir { root: root.clone(), errno }))?;
            nx(nix::unistd::chroot(c".")).map_err(|e| fatal(Fatal::Chroot(e)))
        }
        Step::Chdir { dir } => {
            let c = sys::cstr(dir).map_err(|errno| fatal(Fatal::ChangeDir { root: dir.clone(), errno }))?;
            sys::chdir(&c).map_err(|errno| fatal(Fatal::ChangeDir { root: dir.clone(), errno }))
        }
        Step::Nice { inc } => {
            // SAFETY: errno is thread-local; nice has no memory preconditions. nice may
            // legitimately return -1, so errno decides (as in runit).
            unsafe {
                *libc::__errno_location() = 0;
                if libc::nice(*inc) == -1 && sys::errno() != 0 {
                    return Err(fatal(Fatal::Nice(sys::last_errno())));
                }
            }
            Ok(())
        }
        Step::EnvAccount(spec) => {
            let ids = account::resolve(spec, &mut LibcDb).map_err(fatal)?;
            edits.extend(account::env_edits(&ids));
            Ok(())
        }
        Step::SetAccount(spec) => {
            let ids = account::resolve(spec, &mut LibcDb).map_err(fatal)?;
            set_ids(&ids).map_err(fatal)
        }
        Step::Lock { file, wait, on_failure } => lock(file, *wait).map_err(|f| Termination::for_failure(&f, *on_failure)),
        Step::Close { fd } => nx(nix::unistd::close(*fd as i32)).map_err(|errno| fatal(Fatal::Close { fd: *fd, errno })),
        Step::Limit { limit, value } => set_limit(*limit, *value).map_err(fatal),
    }
}

/// A nix result as the model's errno.
fn nx<T>(r: nix::Result<T>) -> SysResult<T> {
    r.map_err(|e| Errno(e as i32))
}

/// The environment as raw entries, exactly as inherited (order and odd entries kept),
/// borrowed from libc: nothing is copied unless an edit needs a new environment.
fn environ() -> Vec<&'static [u8]> {
    let mut out = Vec::new();
    // SAFETY: environ is a NULL-terminated array of C strings owned by libc; this
    // program never modifies it.
    unsafe {
        let mut p = libc::environ as *const *const libc::c_char;
        if p.is_null() {
            return out;
        }
        while !(*p).is_null() {
            out.push(CStr::from_ptr(*p).to_bytes());
            p = p.add(1);
        }
    }
    out
}

fn read_envdir(dir: &[u8], subdirs: model::chpst::SubdirPolicy, edits: &mut Vec<EnvEdit>) -> Result<(), Fatal> {
    let wdir = crate::fs::open_read(c".").map_err(Fatal::OpenCwd)?;
    let c = sys::cstr(dir).map_err(|errno| Fatal::SwitchDir { dir: dir.to_vec(), errno })?;
    sys::chdir(&c).map_err(|errno| Fatal::SwitchDir { dir: dir.to_vec(), errno })?;
    let entries = std::fs::read_dir(".").map_err(|e| Fatal::OpenDir { dir: dir.to_vec(), errno: io_errno(&e) })?;
    for entry in entries {
        let entry = entry.map_err(|e| Fatal::ReadDir { dir: dir.to_vec(), errno: io_errno(&e) })?;
        let name = std::os::unix::ffi::OsStrExt::as_bytes(entry.file_name().as_os_str()).to_vec();
        if !envdir::is_variable(&name) {
            continue;
        }
        let content = read_file(&name);
        match envdir::entry(dir, &name, content.as_deref().map_err(|e| *e), subdirs) {
            envdir::Entry::Edit(e) => edits.push(e),
            envdir::Entry::Skip(warning) => {
                if let Some(w) = warning {
                    crate::diag::write_stderr(&w);
                }
            }
            envdir::Entry::Fatal(f) => return Err(f),
        }
    }
    sys::fchdir(wdir).map_err(Fatal::SwitchBack)?;
    let _ = sys::close(wdir);
    Ok(())
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Reads a value file the way runit does (open for reading, non-blocking, so a FIFO
/// without a writer reads as empty instead of hanging), until the model says the rest
/// cannot matter ([`envdir::read_enough`]).
fn read_file(name: &[u8]) -> SysResult<Vec<u8>> {
    let c = sys::cstr(name)?;
    let fd = crate::fs::open_read(&c)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let result = loop {
        match sys::read(fd, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                let chunk = &buf[..n];
                out.extend_from_slice(chunk);
                if envdir::read_enough(out.len(), chunk) {
                    break Ok(());
                }
            }
            Err(Errno::EAGAIN) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let _ = sys::close(fd);
    result.map(|_| out)
}

fn set_ids(ids: &Ids) -> Result<(), Fatal> {
    let gids: Vec<Gid> = ids.gids.iter().map(|&g| Gid::from_raw(g)).collect();
    nx(nix::unistd::setgroups(&gids)).map_err(Fatal::Setgroups)?;
    nx(nix::unistd::setgid(Gid::from_raw(ids.primary_gid()))).map_err(Fatal::Setgid)?;
    nx(nix::unistd::setuid(Uid::from_raw(ids.uid))).map_err(Fatal::Setuid)
}

fn lock(file: &[u8], wait: bool) -> Result<(), Fatal> {
    let open_err = |errno| Fatal::OpenLock { file: file.to_vec(), errno };
    let c = sys::cstr(file).map_err(open_err)?;
    // Not close-on-exec: the program inherits the descriptor and with it the lock.
    let flags = OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_APPEND | OFlag::O_CREAT;
    let fd = loop {
        match nix::fcntl::open(c.as_c_str(), flags, Mode::from_bits_truncate(0o600)) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => break nx(r).map_err(open_err)?.into_raw_fd(),
        }
    };
    crate::fs::lock_exclusive(fd, wait).map_err(|errno| Fatal::Lock { file: file.to_vec(), errno })
}

fn resource(limit: Limit) -> Resource {
    match limit {
        Limit::Data => Resource::RLIMIT_DATA,
        Limit::Stack => Resource::RLIMIT_STACK,
        Limit::Memlock => Resource::RLIMIT_MEMLOCK,
        Limit::As => Resource::RLIMIT_AS,
        Limit::Nofile => Resource::RLIMIT_NOFILE,
        Limit::Nproc => Resource::RLIMIT_NPROC,
        Limit::Fsize => Resource::RLIMIT_FSIZE,
        Limit::Core => Resource::RLIMIT_CORE,
        Limit::Rss => Resource::RLIMIT_RSS,
        Limit::Cpu => Resource::RLIMIT_CPU,
    }
}

fn set_limit(limit: Limit, value: model::chpst::LimitValue) -> Result<(), Fatal> {
    let res = resource(limit);
    let (_, hard) = nx(getrlimit(res)).map_err(Fatal::Getrlimit)?;
    nx(setrlimit(res, limits::soft_limit(value, hard), hard)).map_err(Fatal::Setrlimit)
}

/// Tries every candidate path; returns the error to report (a successful exec does not
/// return).
fn exec(plan: &Plan, environ: &[&[u8]], edits: &[EnvEdit]) -> Errno {
    let Ok(argv) = plan.exec.argv.iter().map(|a| sys::cstr(a)).collect::<SysResult<Vec<CString>>>() else {
        return Errno::EINVAL;
    };
    // Without edits the new environment is the inherited one (`env::apply` is then the
    // identity), so libc's array is passed as is instead of being copied at every start.
    let envp: Vec<CString> =
        if edits.is_empty() { Vec::new() } else { env::apply(environ, edits).into_iter().filter_map(|e| CString::new(e).ok()).collect() };
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: reads libc's environ pointer; this program never modifies the environment.
    let inherited = unsafe { libc::environ } as *const *const libc::c_char;
    let envp_ptr = if edits.is_empty() && !inherited.is_null() { inherited } else { envp_p.as_ptr() };
    path::search(&plan.exec.file, env::get(environ, b"PATH"), |candidate| {
        let Ok(c) = sys::cstr(candidate) else { return Errno::ENOENT };
        // SAFETY: c, argv_p and envp_ptr are NULL-terminated arrays of live C strings.
        unsafe { libc::execve(c.as_ptr(), argv_p.as_ptr(), envp_ptr) };
        sys::last_errno()
    })
}

/// The user database through glibc (NSS), as seen from the current root.
struct LibcDb;

impl UserDb for LibcDb {
    fn user(&mut self, name: &[u8]) -> Lookup<(u32, u32)> {
        let Ok(c) = sys::cstr(name) else { return Lookup::NotFound };
        let mut buf = vec![0u8; 1024];
        loop {
            // SAFETY: zeroed passwd is a valid out-struct; buf is writable for its length.
            let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
            let mut result: *mut libc::passwd = std::ptr::null_mut();
            let rc = unsafe { libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
            match lookup_rc(rc, result.is_null(), &mut buf) {
                Some(Lookup::Found(())) => return Lookup::Found((pw.pw_uid, pw.pw_gid)),
                Some(Lookup::NotFound) => return Lookup::NotFound,
                Some(Lookup::Error(e)) => return Lookup::Error(e),
                None => continue,
            }
        }
    }

    fn group(&mut self, name: &[u8]) -> Lookup<u32> {
        let Ok(c) = sys::cstr(name) else { return Lookup::NotFound };
        let mut buf = vec![0u8; 4096];
        loop {
            // SAFETY: as for user().
            let mut gr: libc::group = unsafe { std::mem::zeroed() };
            let mut result: *mut libc::group = std::ptr::null_mut();
            let rc = unsafe { libc::getgrnam_r(c.as_ptr(), &mut gr, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
            match lookup_rc(rc, result.is_null(), &mut buf) {
                Some(Lookup::Found(())) => return Lookup::Found(gr.gr_gid),
                Some(Lookup::NotFound) => return Lookup::NotFound,
                Some(Lookup::Error(e)) => return Lookup::Error(e),
                None => continue,
            }
        }
    }
}

/// A `get*nam_r` return: found, not found, an error (classified by the model), or
/// `None` = buffer too small (grown; try again).
fn lookup_rc(rc: i32, null: bool, buf: &mut Vec<u8>) -> Option<Lookup<()>> {
    match rc {
        0 if null => Some(Lookup::NotFound),
        0 => Some(Lookup::Found(())),
        libc::ERANGE if buf.len() < (1 << 24) => {
            let n = buf.len() * 2;
            buf.resize(n, 0);
            None
        }
        e => Some(account::lookup_failure(Errno(e))),
    }
}
