//! The real kernel boot (tests/boot/qemu-boot.sh) as an opt-in test: it downloads
//! qemu and a kernel into a cache and does a release build, so it is `#[ignore]`d in
//! the normal suite. Run with
//! `cargo test -p runit-e2e --test runit_boot -- --ignored --nocapture`.

use std::process::Command;

#[test]
#[ignore]
fn runit_boots_a_real_kernel_under_qemu() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("boot/qemu-boot.sh");
    let out = Command::new("sh").arg(&script).output().expect("run qemu-boot.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    println!("{text}");
    assert!(out.status.success(), "qemu boot failed:\n{text}");
    assert!(text.contains("qemu-boot: PASS"), "{text}");
}
