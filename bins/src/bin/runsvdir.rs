//! runsvdir (being built).
fn main() {
    eprintln!("runsvdir: not implemented yet");
    std::process::exit(111);
}
