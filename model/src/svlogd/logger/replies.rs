//! Replies to obligations, processor exits and ticks: what each result means for the
//! directory (warnings, pauses, follow-up steps). [`Logger::on_reply`] pairs the step
//! that issued the obligation with its reply; each step's reply has its own function.

use super::*;

impl Logger {
    // ---- replies --------------------------------------------------------------------

    pub(super) fn on_reply(&mut self, step: Step, input: Input) {
        match (step, input) {
            (Step::Open(d), Input::DirOpened(r)) => self.reply_open(d, r),
            (Step::ReadConfig(d), Input::ConfigRead(r)) => self.reply_config(d, r),
            (Step::StatCurrent(d), Input::CurrentStat(r)) => self.reply_stat_current(d, r),
            (step @ Step::Cleanup(d, exclude), Input::Scanned(r)) => match r {
                Err(e) => {
                    let n = self.dirs[d].name.clone();
                    self.pause(diag::pause2("unable to open directory, want rotate", &n, e), Some(step));
                }
                Ok(names) => self.cleanup(d, &names, exclude),
            },
            (Step::UnlinkLeftover(_, name), Input::Done(Err(e))) => {
                self.stderr(diag::warn2("unable to unlink processor leftover", &name, e));
            }
            (Step::DeleteOldest(d, _), Input::Done(Err(e))) => {
                let n = self.dirs[d].name.clone();
                self.stderr(diag::warn2("unable to unlink oldest logfile", &n, e));
            }
            (Step::Write(d), Input::Wrote { result, written, buf }) => self.reply_write(d, result, written, buf),
            (step @ Step::DiskFull(d), Input::Scanned(r)) => self.reply_disk_full_scan(step, d, r),
            (Step::DiskFullUnlink(d, _), Input::Done(Err(e))) => {
                let n = self.dirs[d].name.clone();
                self.stderr(diag::warn2("unable to unlink oldest logfile", &n, e));
                self.pause(diag::pause2("unable to write to current", &n, Errno::ENOSPC), None);
            }
            (step @ Step::StartProcessor(d, name), Input::Spawned(r)) => match r {
                Ok(pid) => self.dirs[d].proc = Proc::Running { pid, name },
                Err(e) => {
                    let n = self.dirs[d].name.clone();
                    self.pause(diag::pause2("unable to fork for processor", &n, e), Some(step));
                }
            },
            (Step::ProcFailedUnlink(d, name), Input::Done(_)) => self.reply_proc_failed_unlink(d, name),
            (Step::ProcUnlinkU(d, name), Input::Done(Err(_))) => self.reply_proc_unlink_u_failed(d, name),
            (step @ Step::ProcRenameState(d, name), Input::Done(r)) => self.reply_proc_rename_state(step, d, name, r),
            (Step::Udp(d, dgram), Input::UdpSent(outcome)) => {
                if let Some(u) = &mut self.udp_line {
                    u.outcomes.push((d, outcome, dgram));
                }
            }
            (step @ (Step::Recover(d, _) | Step::RenameCurrent(d, _)), Input::Done(Err(e))) => {
                self.retry_later(step, d, "unable to rename current", e)
            }
            (step @ Step::OpenCurrent(d, true), Input::Done(Err(e))) => self.retry_later(step, d, "unable to create new current", e),
            (step @ Step::OpenCurrent(d, false), Input::Done(Err(e))) => self.retry_later(step, d, "unable to open current", e),
            (step @ Step::ChmodCurrent(d, _), Input::Done(Err(e))) => self.retry_later(step, d, "unable to set mode of current", e),
            (step @ Step::Fsync(d), Input::Done(Err(e))) => self.retry_later(step, d, "unable to fsync current logfile", e),
            (step @ Step::ProcRenameT(d, _), Input::Done(Err(e))) => self.retry_later(step, d, "unable to rename processed", e),
            (step @ Step::ProcChmodS(d, _), Input::Done(Err(e))) => self.retry_later(step, d, "unable to set mode of processed", e),
            (Step::RenameCurrent(d, _), Input::Done(Ok(()))) => self.dirs[d].size = 0,
            (
                Step::Recover(..)
                | Step::OpenCurrent(..)
                | Step::ChmodCurrent(..)
                | Step::Fsync(..)
                | Step::ProcRenameT(..)
                | Step::ProcChmodS(..)
                | Step::UnlinkLeftover(..)
                | Step::DeleteOldest(..)
                | Step::DiskFullUnlink(..)
                | Step::ProcUnlinkU(..),
                Input::Done(Ok(())),
            ) => {}
            (step, input) => {
                // A reply that does not belong to the step: a runtime bug. Keep going.
                debug_assert!(false, "unexpected reply {input:?} to {step:?}");
            }
        }
    }

    /// A file operation failed: runit's pause line, and the same step again after the pause.
    fn retry_later(&mut self, step: Step, d: usize, what: &str, e: Errno) {
        let n = self.dirs[d].name.clone();
        self.pause(diag::pause2(what, &n, e), Some(step));
    }

