//! sv (being built).
fn main() {
    eprintln!("sv: not implemented yet");
    std::process::exit(111);
}
