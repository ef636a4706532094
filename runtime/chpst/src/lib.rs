//! The chpst executor: carries out a [`Plan`] with syscalls, step by step, then execs.
//!
//! Mechanism only. Every decision met on the way (which envdir entries count, what a
//! file's value is, who an account is, what soft limit to set, where to look for the
//! program, what a failure prints and returns) is asked of `model::chpst`; this file
//! performs the syscalls and hands their results back as values. Nothing here runs the
//! program unless every earlier step succeeded: a failure ends the process at once.
//!
//! `#![no_std]`, over glibc through the `libc` crate: chpst must resolve names through
//! NSS (so it links glibc dynamically), but it need not carry Rust's std runtime, whose
//! panic, backtrace and thread machinery made `ld.so` bind 146 symbols and apply 311
//! relative relocations per chpst start against Debian's 110 and 6
//! (docs/performance.md, "Clients: where sv's and chpst's time goes").
#![no_std]

extern crate alloc;

use alloc::ffi::CString;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::CStr;

use model::chpst::account::{self, Ids, Lookup, UserDb};
use model::chpst::{env, envdir, limits, path, EnvEdit, Fatal, Limit, Plan, Step, Termination};
use model::errno::Errno;

/// Result of a syscall wrapper: the value or the errno.
pub type SysResult<T> = Result<T, Errno>;

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
        write_stderr(line);
    }
    // SAFETY: _exit ends the process without running anything else; chpst holds no
    // buffered output (diagnostics are written in one write).
    unsafe { libc::_exit(t.code) }
}

/// Writes `bytes` to fd 2 in one call where possible (a diagnostic is one line per
/// `write(2)`, as in runit); errors are ignored (there is nowhere left to report them).
pub fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live slice.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// The calling thread's errno.
fn errno() -> i32 {
    // SAFETY: glibc's errno location is valid for the calling thread.
    unsafe { *libc::__errno_location() }
}

/// The calling thread's errno as a model value.
fn last_errno() -> Errno {
    Errno(errno())
}

/// A libc return: negative means failed, with errno saying why.
fn check(r: libc::c_int) -> SysResult<libc::c_int> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

/// A path (or bytes) as a C string; an interior NUL becomes EINVAL.
fn cstr(bytes: &[u8]) -> SysResult<CString> {
    CString::new(bytes).map_err(|_| Errno::EINVAL)
}

/// `open(2)`, retried on EINTR.
fn open(path: &CStr, flags: libc::c_int, mode: libc::mode_t) -> SysResult<i32> {
    loop {
        // SAFETY: path is a live C string.
        let r = unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return check(r);
    }
}

/// Open for reading, non-blocking (a FIFO without a writer reads as empty), close-on-exec.
fn open_read(path: &CStr) -> SysResult<i32> {
    open(path, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC, 0)
}

fn close(fd: i32) -> SysResult<()> {
    // SAFETY: no memory preconditions.
    check(unsafe { libc::close(fd) }).map(|_| ())
}

fn chdir(path: &CStr) -> SysResult<()> {
    // SAFETY: path is a live C string.
    check(unsafe { libc::chdir(path.as_ptr()) }).map(|_| ())
}

fn fchdir(fd: i32) -> SysResult<()> {
    // SAFETY: no memory preconditions.
    check(unsafe { libc::fchdir(fd) }).map(|_| ())
}

/// `read(2)` into `buf`, retried on EINTR.
fn read(fd: i32, buf: &mut [u8]) -> SysResult<usize> {
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        return if n < 0 { Err(last_errno()) } else { Ok(n as usize) };
    }
}

