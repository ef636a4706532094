//! `sv -j status`: one JSON object per service per line (JSON Lines), field names fixed
//! (schema in sv.8 and docs/readiness.md §4). Unknown values are `null`, never absent, so
//! `jq '.ready'` works the same against runit's runsv and ours.

use alloc::vec::Vec;

use crate::record::{push_time, want_word, ExitHow};
use crate::status::push_decimal;
use crate::sv::view::{secs_since, ServiceView, SlotView};
use crate::time::{Tai64n, Wall};

/// The slot keys, in output order (the service object has `service` first and `log` last).
pub const SLOT_KEYS: [&str; 19] = [
    "source",
    "state",
    "pid",
    "since",
    "seconds",
    "wanted",
    "normally_up",
    "paused",
    "got_term",
    "readiness",
    "ready",
    "ready_since",
    "last_exit_code",
    "last_exit_signal",
    "last_exit_at",
    "restarts",
    "quick_deaths",
    "given_up",
    "status_text",
];

/// The object for one service, with a trailing newline.
pub fn service_json(v: &ServiceView, now: Wall) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"service\":");
    push_str(&mut out, &v.name);
    out.push(b',');
    push_slot_fields(&mut out, &v.main, now);
    out.extend_from_slice(b",\"log\":");
    match &v.log {
        None => out.extend_from_slice(b"null"),
        Some(log) => {
            out.push(b'{');
            push_slot_fields(&mut out, log, now);
            out.push(b'}');
        }
    }
    out.extend_from_slice(b"}\n");
    out
}

fn push_slot_fields(out: &mut Vec<u8>, s: &SlotView, now: Wall) {
    for (i, key) in SLOT_KEYS.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        match *key {
            "source" => push_str(out, s.source.word().as_bytes()),
            "state" => opt_str(out, s.state.map(|st| st.word())),
            "pid" => opt_num(out, if s.pid == 0 { None } else { Some(s.pid as u64) }),
            "since" => push_time(out, s.since),
            "seconds" => push_decimal(out, secs_since(s.since, now)),
            "wanted" => opt_str(out, s.wanted.map(want_word)),
            "normally_up" => push_bool(out, s.normally_up),
            "paused" => push_bool(out, s.paused),
            "got_term" => push_bool(out, s.got_term),
            "readiness" => opt_str(out, s.readiness.map(|p| p.word())),
            "ready" => push_bool(out, s.ready),
            "ready_since" => opt_time(out, s.ready_since),
            "last_exit_code" => opt_num(
                out,
                match s.last_exit.map(|e| e.how) {
                    Some(ExitHow::Code(c)) => Some(c as u64),
                    _ => None,
                },
            ),
            "last_exit_signal" => opt_num(
                out,
                match s.last_exit.map(|e| e.how) {
                    Some(ExitHow::Signal(n)) => Some(n as u64),
                    _ => None,
                },
            ),
            "last_exit_at" => opt_time(out, s.last_exit.map(|e| e.at)),
            "restarts" => opt_num(out, s.restarts),
            "quick_deaths" => opt_num(out, s.quick_deaths),
            "given_up" => match s.given_up {
                Some(g) => push_bool(out, g),
                None => out.extend_from_slice(b"null"),
            },
            _ => match &s.status_text {
                Some(t) => push_str(out, t),
                None => out.extend_from_slice(b"null"),
            },
        }
    }
}

fn push_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

fn opt_num(out: &mut Vec<u8>, n: Option<u64>) {
    match n {
        Some(n) => push_decimal(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s.as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

fn opt_time(out: &mut Vec<u8>, t: Option<Tai64n>) {
    match t {
        Some(t) => push_time(out, t),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string from arbitrary bytes: invalid UTF-8 becomes U+FFFD, `"` `\` and control
/// characters are escaped (output is always valid JSON in valid UTF-8).
pub fn push_str(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            match ch {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\r' => out.extend_from_slice(b"\\r"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    let n = c as u32;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(n >> 4) as usize & 15]);
                    out.push(HEX[n as usize & 15]);
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readiness::Protocol;
    use crate::record::LastExit;
    use crate::status::{RunState, Want};
    use crate::sv::view::Source;
    use alloc::string::String;

    fn slot() -> SlotView {
        SlotView {
            source: Source::Record,
            state: Some(RunState::Run),
            pid: 4242,
            since: Tai64n::from_wall(Wall { unix_secs: 1_764_921_600, nanos: 123_456 }),
            wanted: Some(Want::Up),
            normally_up: true,
            paused: false,
            got_term: false,
            readiness: Some(Protocol::SdNotify),
            ready: true,
            ready_since: Some(Tai64n::from_wall(Wall { unix_secs: 1_764_921_601, nanos: 0 })),
            last_exit: Some(LastExit { how: ExitHow::Signal(15), at: Tai64n::from_wall(Wall { unix_secs: 1_764_921_599, nanos: 0 }) }),
            restarts: Some(1),
            quick_deaths: Some(0),
            status_text: Some(b"a \"quoted\"\\ line\n\x01\xff".to_vec()),
            given_up: Some(false),
        }
    }

    #[test]
    fn test_json_object_shape() {
        let v = ServiceView { name: b"web".to_vec(), main: slot(), log: None };
        let s = String::from_utf8(service_json(&v, Wall { unix_secs: 1_764_921_612, nanos: 0 })).unwrap();
        assert_eq!(
            s,
            "{\"service\":\"web\",\"source\":\"status.ext\",\"state\":\"run\",\"pid\":4242,\"since\":1764921600.000123500,\
             \"seconds\":12,\"wanted\":\"up\",\"normally_up\":true,\"paused\":false,\"got_term\":false,\"readiness\":\"sd_notify\",\
             \"ready\":true,\"ready_since\":1764921601.000000500,\"last_exit_code\":null,\"last_exit_signal\":15,\
             \"last_exit_at\":1764921599.000000500,\"restarts\":1,\"quick_deaths\":0,\
             \"given_up\":false,\"status_text\":\"a \\\"quoted\\\"\\\\ line\\n\\u0001\u{fffd}\",\"log\":null}\n"
        );
    }

    #[test]
    fn test_json_exit_code_and_control_characters() {
        let mut m = slot();
        m.last_exit = Some(LastExit { how: ExitHow::Code(3), at: m.since });
        m.status_text = Some(b"\x1b[1m\x01".to_vec());
        let v = ServiceView { name: b"w".to_vec(), main: m, log: None };
        let s = String::from_utf8(service_json(&v, Wall::default())).unwrap();
        assert!(s.contains("\"last_exit_code\":3,\"last_exit_signal\":null,"), "{s}");
        assert!(s.contains("\"status_text\":\"\\u001b[1m\\u0001\""), "{s}");
    }

    #[test]
    fn test_json_nulls_and_log() {
        let mut m = slot();
        m.source = Source::Status;
        m.state = None;
        m.pid = 0;
        m.wanted = None;
        m.readiness = None;
        m.ready_since = None;
        m.last_exit = None;
        m.restarts = None;
        m.quick_deaths = None;
        m.status_text = None;
        let v = ServiceView { name: b"./s".to_vec(), main: m.clone(), log: Some(m) };
        let s = String::from_utf8(service_json(&v, Wall::default())).unwrap();
        assert!(s.contains("\"state\":null,\"pid\":null,"), "{s}");
        assert!(s.contains("\"log\":{\"source\":\"status\","), "{s}");
        assert!(s.ends_with("\"status_text\":null}}\n"), "{s}");
        assert_eq!(s.matches('{').count(), 2);
    }
}
