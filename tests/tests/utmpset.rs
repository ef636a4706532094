//! End-to-end tests of utmpset on scratch utmp/wtmp files (`RUNIT_UTMP`, `RUNIT_WTMP`),
//! never the system's; plus a byte comparison with Debian's utmpset run inside a scratch
//! chroot (so it too edits only scratch files).

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{bin, Scratch};

const REC: usize = 384;

/// A glibc x86-64 `struct utmp` image: type, pid, line, id, user, host, time.
fn record(kind: i16, pid: i32, line: &str, id: &str, user: &str, host: &str, sec: i32) -> Vec<u8> {
    let mut r = vec![0u8; REC];
    r[0..2].copy_from_slice(&kind.to_le_bytes());
    r[4..8].copy_from_slice(&pid.to_le_bytes());
    r[8..8 + line.len()].copy_from_slice(line.as_bytes());
    r[40..40 + id.len()].copy_from_slice(id.as_bytes());
    r[44..44 + user.len()].copy_from_slice(user.as_bytes());
    r[76..76 + host.len()].copy_from_slice(host.as_bytes());
    r[340..344].copy_from_slice(&sec.to_le_bytes());
    r[344..348].copy_from_slice(&123i32.to_le_bytes());
    r
}

fn fake_utmp() -> Vec<u8> {
    [
        record(7, 100, "tty1", "1", "alice", "h1", 1000),
        record(7, 200, "tty5", "5", "bob", "h2", 2000),
        record(7, 300, "tty5", "5b", "carol", "h3", 3000),
    ]
    .concat()
}

fn i16_at(b: &[u8], o: usize) -> i16 {
    i16::from_le_bytes([b[o], b[o + 1]])
}
fn i32_at(b: &[u8], o: usize) -> i32 {
    i32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

fn utmpset(s: &Scratch, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("utmpset"))
        .args(args)
        .current_dir(&s.path)
        .env("RUNIT_UTMP", s.join("utmp"))
        .env("RUNIT_WTMP", s.join("wtmp"))
        .output()
        .unwrap();
    // runit's output only: the identity line after -V is checked in getopt_oracle.rs.
    let err = e2e::without_identity(&out.stderr);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

fn now() -> i32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i32
}

#[test]
fn usage_and_version() {
    let s = Scratch::new("utmpset-usage");
    let b = bin("utmpset");
    let b = b.display();
    assert_eq!(utmpset(&s, &[]), (1, String::new(), format!("usage: {b} [-w] line\n\n")));
    assert_eq!(utmpset(&s, &["-x"]), (1, String::new(), format!("utmpset: illegal option -- x\nusage: {b} [-w] line\n\n")));
    assert_eq!(
        utmpset(&s, &["-V"]),
        (1, String::new(), format!("$Id: cb399098f794012a7f5e6a3a7090b2d53b86c08c $\nusage: {b} [-w] line\n\n"))
    );
    assert_eq!(utmpset(&s, &["-w"]).0, 1);
}

#[test]
fn missing_utmp() {
    let s = Scratch::new("utmpset-missing");
    let (code, _, err) = utmpset(&s, &["tty1"]);
    assert_eq!((code, err), (111, format!("utmpset: fatal: unable to open {}: file does not exist\n", s.join("utmp").display())));
}

