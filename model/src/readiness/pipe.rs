//! s6's `notification-fd` rule (spec/additions.md §1.2): the supervisor reads the pipe in
//! chunks; the first chunk containing a newline makes the child ready, whatever precedes
//! it; then the read end is closed. EOF before a newline means "never ready in this run"
//! (no error, no kill). Each start gets a fresh pipe, so a fresh [`PipeReadiness`].

/// Bytes per read, as s6-supervise reads.
pub const CHUNK: usize = 512;

/// Where one child's readiness pipe stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PipeReadiness {
    /// Open, no newline seen yet.
    #[default]
    Waiting,
    /// A newline was seen; the read end should be closed.
    Ready,
    /// EOF (or a read error) before any newline; the read end should be closed.
    Closed,
}

/// What one read result means for the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PipeEvent {
    /// Keep reading.
    Nothing,
    /// The child is now ready: record it and close the read end.
    Ready,
    /// The child closed the pipe without a newline: close the read end; not ready.
    ClosedUnready,
}

impl PipeReadiness {
    /// Whether the runtime should keep the read end open and polled.
    pub fn wants_read(self) -> bool {
        self == PipeReadiness::Waiting
    }

    /// `read` returned `chunk` (non-empty).
    pub fn on_data(&mut self, chunk: &[u8]) -> PipeEvent {
        if *self != PipeReadiness::Waiting {
            return PipeEvent::Nothing;
        }
        if chunk.contains(&b'\n') {
            *self = PipeReadiness::Ready;
            PipeEvent::Ready
        } else {
            PipeEvent::Nothing
        }
    }

    /// `read` returned 0 (every holder of the write end closed it) or failed.
    pub fn on_eof(&mut self) -> PipeEvent {
        if *self != PipeReadiness::Waiting {
            return PipeEvent::Nothing;
        }
        *self = PipeReadiness::Closed;
        PipeEvent::ClosedUnready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_pipe_first_newline_is_ready_then_nothing() {
        let mut p = PipeReadiness::default();
        assert!(p.wants_read());
        assert_eq!(p.on_data(b"starting"), PipeEvent::Nothing);
        assert_eq!(p.on_data(b"garbage\x00 then\nmore"), PipeEvent::Ready);
        assert!(!p.wants_read());
        assert_eq!(p.on_data(b"\n"), PipeEvent::Nothing);
        assert_eq!(p.on_eof(), PipeEvent::Nothing);
        assert_eq!(p, PipeReadiness::Ready);
    }

    #[test]
    fn test_pipe_eof_without_newline_is_never_ready() {
        let mut p = PipeReadiness::default();
        assert_eq!(p.on_data(b"no newline"), PipeEvent::Nothing);
        assert_eq!(p.on_eof(), PipeEvent::ClosedUnready);
        assert!(!p.wants_read());
        assert_eq!(p.on_data(b"\n"), PipeEvent::Nothing);
        assert_eq!(p, PipeReadiness::Closed);
    }

    #[test]
    fn test_pipe_bare_newline() {
        let mut p = PipeReadiness::default();
        assert_eq!(p.on_data(b"\n"), PipeEvent::Ready);
    }
}