fn perform(step: &Step, edits: &mut Vec<EnvEdit>) -> Result<(), Termination> {
    let fatal = |f: Fatal| Termination::fatal(&f);
    match step {
        Step::Setsid => {
            // Failure (already a leader) is ignored, as in runit.
            // SAFETY: no memory preconditions.
            let _ = unsafe { libc::setsid() };
            Ok(())
        }
        Step::EnvDir { dir, subdirs } => read_envdir(dir, *subdirs, edits).map_err(fatal),
        Step::Chroot { root } => {
            let c = cstr(root).map_err(|errno| fatal(Fatal::ChangeDir { root: root.clone(), errno }))?;
            chdir(&c).map_err(|errno| fatal(Fatal::ChangeDir { root: root.clone(), errno }))?;
            // SAFETY: a static C string.
            check(unsafe { libc::chroot(c".".as_ptr()) }).map(|_| ()).map_err(|e| fatal(Fatal::Chroot(e)))
        }
        Step::Chdir { dir } => {
            let c = cstr(dir).map_err(|errno| fatal(Fatal::ChangeDir { root: dir.clone(), errno }))?;
            chdir(&c).map_err(|errno| fatal(Fatal::ChangeDir { root: dir.clone(), errno }))
        }
        Step::Nice { inc } => {
            // SAFETY: errno is thread-local; nice has no memory preconditions. nice may
            // legitimately return -1, so errno decides (as in runit).
            unsafe {
                *libc::__errno_location() = 0;
                if libc::nice(*inc) == -1 && errno() != 0 {
                    return Err(fatal(Fatal::Nice(last_errno())));
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
        Step::Close { fd } => close(*fd as i32).map_err(|errno| fatal(Fatal::Close { fd: *fd, errno })),
        Step::Limit { limit, value } => set_limit(*limit, *value).map_err(fatal),
    }
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
    let wdir = open_read(c".").map_err(Fatal::OpenCwd)?;
    let c = cstr(dir).map_err(|errno| Fatal::SwitchDir { dir: dir.to_vec(), errno })?;
    chdir(&c).map_err(|errno| Fatal::SwitchDir { dir: dir.to_vec(), errno })?;
    let entries = Dir::open_cwd().map_err(|errno| Fatal::OpenDir { dir: dir.to_vec(), errno })?;
    loop {
        let name = match entries.next() {
            Ok(Some(name)) => name,
            Ok(None) => break,
            Err(errno) => return Err(Fatal::ReadDir { dir: dir.to_vec(), errno }),
        };
        if !envdir::is_variable(&name) {
            continue;
        }
        let content = read_file(&name);
        match envdir::entry(dir, &name, content.as_deref().map_err(|e| *e), subdirs) {
            envdir::Entry::Edit(e) => edits.push(e),
            envdir::Entry::Skip(warning) => {
                if let Some(w) = warning {
                    write_stderr(&w);
                }
            }
            envdir::Entry::Fatal(f) => return Err(f),
        }
    }
    drop(entries);
    fchdir(wdir).map_err(Fatal::SwitchBack)?;
    let _ = close(wdir);
    Ok(())
}

/// The current directory's entries through `opendir`/`readdir` (as `std::fs::read_dir`
/// reads them: same calls, `.` and `..` left out), closed on drop.
struct Dir(*mut libc::DIR);

impl Dir {
    fn open_cwd() -> SysResult<Dir> {
        // SAFETY: a static C string.
        let d = unsafe { libc::opendir(c".".as_ptr()) };
        if d.is_null() {
            Err(last_errno())
        } else {
            Ok(Dir(d))
        }
    }

    /// The next entry's name, `None` at the end.
    fn next(&self) -> SysResult<Option<Vec<u8>>> {
        loop {
            // SAFETY: self.0 is an open DIR; errno is reset so a NULL return says
            // whether it is the end or an error.
            unsafe {
                *libc::__errno_location() = 0;
                let e = libc::readdir64(self.0);
                if e.is_null() {
                    return match errno() {
                        0 => Ok(None),
                        n => Err(Errno(n)),
                    };
                }
                let name = CStr::from_ptr((*e).d_name.as_ptr()).to_bytes();
                if name != b"." && name != b".." {
                    return Ok(Some(name.to_vec()));
                }
            }
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: self.0 is an open DIR, closed once.
        unsafe { libc::closedir(self.0) };
    }
}

/// Reads a value file the way runit does (open for reading, non-blocking, so a FIFO
/// without a writer reads as empty instead of hanging), until the model says the rest
/// cannot matter ([`envdir::read_enough`]).
fn read_file(name: &[u8]) -> SysResult<Vec<u8>> {
    let c = cstr(name)?;
    let fd = open_read(&c)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let result = loop {
        match read(fd, &mut buf) {
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
    let _ = close(fd);
    result.map(|_| out)
}

fn set_ids(ids: &Ids) -> Result<(), Fatal> {
    // SAFETY: the gids are a live array of their length; setgid/setuid have no memory
    // preconditions.
    unsafe {
        check(libc::setgroups(ids.gids.len(), ids.gids.as_ptr())).map_err(Fatal::Setgroups)?;
        check(libc::setgid(ids.primary_gid())).map_err(Fatal::Setgid)?;
        check(libc::setuid(ids.uid)).map_err(Fatal::Setuid)?;
    }
    Ok(())
}

fn lock(file: &[u8], wait: bool) -> Result<(), Fatal> {
    let open_err = |errno| Fatal::OpenLock { file: file.to_vec(), errno };
    let c = cstr(file).map_err(open_err)?;
    // Not close-on-exec: the program inherits the descriptor and with it the lock.
    let fd = open(&c, libc::O_WRONLY | libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT, 0o600).map_err(open_err)?;
    let op = libc::LOCK_EX | if wait { 0 } else { libc::LOCK_NB };
    loop {
        // SAFETY: no memory preconditions.
        let r = unsafe { libc::flock(fd, op) };
        if r < 0 && errno() == libc::EINTR && wait {
            continue;
        }
        return check(r).map(|_| ()).map_err(|errno| Fatal::Lock { file: file.to_vec(), errno });
    }
}

fn resource(limit: Limit) -> libc::__rlimit_resource_t {
    match limit {
        Limit::Data => libc::RLIMIT_DATA,
        Limit::Stack => libc::RLIMIT_STACK,
        Limit::Memlock => libc::RLIMIT_MEMLOCK,
        Limit::As => libc::RLIMIT_AS,
        Limit::Nofile => libc::RLIMIT_NOFILE,
        Limit::Nproc => libc::RLIMIT_NPROC,
        Limit::Fsize => libc::RLIMIT_FSIZE,
        Limit::Core => libc::RLIMIT_CORE,
        Limit::Rss => libc::RLIMIT_RSS,
        Limit::Cpu => libc::RLIMIT_CPU,
    }
}

fn set_limit(limit: Limit, value: model::chpst::LimitValue) -> Result<(), Fatal> {
    let res = resource(limit);
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: rl is a writable rlimit.
    check(unsafe { libc::getrlimit(res, &mut rl) }).map_err(Fatal::Getrlimit)?;
    let hard = rl.rlim_max;
    let new = libc::rlimit { rlim_cur: limits::soft_limit(value, hard), rlim_max: hard };
    // SAFETY: new is a live rlimit.
    check(unsafe { libc::setrlimit(res, &new) }).map(|_| ()).map_err(Fatal::Setrlimit)
}

/// Tries every candidate path; returns the error to report (a successful exec does not
/// return).
fn exec(plan: &Plan, environ: &[&[u8]], edits: &[EnvEdit]) -> Errno {
    let Ok(argv) = plan.exec.argv.iter().map(|a| cstr(a)).collect::<SysResult<Vec<CString>>>() else {
        return Errno::EINVAL;
    };
    // Without edits the new environment is the inherited one (`env::apply` is then the
    // identity), so libc's array is passed as is instead of being copied at every start.
    let envp: Vec<CString> =
        if edits.is_empty() { Vec::new() } else { env::apply(environ, edits).into_iter().filter_map(|e| CString::new(e).ok()).collect() };
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(core::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_p.push(core::ptr::null());
    // SAFETY: reads libc's environ pointer; this program never modifies the environment.
    let inherited = unsafe { libc::environ } as *const *const libc::c_char;
    let envp_ptr = if edits.is_empty() && !inherited.is_null() { inherited } else { envp_p.as_ptr() };
    path::search(&plan.exec.file, env::get(environ, b"PATH"), |candidate| {
        let Ok(c) = cstr(candidate) else { return Errno::ENOENT };
        // SAFETY: c, argv_p and envp_ptr are NULL-terminated arrays of live C strings.
        unsafe { libc::execve(c.as_ptr(), argv_p.as_ptr(), envp_ptr) };
        last_errno()
    })
}

/// The user database through glibc (NSS), as seen from the current root.
struct LibcDb;

impl UserDb for LibcDb {
    fn user(&mut self, name: &[u8]) -> Lookup<(u32, u32)> {
        let Ok(c) = cstr(name) else { return Lookup::NotFound };
        let mut buf = vec![0u8; 1024];
        loop {
            // SAFETY: zeroed passwd is a valid out-struct; buf is writable for its length.
            let mut pw: libc::passwd = unsafe { core::mem::zeroed() };
            let mut result: *mut libc::passwd = core::ptr::null_mut();
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
        let Ok(c) = cstr(name) else { return Lookup::NotFound };
        let mut buf = vec![0u8; 4096];
        loop {
            // SAFETY: as for user().
            let mut gr: libc::group = unsafe { core::mem::zeroed() };
            let mut result: *mut libc::group = core::ptr::null_mut();
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
