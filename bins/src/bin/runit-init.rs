//! runit-init (being built).
fn main() {
    eprintln!("runit-init: not implemented yet");
    std::process::exit(111);
}