#[test]
fn logs_out_first_matching_record_then_next() {
    let s = Scratch::new("utmpset-logout");
    std::fs::write(s.join("utmp"), fake_utmp()).unwrap();
    let before = now();
    assert_eq!(utmpset(&s, &["tty5"]), (0, String::new(), String::new()));
    let u = std::fs::read(s.join("utmp")).unwrap();
    assert_eq!(u.len(), 3 * REC);
    assert_eq!(&u[..REC], &fake_utmp()[..REC], "tty1 untouched");
    let bob = &u[REC..2 * REC];
    assert_eq!(i16_at(bob, 0), 8, "DEAD_PROCESS");
    assert_eq!(i32_at(bob, 4), 200, "pid kept");
    assert_eq!(&bob[8..13], b"tty5\0");
    assert_eq!(&bob[40..42], b"5\0", "id kept");
    assert!(bob[44..76].iter().all(|&c| c == 0), "user cleared");
    assert!(bob[76..332].iter().all(|&c| c == 0), "host cleared");
    assert!(i32_at(bob, 340) >= before && i32_at(bob, 340) <= now(), "time set to now");
    assert_eq!(i32_at(bob, 344), 123, "usec kept");
    assert_eq!(&u[2 * REC..], &fake_utmp()[2 * REC..], "carol untouched");
    assert!(!s.join("wtmp").exists(), "no -w, no wtmp");

    assert_eq!(utmpset(&s, &["-w", "tty5"]), (0, String::new(), String::new()));
    let u = std::fs::read(s.join("utmp")).unwrap();
    assert_eq!(i16_at(&u[2 * REC..], 0), 8);
    assert!(u[2 * REC + 44..2 * REC + 76].iter().all(|&c| c == 0));
    let w = std::fs::read(s.join("wtmp")).unwrap();
    assert_eq!(w.len(), REC);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.join("wtmp")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o600, 0, "wtmp created with open-append's 0600 (less the umask)");
    assert_eq!(i16_at(&w, 0), 8);
    assert_eq!(i32_at(&w, 4), 0);
    assert_eq!(&w[8..13], b"tty5\0");
    let mut expect = record(8, 0, "tty5", "", "", "", i32_at(&w, 340));
    expect[344..348].copy_from_slice(&[0; 4]);
    assert_eq!(w, expect, "all zero but line, time, type");

    // Nothing left for tty5: the warning, 111, and wtmp is left alone.
    let (code, _, err) = utmpset(&s, &["-w", "tty5"]);
    assert_eq!((code, err.as_str()), (111, "utmpset: warning: unable to logout line tty5 in utmp: no such entry\n"));
    assert_eq!(std::fs::read(s.join("wtmp")).unwrap().len(), REC);
    let (code, _, err) = utmpset(&s, &["tty9"]);
    assert_eq!((code, err.as_str()), (111, "utmpset: warning: unable to logout line tty9 in utmp: no such entry\n"));
}

#[test]
fn long_line_is_cut_in_wtmp() {
    let s = Scratch::new("utmpset-long");
    let line = "pts/this-line-is-much-longer-than-32-bytes";
    let mut rec = record(7, 9, "", "x", "dave", "", 1);
    rec[8..40].copy_from_slice(&line.as_bytes()[..32]);
    std::fs::write(s.join("utmp"), &rec).unwrap();
    // The 32-byte ut_line has no NUL, so (as in runit) the comparison runs into ut_id.
    let joined = format!("{}x", &line[..32]);
    assert_eq!(utmpset(&s, &["-w", &joined]).0, 0);
    let w = std::fs::read(s.join("wtmp")).unwrap();
    assert_eq!(&w[8..38], &joined.as_bytes()[..30]);
    assert_eq!(&w[38..40], &[0, 0]);
}

/// Hard-links (or, across file systems, copies) `from` to `to`. A copy holds a
/// descriptor open for writing, and a child forked meanwhile by a parallel test keeps it
/// until its exec, so executing the copy could fail with ETXTBSY (`text file busy`).
fn place(from: &Path, to: &Path) {
    // Link the file itself, not a symlink to it (ld.so is usually reached by one).
    let real = std::fs::canonicalize(from).unwrap();
    if std::fs::hard_link(&real, to).is_err() {
        e2e::copy_executable(&real, to);
    }
}

/// Places `binary` and the libraries `ldd` lists into `root`.
fn populate(root: &Path, binary: &Path, dest: &str) {
    let ldd = Command::new("ldd").arg(binary).output().unwrap();
    for tok in String::from_utf8_lossy(&ldd.stdout).split_whitespace() {
        if tok.starts_with('/') {
            let d = root.join(tok.trim_start_matches('/'));
            std::fs::create_dir_all(d.parent().unwrap()).unwrap();
            place(Path::new(tok), &d);
        }
    }
    place(binary, &root.join(dest));
}

/// Zeroes the time of every record (the only field expected to differ between runs).
fn without_times(mut b: Vec<u8>) -> Vec<u8> {
    for r in b.chunks_mut(REC) {
        if r.len() == REC {
            r[340..344].copy_from_slice(&[0; 4]);
        }
    }
    b
}

