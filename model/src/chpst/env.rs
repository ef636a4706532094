//! The environment the program gets (spec/common.md §6): chpst collects edits (`-e`
//! files, `-U`'s `GID`/`UID`) and applies them only at exec time, exactly as runit's
//! `pathexec_env_run` does. That includes its order quirk: removing a variable moves the
//! *last* entry into its place, so `env` output order is runit's.

use alloc::vec::Vec;

/// One pending edit: set `name` to `value`, or unset it (`value` = `None`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnvEdit {
    /// Variable name, as given (a name containing `=` is not rejected, as in runit).
    pub name: Vec<u8>,
    /// New value; `None` removes the variable.
    pub value: Option<Vec<u8>>,
}

impl EnvEdit {
    /// A set edit.
    pub fn set(name: &[u8], value: &[u8]) -> EnvEdit {
        EnvEdit { name: name.to_vec(), value: Some(value.to_vec()) }
    }

    /// An unset edit.
    pub fn unset(name: &[u8]) -> EnvEdit {
        EnvEdit { name: name.to_vec(), value: None }
    }

    /// runit's stored form: `name=value` or `name`.
    pub fn encoded(&self) -> Vec<u8> {
        let mut out = self.name.clone();
        if let Some(v) = &self.value {
            out.push(b'=');
            out.extend_from_slice(v);
        }
        out
    }
}

/// The value of `name` in `environ` (first `name=` entry), as runit's `env_get` reads it.
/// Entries may be owned or borrowed (chpst borrows libc's `environ` without copying it).
pub fn get<'a, E: AsRef<[u8]>>(environ: &'a [E], name: &[u8]) -> Option<&'a [u8]> {
    environ.iter().find_map(|e| {
        let e = e.as_ref();
        if e.len() > name.len() && e.starts_with(name) && e[name.len()] == b'=' {
            Some(&e[name.len() + 1..])
        } else {
            None
        }
    })
}

/// The new environment: for each edit in order, the first entry with the same name (the
/// edit's text up to its first `=`) is removed by moving the last entry into its slot,
/// then the edit's text is appended if it contains a `=` (sets, and unset names that
/// contain `=`, as in runit).
/// With no edits the result is `environ` itself, entry for entry.
pub fn apply<E: AsRef<[u8]>>(environ: &[E], edits: &[EnvEdit]) -> Vec<Vec<u8>> {
    let mut e: Vec<Vec<u8>> = environ.iter().map(|x| x.as_ref().to_vec()).collect();
    for edit in edits {
        let text = edit.encoded();
        let split = text.iter().position(|&c| c == b'=').unwrap_or(text.len());
        let key = &text[..split];
        if let Some(t) = e.iter().position(|entry| entry.len() > split && entry.starts_with(key) && entry[split] == b'=') {
            e.swap_remove(t);
        }
        if split < text.len() {
            e.push(text);
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<Vec<u8>> {
        s.iter().map(|x| x.as_bytes().to_vec()).collect()
    }

    #[test]
    fn swap_remove_order() {
        let env = v(&["A=1", "B=2", "C=3", "D=4"]);
        assert_eq!(apply(&env, &[EnvEdit::set(b"B", b"x")]), v(&["A=1", "D=4", "C=3", "B=x"]));
        assert_eq!(apply(&env, &[EnvEdit::unset(b"A")]), v(&["D=4", "B=2", "C=3"]));
        assert_eq!(apply(&env, &[EnvEdit::unset(b"Z")]), env);
    }

    #[test]
    fn only_first_match_removed() {
        let env = v(&["A=1", "A=2"]);
        assert_eq!(apply(&env, &[EnvEdit::set(b"A", b"3")]), v(&["A=2", "A=3"]));
    }

    #[test]
    fn names_with_equals() {
        let env = v(&["A=1", "AB=2"]);
        assert_eq!(apply(&env, &[EnvEdit::set(b"A=B", b"v")]), v(&["AB=2", "A=B=v"]));
        assert_eq!(apply(&env, &[EnvEdit::unset(b"A=B")]), v(&["AB=2", "A=B"]));
        assert_eq!(apply(&env, &[EnvEdit::unset(b"A")]), v(&["AB=2"]));
    }

    /// An entry without `=` is no variable: an edit of that name leaves it alone (kills
    /// `>` -> `>=` in `apply`, which would index past the entry).
    #[test]
    fn entry_without_equals_is_kept() {
        let env = v(&["A", "B=2"]);
        assert_eq!(apply(&env, &[EnvEdit::set(b"A", b"1")]), v(&["A", "B=2", "A=1"]));
    }

    #[test]
    fn get_first() {
        let env = v(&["PATHX=1", "PATH=/a", "PATH=/b"]);
        assert_eq!(get(&env, b"PATH"), Some(&b"/a"[..]));
        assert_eq!(get(&env, b"NOPE"), None);
        assert_eq!(get(&[b"PATH".to_vec()], b"PATH"), None);
    }
}
