//! Accounts for `-u`/`-U` and setuidgid/envuidgid (spec/chpst.md §4): parsing the spec
//! and resolving it against user-database answers that the runtime looks up.
//!
//! The lookups themselves are I/O, so they arrive through [`UserDb`]; the order of the
//! lookups, when to stop, and every message are decided here.

use alloc::vec::Vec;

use super::env::EnvEdit;
use super::fatal::Fatal;
use crate::errno::Errno;
use crate::getopt::scan_ulong;

/// Most groups one account spec may name (runit's limit).
pub const MAX_GROUPS: usize = 60;

/// A parsed account spec.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccountSpec {
    /// `:uid:gid[:gid...]`: numeric, no lookups.
    Numeric(Ids),
    /// A `:`-form that does not parse; carries the text after the leading colon.
    Invalid(Vec<u8>),
    /// `user[:group...]` (chpst `-u`/`-U`): look up the user, then each group.
    Named {
        /// The whole spec as given, for `unknown user/group: <spec>`.
        spec: Vec<u8>,
        /// The user name.
        user: Vec<u8>,
        /// Group names; empty means the user's primary group.
        groups: Vec<Vec<u8>>,
    },
    /// setuidgid/envuidgid: the whole argument is one user name.
    Plain(Vec<u8>),
}

/// The ids to switch to: the uid and the group list (the first is the primary gid).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ids {
    /// The user id.
    pub uid: u32,
    /// Primary gid first, then the rest; never empty.
    pub gids: Vec<u32>,
}

impl Ids {
    /// The primary gid (the first of the list): what `setgid` gets and `GID` says. The
    /// list is never empty; 0 would only stand in for a broken invariant.
    pub fn primary_gid(&self) -> u32 {
        self.gids.first().copied().unwrap_or(0)
    }
}

/// One user-database answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    /// The entry.
    Found(T),
    /// No such entry.
    NotFound,
    /// The lookup itself failed.
    Error(Errno),
}

/// The user database, as seen from inside any new root.
pub trait UserDb {
    /// `getpwnam`: (uid, primary gid).
    fn user(&mut self, name: &[u8]) -> Lookup<(u32, u32)>;
    /// `getgrnam`: gid.
    fn group(&mut self, name: &[u8]) -> Lookup<u32>;
}

/// The meaning of a failed `getpwnam_r`/`getgrnam_r` return code: ENOENT, ESRCH, EBADF
/// and EPERM are the codes POSIX allows for "no such entry"; anything else is an error.
pub fn lookup_failure<T>(rc: Errno) -> Lookup<T> {
    match rc {
        Errno::ENOENT | Errno::ESRCH | Errno::EBADF | Errno::EPERM => Lookup::NotFound,
        e => Lookup::Error(e),
    }
}

/// Parses a `-u`/`-U` spec (`ext` = true) or a personality's plain account (`ext` = false).
pub fn parse(spec: &[u8], ext: bool) -> AccountSpec {
    if !ext {
        return AccountSpec::Plain(spec.to_vec());
    }
    if let Some(rest) = spec.strip_prefix(b":") {
        return match numeric(rest) {
            Some(ids) => AccountSpec::Numeric(ids),
            None => AccountSpec::Invalid(rest.to_vec()),
        };
    }
    let mut parts = spec.split(|&c| c == b':');
    let user = parts.next().unwrap_or_default().to_vec();
    let groups: Vec<Vec<u8>> = if spec.contains(&b':') { parts.map(|g| g.to_vec()).collect() } else { Vec::new() };
    AccountSpec::Named { spec: spec.to_vec(), user, groups }
}

/// runit's numeric form after the leading colon: `uid:gid[:gid...]`, each id the leading
/// digits of its field (an empty field is 0), at most [`MAX_GROUPS`] gids, nothing else.
fn numeric(s: &[u8]) -> Option<Ids> {
    let (uid, n) = scan_ulong(s);
    let mut rest = &s[n..];
    rest = rest.strip_prefix(b":")?;
    let mut gids = Vec::new();
    loop {
        let (gid, n) = scan_ulong(rest);
        gids.push(gid as u32);
        rest = &rest[n..];
        match rest.strip_prefix(b":") {
            Some(r) if gids.len() < MAX_GROUPS => rest = r,
            // runit stops after the last slot; only an empty remainder is accepted.
            Some(r) => return if r.is_empty() { Some(Ids { uid: uid as u32, gids }) } else { None },
            None => break,
        }
    }
    if !rest.is_empty() {
        return None;
    }
    Some(Ids { uid: uid as u32, gids })
}

/// Resolves a spec against the user database, in runit's order (user first, then each
/// group, stopping at the first failure).
pub fn resolve(spec: &AccountSpec, db: &mut dyn UserDb) -> Result<Ids, Fatal> {
    match spec {
        AccountSpec::Numeric(ids) => Ok(ids.clone()),
        AccountSpec::Invalid(rest) => Err(Fatal::InvalidIds(rest.clone())),
        AccountSpec::Plain(name) => match db.user(name) {
            Lookup::Found((uid, gid)) => Ok(Ids { uid, gids: alloc::vec![gid] }),
            Lookup::NotFound => Err(Fatal::UnknownAccount(name.clone())),
            Lookup::Error(e) => Err(Fatal::PasswdEntry(e)),
        },
        AccountSpec::Named { spec, user, groups } => {
            let (uid, primary) = match db.user(user) {
                Lookup::Found(ids) => ids,
                Lookup::NotFound => return Err(Fatal::UnknownUserGroup(spec.clone())),
                Lookup::Error(e) => return Err(Fatal::PasswdGroupEntry(e)),
            };
            if groups.is_empty() {
                return Ok(Ids { uid, gids: alloc::vec![primary] });
            }
            // runit fills a 60-entry array and ignores (never looks up) any further groups.
            let mut gids = Vec::with_capacity(groups.len().min(MAX_GROUPS));
            for g in groups.iter().take(MAX_GROUPS) {
                match db.group(g) {
                    Lookup::Found(gid) => gids.push(gid),
                    Lookup::NotFound => return Err(Fatal::UnknownUserGroup(spec.clone())),
                    Lookup::Error(e) => return Err(Fatal::PasswdGroupEntry(e)),
                }
            }
            Ok(Ids { uid, gids })
        }
    }
}

