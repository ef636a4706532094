//! runit-init's argument decision and its steps: total; `0…` halts, `6…` reboots, pid 1
//! always execs runit; every command's step list is well formed (a halt or reboot ends
//! by signalling init, the others touch nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::stage::init::{self, Command, Step};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let arg = if sel & 2 != 0 { None } else { Some(rest) };
    let pid1 = sel & 1 != 0;
    let c = init::command(pid1, arg);
    if pid1 {
        assert_eq!(c, Command::ExecRunit);
    } else {
        match arg.and_then(|a| a.first()) {
            Some(b'0') => assert_eq!(c, Command::Halt),
            Some(b'6') => assert_eq!(c, Command::Reboot),
            _ => assert!(matches!(c, Command::Usage | Command::Version)),
        }
    }
    let steps = init::steps(c);
    match c {
        Command::Halt | Command::Reboot => assert_eq!(steps.last(), Some(&Step::SignalInit)),
        Command::ExecRunit | Command::Version | Command::Usage => assert!(steps.is_empty()),
    }
    let _ = model::stage::msg::init::usage(rest);
});
