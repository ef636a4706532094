//! chpst resolves users and groups through NSS, not only `/etc/passwd` (issue 12): the other
//! programs are linked statically, chpst is not, and this is the proof that it must stay so.
//!
//! A user and groups known only to a non-`files` NSS source (Debian's `libnss-extrausers`,
//! which reads `/var/lib/extrausers/{passwd,group}`) are created inside a private mount
//! namespace, with a `nsswitch.conf` naming that source bind-mounted over `/etc/nsswitch.conf`
//! there only: the host's `/etc` and `/var/lib` are never touched. `chpst -u/-U`,
//! `envuidgid` and `setuidgid` must resolve them, and (where Debian's runit can be fetched)
//! give exactly what Debian's chpst gives.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{bin, oracle, Scratch};

/// The NSS-only user (uid 4242, primary group 4243; group 4244 exists too, for `user:group`;
/// runit sets no supplementary groups beyond the one gid, so membership does not show).
const USER: &str = "rsnssuser";

/// Where Debian's libnss-extrausers installs its module (it is not multiarch).
const MODULES: &[&str] = &["/usr/lib/libnss_extrausers.so.2", "/usr/lib/x86_64-linux-gnu/libnss_extrausers.so.2"];

/// Why this machine cannot run the test, if it cannot.
fn missing_prerequisite() -> Option<&'static str> {
    if !MODULES.iter().any(|m| Path::new(m).exists()) {
        return Some("libnss-extrausers is not installed (apt-get install libnss-extrausers; .ci/run does)");
    }
    if !Path::new("/var/lib/extrausers").is_dir() {
        return Some("/var/lib/extrausers does not exist");
    }
    if !Command::new("unshare").args(["--mount", "true"]).status().is_ok_and(|s| s.success()) {
        return Some("no mount namespaces here");
    }
    None
}

/// A link named `name` to `chpst` inside the scratch dir (a daemontools personality).
fn personality(s: &Scratch, chpst: &Path, tag: &str, name: &str) -> PathBuf {
    let dir = s.join(tag);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let link = dir.join(name);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(chpst, &link).expect("symlink");
    link
}

/// Runs every lookup with the chpst at `chpst` inside the namespace; one labelled line per
/// case (exit code, then output), so a failure shows which case differs.
fn lookups(s: &Scratch, chpst: &Path, tag: &str) -> String {
    let envuidgid = personality(s, chpst, tag, "envuidgid");
    let setuidgid = personality(s, chpst, tag, "setuidgid");
    let script = format!(
        r#"set -u
mount --make-rprivate / || exit 90
mount -t tmpfs none /var/lib/extrausers || exit 91
printf '{USER}:x:4242:4243:runit-rs NSS test:/nonexistent:/bin/false\n' > /var/lib/extrausers/passwd
printf 'rsnssgroup:x:4243:\nrsnssextra:x:4244:{USER}\n' > /var/lib/extrausers/group
printf 'passwd: files extrausers\ngroup: files extrausers\n' > nsswitch.conf
mount --bind nsswitch.conf /etc/nsswitch.conf || exit 92
# a running nscd would answer from the host's configuration
for d in /run/nscd /var/run/nscd; do [ -d $d ] && mount -t tmpfs none $d; done
check() {{ label=$1; shift; out=$("$@" 2>&1); echo "$label: $? $(echo $out)"; }}
check getent getent passwd {USER}
check u-uid {C} -u {USER} id -u
check u-gid {C} -u {USER} id -g
check u-groups {C} -u {USER} id -G
check u-group {C} -u {USER}:rsnssextra id -G
check U-env {C} -U {USER} env
check U-group-env {C} -U {USER}:rsnssextra env
check envuidgid {E} {USER} env
check setuidgid-uid {S} {USER} id -u
check setuidgid-groups {S} {USER} id -G
check unknown {C} -u rsnssnobody true
"#,
        C = chpst.display(),
        E = envuidgid.display(),
        S = setuidgid.display(),
    );
    // Only the variables set by chpst are kept, so the lines do not depend on the caller.
    let out = Command::new("timeout")
        .args(["-s", "KILL", "30", "unshare", "--mount", "sh", "-c", &script])
        .current_dir(&s.path)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .expect("unshare");
    assert!(out.status.success(), "namespace set-up failed ({:?}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of the line starting with `label: `.
fn case<'a>(lines: &'a str, label: &str) -> &'a str {
    let prefix = format!("{label}: ");
    lines.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {label} line in:\n{lines}"))
}

