//! The step executor: queued work issued as actions (one obligation at a time), the
//! pump that interleaves it with input processing, and runit's "about to read" decisions.

use super::*;

impl Logger {
    // ---- the step executor ------------------------------------------------------------

    pub(super) fn obligation(&mut self, step: Step, action: Action) {
        self.out.push_back(action);
        self.awaiting = Some(step);
    }

    pub(super) fn start_shutdown(&mut self) {
        self.shutting_down = true;
        for d in 0..self.dirs.len() {
            self.queue.push_back(Step::AwaitProcessor(d));
            self.queue.push_back(Step::Close(d));
        }
        self.queue.push_back(Step::Exit(0));
    }

    /// Runs one step. Returns false if it blocks (it is then back at the queue head).
    pub(super) fn run_step(&mut self, step: Step) -> bool {
        match step {
            Step::Open(d) => self.obligation(step, Action::OpenDir { dir: d }),
            Step::ReadConfig(d) => self.obligation(step, Action::ReadConfig { dir: d }),
            Step::StatCurrent(d) => self.obligation(step, Action::StatCurrent { dir: d }),
            Step::Recover(d, name) => self.obligation(step, Action::RenameCurrent { dir: d, to: name }),
            Step::Cleanup(d, _) | Step::DiskFull(d) => self.obligation(step, Action::ScanDir { dir: d }),
            Step::DeleteOldest(d, name) => {
                let n = self.dirs[d].name.clone();
                self.info(&[b"delete: ", &n, b"/", &name]);
                self.obligation(step, Action::Unlink { dir: d, name })
            }
            Step::UnlinkLeftover(d, name) | Step::DiskFullUnlink(d, name) => self.obligation(step, Action::Unlink { dir: d, name }),
            Step::ProcFailedUnlink(d, name) => self.obligation(step, Action::Unlink { dir: d, name: suffixed(name, b't') }),
            Step::OpenCurrent(d, _) => self.obligation(step, Action::OpenCurrent { dir: d }),
            Step::ChmodCurrent(d, mode) => self.obligation(step, Action::ChmodCurrent { dir: d, mode }),
            Step::Opened(d, append) => self.run_opened(d, append),
            Step::CheckAnyOpen => self.run_check_any_open(),
            Step::Write(d) => self.run_write(d),
            Step::Rotate(d) => self.run_rotate(d),
            Step::AwaitProcessor(d) => return self.run_await_processor(d),
            Step::RotateNamed(d) => self.run_rotate_named(d),
            Step::Fsync(d) => self.obligation(step, Action::FsyncCurrent { dir: d }),
            Step::CloseCurrent(d, renamed) => self.run_close_current(d, renamed),
            Step::RenameCurrent(d, name) => self.obligation(step, Action::RenameCurrent { dir: d, to: name }),
            Step::StartProcessor(d, name) => self.run_start_processor(d, name),
            Step::Carry(d) => {
                let segs = core::mem::take(&mut self.dirs[d].carry);
                for (b, unit_end) in segs {
                    self.put(d, &b, unit_end);
                }
            }
            Step::ProcRenameT(d, name) => {
                self.obligation(step, Action::RenameFile { dir: d, from: suffixed(name, b't'), to: suffixed(name, b's') })
            }
            Step::ProcChmodS(d, name) => self.obligation(step, Action::ChmodFile { dir: d, name: suffixed(name, b's'), mode: 0o744 }),
            Step::ProcUnlinkU(d, name) => self.obligation(step, Action::Unlink { dir: d, name: suffixed(name, b'u') }),
            Step::ProcRenameState(d, _) => self.obligation(step, Action::RenameState { dir: d }),
            Step::Close(d) => self.run_close(d),
            Step::CloseDir(d) => {
                self.out.push_back(Action::CloseDir { dir: d });
                self.dirs[d].open = false;
                self.dirs[d].cfg.processor = None;
            }
            Step::Udp(d, ref dgram) => {
                let action = Action::SendUdp { udp: self.dirs[d].cfg.udp, bytes: dgram.clone() };
                self.obligation(step, action);
            }
            Step::Exit(code) => {
                self.out.push_back(Action::Exit(code));
                self.queue.clear();
                self.done = true;
            }
        }
        true
    }

    fn run_opened(&mut self, d: usize, append: bool) {
        self.dirs[d].open = true;
        let name = self.dirs[d].name.clone();
        self.info(&[if append { b"append: " } else { b"new: " }, &name, b"/current"]);
    }

    fn run_check_any_open(&mut self) {
        if !self.dirs.iter().any(|d| d.open) {
            self.stderr(diag::fatalx("no functional log directories."));
            self.queue.clear();
            self.queue.push_front(Step::Exit(111));
        }
    }

    fn run_write(&mut self, d: usize) {
        if !self.dirs[d].batch.is_empty() {
            let bytes = core::mem::take(&mut self.dirs[d].batch);
            self.obligation(Step::Write(d), Action::Write { dir: d, bytes });
        }
    }

    fn run_rotate(&mut self, d: usize) {
        if !self.dirs[d].open {
            self.dirs[d].deadline = None;
            self.dirs[d].cfg.t_max = 0;
        } else {
            self.push_front_all([Step::Write(d), Step::AwaitProcessor(d), Step::RotateNamed(d)]);
        }
    }

    /// Blocks (false, the step back at the queue head) while a processor is busy.
    fn run_await_processor(&mut self, d: usize) -> bool {
        if self.dirs[d].proc != Proc::Idle {
            self.queue.push_front(Step::AwaitProcessor(d));
            return false;
        }
        true
    }

