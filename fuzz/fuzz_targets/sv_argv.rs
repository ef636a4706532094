//! sv's argv + environment + command dispatch, and the status line from an arbitrary
//! 20-byte `supervise/status`: total; refusals exit 100 (normal) or 2 (LSB); the status
//! line has runit's shape.
//!
//! Input layout: byte 0 picks the flags (SVDIR/SVWAIT set, LSB name); the next 20 bytes
//! are a status record; the next 8 the wall clock; the rest is argv split at NUL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::status::StatusRecord;
use model::sv::{self, args::Parse, Env, Mode};
use model::time::Wall;

fuzz_target!(|data: &[u8]| {
    if data.len() < 29 {
        return;
    }
    let flags = data[0];
    let rec = StatusRecord::decode(&data[1..21]).expect("20 bytes decode");
    let secs = i64::from_le_bytes(data[21..29].try_into().unwrap());
    let rest = &data[29..];
    let mut argv: Vec<&[u8]> = rest.split(|&b| b == 0).collect();
    if flags & 4 != 0 {
        argv.insert(0, b"/etc/init.d/foo");
    }
    let env = Env {
        svdir: if flags & 1 != 0 { argv.get(1).copied() } else { None },
        svwait: if flags & 2 != 0 { argv.last().copied() } else { None },
    };
    match sv::parse(&argv, env) {
        Parse::Run(inv) => {
            assert!(!inv.services.is_empty() || inv.mode == Mode::Lsb);
        }
        Parse::Refuse { stderr, code } => {
            assert!(code == sv::EXIT_USAGE || code == sv::EXIT_USAGE_LSB, "code {code}");
            assert!(stderr.ends_with(b"\n"));
        }
    }
    for w in &argv {
        let _ = sv::dispatch(w, Mode::Normal);
        let _ = sv::dispatch(w, Mode::Lsb);
    }
    let name: &[u8] = argv.first().copied().unwrap_or(b"svc");
    let now = Wall { unix_secs: secs, nanos: 0 };
    let line = sv::line::status_text(name, &rec, now, flags & 8 != 0);
    let _ = sv::line::shown(&rec);
    let _ = sv::line::age_secs(&rec, now);
    // `<state>: <name>: ...s...`
    let head: &[u8] = match rec.state_byte {
        0 => b"down: ",
        1 => b"run: ",
        2 => b"finish: ",
        _ => b"",
    };
    assert!(line.starts_with(head), "{:?}", String::from_utf8_lossy(&line));
    let skip = head.len();
    assert!(line[skip..].starts_with(name) && line[skip + name.len()..].starts_with(b": "));
    assert!(!line.contains(&b'\n') || name.contains(&b'\n'));
});
