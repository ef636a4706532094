//! envdir / `chpst -e` file content and entry decisions: total; the value is `None`
//! exactly for an empty file, otherwise the first line without trailing blanks, with
//! NULs as newlines (so it never contains a NUL, and is never longer than the file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::chpst::envdir::{self, Entry};
use model::chpst::SubdirPolicy;
use model::errno::Errno;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, content)) = data.split_first() else { return };
    match envdir::value(content) {
        None => assert!(content.is_empty()),
        Some(v) => {
            assert!(v.len() <= content.len());
            assert!(!v.contains(&0));
            assert!(!v.ends_with(b" ") && !v.ends_with(b"\t"));
            let first = content.split(|&b| b == b'\n').next().unwrap_or(&[]);
            assert!(first.len() >= v.len());
        }
    }
    let name = &content[..content.len().min(8)];
    let _ = envdir::is_variable(name);
    let policy = match sel % 3 {
        0 => SubdirPolicy::Fatal,
        1 => SubdirPolicy::Skip { verbose: true },
        _ => SubdirPolicy::Skip { verbose: false },
    };
    let read = if sel & 0x80 != 0 { Err(Errno((sel & 0x3f) as i32)) } else { Ok(content) };
    match envdir::entry(b"dir", name, read, policy) {
        Entry::Edit(e) => {
            let _ = e.encoded();
        }
        Entry::Skip(w) => {
            if let Some(w) = w {
                assert!(w.ends_with(b"\n"));
            }
        }
        Entry::Fatal(f) => {
            assert!(f.line().ends_with(b"\n"));
        }
    }
});
