//! Line assembly and byte placement: collecting, replacement, selection, stderr and UDP
//! copies, the verbatim bulk path, and runit's size-rotation rules per byte position.

use super::*;

impl Logger {
    // ---- byte placement and size rotation -------------------------------------------

    /// Appends `bytes` to `d`'s batch with runit's size rules. `unit_end`: these bytes
    /// end a runit write (a line end or a UDP warning), so the "within `-l` of the
    /// size" rule is checked after them.
    pub(super) fn put(&mut self, d: usize, bytes: &[u8], unit_end: bool) {
        let line_max = self.s.line_max as u64;
        let dir = &mut self.dirs[d];
        if !dir.carry.is_empty() {
            dir.carry.push_back((bytes.to_vec(), unit_end));
            return;
        }
        let max = dir.cfg.size_max;
        let mut b = bytes;
        while !b.is_empty() {
            let take = if max > 0 {
                if dir.size >= max {
                    dir.carry.push_back((b.to_vec(), unit_end));
                    self.queue.push_back(Step::Rotate(d));
                    self.queue.push_back(Step::Carry(d));
                    return;
                }
                ((max - dir.size) as usize).min(b.len())
            } else {
                b.len()
            };
            dir.batch.extend_from_slice(&b[..take]);
            dir.size += take as u64;
            b = &b[take..];
        }
        if unit_end && bytes.last() == Some(&b'\n') && max > 0 {
            if let Some(threshold) = max.checked_sub(line_max) {
                if dir.size >= threshold {
                    self.queue.push_back(Step::Rotate(d));
                }
            }
        }
    }

    pub(super) fn put_line(&mut self, d: usize, stamp: &[u8], line: &[u8]) {
        let dir = &mut self.dirs[d];
        let total = (stamp.len() + dir.cfg.prefix.len() + line.len()) as u64;
        let max = dir.cfg.size_max;
        if dir.carry.is_empty() && (max == 0 || (dir.size < max && dir.size + total <= max)) {
            dir.batch.extend_from_slice(stamp);
            dir.batch.extend_from_slice(&dir.cfg.prefix);
            dir.batch.extend_from_slice(line);
            dir.size += total;
            return;
        }
        let prefix = core::mem::take(&mut self.dirs[d].cfg.prefix);
        self.put(d, stamp, false);
        self.put(d, &prefix, false);
        self.put(d, line, false);
        self.dirs[d].cfg.prefix = prefix;
    }

    pub(super) fn writes_file(&self, d: usize) -> bool {
        let dir = &self.dirs[d];
        dir.open && dir.sel && !dir.cfg.udp_only
    }

    pub(super) fn line_end_all(&mut self) {
        for d in 0..self.dirs.len() {
            if self.writes_file(d) {
                self.put(d, b"\n", true);
            }
        }
    }

    pub(super) fn put_rest(&mut self, bytes: &[u8]) {
        for d in 0..self.dirs.len() {
            if self.writes_file(d) {
                self.put(d, bytes, false);
            }
        }
    }

    pub(super) fn logmatch(&mut self, d: usize, line: &[u8], stale: u8) {
        let dir = &mut self.dirs[d];
        if dir.cfg.inst.is_empty() {
            return;
        }
        dir.sel = true;
        dir.to_stderr = false;
        for &(kind, at) in &dir.instr {
            if pmatch_raw(&dir.cfg.inst[at..], line, stale) {
                match kind {
                    PatternKind::Select => dir.sel = true,
                    PatternKind::Deselect => dir.sel = false,
                    PatternKind::Stderr => dir.to_stderr = true,
                    PatternKind::NoStderr => dir.to_stderr = false,
                }
            }
        }
    }

    pub(super) fn copy_text(&self, d: usize, stamp: &[u8], line: &[u8], dots: bool) -> Vec<u8> {
        let prefix = &self.dirs[d].cfg.prefix;
        let mut v = Vec::with_capacity(stamp.len() + prefix.len() + line.len() + 4);
        v.extend_from_slice(stamp);
        v.extend_from_slice(prefix);
        v.extend_from_slice(line);
        if dots {
            v.extend_from_slice(b"...");
        }
        v.push(b'\n');
        v
    }

    /// Hands one collected line to every open directory. Returns whether datagrams
    /// must be sent first (then file writes wait in `udp_line`).
    pub(super) fn distribute(&mut self, line: &[u8], full: bool, line_end: bool) -> bool {
        let stamp = self.line_stamp;
        let st = &stamp.0[..stamp.1];
        let mut sends = VecDeque::new();
        // runit's line buffer, kept for every line handled here (a SIGHUP can bring in a
        // `+` pattern that reads it). Grown on demand (never zero-filled up to a huge `-l`
        // at once); bytes no line has reached yet read as NUL, as fresh memory would.
        if self.linebuf.len() < line.len() {
            self.linebuf.resize(line.len(), 0);
        }
        self.linebuf[..line.len()].copy_from_slice(line);
        let stale = if line.len() < self.s.line_max { self.linebuf.get(line.len()).copied().unwrap_or(0) } else { 0 };
        for d in 0..self.dirs.len() {
            if !self.dirs[d].open {
                continue;
            }
            self.logmatch(d, line, stale);
            if self.dirs[d].to_stderr {
                let t = self.copy_text(d, st, line, full);
                self.stderr(t);
            }
            if self.dirs[d].sel && self.dirs[d].cfg.udp.port != 0 {
                sends.push_back((d, self.copy_text(d, st, line, full)));
            }
        }
        if !sends.is_empty() {
            self.udp_line = Some(UdpLine { line: line.to_vec(), stamp, sends, outcomes: Vec::new(), line_end });
            return true;
        }
        for d in 0..self.dirs.len() {
            if self.writes_file(d) {
                self.put_line(d, st, line);
            }
        }
        if line_end {
            self.line_end_all();
        }
        false
    }

