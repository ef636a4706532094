//! svlogd (being built).
fn main() {
    eprintln!("svlogd: not implemented yet");
    std::process::exit(111);
}
