//! How runit starts a stage or ctrlaltdel script: its child set-up as a [`ChildPlan`].
//!
//! runit 2.1.2's quirks, kept because a script can observe them:
//! - stage 1 opens the console read-write as its controlling terminal on fd 0 (a failed
//!   open only warns); stages 2 and 3 become session leaders instead;
//! - HUP, PIPE and TERM (blocked and ignored in runit) are back at the default;
//! - a stage starts with an empty mask, CHLD and INT at the default and CONT *ignored*
//!   (the 2.1.2 leak); Debian's runit leaves SIGPWR blocked in stages 2 and 3 (forked
//!   after its first wait), not in stage 1 — so a `kill -PWR` to stage 2 stays pending;
//! - ctrlaltdel keeps runit's mask;
//! - `- runit: enter stage: PATH` is printed by the child just before its exec, and a
//!   failed exec prints `- runit: fatal: unable to start child: PATH: ERROR` and exits 0.

use alloc::vec;
use alloc::vec::Vec;

use crate::errno::Errno;
use crate::spawn::{ChildPlan, Exec, Signal, SignalPlan, SignalSet, Step};

use super::msg::{self, Msg, Paths};
use super::{Script, StageId};

/// Exit code of a stage child whose exec failed (runit's `_exit(0)`).
pub const EXIT_START_FAILED: i32 = 0;

/// A message line with the errno's text (and its newline) cut off: the child appends the
/// text of the errno it meets.
fn prefix(m: Msg, paths: &Paths) -> Vec<u8> {
    let mut l = msg::line(m, paths);
    l.truncate(l.len().saturating_sub(Errno(0).text().len() + 1));
    l
}

/// The child set-up of `script`.
pub fn script_plan(script: Script, paths: &Paths) -> ChildPlan {
    let path = paths.script(script).to_vec();
    let mut steps = Vec::new();
    let mut signals = SignalPlan { default: SignalSet::of(&[Signal::HUP, Signal::PIPE, Signal::TERM]), ..SignalPlan::default() };
    match script {
        Script::Stage(StageId::One) => {
            steps.push(Step::ControllingTerminal { path: paths.console.clone(), warn: prefix(Msg::ConsoleFailed(Errno(0)), paths) })
        }
        Script::Stage(StageId::Two | StageId::Three) => {
            steps.push(Step::NewSession);
            signals.block.insert(Signal::PWR);
        }
        Script::CtrlAltDel => {}
    }
    if let Script::Stage(_) = script {
        signals.clear_mask = true;
        signals.default.extend([Signal::CHLD, Signal::INT]);
        signals.ignore.insert(Signal::CONT);
    }
    steps.push(Step::Signals(signals));
    steps.push(Step::Say(msg::line(Msg::EnterStage(script), paths)));
    let exec =
        Exec { candidates: vec![path.clone()], argv: vec![path], env: None, fail: prefix(Msg::StartFailed(script, Errno(0)), paths) };
    ChildPlan { steps, exec, fail_exit: EXIT_START_FAILED }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(s: Script) -> ChildPlan {
        script_plan(s, &Paths::default())
    }
    const ONE: Script = Script::Stage(StageId::One);
    const TWO: Script = Script::Stage(StageId::Two);
    const THREE: Script = Script::Stage(StageId::Three);

    #[test]
    fn stage_one_gets_the_console_as_ctty_and_no_session() {
        let p = plan(ONE);
        assert_eq!(
            p.steps[0],
            Step::ControllingTerminal { path: b"/dev/console".to_vec(), warn: b"- runit: warning: unable to open /dev/console: ".to_vec() }
        );
        assert!(!p.new_session());
        assert!(p.blocked().is_empty());
    }

    #[test]
    fn stages_two_and_three_setsid_and_keep_pwr_blocked() {
        for s in [TWO, THREE] {
            let p = plan(s);
            assert!(p.new_session());
            assert_eq!(p.blocked(), SignalSet::of(&[Signal::PWR]));
            assert!(!p.steps.iter().any(|s| matches!(s, Step::ControllingTerminal { .. })));
        }
    }

    #[test]
    fn stages_ignore_cont_and_clear_the_mask_ctrlaltdel_does_not() {
        for s in [ONE, TWO, THREE] {
            let p = plan(s);
            assert_eq!(p.ignored(), SignalSet::of(&[Signal::CONT]));
            let Some(Step::Signals(sp)) = p.steps.iter().find(|s| matches!(s, Step::Signals(_))) else { panic!("no signal step") };
            assert!(sp.clear_mask);
            assert_eq!(sp.default, SignalSet::of(&[Signal::HUP, Signal::PIPE, Signal::TERM, Signal::CHLD, Signal::INT]));
        }
        let p = plan(Script::CtrlAltDel);
        assert_eq!(
            p.steps,
            [
                Step::Signals(SignalPlan { default: SignalSet::of(&[Signal::HUP, Signal::PIPE, Signal::TERM]), ..SignalPlan::default() }),
                Step::Say(b"- runit: enter stage: /etc/runit/ctrlaltdel\n".to_vec())
            ]
        );
        assert!(!p.new_session() && p.ignored().is_empty() && p.blocked().is_empty());
    }

    #[test]
    fn announces_then_execs_the_script_and_exits_0_on_failure() {
        let p = plan(TWO);
        assert_eq!(p.steps.last(), Some(&Step::Say(b"- runit: enter stage: /etc/runit/2\n".to_vec())));
        assert_eq!(p.exec.candidates, [b"/etc/runit/2".to_vec()]);
        assert_eq!(p.exec.argv, [b"/etc/runit/2".to_vec()]);
        assert_eq!(p.exec.env, None);
        assert_eq!(p.exec.fail, b"- runit: fatal: unable to start child: /etc/runit/2: ".to_vec());
        assert_eq!(p.fail_exit, 0);
    }
}