    fn run_rotate_named(&mut self, d: usize) {
        let suffix = if self.dirs[d].cfg.processor.is_some() { b'u' } else { b's' };
        let name = self.next_name(d, suffix);
        let now = self.now.mono;
        let dir = &mut self.dirs[d];
        if dir.cfg.t_max > 0 && dir.deadline.is_some_and(|t| t <= now) {
            dir.deadline = Some(now + Span::from_secs(dir.cfg.t_max));
        }
        if dir.size > 0 {
            let mut seq = alloc::vec![
                Step::Fsync(d),
                Step::ChmodCurrent(d, 0o744),
                Step::CloseCurrent(d, Some(name)),
                Step::RenameCurrent(d, name),
                Step::OpenCurrent(d, true),
                Step::ChmodCurrent(d, 0o644),
                Step::Cleanup(d, (suffix == b'u').then_some(name)),
            ];
            if dir.cfg.processor.is_some() {
                seq.push(Step::StartProcessor(d, name));
            }
            for s in seq.into_iter().rev() {
                self.queue.push_front(s);
            }
        }
    }

    fn run_close_current(&mut self, d: usize, renamed: Option<LogName>) {
        self.out.push_back(Action::CloseCurrent { dir: d });
        if let Some(name) = renamed {
            let dname = self.dirs[d].name.clone();
            let size = fmt_u64(self.dirs[d].size);
            self.info(&[b"rename: ", &dname, b"/current ", &name, b" ", &size]);
        }
    }

    fn run_start_processor(&mut self, d: usize, name: LogName) {
        let Some(command) = self.dirs[d].cfg.processor.clone() else {
            self.dirs[d].proc = Proc::Idle;
            return;
        };
        if matches!(self.dirs[d].proc, Proc::Running { .. }) {
            let n = self.dirs[d].name.clone();
            self.stderr(diag::warnx("processor already running", &n));
        } else {
            let dname = self.dirs[d].name.clone();
            self.info(&[b"processing: ", &dname, b"/", &name]);
            self.obligation(Step::StartProcessor(d, name), Action::StartProcessor { dir: d, input: name, command });
        }
    }

    fn run_close(&mut self, d: usize) {
        if self.dirs[d].open {
            let n = self.dirs[d].name.clone();
            self.info(&[b"close: ", &n]);
            self.push_front_all([Step::Write(d), Step::Fsync(d), Step::ChmodCurrent(d, 0o744), Step::CloseDir(d)]);
        }
    }

    /// Drives queued work, input processing and the idle decisions until an obligation
    /// is outstanding, a pause or block is in effect, or a read is armed.
    pub(super) fn pump(&mut self) {
        // Debug builds bound the work one input can cause, so a logic error that spins
        // here fails a test instead of hanging it (release builds keep logging).
        #[cfg(debug_assertions)]
        let mut cap = crate::StepCap::new("svlogd: the pump of one input", SPIN_LIMIT);
        loop {
            #[cfg(debug_assertions)]
            cap.step();
            if self.done || self.awaiting.is_some() || self.paused_until.is_some() {
                return;
            }
            if (!self.queue.is_empty() || self.udp_line.is_some() || self.has_input()) && self.armed {
                self.armed = false;
                self.out.push_back(Action::DisarmRead);
            }
            if let Some(step) = self.queue.pop_front() {
                if !self.run_step(step) {
                    return;
                }
                continue;
            }
            if let Some(u) = &mut self.udp_line {
                match u.sends.pop_front() {
                    Some((d, dgram)) => self.run_step(Step::Udp(d, dgram)),
                    None => {
                        self.finish_udp_line();
                        true
                    }
                };
                continue;
            }
            if self.has_input() {
                self.process_input();
                continue;
            }
            if !self.idle() {
                continue;
            }
            return;
        }
    }

    /// runit's "about to read" decisions (its `buffer_pread`). Returns true when
    /// nothing more is to be done until an input arrives.
    pub(super) fn idle(&mut self) -> bool {
        if !self.started || self.shutting_down {
            return true;
        }
        let mut queued = false;
        for d in 0..self.dirs.len() {
            if self.dirs[d].open && !self.dirs[d].batch.is_empty() {
                self.queue.push_back(Step::Write(d));
                queued = true;
            }
        }
        if queued {
            return false;
        }
        if self.rotate_asap {
            self.rotate_asap = false;
            for d in 0..self.dirs.len() {
                self.queue.push_back(Step::Rotate(d));
            }
            return false;
        }
        let line_complete = !self.collecting && !self.in_rest;
        // After SIGTERM with every directory given up nothing could take more input:
        // leave it in the pipe for the next svlogd rather than read it into nowhere.
        let nowhere = self.exit_asap && !self.dirs.iter().any(|d| d.open);
        if self.eof || (self.exit_asap && line_complete) || nowhere {
            self.start_shutdown();
            return false;
        }
        if self.reopen_asap {
            self.reopen_asap = false;
            for d in 0..self.dirs.len() {
                self.queue.push_back(Step::Close(d));
                self.queue.push_back(Step::Open(d));
            }
            self.queue.push_back(Step::CheckAnyOpen);
            return false;
        }
        let now = self.now.mono;
        for d in 0..self.dirs.len() {
            let dir = &self.dirs[d];
            if dir.open && dir.cfg.t_max > 0 && dir.deadline.is_some_and(|t| t <= now) {
                self.queue.push_back(Step::Rotate(d));
                queued = true;
            }
        }
        if queued {
            return false;
        }
        let max = if self.exit_asap { 1 } else { READ_SIZE };
        if !self.armed || self.armed_max != max {
            self.armed = true;
            self.armed_max = max;
            self.out.push_back(Action::ArmRead { max });
        }
        true
    }
}
