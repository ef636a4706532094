//! runsv (being built).
fn main() {
    eprintln!("runsv: not implemented yet");
    std::process::exit(111);
}
