//! What an inotify event means to runsvdir (the runtime only decodes the kernel's
//! records). runsvdir watches the services directory itself and the parent of every
//! path on the symlink chain leading to it; on a parent only the one name on the chain
//! matters (for example `current` in `/etc/runit/runsvdir`, which runsvchdir replaces).

/// Where an event came from, as the executor decoded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The kernel's queue overflowed: events were lost.
    Overflow,
    /// The services directory's own watch; `gone` when the directory itself was deleted
    /// or moved, or the kernel dropped the watch.
    Dir {
        /// The watched directory is no longer the one at the path.
        gone: bool,
    },
    /// A parent on the symlink chain; `on_chain` when the event names the chain's entry.
    Parent {
        /// The event is about the chain's name in that parent.
        on_chain: bool,
    },
}

/// The consequence of one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    /// Something may have changed: look at the directory again.
    pub changed: bool,
    /// The watches no longer describe the path: build them again.
    pub rebuild: bool,
}

impl Effect {
    /// Both effects of a run of events (either one asked for is kept).
    pub fn merge(self, other: Effect) -> Effect {
        Effect { changed: self.changed || other.changed, rebuild: self.rebuild || other.rebuild }
    }
}

/// The effect of one event: any change inside the directory asks for a look; a lost
/// queue, a replaced directory or a replaced link on the way to it also asks for the
/// watches to be rebuilt; other names in a parent are ignored.
pub fn effect(source: Source) -> Effect {
    match source {
        Source::Overflow => Effect { changed: true, rebuild: true },
        Source::Dir { gone } => Effect { changed: true, rebuild: gone },
        Source::Parent { on_chain: true } => Effect { changed: true, rebuild: true },
        Source::Parent { on_chain: false } => Effect::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_watch_overflow_rebuilds() {
        assert_eq!(effect(Source::Overflow), Effect { changed: true, rebuild: true });
    }

    #[test]
    fn test_watch_dir_events() {
        assert_eq!(effect(Source::Dir { gone: false }), Effect { changed: true, rebuild: false });
        assert_eq!(effect(Source::Dir { gone: true }), Effect { changed: true, rebuild: true });
    }

    #[test]
    fn test_watch_parent_only_the_chain_name() {
        assert_eq!(effect(Source::Parent { on_chain: true }), Effect { changed: true, rebuild: true });
        assert_eq!(effect(Source::Parent { on_chain: false }), Effect::default());
    }

    #[test]
    fn merge_keeps_either() {
        let a = Effect { changed: true, rebuild: false };
        let b = Effect { changed: false, rebuild: true };
        assert_eq!(a.merge(b), Effect { changed: true, rebuild: true });
        assert_eq!(Effect::default().merge(Effect::default()), Effect::default());
    }
}