    fn reply_open(&mut self, d: usize, r: Result<Option<Tai64n>, (OpenStep, Errno)>) {
        match r {
            Err((what, e)) => {
                let n = self.dirs[d].name.clone();
                if what != OpenStep::Open {
                    self.info(&[b"close: ", &n]);
                }
                let msg = match what {
                    OpenStep::Open => "unable to open log directory",
                    OpenStep::Chdir => "unable to change directory",
                    OpenStep::Lock => "unable to lock directory",
                };
                self.stderr(diag::warn2(msg, &n, e));
            }
            Ok(max) => {
                let dir = &mut self.dirs[d];
                dir.cfg = Config::default();
                dir.instr.clear();
                dir.size = 0;
                dir.sel = true;
                dir.deadline = None;
                if let Some(m) = max {
                    if m > dir.last_name {
                        dir.last_name = m;
                    }
                }
                self.queue.push_front(Step::ReadConfig(d));
            }
        }
    }

    fn reply_config(&mut self, d: usize, r: Result<Option<Vec<u8>>, Errno>) {
        let n = self.dirs[d].name.clone();
        match r {
            Err(e) => self.stderr(diag::warn2("unable to read config", &n, e)),
            Ok(None) => {}
            Ok(Some(bytes)) => {
                self.info(&[b"read: ", &n, b"/config"]);
                let mut warnings = Vec::new();
                config::parse_into(&bytes, &mut self.dirs[d].cfg, &mut warnings);
                for w in warnings {
                    let line = match w {
                        ConfigWarning::BadAddress(v) => diag::warnx("unable to scan ip address", &v),
                        ConfigWarning::BadPort(v) => diag::warnx("unable to scan port number", &v),
                    };
                    self.stderr(line);
                }
                let t = self.dirs[d].cfg.t_max;
                self.dirs[d].deadline = (t > 0).then(|| self.now.mono + Span::from_secs(t));
                let dir = &mut self.dirs[d];
                dir.instr = config::instructions(&dir.cfg.inst);
            }
        }
        self.queue.push_front(Step::StatCurrent(d));
    }

    fn reply_stat_current(&mut self, d: usize, r: Result<Option<(u64, bool)>, Errno>) {
        match r {
            Err(e) => {
                let n = self.dirs[d].name.clone();
                self.info(&[b"close: ", &n]);
                self.out.push_back(Action::CloseDir { dir: d });
                self.stderr(diag::warn2("unable to stat current", &n, e));
            }
            Ok(Some((size, owner_x))) if size > 0 && !owner_x => {
                let name = self.next_name(d, b'u');
                self.push_front_all([
                    Step::Recover(d, name),
                    Step::Cleanup(d, Some(name)),
                    Step::OpenCurrent(d, false),
                    Step::ChmodCurrent(d, 0o644),
                    Step::Opened(d, false),
                ]);
            }
            Ok(found) => {
                let append = found.is_some();
                self.dirs[d].size = found.map_or(0, |f| f.0);
                self.push_front_all([Step::OpenCurrent(d, false), Step::ChmodCurrent(d, 0o644), Step::Opened(d, append)]);
            }
        }
    }

    fn reply_write(&mut self, d: usize, result: Result<(), Errno>, written: usize, mut buf: Vec<u8>) {
        match result {
            Ok(()) => {
                buf.clear();
                if self.dirs[d].batch.is_empty() {
                    self.dirs[d].batch = buf;
                }
            }
            Err(e) => {
                buf.drain(..written.min(buf.len()));
                let later = core::mem::take(&mut self.dirs[d].batch);
                buf.extend_from_slice(&later);
                self.dirs[d].batch = buf;
                let cfg = &self.dirs[d].cfg;
                if e == Errno::ENOSPC && cfg.n_min < cfg.n_max {
                    self.queue.push_front(Step::Write(d));
                    self.queue.push_front(Step::DiskFull(d));
                } else {
                    self.retry_later(Step::Write(d), d, "unable to write to current", e);
                }
            }
        }
    }

    fn reply_disk_full_scan(&mut self, step: Step, d: usize, r: Result<Vec<LogName>, Errno>) {
        let n = self.dirs[d].name.clone();
        let names = match r {
            Err(e) => return self.pause(diag::pause2("unable to open directory, want remove old logfile", &n, e), Some(step)),
            Ok(names) => names,
        };
        let protected = self.protected(d);
        let oldest = names.iter().filter(|x| Some(**x) != protected).min().copied();
        match oldest {
            Some(o) if names.len() as u64 > self.dirs[d].cfg.n_min => {
                let mut l = b"svlogd: warning: out of disk space, delete: ".to_vec();
                l.extend_from_slice(&n);
                l.push(b'/');
                l.extend_from_slice(&o);
                l.push(b'\n');
                self.stderr(l);
                self.queue.push_front(Step::DiskFullUnlink(d, o));
            }
            _ => self.pause(diag::pause2("unable to write to current", &n, Errno::ENOSPC), None),
        }
    }

