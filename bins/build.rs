//! Records which commit the binaries were built from, for the identity line `-V` prints
//! after runit's own output (docs/divergences.md, "Additions").
//!
//! The commit comes from `RUNIT_RS_COMMIT` if set (a tarball build that knows it), else
//! from `git rev-parse` in the source tree, else it is `unknown` (a tarball without git):
//! never a made-up hash.
use std::path::Path;
use std::process::Command;

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

fn main() {
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
