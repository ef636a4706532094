//! The svlogd logger machine driven by arbitrary stdin bytes in arbitrary chunks, with
//! signals, clock jumps and (optionally) failing writes: it must never panic (build with
//! `-a`), never stall after end of input (no deadline, no read armed, no child owed, yet
//! not exited), and in the plain configurations it must write exactly the complete lines
//! it was given, byte for byte, across rotations (a final partial line may be added with
//! a newline at end of input, as runit does).
//!
//! Input layout: byte 0 picks argv and `config`; byte 1 is the number `n` of script
//! steps; the next `2n` bytes are the steps (kind, argument); the rest is stdin.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::errno::Errno;
use model::svlogd::logger::{Action, Input, Logger, Sig, UdpOutcome};
use model::svlogd::options::{self, Parsed};
use model::time::{Mono, Now, Span, Wall};
use model::Machine;

const CONFIGS: [Option<&[u8]>; 8] = [
    None,
    Some(b"s40\nn3\n"),
    Some(b"s1\nn1\nN0\n"),
    Some(b"t1\ns100\n"),
    Some(b"-*a*\n+*b\ne*\nE+c\n"),
    Some(b"pPFX:\ns30\n"),
    Some(b"!cat\ns25\nn2\n"),
    Some(b"u127.0.0.1:9\nU1.2.3.4\ns20\n"),
];

struct Driver {
    m: Logger,
    now: Now,
    config: Option<Vec<u8>>,
    fail_writes: bool,
    write_no: u32,
    armed: Option<usize>,
    written: Vec<Vec<u8>>,
    children: Vec<i32>,
    next_pid: i32,
    exited: Option<i32>,
}

impl Driver {
    fn answer(&mut self, a: Action) -> Option<Input> {
        Some(match a {
            Action::OpenDir { .. } => Input::DirOpened(Ok(None)),
            Action::ReadConfig { .. } => Input::ConfigRead(Ok(self.config.clone())),
            Action::StatCurrent { .. } => Input::CurrentStat(Ok(None)),
            Action::ScanDir { .. } => Input::Scanned(Ok(Vec::new())),
            Action::Write { dir, bytes } => {
                self.write_no += 1;
                if self.fail_writes && self.write_no % 3 == 0 {
                    let e = if self.write_no % 2 == 0 { Errno::ENOSPC } else { Errno::EIO };
                    let half = bytes.len() / 2;
                    self.written[dir].extend_from_slice(&bytes[..half]);
                    return Some(Input::Wrote { result: Err(e), written: half, buf: bytes });
                }
                self.written[dir].extend_from_slice(&bytes);
                Input::Wrote { result: Ok(()), written: bytes.len(), buf: bytes }
            }
            Action::StartProcessor { .. } => {
                self.next_pid += 1;
                self.children.push(self.next_pid);
                Input::Spawned(Ok(self.next_pid))
            }
            Action::SendUdp { .. } => Input::UdpSent(UdpOutcome::Sent),
            Action::RenameCurrent { .. }
            | Action::OpenCurrent { .. }
            | Action::ChmodCurrent { .. }
            | Action::FsyncCurrent { .. }
            | Action::Unlink { .. }
            | Action::RenameFile { .. }
            | Action::ChmodFile { .. }
            | Action::RenameState { .. } => Input::Done(Ok(())),
            Action::ArmRead { max } => {
                assert!(max >= 1, "read armed for 0 bytes");
                self.armed = Some(max);
                return None;
            }
            Action::DisarmRead => {
                self.armed = None;
                return None;
            }
            Action::Exit(c) => {
                self.exited = Some(c);
                return None;
            }
            Action::Stderr(_) | Action::CloseCurrent { .. } | Action::CloseDir { .. } | Action::Recycle(_) => return None,
        })
    }

    fn feed(&mut self, input: Input) {
        let mut next = Some(input);
        let mut guard = 0;
        while let Some(i) = next.take() {
            if self.exited.is_some() {
                return;
            }
            self.m.handle(self.now, i);
            let mut cap = model::StepCap::new("actions of one input", 1_000_000);
            while let Some(a) = self.m.poll_action() {
                cap.step();
                if let Some(reply) = self.answer(a) {
                    next = Some(reply);
                    break;
                }
            }
            guard += 1;
            assert!(guard < 1_000_000, "obligation loop");
        }
    }

    fn tick_to_deadline(&mut self) -> bool {
        match self.m.poll_deadline() {
            Some(d) => {
                if d > self.now.mono {
                    let span = Span(d.0 - self.now.mono.0);
                    self.now = self.now.after(span);
                }
                self.feed(Input::Tick);
                true
            }
            None => false,
        }
    }

