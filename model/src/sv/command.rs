//! Command-word dispatch (spec/sv.md §2): exact words first, then the first character;
//! capital `D`/`T`/`X`/`E` are the force variants, any other `s…` word is `status`
//! (LSB mode: only exactly `status`).

use crate::sv::args::Mode;

/// What the first pass does for each service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Print the status line(s).
    Status,
    /// Send control bytes (subject to the skip rule).
    Send,
    /// Send nothing; only wait for the check condition (`sv check`).
    CheckOnly,
}

/// Whether the command waits for its effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitRule {
    /// Never (status).
    Never,
    /// Always (start, stop, restart, force-*, …).
    Always,
    /// Only with `-v` or `-w`.
    IfVerbose,
}

/// A dispatched command word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Command {
    /// What the first pass does.
    pub kind: Kind,
    /// The bytes written to `supervise/control` (empty for status and check).
    pub bytes: &'static [u8],
    /// Whether it waits.
    pub wait: WaitRule,
    /// On timeout print `kill:` and send `k` (force variants).
    pub kill: bool,
}

impl Command {
    /// The bytes whose check conditions the wait evaluates (`C` for `sv check`).
    pub fn wait_bytes(&self) -> &'static [u8] {
        match self.kind {
            Kind::CheckOnly => b"C",
            Kind::Send | Kind::Status => self.bytes,
        }
    }

    /// Whether this invocation waits, given `-v`/`-w`.
    pub fn waits(&self, verbose: bool) -> bool {
        match self.wait {
            WaitRule::Never => false,
            WaitRule::Always => true,
            WaitRule::IfVerbose => verbose,
        }
    }

    /// The byte that decides `ok:`/`fail:` for "runsv not running" (`x` means ok).
    pub fn first_byte(&self) -> u8 {
        self.wait_bytes().first().copied().unwrap_or(0)
    }
}

const fn send(bytes: &'static [u8], wait: WaitRule, kill: bool) -> Command {
    Command { kind: Kind::Send, bytes, wait, kill }
}

const STATUS: Command = Command { kind: Kind::Status, bytes: b"", wait: WaitRule::Never, kill: false };
const CHECK: Command = Command { kind: Kind::CheckOnly, bytes: b"", wait: WaitRule::Always, kill: false };

/// The single control byte for a letter command (`up` → `u`). `x`/`e` never get here
/// (`dispatch` maps them first), so no arm for them.
fn letter(c: u8) -> &'static [u8] {
    match c {
        b'u' => b"u",
        b'd' => b"d",
        b'o' => b"o",
        b't' => b"t",
        b'p' => b"p",
        b'c' => b"c",
        b'h' => b"h",
        b'a' => b"a",
        b'i' => b"i",
        b'k' => b"k",
        b'q' => b"q",
        b'1' => b"1",
        b'2' => b"2",
        _ => b"",
    }
}

