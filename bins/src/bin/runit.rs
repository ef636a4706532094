//! runit (being built).
fn main() {
    eprintln!("runit: not implemented yet");
    std::process::exit(111);
}