/// A scratch directory holding `root/`, a chroot with Debian's utmpset at `/utmpset` and
/// empty `/var/run` and `/var/log`; `None` (after a skip message) without the oracle.
fn oracle_chroot(name: &str) -> Option<(Scratch, PathBuf)> {
    let oracle_root = e2e::oracle_or_skip(name)?;
    let s = Scratch::new(name);
    let root = s.join("root");
    std::fs::create_dir_all(root.join("var/run")).unwrap();
    std::fs::create_dir_all(root.join("var/log")).unwrap();
    populate(&root, &oracle_root.join("usr/sbin/utmpset"), "utmpset");
    Some((s, root))
}

#[test]
fn same_files_as_debian_utmpset() {
    let Some((s, root)) = oracle_chroot("utmpset-oracle") else { return };
    std::fs::write(root.join("var/run/utmp"), fake_utmp()).unwrap();
    std::fs::write(s.join("utmp"), fake_utmp()).unwrap();
    let steps: &[&[&str]] = &[&["tty5"], &["-w", "tty5"], &["-w", "tty5"], &["tty1"], &["-w", "tty9"], &["-x"]];
    for args in steps {
        let theirs = Command::new(bin("chpst")).args(["-/"]).arg(&root).arg("/utmpset").args(*args).output().unwrap();
        let (code, _, err) = utmpset(&s, args);
        assert_eq!(
            theirs.status.code(),
            Some(code),
            "exit code for {args:?} (theirs said {:?}, ours {err:?})",
            String::from_utf8_lossy(&theirs.stderr)
        );
        let their_err = String::from_utf8_lossy(&theirs.stderr).replace("/var/run/utmp", &s.join("utmp").display().to_string());
        let ours_err = err.replace(&bin("utmpset").display().to_string(), "/utmpset");
        assert_eq!(ours_err, their_err, "stderr for {args:?}");
        assert_eq!(
            without_times(std::fs::read(s.join("utmp")).unwrap()),
            without_times(std::fs::read(root.join("var/run/utmp")).unwrap()),
            "utmp after {args:?}"
        );
        assert_eq!(
            without_times(std::fs::read(s.join("wtmp")).unwrap_or_default()),
            without_times(std::fs::read(root.join("var/log/wtmp")).unwrap_or_default()),
            "wtmp after {args:?}"
        );
    }
}

#[test]
fn random_utmp_files_match_debian() {
    let Some((s, root)) = oracle_chroot("utmpset-oracle-random") else { return };
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut rnd = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n) as usize
    };
    for round in 0..40 {
        let mut image = Vec::new();
        for k in 0..rnd(5) {
            let line = ["tty1", "tty2", "pts/0", ""][rnd(4)];
            let user = ["", "u", "someone"][rnd(3)];
            image.extend(record([7, 8, 6][rnd(3)], k as i32 + 1, line, "i", user, "h", 1000));
        }
        // Sometimes a trailing partial record.
        if rnd(4) == 0 {
            image.extend(vec![1u8; 100]);
        }
        std::fs::write(root.join("var/run/utmp"), &image).unwrap();
        std::fs::write(s.join("utmp"), &image).unwrap();
        let _ = std::fs::remove_file(root.join("var/log/wtmp"));
        let _ = std::fs::remove_file(s.join("wtmp"));
        let line = ["tty1", "tty2", "pts/0", "tty9"][rnd(4)];
        let args: Vec<&str> = if rnd(2) == 0 { vec!["-w", line] } else { vec![line] };
        let theirs = Command::new(bin("chpst")).arg("-/").arg(&root).arg("/utmpset").args(&args).output().unwrap();
        let (code, _, err) = utmpset(&s, &args);
        assert_eq!(
            (theirs.status.code(), String::from_utf8_lossy(&theirs.stderr).into_owned()),
            (Some(code), err),
            "round {round} {args:?}"
        );
        assert_eq!(
            without_times(std::fs::read(s.join("utmp")).unwrap()),
            without_times(std::fs::read(root.join("var/run/utmp")).unwrap()),
            "round {round} utmp"
        );
        assert_eq!(
            without_times(std::fs::read(s.join("wtmp")).unwrap_or_default()),
            without_times(std::fs::read(root.join("var/log/wtmp")).unwrap_or_default()),
            "round {round} wtmp"
        );
    }
}
