//! The utmpset executor: the file operations on utmp and wtmp. Which record matches,
//! what gets written and every message come from `model::utmp`.

use std::ffi::CString;

use model::errno::Errno;
use model::utmp::{self, Failure, RECORD_LEN};

use crate::sys;

/// The files to edit (runit's paths unless a test overrides them).
pub struct Paths {
    /// utmp, edited in place.
    pub utmp: Vec<u8>,
    /// wtmp, appended to with `-w`.
    pub wtmp: Vec<u8>,
}

/// Logs `line` out in utmp (and appends to wtmp if `wtmp`), at wall time `now_sec`.
pub fn logout(paths: &Paths, line: &[u8], wtmp: bool, now_sec: i64) -> Result<(), Failure> {
    if !utmp_logout(&paths.utmp, line, now_sec)? {
        return Err(Failure::NoEntry { line: line.to_vec() });
    }
    if wtmp {
        wtmp_logout(&paths.wtmp, line, now_sec)?;
    }
    Ok(())
}

fn cpath(p: &[u8]) -> Result<CString, Errno> {
    sys::cstr(p)
}

/// Rewrites the first matching record; `Ok(false)` when there is none (or rewriting it
/// failed, which runit reports the same way).
fn utmp_logout(path: &[u8], line: &[u8], now_sec: i64) -> Result<bool, Failure> {
    let open_err = |errno| Failure::Open { path: path.to_vec(), errno };
    let c = cpath(path).map_err(open_err)?;
    let fd = sys::open(&c, libc::O_RDWR, 0).map_err(open_err)?;
    if let Err(errno) = crate::fs::lock_exclusive(fd, true) {
        let _ = sys::close(fd);
        return Err(Failure::LockUtmp { path: path.to_vec(), errno });
    }
    let mut image = [0u8; RECORD_LEN];
    let mut done = false;
    while read_record(fd, &mut image) {
        if !utmp::matches(&image, line) {
            continue;
        }
        let out = utmp::logged_out(&image, now_sec);
        if sys::seek_back(fd, RECORD_LEN as i64).is_err() {
            break;
        }
        done = matches!(sys::write(fd, &out), Ok(n) if n == RECORD_LEN);
        break;
    }
    let _ = sys::close(fd);
    Ok(done)
}

/// Reads one whole record; false at end of file, on a short read or an error.
fn read_record(fd: i32, image: &mut [u8; RECORD_LEN]) -> bool {
    let mut got = 0;
    while got < RECORD_LEN {
        match sys::read(fd, &mut image[got..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
    }
    true
}

fn wtmp_logout(path: &[u8], line: &[u8], now_sec: i64) -> Result<(), Failure> {
    let open_err = |errno| Failure::Open { path: path.to_vec(), errno };
    let c = cpath(path).map_err(open_err)?;
    let fd = crate::fs::open_append(&c).map_err(open_err)?;
    if let Err(errno) = crate::fs::lock_exclusive(fd, true) {
        let _ = sys::close(fd);
        return Err(Failure::LockWtmp { path: path.to_vec(), errno });
    }
    let wtmp_err = |errno| Failure::Wtmp { line: line.to_vec(), errno };
    let st = match sys::fstat(fd) {
        Ok(st) => st,
        Err(e) => {
            let _ = sys::close(fd);
            return Err(wtmp_err(e));
        }
    };
    let rec = utmp::wtmp_entry(line, now_sec);
    let result = match sys::write(fd, &rec) {
        Ok(n) if n == RECORD_LEN => Ok(()),
        Ok(_) => Err(Errno::ENOSPC),
        Err(e) => Err(e),
    };
    if result.is_err() {
        // Undo a partial append so wtmp stays a whole number of records.
        let _ = sys::ftruncate(fd, st.st_size);
    }
    let _ = sys::close(fd);
    result.map_err(wtmp_err)
}
