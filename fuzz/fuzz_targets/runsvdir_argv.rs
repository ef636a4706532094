//! runsvdir's argv and its readproctitle buffer: argv parsing is total (a usage refusal
//! ends in a newline; a run names a directory from argv); the title keeps its length and
//! its first five bytes, and ends with the last non-NUL bytes fed, as runit's does.
//!
//! Input layout: byte 0 is the number of argv bytes `n`; the next `n` bytes are argv
//! split at NUL; the rest is fed to the title in chunks cut at 0xff bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::runsvdir::parse_args;
use model::runsvdir::title::{Title, KEEP, MIN_LEN};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n as usize).min(rest.len());
    let (args, feed) = rest.split_at(n);
    let argv: Vec<Vec<u8>> = args.split(|&b| b == 0).map(|a| a.to_vec()).collect();
    match parse_args(&argv) {
        Ok(a) => {
            assert!(argv.contains(&a.dir));
            if let (Some(log), Some(i)) = (&a.log, a.log_index) {
                assert_eq!(&argv[i], log);
            }
            let arg = a.log.clone().unwrap_or_else(|| b"log: ........".to_vec());
            let mut t = Title::new(&arg);
            let mut fed: Vec<u8> = Vec::new();
            for chunk in feed.split(|&b| b == 0xff) {
                t.feed(chunk);
                fed.extend(chunk.iter().copied().filter(|&b| b != 0));
            }
            let b = t.bytes();
            assert_eq!(b.len(), arg.len());
            if arg.len() > KEEP {
                assert_eq!(&b[..KEEP], &arg[..KEEP]);
                // The scrolling part: old bytes then the newest fed bytes, in order.
                let room = arg.len() - KEEP;
                let mut expect: Vec<u8> = arg[KEEP..].to_vec();
                expect.extend_from_slice(&fed);
                assert_eq!(&b[KEEP..], &expect[expect.len() - room..]);
            } else {
                assert_eq!(b, &arg[..]);
            }
            let _ = MIN_LEN;
        }
        Err(text) => assert!(text.ends_with(b"\n")),
    }
});
