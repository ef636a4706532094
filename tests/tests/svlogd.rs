//! End-to-end tests of the svlogd binary on real directories (spec/svlogd.md).

use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{bin, eventually, poll_until, Scratch};

const T: Duration = Duration::from_secs(10);

/// A running svlogd with its stdin pipe; stderr goes to `<tag>.err` in the scratch dir.
struct Running {
    pid: u32,
    input: Option<File>,
}

impl Running {
    fn send(&mut self, bytes: &[u8]) {
        if let Some(f) = &mut self.input {
            f.write_all(bytes).expect("write to svlogd");
        }
    }
    fn close(&mut self) {
        self.input = None;
    }
    fn signal(&self, sig: i32) {
        // SAFETY: kill by pid of a process this test started.
        unsafe { libc::kill(self.pid as i32, sig) };
    }
}

fn pipe() -> (OwnedFd, File) {
    let mut fds = [0i32; 2];
    // SAFETY: valid out-array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds we own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

fn start_with(s: &mut Scratch, program: &Path, args: &[&str], tag: &str) -> Running {
    let (r, w) = pipe();
    let err = File::create(s.join(&format!("{tag}.err"))).expect("err file");
    let out = File::create(s.join(&format!("{tag}.out"))).expect("out file");
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(&s.path).stdin(Stdio::from(r)).stdout(out).stderr(err);
    let pid = s.spawn(cmd);
    Running { pid, input: Some(w) }
}

fn start(s: &mut Scratch, args: &[&str]) -> Running {
    start_with(s, &bin("svlogd"), args, "svlogd")
}

/// Runs svlogd to completion on `input`: (exit code, stderr).
fn run_input(s: &Scratch, program: &Path, args: &[&str], input: &[u8]) -> (i32, String) {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(&s.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn svlogd");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn svlogd(s: &Scratch, args: &[&str], input: &[u8]) -> (i32, String) {
    run_input(s, &bin("svlogd"), args, input)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0)
}

/// Rotated files (`@…`) of a directory, sorted by name.
fn rotated(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with('@')).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn logdir(s: &Scratch, name: &str, config: &str) -> std::path::PathBuf {
    let d = s.join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    if !config.is_empty() {
        std::fs::write(d.join("config"), config).expect("config");
    }
    d
}

// ---- options and start-up ---------------------------------------------------------

#[test]
fn usage_errors_exit_111() {
    let s = Scratch::new("svlogd-usage");
    let usage = format!("usage: {} [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...\n\n", bin("svlogd").display());
    let b = bin("svlogd");
    let b = b.to_str().unwrap_or("svlogd");
    for args in [&[][..], &["-l", "1024", "d"], &["-b", "10", "-l", "10", "d"], &["-l", "0", "-b", "1000", "d"], &["-r", "ab", "d"], &["-r", "", "d"]] {
        let (code, err) = run_input(&s, Path::new(b), args, b"");
        assert_eq!(code, 111, "{args:?}");
        assert_eq!(err, usage, "{args:?}");
    }
    let (code, err) = run_input(&s, Path::new(b), &["-Q", "d"], b"");
    assert_eq!((code, err), (111, format!("svlogd: illegal option -- Q\n{usage}")));
    let (code, err) = run_input(&s, Path::new(b), &["-V"], b"");
    assert_eq!((code, err), (111, format!("$Id: 5e55a90e0a1b35ec47fed3021453c50675ea1117 $\n{usage}")));
}

#[test]
fn missing_dir_and_file_as_dir() {
    let s = Scratch::new("svlogd-missing");
    let (code, err) = svlogd(&s, &["nope"], b"x\n");
    assert_eq!(code, 111);
    assert_eq!(err, "svlogd: warning: unable to open log directory: nope: file does not exist\nsvlogd: fatal: no functional log directories.\n");
    std::fs::write(s.join("c"), "").expect("file");
    logdir(&s, "b", "");
    let (code, err) = svlogd(&s, &["c", "b"], b"x\n");
    assert_eq!(code, 0);
    assert_eq!(err, "svlogd: warning: unable to change directory: c: not a directory\n");
    assert_eq!(read(&s.join("b/current")), "x\n");
}

#[test]
fn basic_lines_modes_and_partial_last_line() {
    let s = Scratch::new("svlogd-basic");
    let d = logdir(&s, "log", "");
    let (code, err) = svlogd(&s, &["-v", "log"], b"hello\nworld\npartial");
    assert_eq!(code, 0);
    assert_eq!(err, "svlogd: info: new: log/current\nsvlogd: info: close: log\n");
    assert_eq!(read(&d.join("current")), "hello\nworld\n");
    assert_eq!(mode(&d.join("current")), 0o744);
    assert_eq!(mode(&d.join("lock")), 0o600);
    // Closed cleanly (owner-x): the next run appends.
    let (_, err) = svlogd(&s, &["-v", "log"], b"again\n");
    assert_eq!(err, "svlogd: info: append: log/current\nsvlogd: info: close: log\n");
    assert_eq!(read(&d.join("current")), "hello\nworld\nagain\n");
}

#[test]
fn binary_input_with_nuls_and_no_newline_is_kept_byte_exact() {
    let s = Scratch::new("svlogd-binary");
    let d = logdir(&s, "log", "s0\n");
    let mut input: Vec<u8> = (0..=255u8).filter(|&b| b != b'\n').cycle().take(300_000).collect();
    input.push(b'\n');
    input.extend_from_slice(b"\0\0\0\n");
    let (code, _) = svlogd(&s, &["log"], &input);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read(d.join("current")).unwrap_or_default(), input);
}

