//! runsvchdir's argv and its operation sequence with arbitrary results: total; every run
//! finishes within a bounded number of steps with exit 0, 1 or 111, and any output ends
//! in a newline.
//!
//! Input layout: byte 0 is the length `n` of the directory argument (0xff: no argument);
//! then `n` bytes of it; each later group of 3 bytes is one operation result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::errno::Errno;
use model::runsvdir::chdir::{Chdir, OpResult, Step};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let mut argv = vec![b"runsvchdir".to_vec()];
    let results = if n == 0xff {
        rest
    } else {
        let n = (n as usize).min(rest.len());
        argv.push(rest[..n].to_vec());
        &rest[n..]
    };
    let (m, mut step) = Chdir::start(&argv);
    let mut m = m;
    let mut it = results.chunks(3);
    let mut steps = 0;
    loop {
        match step {
            Step::Finish { code, stdout, stderr } => {
                assert!(matches!(code, 0 | 1 | 111), "exit {code}");
                assert!(stdout.is_empty() || stdout.ends_with(b"\n"));
                assert!(stderr.is_empty() || stderr.ends_with(b"\n"));
                assert!(code != 0 || !stdout.is_empty());
                break;
            }
            Step::Do(_) => {
                steps += 1;
                assert!(steps < 32, "runsvchdir does not finish");
                let r = match it.next() {
                    None => OpResult::Done,
                    Some(c) => match c[0] % 3 {
                        0 => OpResult::Done,
                        1 => OpResult::Stat {
                            dev: c.get(1).copied().unwrap_or(0) as u64 % 2,
                            ino: c.get(2).copied().unwrap_or(0) as u64 % 3,
                            is_dir: c[0] & 8 != 0,
                        },
                        _ => OpResult::Failed(Errno(c.get(1).copied().unwrap_or(2) as i32 % 40)),
                    },
                };
                step = m.as_mut().expect("a step to do without a machine").next(r);
            }
        }
    }
});
