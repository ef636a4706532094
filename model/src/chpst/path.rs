//! Program lookup (spec/common.md §5): the candidate paths to exec, and whether to keep
//! trying after a failed `execve`.

use alloc::vec::Vec;

use crate::errno::Errno;

/// `PATH` when the environment has none.
pub const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// The paths to try, in order: `file` itself if it contains `/`, otherwise
/// `element/file` for each `:`-separated element of `path` (an empty element is `.`).
pub fn candidates(file: &[u8], path: Option<&[u8]>) -> Vec<Vec<u8>> {
    if file.contains(&b'/') {
        return alloc::vec![file.to_vec()];
    }
    let path = path.unwrap_or(DEFAULT_PATH);
    path.split(|&c| c == b':')
        .map(|elem| {
            let mut p = Vec::with_capacity(elem.len() + file.len() + 2);
            p.extend_from_slice(if elem.is_empty() { b"." } else { elem });
            p.push(b'/');
            p.extend_from_slice(file);
            p
        })
        .collect()
}

/// What to do after one `execve` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try the next candidate, remembering this error (if any) for the end.
    Next(Option<Errno>),
    /// Stop now and report this error.
    Stop(Errno),
}

/// runit's rule: ENOENT tries on; EACCES, EPERM and EISDIR are remembered (the last one
/// wins) and try on; anything else stops at once.
pub fn after_failure(errno: Errno, remembered: Option<Errno>) -> AfterFailure {
    match errno {
        Errno::ENOENT => AfterFailure::Next(remembered),
        Errno::EACCES | Errno::EPERM | Errno::EISDIR => AfterFailure::Next(Some(errno)),
        other => AfterFailure::Stop(other),
    }
}

/// The error reported when every candidate failed.
pub fn final_error(remembered: Option<Errno>) -> Errno {
    remembered.unwrap_or(Errno::ENOENT)
}

/// Runs the whole search against an `exec` callback that returns the errno of a failed
/// attempt (a successful exec never returns). The error to report when all failed.
pub fn search(file: &[u8], path: Option<&[u8]>, mut exec: impl FnMut(&[u8]) -> Errno) -> Errno {
    let mut remembered = None;
    for c in candidates(file, path) {
        match after_failure(exec(&c), remembered) {
            AfterFailure::Next(r) => remembered = r,
            AfterFailure::Stop(e) => return e,
        }
    }
    final_error(remembered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_is_direct() {
        assert_eq!(candidates(b"/bin/true", Some(b"/x")), [b"/bin/true".to_vec()]);
        assert_eq!(candidates(b"a/b", None), [b"a/b".to_vec()]);
    }

    #[test]
    fn default_and_empty_elements() {
        assert_eq!(candidates(b"ls", None), [b"/bin/ls".to_vec(), b"/usr/bin/ls".to_vec()]);
        assert_eq!(candidates(b"ls", Some(b":/x:")), [b"./ls".to_vec(), b"/x/ls".to_vec(), b"./ls".to_vec()]);
        assert_eq!(candidates(b"ls", Some(b"")), [b"./ls".to_vec()]);
    }

    #[test]
    fn remembered_errors() {
        let mut errs = [Errno::EACCES, Errno::ENOENT, Errno::ENOENT].into_iter();
        assert_eq!(search(b"p", Some(b"a:b:c"), |_| errs.next().unwrap()), Errno::EACCES);
        let mut errs = [Errno::ENOEXEC, Errno::ENOENT].into_iter();
        let mut tried = 0;
        assert_eq!(
            search(b"p", Some(b"a:b"), |_| {
                tried += 1;
                errs.next().unwrap()
            }),
            Errno::ENOEXEC
        );
        assert_eq!(tried, 1);
        assert_eq!(search(b"p", None, |_| Errno::ENOENT), Errno::ENOENT);
        let mut errs = [Errno::EACCES, Errno::EPERM].into_iter();
        assert_eq!(search(b"p", Some(b"a:b"), |_| errs.next().unwrap()), Errno::EPERM);
    }
}
