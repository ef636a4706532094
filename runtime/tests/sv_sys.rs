//! sv's two system-call layers agree: `runtime::exec::sv::HostSys` (libc, the std sv of
//! targets without the freestanding one) and `bare::raw::RawSys` (raw `syscall`, the sv
//! users get on x86_64 Linux, which the e2e suites judge) give the same results for the
//! same calls, and the one executor (`bare::sv`) prints the same over both.
//!
//! Its own process, one test: it changes the working directory and fd 1.
#![cfg(all(not(loom), target_os = "linux", target_arch = "x86_64"))]

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use bare::raw::RawSys;
use bare::sv::{SvIo, SvSys};
use model::errno::Errno;
use model::sv::{parse, Env, Output, Parse, Rule, Session};
use runtime::exec::sv::HostSys;

fn c(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

/// A service directory as runsv leaves it: `supervise/status` saying "up, pid 4242",
/// the `ok` and `control` FIFOs; plus a plain file and a sub-directory beside it.
fn scratch() -> PathBuf {
    let root = std::env::temp_dir().join(format!("runit-rs-sv-sys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("svc/supervise")).unwrap();
    std::fs::create_dir_all(root.join("svc/sub")).unwrap();
    std::fs::write(root.join("svc/file"), b"some bytes\n").unwrap();
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 5;
    let mut status = Vec::new();
    status.extend_from_slice(&((1u64 << 62) + 10 + secs).to_be_bytes());
    status.extend_from_slice(&0u32.to_be_bytes());
    status.extend_from_slice(&4242u32.to_le_bytes());
    status.extend_from_slice(&[0, b'u', 0, 1]);
    std::fs::write(root.join("svc/supervise/status"), status).unwrap();
    for fifo in ["ok", "control"] {
        // SAFETY: a NUL-terminated path.
        let r = unsafe { libc::mkfifo(c(&root.join("svc/supervise").join(fifo)).as_ptr(), 0o600) };
        assert_eq!(r, 0, "mkfifo {fifo}");
    }
    root
}

/// The names a directory lists through `getdents64`, sorted.
fn list<S: SvSys>(sys: &mut S, dir: &Path) -> Result<Vec<Vec<u8>>, Errno> {
    let fd = sys.open_dir(&c(dir))?;
    let mut names = Vec::new();
    let mut buf = [0u8; 512]; // small: several calls for one directory
    for _ in 0..1000 {
        let n = sys.getdents64(fd, &mut buf)?;
        if n == 0 {
            break;
        }
        let mut at = 0;
        while at + 19 < n {
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let raw = &buf[at + 19..at + reclen];
            names.push(raw[..raw.iter().position(|&b| b == 0).unwrap()].to_vec());
            at += reclen;
        }
    }
    sys.close(fd)?;
    names.sort();
    Ok(names)
}

/// What one layer answers to the same questions about the scratch directory.
#[derive(Debug, PartialEq)]
struct Answers {
    missing: Result<i32, Errno>,
    file_bytes: Vec<u8>,
    fifo_without_reader: Result<i32, Errno>,
    dir_of_a_file: Result<i32, Errno>,
    listing: Result<Vec<Vec<u8>>, Errno>,
    is_dir: [Result<bool, Errno>; 3],
    chdir_then_relative_read: Vec<u8>,
    inotify_event_name: Vec<u8>,
    idle_poll: bool,
}

fn ask<S: SvSys>(sys: &mut S, root: &Path) -> Answers {
    let svc = root.join("svc");
    let missing = sys.open_read(&c(&svc.join("missing")));
    let fd = sys.open_read(&c(&svc.join("file"))).unwrap();
    let mut buf = [0u8; 64];
    let n = sys.read(fd, &mut buf).unwrap();
    sys.close(fd).unwrap();
    let home = sys.open_read(c".").unwrap();
    sys.chdir(&c(&svc)).unwrap();
    let fd = sys.open_read(c"file").unwrap();
    let mut rel = [0u8; 64];
    let m = sys.read(fd, &mut rel).unwrap();
    sys.close(fd).unwrap();
    sys.fchdir(home).unwrap();
    sys.close(home).unwrap();
    let ino = sys.inotify_init().unwrap();
    sys.inotify_add_watch(ino, &c(&svc.join("sub")), 0x100 /* IN_CREATE */).unwrap();
    std::fs::write(svc.join("sub/new"), b"").unwrap();
    assert!(sys.poll_readable(ino, None), "the creation is an event");
    let mut ev = [0u8; 256];
    let k = sys.read(ino, &mut ev).unwrap();
    assert!(k >= 16);
    let name = &ev[16..k];
    let name = name[..name.iter().position(|&b| b == 0).unwrap()].to_vec();
    sys.close(ino).unwrap();
    std::fs::remove_file(svc.join("sub/new")).unwrap();
    Answers {
        missing,
        file_bytes: buf[..n].to_vec(),
        fifo_without_reader: sys.open_write(&c(&svc.join("supervise/ok"))),
        dir_of_a_file: sys.open_dir(&c(&svc.join("file"))),
        listing: list(sys, &svc),
        is_dir: [sys.is_dir(&c(&svc.join("file"))), sys.is_dir(&c(&svc.join("sub"))), sys.is_dir(&c(&svc.join("missing")))],
        chdir_then_relative_read: rel[..m].to_vec(),
        inotify_event_name: name,
        idle_poll: sys.poll_readable(-1, Some((0, 1_000_000))),
    }
}

/// What the executor over `sys` prints on fd 1 for `argv`, with every digit masked (the
/// seconds since the status stamp may tick between two runs) and the exit code.
fn run_sv<S: SvSys>(sys: S, argv: &[&[u8]]) -> (Vec<u8>, i32) {
    let inv = match parse(argv, Env { svdir: Some(b"/nonexistent"), svwait: None }) {
        Parse::Run(inv) => inv,
        Parse::Refuse { stderr, code } => panic!("refused ({code}): {}", String::from_utf8_lossy(&stderr)),
    };
    let mut pipe = [0; 2];
    // SAFETY: plain descriptor calls; fd 1 is restored before returning.
    let saved = unsafe {
        assert_eq!(libc::pipe(pipe.as_mut_ptr()), 0);
        let saved = libc::dup(1);
        libc::dup2(pipe[1], 1);
        libc::close(pipe[1]);
        saved
    };
    let mut io = SvIo::new(sys);
    let code = if inv.output == Output::Human {
        let mut session = Session::new(inv, Rule::RaceFree);
        bare::sv::run(&mut session, &mut io)
    } else {
        bare::sv::run_report(&inv, &mut io)
    };
    drop(io);
    let mut out = vec![0u8; 65536];
    // SAFETY: fd 1 is put back, which closes the pipe's last write end; then a read.
    let n = unsafe {
        libc::dup2(saved, 1);
        libc::close(saved);
        let n = libc::read(pipe[0], out.as_mut_ptr().cast(), out.len());
        libc::close(pipe[0]);
        n
    };
    out.truncate(n.max(0) as usize);
    for b in &mut out {
        if b.is_ascii_digit() {
            *b = b'9';
        }
    }
    (out, code)
}

#[test]
fn host_and_raw_system_calls_agree_and_the_executor_prints_the_same_over_both() {
    let root = scratch();
    let raw = ask(&mut RawSys, &root);
    let host = ask(&mut HostSys, &root);
    assert_eq!(raw, host);
    // The answers are the expected ones, not just equal.
    assert_eq!(raw.missing, Err(Errno::ENOENT));
    assert_eq!(raw.file_bytes, b"some bytes\n");
    assert_eq!(raw.fifo_without_reader, Err(Errno(libc::ENXIO)));
    assert_eq!(raw.dir_of_a_file, Err(Errno(libc::ENOTDIR)));
    assert_eq!(raw.listing, Ok(vec![b".".to_vec(), b"..".to_vec(), b"file".to_vec(), b"sub".to_vec(), b"supervise".to_vec()]));
    assert_eq!(raw.is_dir, [Ok(false), Ok(true), Err(Errno::ENOENT)]);
    assert_eq!(raw.inotify_event_name, b"new");
    assert!(!raw.idle_poll);
    let (a, b) = (RawSys.now(), HostSys.now());
    assert!(b.mono >= a.mono && b.wall.unix_secs >= a.wall.unix_secs, "the same clocks");

    // The executor: a reader holds `supervise/ok` open, as runsv does.
    let ok = std::fs::OpenOptions::new().read(true).write(true).open(root.join("svc/supervise/ok")).unwrap();
    let svc = root.join("svc");
    let svc = svc.as_os_str().as_bytes();
    for argv in [&[&b"sv"[..], b"status", svc][..], &[b"sv", b"-m", b"status", svc], &[b"sv", b"-j", b"status", svc]] {
        let (raw_out, raw_code) = run_sv(RawSys, argv);
        let (host_out, host_code) = run_sv(HostSys, argv);
        assert_eq!((String::from_utf8_lossy(&raw_out), raw_code), (String::from_utf8_lossy(&host_out), host_code), "{argv:?}");
        assert!(!raw_out.is_empty() && raw_code == 0, "{argv:?}: {}", String::from_utf8_lossy(&raw_out));
    }
    let (human, _) = run_sv(HostSys, &[b"sv", b"status", svc]);
    assert!(human.starts_with(b"run: ") && human.ends_with(b": (pid 9999) 9s\n"), "{}", String::from_utf8_lossy(&human));
    drop(ok);
    std::fs::remove_dir_all(&root).unwrap();
}