#[test]
fn names_known_only_to_a_non_files_nss_source_resolve() {
    if let Some(why) = missing_prerequisite() {
        return e2e::skip("names_known_only_to_a_non_files_nss_source_resolve", e2e::Prerequisite::NssExtrausers, why);
    }
    let s = Scratch::new("chpst-nss");
    // Outside the namespace the user does not exist: the lookups below can only succeed
    // through the extrausers source.
    let out = Command::new(bin("chpst")).args(["-u", USER, "true"]).output().expect("chpst");
    assert_eq!(
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned()),
        (Some(111), format!("chpst: fatal: unknown user/group: {USER}\n"))
    );

    let ours = lookups(&s, &bin("chpst"), "ours");
    assert!(case(&ours, "getent").starts_with(&format!("0 {USER}:x:4242:4243:")), "{ours}");
    assert_eq!(case(&ours, "u-uid"), "0 4242", "{ours}");
    assert_eq!(case(&ours, "u-gid"), "0 4243", "{ours}");
    assert_eq!(case(&ours, "u-groups"), "0 4243", "{ours}");
    assert_eq!(case(&ours, "u-group"), "0 4244", "{ours}");
    assert!(case(&ours, "U-env").contains("UID=4242") && case(&ours, "U-env").contains("GID=4243"), "{ours}");
    assert!(case(&ours, "U-group-env").contains("GID=4244"), "{ours}");
    assert!(case(&ours, "envuidgid").contains("UID=4242") && case(&ours, "envuidgid").contains("GID=4243"), "{ours}");
    assert_eq!(case(&ours, "setuidgid-uid"), "0 4242", "{ours}");
    assert_eq!(case(&ours, "unknown"), "111 chpst: fatal: unknown user/group: rsnssnobody", "{ours}");

    // Debian's chpst, same namespace set-up: every line identical.
    match oracle("runit") {
        Some(root) => {
            let theirs = lookups(&s, &root.join("usr/bin/chpst"), "theirs");
            assert_eq!(ours, theirs, "ours vs Debian's chpst");
        }
        None => e2e::skip(
            "names_known_only_to_a_non_files_nss_source_resolve (vs Debian)",
            e2e::Prerequisite::DebianRunit,
            "apt-get download runit failed",
        ),
    }
}

/// Whether the ELF file at `path` names a program interpreter (is dynamically linked).
fn has_interpreter(path: &Path) -> bool {
    let elf = std::fs::read(path).expect("read binary");
    assert_eq!(&elf[..4], b"\x7fELF", "{} is not ELF", path.display());
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().expect("8 bytes")) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(elf[o..o + 4].try_into().expect("4 bytes")) == PT_INTERP
    })
}

/// The other programs are linked statically (bins/build.rs); chpst must not be: a static
/// glibc loads NSS modules (and the libc.so.6 they need) into itself, which works only
/// while the installed glibc is exactly the one it was linked with — the test above would
/// pass on the build machine and lookups would break after the next glibc upgrade.
#[test]
fn chpst_is_dynamically_linked() {
    if !cfg!(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64")) {
        return e2e::skip("chpst_is_dynamically_linked", e2e::Prerequisite::X86_64Glibc, "not x86_64 glibc");
    }
    assert!(has_interpreter(&bin("chpst")), "chpst must be dynamically linked (NSS)");
}
