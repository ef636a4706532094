//! svlogd's argv on arbitrary bytes (split at NUL): total; a run has at least one
//! directory and `-l`/`-b` inside runit's bounds; a refusal exits 111 with text ending
//! in a newline.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::svlogd::options::{self, Parsed};

fuzz_target!(|data: &[u8]| {
    let argv: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    match options::parse(&argv) {
        Parsed::Run(s) => {
            assert!(!s.dirs.is_empty());
            assert!(s.line_max >= 1);
            let _ = model::svlogd::logger::Logger::new(s);
        }
        Parsed::Exit(text, code) => {
            assert!(code == 111 || code == 0, "exit {code}");
            assert!(text.ends_with(b"\n"));
        }
    }
});
