//! How runsvdir starts a runsv: its child set-up as a [`ChildPlan`].

use alloc::vec;
use alloc::vec::Vec;

use crate::chpst::path;
use crate::spawn::{ChildPlan, Exec, Signal, SignalPlan, Step};

use super::msg;

/// The runsv child for service `name` of `dir`: the signals runsvdir handles (and the
/// strays it unblocks) back to default and unblocked; with `-P` a new session; then into
/// the scanned directory (`scan_fd`, the descriptor of the last scan standing in for
/// runit's working directory) and runit's PATH search for `runsv` over `path_env`
/// (`None`: `/bin:/usr/bin`). Any failure prints
/// `runsvdir DIR: fatal: unable to start runsv NAME: ERROR` and exits 100.
pub fn runsv_plan(
    dir: &[u8],
    name: &[u8],
    scan_fd: Option<i32>,
    new_session: bool,
    path_env: Option<&[u8]>,
    reset: Vec<Signal>,
) -> ChildPlan {
    let fail = msg::exec_failed_prefix(dir, name);
    let mut steps = vec![Step::Signals(SignalPlan::reset(reset))];
    if new_session {
        steps.push(Step::NewSession);
    }
    if let Some(fd) = scan_fd {
        steps.push(Step::Fchdir { fd, fail: fail.clone() });
    }
    let exec = Exec { candidates: path::candidates(b"runsv", path_env), argv: vec![b"runsv".to_vec(), name.to_vec()], env: None, fail };
    ChildPlan { steps, exec, fail_exit: msg::EXIT_FATAL }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(pgrp: bool) -> ChildPlan {
        runsv_plan(b"/sv", b"a", Some(7), pgrp, Some(b"/x:/y"), vec![Signal::TERM, Signal(40)])
    }

    #[test]
    fn searches_path_from_the_scanned_directory() {
        let p = plan(false);
        assert_eq!(p.exec.candidates, [b"/x/runsv".to_vec(), b"/y/runsv".to_vec()]);
        assert_eq!(p.exec.argv, [b"runsv".to_vec(), b"a".to_vec()]);
        assert_eq!(p.exec.env, None);
        assert!(p.steps.contains(&Step::Fchdir { fd: 7, fail: b"runsvdir /sv: fatal: unable to start runsv a: ".to_vec() }));
        assert_eq!(p.exec.fail, b"runsvdir /sv: fatal: unable to start runsv a: ".to_vec());
        assert_eq!(p.fail_exit, 100);
    }

    #[test]
    fn default_path_without_path_env() {
        let p = runsv_plan(b"/sv", b"a", None, false, None, vec![]);
        assert_eq!(p.exec.candidates, [b"/bin/runsv".to_vec(), b"/usr/bin/runsv".to_vec()]);
        assert!(!p.steps.iter().any(|s| matches!(s, Step::Fchdir { .. })));
    }

    #[test]
    fn dash_p_gives_a_new_session_after_the_signal_reset() {
        assert!(!plan(false).new_session());
        let p = plan(true);
        assert!(p.new_session());
        assert_eq!(p.steps[0], Step::Signals(SignalPlan::reset(vec![Signal::TERM, Signal(40)])));
        assert_eq!(p.steps[1], Step::NewSession);
        assert!(p.blocked().is_empty() && p.ignored().is_empty());
    }
}