    fn reply_proc_failed_unlink(&mut self, d: usize, name: LogName) {
        if self.exit_asap {
            // After SIGTERM a failed processor is not restarted (its `.u` stays for
            // the next run): a processor that keeps failing on a full disk must not
            // hold the shutdown forever.
            let n = self.dirs[d].name.clone();
            self.stderr(diag::warnx("processor failed after sigterm, not restarted", &n));
            self.dirs[d].proc = Proc::Idle;
        } else {
            self.dirs[d].proc = Proc::RestartAt { name, at: self.now.mono + PAUSE };
        }
    }

    fn reply_proc_unlink_u_failed(&mut self, d: usize, name: LogName) {
        let n = self.dirs[d].name.clone();
        let mut l = b"svlogd: warning: unable to unlink: ".to_vec();
        l.extend_from_slice(&n);
        l.push(b'/');
        l.extend_from_slice(&suffixed(name, b'u'));
        l.push(b'\n');
        self.stderr(l);
    }

    fn reply_proc_rename_state(&mut self, step: Step, d: usize, name: LogName, r: Result<(), Errno>) {
        match r {
            Err(e) => self.retry_later(step, d, "unable to rename state", e),
            Ok(()) => {
                let n = self.dirs[d].name.clone();
                self.info(&[b"processed: ", &n, b"/", &suffixed(name, b's')]);
                self.dirs[d].proc = Proc::Idle;
            }
        }
    }

    /// Queues `steps` at the head of the queue, in their order (before anything queued).
    pub(super) fn push_front_all<const N: usize>(&mut self, steps: [Step; N]) {
        for s in steps.into_iter().rev() {
            self.queue.push_front(s);
        }
    }

    /// runit's `rmoldest`: unlink processor leftovers (`.t`), count `.s`/`.u`, delete
    /// the oldest when more than `n`. `exclude` is the `.u` just made for the processor
    /// (or recovered at start-up): as Debian's svlogd does, it is neither counted nor
    /// deletable; a `.u` whose processor is still busy is never deleted either.
    #[allow(clippy::unnecessary_map_or)] // is_none_or needs Rust 1.82; the MSRV is 1.80
    pub(super) fn cleanup(&mut self, d: usize, names: &[LogName], exclude: Option<LogName>) {
        let protected = self.protected(d);
        let mut count = 0u64;
        let mut oldest: Option<LogName> = None;
        let mut steps = Vec::new();
        for n in names {
            if let Some(t) = name_time(n) {
                if t > self.dirs[d].last_name {
                    self.dirs[d].last_name = t;
                }
            }
            if n[26] == b't' {
                steps.push(Step::UnlinkLeftover(d, *n));
            } else if Some(*n) == exclude {
                continue;
            } else {
                count += 1;
                if Some(*n) != protected && oldest.map_or(true, |o| *n < o) {
                    oldest = Some(*n);
                }
            }
        }
        let n_max = self.dirs[d].cfg.n_max;
        if n_max > 0 && count > n_max {
            if let Some(o) = oldest {
                steps.push(Step::DeleteOldest(d, o));
            }
        }
        for s in steps.into_iter().rev() {
            self.queue.push_front(s);
        }
    }

    pub(super) fn on_child_exit(&mut self, pid: i32, status: i32) {
        let Some(d) = self.dirs.iter().position(|x| matches!(x.proc, Proc::Running { pid: p, .. } if p == pid)) else {
            return;
        };
        let Some(name) = self.dirs[d].proc.name() else { return };
        if !self.dirs[d].open {
            self.dirs[d].proc = Proc::Idle;
            return;
        }
        // runit looks only at the exit code, so a processor killed by a signal counts as
        // a success and its partial output replaces the log; we count it as a failure.
        let failed = status & 0x7f != 0 || (status >> 8) & 0xff != 0;
        if failed {
            let n = self.dirs[d].name.clone();
            self.stderr(diag::warnx("processor failed, restart", &n));
            self.dirs[d].proc = Proc::Finishing { name };
            self.queue.push_front(Step::ProcFailedUnlink(d, name));
        } else {
            self.dirs[d].proc = Proc::Finishing { name };
            self.push_front_all([
                Step::ProcRenameT(d, name),
                Step::ProcChmodS(d, name),
                Step::ProcUnlinkU(d, name),
                Step::ProcRenameState(d, name),
            ]);
        }
    }

    pub(super) fn on_tick(&mut self) {
        let now = self.now.mono;
        if self.paused_until.is_some_and(|t| t <= now) {
            self.paused_until = None;
        }
        for d in 0..self.dirs.len() {
            if let Proc::RestartAt { name, at } = self.dirs[d].proc {
                // Taken even while paused (the start then waits behind the pause), so a
                // past restart time never keeps the deadline in the past.
                if at <= now {
                    self.dirs[d].proc = Proc::Finishing { name };
                    self.queue.push_front(Step::StartProcessor(d, name));
                }
            }
        }
    }
}
