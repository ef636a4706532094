//! `-e dir` / `envdir dir` (spec/chpst.md §5): which entries are variables, what value a
//! file's content gives, and what a failed read means.

use alloc::vec::Vec;

use super::env::EnvEdit;
use super::fatal::{warn_read, Fatal};
use super::plan::SubdirPolicy;
use crate::errno::Errno;

/// Whether a directory entry names a variable (dot-files, `.` and `..` do not).
pub fn is_variable(name: &[u8]) -> bool {
    !name.is_empty() && name[0] != b'.'
}

/// The value a file's content gives: `None` (unset) for an empty file; otherwise the
/// first line, trailing spaces and tabs removed, NUL bytes turned into newlines.
pub fn value(content: &[u8]) -> Option<Vec<u8>> {
    if content.is_empty() {
        return None;
    }
    let line = content.split(|&c| c == b'\n').next().unwrap_or(content);
    // Trailing blanks off, without a counting loop (a mutated `end -= 1` used to hang the
    // tests rather than fail them).
    let kept = line.iter().rposition(|&c| c != b' ' && c != b'\t').map_or(0, |last| last + 1);
    Some(line[..kept].iter().map(|&c| if c == 0 { b'\n' } else { c }).collect())
}

/// How many bytes of a value file are read at most when no newline has come yet. Only the
/// first line counts, and exec refuses any environment string over 128 KiB (Linux
/// `MAX_ARG_STRLEN`), so a longer first line fails at exec with `E2BIG` whether it is cut
/// here or not; the cut is what keeps an endless file (a link to `/dev/zero`) from
/// exhausting memory, where runit reads on until it runs out.
pub const READ_LIMIT: usize = 1 << 20;

/// Whether reading a value file can stop: `total` bytes read so far, the last of them
/// `last_chunk`. Enough once a newline has been seen (the rest cannot change the value)
/// or [`READ_LIMIT`] is reached.
pub fn read_enough(total: usize, last_chunk: &[u8]) -> bool {
    total >= READ_LIMIT || last_chunk.contains(&b'\n')
}

/// What one entry contributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// An environment edit.
    Edit(EnvEdit),
    /// Nothing; print this warning first if there is one.
    Skip(Option<Vec<u8>>),
    /// Stop with this error.
    Fatal(Fatal),
}

/// The outcome for entry `name` of `dir` given the result of reading the whole file.
///
/// A file that vanished or is a dangling symlink (ENOENT) unsets the variable, as an
/// empty file does; runit instead reuses the previous entry's buffer (a divergence, see
/// docs/divergences.md). A subdirectory is skipped under `chpst -e` (with a warning
/// under `-v`) and fatal under `envdir`.
pub fn entry(dir: &[u8], name: &[u8], read: Result<&[u8], Errno>, policy: SubdirPolicy) -> Entry {
    match read {
        Ok(content) => Entry::Edit(EnvEdit { name: name.to_vec(), value: value(content) }),
        Err(Errno::ENOENT) => Entry::Edit(EnvEdit::unset(name)),
        Err(Errno::EISDIR) => match policy {
            SubdirPolicy::Skip { verbose: true } => Entry::Skip(Some(warn_read(dir, name, Errno::EISDIR))),
            SubdirPolicy::Skip { verbose: false } => Entry::Skip(None),
            SubdirPolicy::Fatal => Entry::Fatal(Fatal::ReadEntry { dir: dir.to_vec(), name: name.to_vec(), errno: Errno::EISDIR }),
        },
        Err(errno) => Entry::Fatal(Fatal::ReadEntry { dir: dir.to_vec(), name: name.to_vec(), errno }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        assert_eq!(value(b"value1\nsecond line\n"), Some(b"value1".to_vec()));
        assert_eq!(value(b"trail   \t \n"), Some(b"trail".to_vec()));
        assert_eq!(value(b"nul\0inside\n"), Some(b"nul\ninside".to_vec()));
        assert_eq!(value(b""), None);
        assert_eq!(value(b"noeol"), Some(b"noeol".to_vec()));
        assert_eq!(value(b"  lead\n"), Some(b"  lead".to_vec()));
        assert_eq!(value(b"\n"), Some(b"".to_vec()));
        assert_eq!(value(b" \t"), Some(b"".to_vec()));
    }

    #[test]
    fn read_stops_at_first_newline_or_limit() {
        assert!(!read_enough(0, b""));
        assert!(!read_enough(4096, &[b'x'; 4096]));
        assert!(read_enough(10, b"abc\ndef"));
        assert!(read_enough(READ_LIMIT, &[0; 16]));
        // What is not read after the newline never changes the value.
        assert_eq!(value(b"abc  \n"), value(b"abc  \nmore\nlines"));
    }

    #[test]
    fn dot_files_ignored() {
        assert!(!is_variable(b".hidden"));
        assert!(!is_variable(b"."));
        assert!(!is_variable(b".."));
        assert!(is_variable(b"A"));
    }

    #[test]
    fn subdirectories() {
        assert_eq!(entry(b"env", b"SUB", Err(Errno::EISDIR), SubdirPolicy::Skip { verbose: false }), Entry::Skip(None));
        assert_eq!(
            entry(b"env", b"SUB", Err(Errno::EISDIR), SubdirPolicy::Skip { verbose: true }),
            Entry::Skip(Some(b"chpst: warning: unable to read env/SUB: is a directory\n".to_vec()))
        );
        assert!(matches!(entry(b"env", b"SUB", Err(Errno::EISDIR), SubdirPolicy::Fatal), Entry::Fatal(_)));
        assert!(matches!(entry(b"env", b"X", Err(Errno::EACCES), SubdirPolicy::Skip { verbose: true }), Entry::Fatal(_)));
    }

    #[test]
    fn regression_dangling_symlink_unsets() {
        // runit hands a dangling symlink the previous file's value plus a newline.
        assert_eq!(entry(b"e", b"B", Err(Errno::ENOENT), SubdirPolicy::Fatal), Entry::Edit(EnvEdit::unset(b"B")));
    }
}
