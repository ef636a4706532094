//! How svlogd starts a processor: its child set-up as a [`ChildPlan`].

use alloc::vec;
use alloc::vec::Vec;

use crate::spawn::{ChildPlan, Exec, OpenHow, Signal, SignalPlan, Step};

use super::LogName;

/// Exit code of a processor child whose set-up or exec failed.
pub const EXIT_PROCESSOR_FAILED: i32 = 111;

/// `svlogd: fatal: WHAT: DIR: ` (the errno text follows).
fn fatal(what: &str, dir: &[u8]) -> Vec<u8> {
    let mut v = b"svlogd: fatal: ".to_vec();
    for p in [what.as_bytes(), b": ", dir, b": "] {
        v.extend_from_slice(p);
    }
    v
}

/// The processor of log directory `dir` (its name in messages; `dir_fd` its open fd)
/// for the rotated file `input`, running `sh -c command` with runit's fd layout: the
/// input on 0, `input` with `t` in place of its last byte on 1 (truncated), `state` on 4
/// (created empty when missing), `newstate` on 5 (truncated). The signals svlogd
/// handles in `reset` go back to default and are unblocked.
pub fn processor_plan(dir: &[u8], dir_fd: i32, input: &LogName, command: &[u8], reset: Vec<Signal>) -> ChildPlan {
    let mut output = *input;
    output[26] = b't';
    let moved = fatal("unable to move filedescriptor for processor", dir);
    let open = |path: &[u8], how, to, create_empty, fail: &str| Step::Open {
        path: path.to_vec(),
        how,
        to,
        create_empty,
        fail: fatal(fail, dir),
        move_fail: moved.clone(),
    };
    let steps = vec![
        Step::Signals(SignalPlan::reset(reset)),
        Step::Fchdir { fd: dir_fd, fail: fatal("unable to open input for processor", dir) },
        open(input, OpenHow::ReadNonblock, 0, None, "unable to open input for processor"),
        open(&output, OpenHow::WriteNewNonblock, 1, None, "unable to open output for processor"),
        open(
            b"state",
            OpenHow::ReadNonblock,
            4,
            Some(fatal("unable to create empty state for processor", dir)),
            "unable to open state for processor",
        ),
        open(b"newstate", OpenHow::WriteNewNonblock, 5, None, "unable to open newstate for processor"),
    ];
    let exec = Exec {
        candidates: vec![b"/bin/sh".to_vec()],
        argv: vec![b"sh".to_vec(), b"-c".to_vec(), command.to_vec()],
        env: None,
        fail: fatal("unable to run processor", dir),
    };
    ChildPlan { steps, exec, fail_exit: EXIT_PROCESSOR_FAILED }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: LogName = *b"@400000000000000000000000.s";

    fn fds(p: &ChildPlan) -> Vec<(Vec<u8>, OpenHow, i32, bool)> {
        p.steps
            .iter()
            .filter_map(|s| match s {
                Step::Open { path, how, to, create_empty, .. } => Some((path.clone(), *how, *to, create_empty.is_some())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn fd_layout_is_runits() {
        let p = processor_plan(b"log", 9, &INPUT, b"gzip", vec![Signal::TERM]);
        assert_eq!(
            fds(&p),
            [
                (INPUT.to_vec(), OpenHow::ReadNonblock, 0, false),
                (b"@400000000000000000000000.t".to_vec(), OpenHow::WriteNewNonblock, 1, false),
                (b"state".to_vec(), OpenHow::ReadNonblock, 4, true),
                (b"newstate".to_vec(), OpenHow::WriteNewNonblock, 5, false),
            ]
        );
        assert_eq!(p.steps[1], Step::Fchdir { fd: 9, fail: b"svlogd: fatal: unable to open input for processor: log: ".to_vec() });
    }

    #[test]
    fn state_is_created_empty_with_its_own_message() {
        let p = processor_plan(b"log", 9, &INPUT, b"gzip", vec![]);
        let Some(Step::Open { create_empty, fail, move_fail, .. }) = p.steps.iter().find(|s| matches!(s, Step::Open { to: 4, .. })) else {
            panic!("no state step");
        };
        assert_eq!(create_empty.as_deref(), Some(&b"svlogd: fatal: unable to create empty state for processor: log: "[..]));
        assert_eq!(fail, b"svlogd: fatal: unable to open state for processor: log: ");
        assert_eq!(move_fail, b"svlogd: fatal: unable to move filedescriptor for processor: log: ");
    }

    #[test]
    fn runs_sh_c_and_exits_111_on_failure() {
        let p = processor_plan(b"/var/log/x", 3, &INPUT, b"cat >/dev/null", vec![Signal::TERM, Signal::ALRM, Signal::HUP]);
        assert_eq!(p.exec.candidates, [b"/bin/sh".to_vec()]);
        assert_eq!(p.exec.argv, [b"sh".to_vec(), b"-c".to_vec(), b"cat >/dev/null".to_vec()]);
        assert_eq!(p.exec.fail, b"svlogd: fatal: unable to run processor: /var/log/x: ".to_vec());
        assert_eq!(p.fail_exit, 111);
        assert_eq!(p.steps[0], Step::Signals(SignalPlan::reset(vec![Signal::TERM, Signal::ALRM, Signal::HUP])));
        assert!(!p.new_session());
    }
}