/// `-U`/envuidgid's edits: `GID` (the first gid) then `UID`, in decimal.
pub fn env_edits(ids: &Ids) -> [EnvEdit; 2] {
    [EnvEdit::set(b"GID", &decimal(ids.primary_gid())), EnvEdit::set(b"UID", &decimal(ids.uid))]
}

fn decimal(n: u32) -> Vec<u8> {
    let mut buf = Vec::new();
    crate::status::push_decimal(&mut buf, n as u64);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    struct Db;
    impl UserDb for Db {
        fn user(&mut self, name: &[u8]) -> Lookup<(u32, u32)> {
            match name {
                b"nobody" => Lookup::Found((65534, 65534)),
                b"root" => Lookup::Found((0, 0)),
                b"broken" => Lookup::Error(Errno::EIO),
                _ => Lookup::NotFound,
            }
        }
        fn group(&mut self, name: &[u8]) -> Lookup<u32> {
            match name {
                b"daemon" => Lookup::Found(1),
                b"bin" => Lookup::Found(2),
                b"sys" => Lookup::Found(3),
                _ => Lookup::NotFound,
            }
        }
    }

    fn ids(s: &str) -> Result<Ids, Fatal> {
        resolve(&parse(s.as_bytes(), true), &mut Db)
    }

    #[test]
    fn named_forms() {
        assert_eq!(ids("nobody"), Ok(Ids { uid: 65534, gids: vec![65534] }));
        assert_eq!(ids("nobody:daemon:bin:sys"), Ok(Ids { uid: 65534, gids: vec![1, 2, 3] }));
        assert_eq!(ids("nosuchuser"), Err(Fatal::UnknownUserGroup(b"nosuchuser".to_vec())));
        assert_eq!(ids("root:nosuchgroup"), Err(Fatal::UnknownUserGroup(b"root:nosuchgroup".to_vec())));
        assert_eq!(ids("broken"), Err(Fatal::PasswdGroupEntry(Errno::EIO)));
        assert_eq!(ids("nobody:"), Err(Fatal::UnknownUserGroup(b"nobody:".to_vec())));
    }

    #[test]
    fn numeric_forms() {
        assert_eq!(ids(":1234:5678:91"), Ok(Ids { uid: 1234, gids: vec![5678, 91] }));
        assert_eq!(ids(":1234:"), Ok(Ids { uid: 1234, gids: vec![0] }));
        assert_eq!(ids(":12:5:"), Ok(Ids { uid: 12, gids: vec![5, 0] }));
        assert_eq!(ids(":1234"), Err(Fatal::InvalidIds(b"1234".to_vec())));
        assert_eq!(ids(":abc"), Err(Fatal::InvalidIds(b"abc".to_vec())));
        assert_eq!(ids(":12:5x"), Err(Fatal::InvalidIds(b"12:5x".to_vec())));
        assert_eq!(ids("::"), Ok(Ids { uid: 0, gids: vec![0] }));
    }

    #[test]
    fn group_limit() {
        let mut s = alloc::string::String::from(":1");
        for _ in 0..MAX_GROUPS {
            s.push_str(":7");
        }
        assert_eq!(ids(&s).map(|i| i.gids.len()), Ok(MAX_GROUPS));
        s.push_str(":7");
        assert!(matches!(ids(&s), Err(Fatal::InvalidIds(_))));
        // Named groups beyond the 60th are ignored without a lookup (oracle: 60 × daemon
        // then nosuchgroup runs with just daemon).
        let mut named = alloc::string::String::from("nobody");
        for _ in 0..MAX_GROUPS {
            named.push_str(":daemon");
        }
        named.push_str(":nosuchgroup");
        assert_eq!(ids(&named).map(|i| i.gids.len()), Ok(MAX_GROUPS));
    }

    #[test]
    fn plain_accounts() {
        let r = resolve(&parse(b"nobody:daemon", false), &mut Db);
        assert_eq!(r, Err(Fatal::UnknownAccount(b"nobody:daemon".to_vec())));
        let r = resolve(&parse(b":5:6", false), &mut Db);
        assert_eq!(r, Err(Fatal::UnknownAccount(b":5:6".to_vec())));
        assert_eq!(resolve(&parse(b"broken", false), &mut Db), Err(Fatal::PasswdEntry(Errno::EIO)));
    }

    #[test]
    fn lookup_failures() {
        assert_eq!(lookup_failure::<u32>(Errno::ENOENT), Lookup::NotFound);
        assert_eq!(lookup_failure::<u32>(Errno::EPERM), Lookup::NotFound);
        assert_eq!(lookup_failure::<u32>(Errno::EIO), Lookup::Error(Errno::EIO));
    }

    #[test]
    fn env_edits_gid_then_uid() {
        let e = env_edits(&Ids { uid: 77, gids: vec![88, 9] });
        assert_eq!(e[0].encoded(), b"GID=88");
        assert_eq!(e[1].encoded(), b"UID=77");
    }
}