    fn reap(&mut self) -> bool {
        if self.children.is_empty() {
            return false;
        }
        let pid = self.children.remove(0);
        self.feed(Input::Signal(Sig::Chld));
        self.feed(Input::ChildExited { pid, status: 0 });
        true
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (cfg, n) = (data[0], data[1] as usize);
    let script_end = (2 + 2 * n).min(data.len());
    let script = &data[2..script_end];
    let mut pending: &[u8] = &data[script_end..];
    let input_all = pending;

    let stamps = cfg & 1 != 0;
    let repl = cfg & 2 != 0;
    let small_l = cfg & 4 != 0;
    let config = CONFIGS[((cfg >> 3) & 7) as usize];
    let fail_writes = cfg & 0x40 != 0;
    let two_dirs = cfg & 0x80 != 0;
    let mut argv: Vec<&[u8]> = vec![b"svlogd"];
    if stamps {
        argv.push(b"-tt");
    }
    if repl {
        argv.extend_from_slice(&[b"-r", b"_", b"-R", b"ab"]);
    }
    if small_l {
        argv.extend_from_slice(&[b"-l", b"8", b"-b", b"9"]);
    }
    argv.push(b"d0");
    if two_dirs {
        argv.push(b"d1");
    }
    let Parsed::Run(settings) = options::parse(&argv) else { panic!("fixed argv refused") };
    let ndirs = settings.dirs.len();
    let mut d = Driver {
        m: Logger::new(settings),
        now: Now { mono: Mono(1_000_000_000), wall: Wall { unix_secs: 1_800_000_000, nanos: 0 } },
        config: config.map(|c| c.to_vec()),
        fail_writes,
        write_no: 0,
        armed: None,
        written: vec![Vec::new(); ndirs],
        children: Vec::new(),
        next_pid: 100,
        exited: None,
    };
    d.feed(Input::Start);
    let mut terminated = false;
    for step in script.chunks(2) {
        let (kind, arg) = (step[0], step.get(1).copied().unwrap_or(0));
        match kind % 8 {
            0..=3 => {
                if let Some(max) = d.armed {
                    if !pending.is_empty() {
                        let k = (arg as usize).max(1).min(max).min(pending.len());
                        let (chunk, rest) = pending.split_at(k);
                        pending = rest;
                        d.armed = None;
                        d.feed(Input::Data(chunk.to_vec()));
                    }
                }
            }
            4 => d.feed(Input::Signal(Sig::Alrm)),
            5 => d.feed(Input::Signal(Sig::Hup)),
            6 => {
                d.now = d.now.after(Span::from_millis(arg as u64 * 50));
                d.feed(Input::Tick);
            }
            _ => {
                if arg & 1 != 0 {
                    d.reap();
                } else if arg == 0xfe {
                    terminated = true;
                    d.feed(Input::Signal(Sig::Term));
                }
            }
        }
        if d.exited.is_some() {
            break;
        }
    }
    // Deliver the rest of stdin, then end of input, and run to completion.
    let mut rounds = 0;
    let mut eof_sent = false;
    while d.exited.is_none() {
        rounds += 1;
        assert!(rounds < 200_000, "no progress");
        if let Some(max) = d.armed {
            if !pending.is_empty() {
                let k = max.min(pending.len()).min(997);
                let (chunk, rest) = pending.split_at(k);
                pending = rest;
                d.armed = None;
                d.feed(Input::Data(chunk.to_vec()));
                continue;
            }
            if !eof_sent {
                eof_sent = true;
                d.armed = None;
                d.feed(Input::Eof);
                continue;
            }
        }
        if d.reap() || d.tick_to_deadline() {
            continue;
        }
        panic!("stalled: no read armed, no deadline, no child, not exited (eof sent: {eof_sent})");
    }
    assert_eq!(d.exited, Some(0), "svlogd exit code");

    // Bytes in = bytes out for the configurations that keep lines unchanged.
    let plain = !stamps && !repl && !terminated && matches!((cfg >> 3) & 7, 0 | 1 | 2 | 3 | 6);
    if plain && eof_sent {
        let consumed = &input_all[..input_all.len() - pending.len()];
        let whole = consumed.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for w in &d.written {
            let (lines, tail) = consumed.split_at(whole);
            let mut with_tail = consumed.to_vec();
            with_tail.push(b'\n');
            assert!(
                w[..] == *lines || (!tail.is_empty() && w[..] == with_tail[..]),
                "written bytes differ from the input lines ({} in, {} out)",
                consumed.len(),
                w.len()
            );
        }
    }
});
