//! utmpset (being built).
fn main() {
    eprintln!("utmpset: not implemented yet");
    std::process::exit(111);
}
