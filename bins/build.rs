//! Build script of the binaries. Each concern is one function called from `main`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    record_commit();
    link_static_where_no_nss();
    link_freestanding();
}

/// Runs git in the source tree; its trimmed output, if it succeeded and said anything.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Whether git's work tree is this workspace (not an unrelated repository that happens to
/// contain an unpacked tarball).
fn in_own_repo() -> bool {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().and_then(|p| p.canonicalize().ok());
    let top = git(&["rev-parse", "--show-toplevel"]).and_then(|t| Path::new(&t).canonicalize().ok());
    workspace.is_some() && workspace == top
}

/// Records which commit the binaries were built from, for the identity line `-V` prints
/// after runit's own output (docs/divergences.md, "Additions"): `RUNIT_RS_COMMIT` if set (a
/// tarball build that knows it), else `git rev-parse` in the source tree, else `unknown`
/// (a tarball without git), never a made-up hash.
fn record_commit() {
    println!("cargo:rerun-if-env-changed=RUNIT_RS_COMMIT");
    let commit = match std::env::var("RUNIT_RS_COMMIT") {
        Ok(c) if !c.is_empty() => c,
        _ if !in_own_repo() => "unknown".into(),
        _ => {
            // Rebuild the line when HEAD moves (a commit, a checkout).
            if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
                let dir = Path::new(&dir);
                println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
                if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                    let common = git(&["rev-parse", "--git-common-dir"]).map(|c| Path::new(env!("CARGO_MANIFEST_DIR")).join(c));
                    let base = common.unwrap_or_else(|| dir.to_path_buf());
                    println!("cargo:rerun-if-changed={}", base.join(&r).display());
                    println!("cargo:rerun-if-changed={}", base.join("packed-refs").display());
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
        }
    };
    println!("cargo:rustc-env=RUNIT_RS_COMMIT={commit}");
}

/// The programs that never look up a user or group name, so never need NSS: these are
/// linked statically (glibc static-pie). chpst (and its personalities envuidgid, setuidgid)
/// resolves names through NSS — LDAP, sssd, systemd users — whose modules a static glibc
/// cannot load safely, so chpst stays dynamically linked.
/// (sv is among them only where it is not freestanding: see `FREESTANDING_BINS`.)
const STATIC_BINS: &[&str] = &["runsv", "runsvdir", "runsvchdir", "sv", "svlogd", "runit", "runit-init", "utmpset"];

/// The programs built without any C library on x86_64 Linux (`#![no_std]`, start-up and
/// system calls from the `bare` crate): sv, whose every call otherwise pays glibc's
/// start-up (its CPU probe: 68 `cpuid` instructions, each a trap under a hypervisor), and
/// runsv, of which a big host starts a thousand (issue 12).
const FREESTANDING_BINS: &[&str] = &["sv", "runsv"];

/// Whether this build makes the `FREESTANDING_BINS` freestanding (the `bare` crate's
/// condition: x86_64 Linux), unless built with `--cfg runit_hosted`, which selects their
/// std mains there too: it exists so CI compiles and runs the mains other targets use
/// (.ci/run).
fn freestanding() -> bool {
    env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux")
        && env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "x86_64")
        && env::var_os("CARGO_CFG_RUNIT_HOSTED").is_none()
}

/// Links the `FREESTANDING_BINS` as static PIEs with no start files and no libraries:
/// the `bare` crate brings `_start`, its own relocation, the heap and the memory
/// functions (ASLR kept: the binary relocates itself, as glibc's static-pie start does).
fn link_freestanding() {
    if !freestanding() {
        return;
    }
    for bin in FREESTANDING_BINS {
        for arg in ["-nostartfiles", "-nostdlib", "-static-pie"] {
            println!("cargo:rustc-link-arg-bin={bin}={arg}");
        }
    }
}