/// Maps a command word to its command; `None` is a usage error.
pub fn dispatch(word: &[u8], mode: Mode) -> Option<Command> {
    use WaitRule::{Always, IfVerbose};
    let first = *word.first()?;
    let cmd = match first {
        b'x' | b'e' => send(b"x", IfVerbose, false),
        b'X' | b'E' => send(b"x", Always, true),
        b'D' => send(b"d", Always, true),
        b'T' => send(b"tc", Always, true),
        b'c' if word == b"check" => CHECK,
        b't' if word == b"try-restart" => send(b"tc", Always, false),
        b'u' | b'd' | b'o' | b't' | b'p' | b'c' | b'h' | b'a' | b'i' | b'k' | b'q' | b'1' | b'2' => send(letter(first), IfVerbose, false),
        b's' => match word {
            b"shutdown" => send(b"x", Always, false),
            b"start" => send(b"u", Always, false),
            b"stop" => send(b"d", Always, false),
            b"status" => STATUS,
            _ => match mode {
                Mode::Normal => STATUS,
                Mode::Lsb => return None,
            },
        },
        b'r' => match word {
            b"restart" => send(b"tcu", Always, false),
            b"reload" => send(b"h", Always, false),
            _ => return None,
        },
        b'f' => match word {
            b"force-stop" => send(b"d", Always, true),
            b"force-reload" => send(b"tc", Always, true),
            b"force-restart" => send(b"tcu", Always, true),
            b"force-shutdown" => send(b"x", Always, true),
            _ => return None,
        },
        _ => return None,
    };
    Some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use WaitRule::*;

    fn d(w: &str) -> Option<Command> {
        dispatch(w.as_bytes(), Mode::Normal)
    }
    fn sent(w: &str) -> (&'static [u8], WaitRule, bool) {
        let c = d(w).expect(w);
        assert_eq!(c.kind, Kind::Send, "{w}");
        (c.bytes, c.wait, c.kill)
    }

    #[test]
    fn test_dispatch_status_words() {
        for w in ["status", "s", "stat", "sXYZ"] {
            assert_eq!(d(w), Some(STATUS), "{w}");
        }
        assert_eq!(dispatch(b"status", Mode::Lsb), Some(STATUS));
        for w in ["s", "stat", "sXYZ"] {
            assert_eq!(dispatch(w.as_bytes(), Mode::Lsb), None, "{w}");
        }
    }

    #[test]
    fn test_dispatch_exact_words() {
        assert_eq!(sent("start"), (&b"u"[..], Always, false));
        assert_eq!(sent("stop"), (&b"d"[..], Always, false));
        assert_eq!(sent("shutdown"), (&b"x"[..], Always, false));
        assert_eq!(sent("restart"), (&b"tcu"[..], Always, false));
        assert_eq!(sent("reload"), (&b"h"[..], Always, false));
        assert_eq!(sent("try-restart"), (&b"tc"[..], Always, false));
        assert_eq!(d("check"), Some(CHECK));
        assert_eq!(d("check").map(|c| c.wait_bytes()), Some(&b"C"[..]));
        assert_eq!(sent("force-stop"), (&b"d"[..], Always, true));
        assert_eq!(sent("force-reload"), (&b"tc"[..], Always, true));
        assert_eq!(sent("force-restart"), (&b"tcu"[..], Always, true));
        assert_eq!(sent("force-shutdown"), (&b"x"[..], Always, true));
        // LSB mode accepts the same exact words.
        for w in ["start", "stop", "shutdown", "restart", "check", "force-stop"] {
            assert!(dispatch(w.as_bytes(), Mode::Lsb).is_some(), "{w}");
        }
    }

    #[test]
    fn test_dispatch_capital_force_variants() {
        assert_eq!(sent("D"), (&b"d"[..], Always, true));
        assert_eq!(sent("Down"), (&b"d"[..], Always, true));
        assert_eq!(sent("T"), (&b"tc"[..], Always, true));
        assert_eq!(sent("X"), (&b"x"[..], Always, true));
        assert_eq!(sent("Exit"), (&b"x"[..], Always, true));
    }

    #[test]
    fn test_dispatch_first_letter() {
        let rows: [(&str, &[u8]); 17] = [
            ("up", b"u"),
            ("u", b"u"),
            ("upward", b"u"),
            ("down", b"d"),
            ("dance", b"d"),
            ("once", b"o"),
            ("pause", b"p"),
            ("cont", b"c"),
            ("hup", b"h"),
            ("alarm", b"a"),
            ("interrupt", b"i"),
            ("quit", b"q"),
            ("1", b"1"),
            ("2x", b"2"),
            ("term", b"t"),
            ("kill", b"k"),
            ("exit", b"x"),
        ];
        for (w, b) in rows {
            assert_eq!(sent(w), (b, IfVerbose, false), "{w}");
        }
        assert_eq!(sent("e"), (&b"x"[..], IfVerbose, false));
        assert_eq!(sent("checked"), (&b"c"[..], IfVerbose, false));
        assert_eq!(sent("try"), (&b"t"[..], IfVerbose, false));
    }

    #[test]
    fn test_dispatch_usage() {
        for w in ["", "bogus", "reboot", "rest", "force-foo", "f", "r", "Z", "3", "-v", "U", "S"] {
            assert_eq!(d(w), None, "{w}");
        }
    }

    #[test]
    fn test_waits_and_first_byte() {
        assert!(!STATUS.waits(true));
        assert!(CHECK.waits(false));
        assert!(!sent_cmd("up").waits(false));
        assert!(sent_cmd("up").waits(true));
        assert_eq!(sent_cmd("Exit").first_byte(), b'x');
        assert_eq!(sent_cmd("restart").first_byte(), b't');
        assert_eq!(CHECK.first_byte(), b'C');
    }

    fn sent_cmd(w: &str) -> Command {
        d(w).expect(w)
    }
}
