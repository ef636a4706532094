//! runit-init's decisions (spec/init.md §2): what its argument means and the ordered
//! file operations that carry it out. The bin performs them and prints the messages.

use alloc::vec::Vec;

/// What runit-init was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Started as PID 1: exec runit.
    ExecRunit,
    /// `0`: halt (power off).
    Halt,
    /// `6`: reboot.
    Reboot,
    /// `-V`: version line, then usage.
    Version,
    /// Anything else: usage (exit 0, as runit-init does).
    Usage,
}

/// Decides from the pid and the first argument. Only its **first byte** matters
/// (`0foo` halts), as in runit-init; an argument starting with `-V` (`-Vx` too) is `-V`.
pub fn command(is_pid1: bool, first_arg: Option<&[u8]>) -> Command {
    if is_pid1 {
        return Command::ExecRunit;
    }
    match first_arg {
        Some(a) if a.first() == Some(&b'0') => Command::Halt,
        Some(a) if a.first() == Some(&b'6') => Command::Reboot,
        Some([b'-', b'V', ..]) => Command::Version,
        Some(_) | None => Command::Usage,
    }
}

/// Which flag file a step touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// The stop flag.
    Stopit,
    /// The reboot flag.
    Reboot,
}

/// One file operation or signal, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Open-truncate (create) the flag file; failure is fatal (`unable to create`).
    Create(Flag),
    /// chmod the flag file; failure is fatal (`unable to chmod`) unless `missing_ok`
    /// and the file does not exist.
    Chmod {
        /// Which file.
        flag: Flag,
        /// The mode.
        mode: u32,
        /// ENOENT is not an error.
        missing_ok: bool,
    },
    /// `kill(1, SIGCONT)`, result not checked.
    SignalInit,
}

/// The steps for halt or reboot (empty for anything else).
pub fn steps(cmd: Command) -> Vec<Step> {
    let mut v = Vec::new();
    match cmd {
        Command::Halt => {
            v.push(Step::Create(Flag::Stopit));
            v.push(Step::Chmod { flag: Flag::Stopit, mode: 0o100, missing_ok: false });
            v.push(Step::Chmod { flag: Flag::Reboot, mode: 0, missing_ok: true });
            v.push(Step::SignalInit);
        }
        Command::Reboot => {
            v.push(Step::Create(Flag::Stopit));
            v.push(Step::Chmod { flag: Flag::Stopit, mode: 0o100, missing_ok: false });
            v.push(Step::Create(Flag::Reboot));
            v.push(Step::Chmod { flag: Flag::Reboot, mode: 0o100, missing_ok: false });
            v.push(Step::SignalInit);
        }
        Command::ExecRunit | Command::Version | Command::Usage => {}
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_command_first_byte() {
        assert_eq!(command(false, Some(b"0")), Command::Halt);
        assert_eq!(command(false, Some(b"0xyz")), Command::Halt);
        assert_eq!(command(false, Some(b"6")), Command::Reboot);
        assert_eq!(command(false, Some(b"-V")), Command::Version);
        assert_eq!(command(false, Some(b"-Vx")), Command::Version);
        assert_eq!(command(false, Some(b"--V")), Command::Usage);
        assert_eq!(command(false, Some(b"")), Command::Usage);
        assert_eq!(command(false, Some(b"1")), Command::Usage);
        assert_eq!(command(false, None), Command::Usage);
        assert_eq!(command(true, Some(b"0")), Command::ExecRunit);
    }

    #[test]
    fn test_steps_halt_reboot() {
        let h = steps(Command::Halt);
        assert_eq!(h.first(), Some(&Step::Create(Flag::Stopit)));
        assert!(h.contains(&Step::Chmod { flag: Flag::Reboot, mode: 0, missing_ok: true }));
        assert_eq!(h.last(), Some(&Step::SignalInit));
        let r = steps(Command::Reboot);
        assert!(r.contains(&Step::Chmod { flag: Flag::Reboot, mode: 0o100, missing_ok: false }));
        assert_eq!(r.last(), Some(&Step::SignalInit));
        assert!(steps(Command::Usage).is_empty());
    }
}
