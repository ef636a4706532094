//! runsvchdir: switches the services directory runsvdir watches by replacing the
//! `current` symlink in `/etc/runit/runsvdir` (spec/init.md §3). Each step's decision
//! is made by `model::runsvdir::chdir`; this file only performs the syscalls.

use std::ffi::CString;

use model::runsvdir::chdir::{Chdir, Op, OpResult, Step, BASE};
use runtime::sys;

fn done(r: Result<(), model::errno::Errno>) -> OpResult {
    match r {
        Ok(()) => OpResult::Done,
        Err(e) => OpResult::Failed(e),
    }
}

fn stat(path: &[u8]) -> OpResult {
    match sys::cstr(path).and_then(|c| sys::stat(&c)) {
        Ok(st) => OpResult::Stat { dev: st.st_dev, ino: st.st_ino, is_dir: st.st_mode & libc::S_IFMT == libc::S_IFDIR },
        Err(e) => OpResult::Failed(e),
    }
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

fn perform(op: &Op, dir: &[u8]) -> OpResult {
    match op {
        Op::Chdir => done(sys::cstr(BASE).and_then(|p| sys::chdir(&p))),
        Op::StatDir => stat(dir),
        Op::StatCurrent => stat(b"current"),
        Op::UnlinkNew => done(sys::unlink(&c("current.new"))),
        Op::SymlinkNew => done(sys::cstr(dir).and_then(|target| sys::symlink(&target, &c("current.new")))),
        Op::UnlinkPrevious => done(sys::unlink(&c("previous"))),
        Op::CurrentToPrevious => done(sys::rename(&c("current"), &c("previous"))),
        Op::NewToCurrent => done(sys::rename(&c("current.new"), &c("current"))),
        Op::PreviousBack => done(sys::rename(&c("previous"), &c("current"))),
    }
}

fn main() {
    let argv = runit_bins::args_bytes();
    let dir = argv.get(1).cloned().unwrap_or_default();
    let (machine, mut step) = Chdir::start(&argv);
    let mut machine = machine;
    loop {
        match step {
            Step::Finish { code, stdout, stderr } => {
                runtime::diag::write_stdout(&stdout);
                runtime::diag::write_stderr(&stderr);
                std::process::exit(code);
            }
            Step::Do(op) => {
                let Some(m) = machine.as_mut() else { std::process::exit(111) };
                let r = perform(&op, &dir);
                step = m.next(r);
            }
        }
    }
}