/// glibc's static archives that replace the shared libraries rustc asks for: libc with the
/// unwinder and compiler runtime (what rustc links for `+crt-static`), and the stubs std
/// names (`-lutil -lrt -lpthread -lm -ldl`, empty archives since glibc 2.34).
const ARCHIVES: &[(&str, &[&str])] = &[
    ("c", &["libc.a", "libgcc_eh.a", "libgcc.a"]),
    ("gcc_s", &["libgcc_eh.a", "libgcc.a"]),
    ("m", &["libm.a"]),
    ("util", &["libutil.a"]),
    ("rt", &["librt.a"]),
    ("pthread", &["libpthread.a"]),
    ("dl", &["libdl.a"]),
];

/// Links `STATIC_BINS` as static PIEs, on stable Rust and with the plain
/// `cargo build --release`.
///
/// Why: most of what a runsv costs over C runit's (anonymous memory, start-up time,
/// page faults) is the dynamic loader mapping libc and relocating both objects; a
/// thousand runsv processes pay it a thousand times, and `sv status` pays it per call.
///
/// How: `-C target-feature=+crt-static` applies to a whole build (tests and chpst
/// included), so instead each of these binaries gets `-static-pie` and a search directory,
/// searched before the system's, in which `libc.so`, `libm.so`, ... are linker scripts naming
/// glibc's static archives. The link line rustc writes for a dynamic executable then
/// resolves every library statically. Where a static libc is not installed (e.g. Fedora
/// without glibc-static) or the probe link fails, nothing changes: the binaries stay dynamic
/// and a warning says so.
fn link_static_where_no_nss() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["RUNIT_RS_DYNAMIC", "CC", "RUSTC_LINKER"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let crt_static = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default().split(',').any(|f| f == "crt-static");
    // Only glibc needs this; musl targets and `+crt-static` builds are static already.
    // RUNIT_RS_DYNAMIC=1 keeps every binary dynamic (to compare, or for a distribution
    // that wants that).
    if target_os != "linux" || target_env != "gnu" || crt_static || env::var_os("RUNIT_RS_DYNAMIC").is_some() {
        return;
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = out.join("static-glibc");
    match write_library_scripts(&dir).and_then(|()| probe_static_pie(&out)) {
        Ok(()) => {
            for bin in STATIC_BINS.iter().filter(|b| !(freestanding() && FREESTANDING_BINS.contains(b))) {
                println!("cargo:rustc-link-arg-bin={bin}=-static-pie");
                println!("cargo:rustc-link-arg-bin={bin}=-L{}", dir.display());
            }
        }
        Err(why) => println!("cargo:warning=linking every binary dynamically: {why}"),
    }
}

/// The C compiler driver rustc links with (`cc` unless configured otherwise).
fn cc() -> String {
    env::var("RUSTC_LINKER").or_else(|_| env::var("CC")).unwrap_or_else(|_| "cc".into())
}

/// Absolute path of a file in the C toolchain's library path, if it is installed.
fn toolchain_file(name: &str) -> Result<PathBuf, String> {
    let out = Command::new(cc()).arg(format!("-print-file-name={name}")).output().map_err(|e| format!("{}: {e}", cc()))?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    // The driver echoes the bare name back when it does not find the file.
    if path.is_absolute() && path.exists() {
        Ok(path)
    } else {
        Err(format!("{name} not found by {} (install glibc's static libraries)", cc()))
    }
}

/// Writes one linker script per library in `ARCHIVES` into `dir`.
fn write_library_scripts(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (lib, archives) in ARCHIVES {
        let mut paths = Vec::new();
        for a in *archives {
            paths.push(toolchain_file(a)?.display().to_string());
        }
        let script = format!("/* {lib}: glibc's static archives (bins/build.rs) */\nGROUP ( {} )\n", paths.join(" "));
        let file = dir.join(format!("lib{lib}.so"));
        fs::write(&file, script).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(())
}

/// Links a one-line C program with `-static-pie`, to learn whether this toolchain can.
fn probe_static_pie(out: &Path) -> Result<(), String> {
    let src = out.join("probe.c");
    fs::write(&src, "int main(void) { return 0; }\n").map_err(|e| e.to_string())?;
    let status =
        Command::new(cc()).arg("-static-pie").arg("-o").arg(out.join("probe")).arg(&src).status().map_err(|e| format!("{}: {e}", cc()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} -static-pie fails", cc()))
    }
}
