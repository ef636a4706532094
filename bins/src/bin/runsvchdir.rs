//! runsvchdir (being built).
fn main() {
    eprintln!("runsvchdir: not implemented yet");
    std::process::exit(111);
}