    pub(super) fn replace_into(&mut self, bytes: &[u8]) {
        match self.s.repl {
            None => self.collect.extend_from_slice(bytes),
            Some(r) => {
                for &b in bytes {
                    let c = if !(32..=126).contains(&b) || self.s.replace.contains(&b) { r } else { b };
                    self.collect.push(c);
                }
            }
        }
    }

    /// Processes buffered input until it is used up or queued work must run first.
    pub(super) fn process_input(&mut self) {
        let input = core::mem::take(&mut self.input);
        let mut pos = self.pos;
        let line_max = self.s.line_max;
        // Debug builds bound this loop too (see `pump`).
        #[cfg(debug_assertions)]
        let mut cap = crate::StepCap::new("svlogd: the input loop", SPIN_LIMIT);
        while pos < input.len() && self.queue.is_empty() && self.udp_line.is_none() {
            #[cfg(debug_assertions)]
            cap.step();
            let data = &input[pos..];
            if self.in_rest {
                match find_newline(data) {
                    Some(i) => {
                        self.put_rest(&data[..i]);
                        pos += i + 1;
                        self.in_rest = false;
                        self.line_end_all();
                    }
                    None => {
                        self.put_rest(data);
                        pos = input.len();
                    }
                }
                continue;
            }
            if !self.collecting {
                if let Some(n) = self.bulk(data) {
                    pos += n;
                    continue;
                }
                self.collecting = true;
                self.line_stamp = self.stamp_now();
            }
            let need = line_max - self.collect.len();
            let window = &data[..need.min(data.len())];
            match find_newline(window) {
                Some(i) => {
                    if self.collect.is_empty() && self.s.repl.is_none() {
                        self.distribute(&window[..i], false, true);
                    } else {
                        self.replace_into(&window[..i]);
                        let line = core::mem::take(&mut self.collect);
                        self.distribute(&line, false, true);
                        self.collect = line;
                        self.collect.clear();
                    }
                    self.collecting = false;
                    pos += i + 1;
                }
                None if window.len() == need => {
                    self.replace_into(window);
                    let line = core::mem::take(&mut self.collect);
                    self.distribute(&line, true, false);
                    self.collect = line;
                    self.collect.clear();
                    self.collecting = false;
                    self.in_rest = true;
                    pos += need;
                }
                None => {
                    self.replace_into(window);
                    pos = input.len();
                }
            }
            for d in 0..self.dirs.len() {
                if self.dirs[d].batch.len() >= BATCH_LIMIT && self.queue.is_empty() {
                    self.queue.push_back(Step::Write(d));
                }
            }
        }
        if pos >= input.len() {
            self.pos = 0;
            let mut buf = input;
            buf.clear();
            self.out.push_back(Action::Recycle(buf));
        } else {
            self.pos = pos;
            self.input = input;
        }
    }

    /// The fast path: when no byte is altered or copied elsewhere (no timestamp,
    /// replacement, prefix, pattern, UDP or stderr copy), files receive the input's
    /// complete lines verbatim, so a whole run of lines is appended at once, up to the
    /// last newline that keeps every directory below its rotation point (then no line
    /// end inside the run could have triggered one). Returns the bytes consumed.
    pub(super) fn bulk(&mut self, data: &[u8]) -> Option<usize> {
        if self.s.repl.is_some() || self.s.stamp != stamp::StampKind::None {
            return None;
        }
        let line_max = self.s.line_max as u64;
        let mut room = usize::MAX;
        for d in &self.dirs {
            if !d.open {
                continue;
            }
            if !d.cfg.inst.is_empty() || d.cfg.udp.port != 0 || d.to_stderr || !d.carry.is_empty() {
                return None;
            }
            if !d.sel || d.cfg.udp_only {
                continue;
            }
            if !d.cfg.prefix.is_empty() {
                return None;
            }
            let max = d.cfg.size_max;
            if max > 0 {
                let limit = match max.checked_sub(line_max) {
                    Some(t) => t.saturating_sub(1),
                    None => max,
                };
                room = room.min(limit.saturating_sub(d.size).min(usize::MAX as u64) as usize);
            }
        }
        let window = &data[..room.min(data.len())];
        let end = crate::svlogd::scan::rfind_newline(window)? + 1;
        let run = &window[..end];
        for d in 0..self.dirs.len() {
            if self.writes_file(d) {
                let dir = &mut self.dirs[d];
                dir.batch.extend_from_slice(run);
                dir.size += end as u64;
            }
        }
        Some(end)
    }

    pub(super) fn has_input(&self) -> bool {
        self.pos < self.input.len()
    }

    pub(super) fn finish_udp_line(&mut self) {
        let Some(u) = self.udp_line.take() else { return };
        let st = &u.stamp.0[..u.stamp.1];
        for d in 0..self.dirs.len() {
            if !self.dirs[d].open {
                continue;
            }
            for (od, outcome, dgram) in &u.outcomes {
                if *od != d {
                    continue;
                }
                match outcome {
                    UdpOutcome::Sent => {}
                    UdpOutcome::NoSocket => {
                        let mut w = b"warning: no udp socket available: ".to_vec();
                        w.extend_from_slice(&self.copy_text(d, st, &u.line, false));
                        self.put(d, &w, true);
                    }
                    UdpOutcome::Failed => {
                        let mut w = b"warning: failure sending through udp: ".to_vec();
                        w.extend_from_slice(dgram);
                        self.put(d, &w, true);
                    }
                }
            }
            if self.writes_file(d) {
                self.put_line(d, st, &u.line);
            }
        }
        if u.line_end {
            self.line_end_all();
        }
    }
}
