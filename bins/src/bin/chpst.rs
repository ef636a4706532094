//! chpst (being built).
fn main() {
    eprintln!("chpst: not implemented yet");
    std::process::exit(111);
}