#[test]
fn timestamps_three_formats() {
    let s = Scratch::new("svlogd-stamps");
    for (flag, pat) in [("-t", "@4000000"), ("-tt", "_"), ("-ttt", "T"), ("-tttt", "T")] {
        let name = format!("d{}", flag.len());
        let d = logdir(&s, &name, "");
        let (code, _) = svlogd(&s, &[flag, &name], b"a\n\nb\n");
        assert_eq!(code, 0);
        let text = read(&d.join("current"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{flag}: {text:?}");
        for (l, want) in lines.iter().zip(["a", "", "b"]) {
            assert_eq!(l.len(), 26 + want.len(), "{flag}: {l:?}");
            assert!(l.ends_with(&format!(" {want}")), "{flag}: {l:?}");
            if flag == "-t" {
                assert!(l.starts_with(pat) && l[1..25].bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{l}");
            } else {
                let b = l.as_bytes();
                assert_eq!(&l[10..11], pat, "{l}");
                assert_eq!((b[4], b[7], b[13], b[16], b[19]), (b'-', b'-', b':', b':', b'.'), "{l}");
                assert!(l.starts_with("20"), "{l}");
            }
        }
    }
}

#[test]
fn replacement_and_line_length() {
    let s = Scratch::new("svlogd-repl");
    let d = logdir(&s, "log", "e*\n");
    let (code, err) = svlogd(&s, &["-r", "#", "-l", "5", "log"], b"ab\tcd\tef\tgh\tij\nabcde\nx\xffy\n");
    assert_eq!(code, 0);
    assert_eq!(read(&d.join("current")), "ab#cd\tef\tgh\tij\nabcde\nx#y\n");
    assert_eq!(err, "ab#cd...\nabcde...\nx#y\n");
    let d2 = logdir(&s, "log2", "");
    svlogd(&s, &["-R", "ab", "log2"], b"abc\tz\n");
    assert_eq!(read(&d2.join("current")), "__c_z\n");
}

#[test]
fn patterns_prefix_and_stderr_copies() {
    let s = Scratch::new("svlogd-patterns");
    let d = logdir(&s, "log", "-*\n+*: *: pid *\ne*pid 3\npP>\n");
    let (code, err) = svlogd(&s, &["log"], b"tcpsvd: info: pid 1977 from 10.4.1.14\nnoise\nx: y: pid 3\n");
    assert_eq!(code, 0);
    assert_eq!(read(&d.join("current")), "P>tcpsvd: info: pid 1977 from 10.4.1.14\nP>x: y: pid 3\n");
    assert_eq!(err, "P>x: y: pid 3\n");
}

// ---- rotation ---------------------------------------------------------------------

#[test]
fn size_rotation_keeps_n_and_deletes_oldest() {
    let s = Scratch::new("svlogd-size");
    let d = logdir(&s, "log", "s100\nn3\n");
    let mut input = String::new();
    for i in 0..40 {
        input.push_str(&format!("line {i:02} xxxxxxxxxxx\n"));
    }
    let (code, err) = svlogd(&s, &["-v", "-l", "20", "log"], input.as_bytes());
    assert_eq!(code, 0);
    let files = rotated(&d);
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| f.len() == 27 && f.ends_with(".s")), "{files:?}");
    for f in &files {
        let len = std::fs::metadata(d.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!((80..=100).contains(&len), "{f}: {len}");
        assert_eq!(mode(&d.join(f)), 0o744);
    }
    assert!(err.contains("svlogd: info: delete: log/@"), "{err}");
    // The kept files and current hold the input's last lines, in order, once each.
    let mut all = String::new();
    for f in &files {
        all.push_str(&read(&d.join(f)));
    }
    all.push_str(&read(&d.join("current")));
    assert!(input.ends_with(&all), "{all}");
}

#[test]
fn long_line_spans_files_at_the_size() {
    let s = Scratch::new("svlogd-span");
    let d = logdir(&s, "log", "s10\nn0\n");
    let (code, _) = svlogd(&s, &["-l", "5", "log"], b"abcdefghijklmnopqrstuvwxyz\n");
    assert_eq!(code, 0);
    let files = rotated(&d);
    let parts: Vec<String> = files.iter().map(|f| read(&d.join(f))).collect();
    // The line end lands within -l of the size, so runit rotates after it too.
    assert_eq!(parts, ["abcdefghij", "klmnopqrst", "uvwxyz\n"]);
    assert_eq!(read(&d.join("current")), "");
}

#[test]
fn sigalrm_rotates_and_sighup_rereads_config() {
    let mut s = Scratch::new("svlogd-signals");
    let d = logdir(&s, "log", "");
    let mut p = start(&mut s, &["-v", "log"]);
    p.send(b"one\n");
    eventually!(T, read(&d.join("current")) == "one\n", "first line written");
    p.signal(libc::SIGALRM);
    eventually!(T, rotated(&d).len() == 1, "ALRM rotated");
    assert_eq!(read(&d.join(&rotated(&d)[0])), "one\n");
    std::fs::write(d.join("config"), "pNEW:\n").expect("config");
    p.signal(libc::SIGHUP);
    eventually!(T, read(&s.join("svlogd.err")).contains("sighangup received."), "HUP seen");
    p.send(b"two\n");
    eventually!(T, read(&d.join("current")) == "NEW:two\n", "prefix from re-read config: {:?}", read(&d.join("current")));
    p.send(b"half");
    eventually!(T, read(&d.join("current")) == "NEW:two\n" && e2e::alive(p.pid as i32), "partial line read");
    p.signal(libc::SIGTERM);
    // TERM waits for the line to end, then reads one byte at a time.
    eventually!(T, read(&s.join("svlogd.err")).contains("sigterm received."), "TERM seen");
    std::thread::sleep(Duration::from_millis(50));
    assert!(e2e::alive(p.pid as i32), "svlogd must finish the line first");
    p.send(b" done\nleft in pipe\n");
    let st = s.wait_exit(p.pid, T).expect("exit after TERM");
    assert_eq!(st.code(), Some(0));
    assert_eq!(read(&d.join("current")), "NEW:two\nNEW:half done\n");
    assert_eq!(mode(&d.join("current")), 0o744);
    let err = read(&s.join("svlogd.err"));
    assert!(err.contains("svlogd: info: sigalarm received.\n") && err.contains("svlogd: info: sigterm received.\n"), "{err}");
    assert!(err.contains("svlogd: info: rename: log/current @"), "{err}");
}

#[test]
fn time_rotation_while_idle() {
    let mut s = Scratch::new("svlogd-time");
    let d = logdir(&s, "log", "t1\n");
    let mut p = start(&mut s, &["log"]);
    p.send(b"tick\n");
    eventually!(T, rotated(&d).len() == 1, "t1 rotated an idle non-empty current");
    assert_eq!(read(&d.join(&rotated(&d)[0])), "tick\n");
    // An empty current is not rotated.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(rotated(&d).len(), 1);
    p.close();
    assert_eq!(s.wait_exit(p.pid, T).and_then(|st| st.code()), Some(0));
}

#[test]
fn unclean_current_becomes_u_at_start() {
    let s = Scratch::new("svlogd-unclean");
    let d = logdir(&s, "log", "");
    std::fs::write(d.join("current"), "crashed\n").expect("current");
    std::fs::set_permissions(d.join("current"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (code, err) = svlogd(&s, &["-v", "log"], b"fresh\n");
    assert_eq!(code, 0);
    assert_eq!(err, "svlogd: info: new: log/current\nsvlogd: info: close: log\n");
    let files = rotated(&d);
    assert_eq!(files.len(), 1);
    assert!(files[0].ends_with(".u"));
    assert_eq!(read(&d.join(&files[0])), "crashed\n");
    assert_eq!(read(&d.join("current")), "fresh\n");
}

#[test]
fn processor_output_replaces_file_and_keeps_state() {
    let s = Scratch::new("svlogd-processor");
    let d = logdir(&s, "log", "s20\n!tr a-z A-Z; echo run >&5; cat <&4 >&5\n");
    let (code, err) = svlogd(&s, &["-v", "-l", "10", "log"], b"first line here\nsecond line\nthird\n");
    assert_eq!(code, 0, "{err}");
    let files = rotated(&d);
    assert!(files.len() >= 2 && files.iter().all(|f| f.ends_with(".s")), "{files:?} {err}");
    assert_eq!(read(&d.join(&files[0])), "FIRST LINE HERE\n");
    assert_eq!(mode(&d.join(&files[0])), 0o744);
    // state holds the last run's fd-5 output, which appended the previous state.
    assert_eq!(read(&d.join("state")), "run\nrun\n");
    assert!(err.contains("svlogd: info: processing: log/@") && err.contains("svlogd: info: processed: log/@"), "{err}");
}

#[test]
fn failing_processor_is_retried_and_u_is_never_deleted() {
    let mut s = Scratch::new("svlogd-procfail");
    let d = logdir(&s, "log", "!test -e ok && cat\n");
    let mut p = start(&mut s, &["log"]);
    p.send(b"keep me\n");
    eventually!(T, read(&d.join("current")) == "keep me\n", "line written");
    p.signal(libc::SIGALRM);
    eventually!(T, read(&s.join("svlogd.err")).contains("svlogd: warning: processor failed, restart: log\n"), "failure reported");
    let u: Vec<String> = rotated(&d).into_iter().filter(|f| f.ends_with(".u")).collect();
    assert_eq!(u.len(), 1);
    assert_eq!(read(&d.join(&u[0])), "keep me\n");
    std::fs::write(d.join("ok"), "").expect("ok");
    eventually!(T, rotated(&d).iter().any(|f| f.ends_with(".s")), "processor succeeded on retry");
    let s_name = rotated(&d).into_iter().find(|f| f.ends_with(".s")).unwrap_or_default();
    assert_eq!(read(&d.join(&s_name)), "keep me\n");
    assert!(!d.join(&u[0]).exists());
    p.close();
    assert_eq!(s.wait_exit(p.pid, T).and_then(|st| st.code()), Some(0));
}

#[test]
fn gzip_processor() {
    let s = Scratch::new("svlogd-gzip");
    let d = logdir(&s, "log", "s26\n!gzip\n");
    let (code, _) = svlogd(&s, &["log"], b"compress this line please\nand this one\n");
    assert_eq!(code, 0);
    let files = rotated(&d);
    let out = Command::new("gzip").arg("-dc").arg(d.join(&files[0])).output().expect("gzip");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "compress this line please\n");
}

// ---- UDP, locks, failures ---------------------------------------------------------

#[test]
fn udp_copies_to_a_local_socket() {
    let s = Scratch::new("svlogd-udp");
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(T)).expect("timeout");
    let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
    let d = logdir(&s, "log", &format!("u127.0.0.1:{port}\npP>\n"));
    let only = logdir(&s, "only", &format!("U127.0.0.1:{port}\n"));
    let (code, _) = svlogd(&s, &["-l", "12", "log", "only"], b"udp line 1\na very long line here\n");
    assert_eq!(code, 0);
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while got.len() < 4 {
        let n = sock.recv(&mut buf).expect("datagram");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(got, ["P>udp line 1\n", "udp line 1\n", "P>a very long ...\n", "a very long ...\n"]);
    assert_eq!(read(&d.join("current")), "P>udp line 1\nP>a very long line here\n");
    assert_eq!(read(&only.join("current")), "");
}

#[test]
fn lock_held_by_another_svlogd() {
    let mut s = Scratch::new("svlogd-lock");
    let a = logdir(&s, "a", "");
    let b = logdir(&s, "b", "");
    let mut first = start(&mut s, &["a"]);
    first.send(b"x\n");
    eventually!(T, read(&a.join("current")) == "x\n", "first svlogd running");
    let (code, err) = svlogd(&s, &["a", "b"], b"to b\n");
    assert_eq!(code, 0);
    assert_eq!(err, "svlogd: warning: unable to lock directory: a: temporary failure\n");
    assert_eq!(read(&b.join("current")), "to b\n");
    let (code, err) = svlogd(&s, &["a"], b"y\n");
    assert_eq!(code, 111);
    assert!(err.ends_with("svlogd: fatal: no functional log directories.\n"), "{err}");
    first.close();
    assert_eq!(s.wait_exit(first.pid, T).and_then(|st| st.code()), Some(0));
}

#[test]
fn current_is_a_directory_pauses_and_sigterm_waits() {
    let mut s = Scratch::new("svlogd-curdir");
    let d = logdir(&s, "d", "");
    std::fs::create_dir(d.join("current")).expect("mkdir current");
    let p = start(&mut s, &["d"]);
    eventually!(T, read(&s.join("svlogd.err")).contains("svlogd: pausing: unable to open current: d: is a directory\n"), "pausing");
    // Fix the fault: svlogd recovers on its next retry (3 s) and logs.
    std::fs::remove_dir(d.join("current")).expect("rmdir");
    let mut p = p;
    p.send(b"after fix\n");
    p.close();
    let st = s.wait_exit(p.pid, Duration::from_secs(15)).expect("exits once fixed");
    assert_eq!(st.code(), Some(0));
    assert_eq!(read(&d.join("current")), "after fix\n");
}

#[test]
fn back_pressure_and_no_loss_on_full_disk() {
    // A 64 KiB tmpfs in a private mount namespace; skipped where unshare is not allowed.
    let s = Scratch::new("svlogd-enospc");
    let script = format!(
        r#"set -e
mkdir -p mnt
mount -t tmpfs -o size=64k tmpfs mnt
mkdir mnt/log
printf 's8000\nn5\nN2\n' > mnt/log/config
head -c 60000 /dev/zero > mnt/filler
( i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done ) > input
( sleep 2; rm mnt/filler ) &
{svlogd} mnt/log < input 2> err
echo rc=$?
cat mnt/log/@* mnt/log/current > all
cmp all input && echo SAME
grep -c 'pausing: unable to write to current: mnt/log: out of disk space' err || true
"#,
        svlogd = bin("svlogd").display()
    );
    let out = Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]).current_dir(&s.path).output();
    let Ok(out) = out else { return };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if err.contains("mount") || err.contains("unshare") {
        eprintln!("skipped: {err}");
        return;
    }
    assert!(text.contains("rc=0"), "{text} {err}");
    assert!(text.contains("SAME"), "lines lost or changed: {text} {err} {}", read(&s.join("err")));
}

// ---- oracle comparison ------------------------------------------------------------

#[test]
fn same_files_as_debian_svlogd() {
    let Some(root) = e2e::oracle("runit") else {
        eprintln!("skipped: oracle unavailable");
        return;
    };
    let oracle = root.join("usr/bin/svlogd");
    let mut input = Vec::new();
    for i in 0..300u32 {
        let pad = "x".repeat((i * 7 % 61) as usize);
        input.extend_from_slice(format!("{pad}\t\u{1}é{i}\n").as_bytes());
    }
    input.extend_from_slice(b"abc\0def\nthis is a very long line that exceeds\tthe limit\n\nshort\npartial");
    let cases: &[(&str, &[&str])] = &[
        ("s100\nn3\n", &["-l", "20"]),
        ("s100\nn300\n", &["-l", "20", "-r", "#", "-R", "x"]),
        ("s1000\nn30\n", &["-l", "7", "-b", "10"]),
        ("s10\nn1000\n", &["-l", "20"]),
        ("pPFX:\n-*\n+*x\ne*3*\n", &["-l", "30"]),
        ("s0\n", &["-l", "5", "-r", "_"]),
        ("s25\nn1000\n", &["-v", "-l", "50"]),
    ];
    for (config, args) in cases {
        let mut outputs = Vec::new();
        for (tag, program) in [("oracle", oracle.clone()), ("ours", bin("svlogd"))] {
            let s = Scratch::new(&format!("svlogd-oracle-{tag}"));
            let d = logdir(&s, "log", config);
            let mut full: Vec<&str> = args.to_vec();
            full.push("log");
            let (code, err) = run_input(&s, &program, &full, &input);
            let mut files = String::new();
            for f in rotated(&d) {
                files.push_str(&format!("== {}\n{}", &f[26..], read(&d.join(&f))));
            }
            files.push_str(&format!("== current\n{}", read(&d.join("current"))));
            let err: String = err.split('@').enumerate().map(|(i, p)| if i == 0 { p.to_string() } else { format!("@X{}", p.get(24..).unwrap_or("")) }).collect();
            outputs.push((code, files, err));
        }
        assert_eq!(outputs[0], outputs[1], "config {config:?} args {args:?}");
    }
}

#[test]
fn poll_until_is_usable() {
    // Guard for the harness helpers used above.
    assert!(poll_until(Duration::from_millis(10), || true));
}

#[test]
fn processor_files_match_debian_svlogd() {
    let Some(root) = e2e::oracle("runit") else {
        eprintln!("skipped: oracle unavailable");
        return;
    };
    let mut input = Vec::new();
    for i in 0..120u32 {
        input.extend_from_slice(format!("{} line {i}\n", "ab".repeat((i % 13) as usize)).as_bytes());
    }
    let mut outputs = Vec::new();
    for (tag, program) in [("oracle", root.join("usr/bin/svlogd")), ("ours", bin("svlogd"))] {
        let s = Scratch::new(&format!("svlogd-oracle-proc-{tag}"));
        let d = logdir(&s, "log", "s100\nn3\n!tr a-z A-Z\n");
        let (code, _) = run_input(&s, &program, &["-l", "20", "log"], &input);
        let mut files = Vec::new();
        for f in rotated(&d) {
            files.push((f[26..].to_string(), read(&d.join(&f)), mode(&d.join(&f))));
        }
        outputs.push((code, files, read(&d.join("current")), read(&d.join("state"))));
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn bad_config_lines_absurd_numbers_and_odd_pattern_bytes() {
    let s = Scratch::new("svlogd-badcfg");
    let d = logdir(&s, "log", "");
    std::fs::write(d.join("config"), b"s99999999999999999999999999m\nn-3\nNx\nt99999999999999999999h\n!\np\nu1.2.3\n\x01\n-\xff*\n+*\x00-x*\n\n#\n").expect("config");
    let (code, err) = svlogd(&s, &["log"], b"\xffdrop\nx marks\nkeep\n");
    assert_eq!(code, 0);
    assert_eq!(err, "svlogd: warning: unable to scan ip address: 1.2.3\n");
    // `+*` (cut at the NUL) selects everything again after `-\xff*` (the last match
    // wins), then the text after the NUL is an instruction of its own: `-x*` drops
    // "x marks". Same as Debian's svlogd.
    assert_eq!(std::fs::read(d.join("current")).unwrap_or_default(), b"\xffdrop\nkeep\n");
}

#[test]
fn sighup_keeps_stderr_copy_without_patterns_quirk() {
    let mut s = Scratch::new("svlogd-hupquirk");
    let d = logdir(&s, "log", "e*\n");
    let mut p = start(&mut s, &["log"]);
    p.send(b"first\n");
    eventually!(T, read(&s.join("svlogd.err")) == "first\n", "copied to stderr");
    std::fs::write(d.join("config"), "").expect("config");
    p.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(100));
    p.send(b"second\n");
    p.close();
    assert_eq!(s.wait_exit(p.pid, T).and_then(|st| st.code()), Some(0));
    assert_eq!(read(&s.join("svlogd.err")), "first\nsecond\n");
    assert_eq!(read(&d.join("current")), "first\nsecond\n");
}

#[test]
fn several_directories_with_their_own_selection() {
    let s = Scratch::new("svlogd-multi");
    let a = logdir(&s, "a", "-*\n+a*\ne*\n");
    let b = logdir(&s, "b", "-a*\npB:\n");
    let (code, err) = svlogd(&s, &["a", "b"], b"apple\nbanana\n");
    assert_eq!(code, 0);
    assert_eq!(read(&a.join("current")), "apple\n");
    assert_eq!(read(&b.join("current")), "B:banana\n");
    assert_eq!(err, "apple\nbanana\n");
}

#[test]
fn directory_removed_mid_run_pauses_without_crashing() {
    let mut s = Scratch::new("svlogd-vanish");
    let d = logdir(&s, "log", "");
    let mut p = start(&mut s, &["log"]);
    p.send(b"before\n");
    eventually!(T, read(&d.join("current")) == "before\n", "written");
    std::fs::remove_dir_all(&d).expect("rm -rf log");
    p.send(b"after\n");
    p.signal(libc::SIGALRM);
    eventually!(T, read(&s.join("svlogd.err")).contains("svlogd: pausing: unable to rename current: log: file does not exist\n"), "pausing on the vanished directory: {}", read(&s.join("svlogd.err")));
    assert!(e2e::alive(p.pid as i32));
}
