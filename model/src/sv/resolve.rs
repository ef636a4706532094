//! Service name resolution (spec/sv.md §3). The two passes use slightly different rules,
//! and the difference is observable (the trailing-slash quirk), so both are kept.

/// Where a service argument is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Base {
    /// `chdir(N)` relative to the current directory.
    Cwd,
    /// `chdir(SVDIR)` then `chdir(N)`.
    Svdir,
}

/// First pass (sending / status): `/…`, `.…`, empty, or ending in `/` → current directory.
pub fn first_pass(name: &[u8]) -> Base {
    match (name.first(), name.last()) {
        (None, _) | (Some(b'/'), _) | (Some(b'.'), _) | (_, Some(b'/')) => Base::Cwd,
        _ => Base::Svdir,
    }
}

/// Wait pass: only `/…` and `.…` are relative to the current directory; everything else,
/// including names ending in `/` and the empty name, goes through `SVDIR`.
pub fn wait_pass(name: &[u8]) -> Base {
    match name.first() {
        Some(b'/') | Some(b'.') => Base::Cwd,
        _ => Base::Svdir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_resolve_first_pass() {
        assert_eq!(first_pass(b"/tmp/t1/svc"), Base::Cwd);
        assert_eq!(first_pass(b"./s"), Base::Cwd);
        assert_eq!(first_pass(b".hidden"), Base::Cwd);
        assert_eq!(first_pass(b""), Base::Cwd);
        assert_eq!(first_pass(b"s/"), Base::Cwd);
        assert_eq!(first_pass(b"s"), Base::Svdir);
        assert_eq!(first_pass(b"sub/svc"), Base::Svdir);
        assert_eq!(first_pass(b"-v"), Base::Svdir);
    }

    #[test]
    fn test_resolve_wait_pass_trailing_slash_quirk() {
        assert_eq!(wait_pass(b"s/"), Base::Svdir);
        assert_eq!(wait_pass(b""), Base::Svdir);
        assert_eq!(wait_pass(b"./s/"), Base::Cwd);
        assert_eq!(wait_pass(b"/abs"), Base::Cwd);
        assert_eq!(wait_pass(b"sub/svc"), Base::Svdir);
    }
}
