//! `sv -m status` / `sv -M status`: a Prometheus text-format 0.0.4 (or OpenMetrics 1.0)
//! exposition of the named services (spec/additions.md §7). No client-side timestamps,
//! so node_exporter's textfile collector accepts it.
//!
//! The four `node_service_*` gauges keep node_exporter's (deprecated) runit collector's
//! names and labels (`service`, `supervisor="runit"`; main slot only), so existing
//! dashboards keep working; everything else is under `runit_service_*` with labels
//! `service` and `slot` (`main`/`log`).

use alloc::vec::Vec;

use crate::getopt::basename;
use crate::record::{push_time, ExitHow};
use crate::status::{push_decimal, RunState, Want};
use crate::sv::view::{ServiceView, SlotView};
use crate::time::Tai64n;

/// One service in the exposition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The `service` label: the basename of the argument (node_exporter uses directory
    /// names).
    pub label: Vec<u8>,
    /// What could be read; `None` when runsv is not running or the status is unreadable
    /// (only `runit_service_supervisor_up 0` is written for it).
    pub view: Option<ServiceView>,
}

impl Entry {
    /// An entry for the service argument `name`.
    pub fn new(name: &[u8], view: Option<ServiceView>) -> Entry {
        let mut trimmed = name;
        while trimmed.len() > 1 && trimmed.ends_with(b"/") {
            trimmed = &trimmed[..trimmed.len() - 1];
        }
        let base = basename(trimmed);
        Entry { label: if base.is_empty() { trimmed.to_vec() } else { base.to_vec() }, view }
    }
}

/// A sample's value.
#[derive(Clone, Copy)]
enum Value {
    Int(u64),
    Time(Tai64n),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Labels {
    /// `service`, `supervisor="runit"` (node_exporter's runit collector).
    Node,
    /// `service` only.
    Service,
    /// `service`, `slot`.
    Slot,
}

struct Family {
    name: &'static str,
    kind: Kind,
    help: &'static str,
    labels: Labels,
    value: fn(&SlotView) -> Option<Value>,
}

fn flag(b: bool) -> Option<Value> {
    Some(Value::Int(b as u64))
}

fn up(s: &SlotView) -> bool {
    s.state == Some(RunState::Run) && s.pid != 0
}

const FAMILIES: &[Family] = &[
    Family {
        name: "node_service_state",
        kind: Kind::Gauge,
        help: "State of the service: 0 down, 1 run, 2 finish (runit status byte 19).",
        labels: Labels::Node,
        value: |s| s.state.map(|st| Value::Int(st.byte() as u64)),
    },
    Family {
        name: "node_service_desired_state",
        kind: Kind::Gauge,
        help: "Desired state of the service: 1 up, 0 down.",
        labels: Labels::Node,
        value: |s| flag(s.wanted == Some(Want::Up)),
    },
    Family {
        name: "node_service_normal_state",
        kind: Kind::Gauge,
        help: "Normal state of the service: 1 up (no down file), 0 down.",
        labels: Labels::Node,
        value: |s| flag(s.normally_up),
    },
    Family {
        name: "node_service_state_last_change_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time of the last change of the service to run or down.",
        labels: Labels::Node,
        value: |s| Some(Value::Time(s.since)),
    },
    Family {
        name: "runit_service_up",
        kind: Kind::Gauge,
        help: "1 if the slot's ./run is running.",
        labels: Labels::Slot,
        value: |s| flag(up(s)),
    },
    Family {
        name: "runit_service_want_up",
        kind: Kind::Gauge,
        help: "1 if runsv wants the slot up.",
        labels: Labels::Slot,
        value: |s| flag(s.wanted == Some(Want::Up)),
    },
    Family {
        name: "runit_service_ready",
        kind: Kind::Gauge,
        help: "1 if the slot's ./run is running and ready.",
        labels: Labels::Slot,
        value: |s| flag(up(s) && s.ready),
    },
    Family {
        name: "runit_service_pid",
        kind: Kind::Gauge,
        help: "pid of the slot's process (run or finish), 0 if none.",
        labels: Labels::Slot,
        value: |s| Some(Value::Int(s.pid as u64)),
    },
    Family {
        name: "runit_service_since_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time of the slot's last change to run or down.",
        labels: Labels::Slot,
        value: |s| Some(Value::Time(s.since)),
    },
    Family {
        name: "runit_service_ready_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time the running ./run became ready.",
        labels: Labels::Slot,
        value: |s| s.ready_since.filter(|_| up(s) && s.ready).map(Value::Time),
    },
    Family {
        name: "runit_service_restarts_total",
        kind: Kind::Counter,
        help: "Starts of ./run after the first since runsv started.",
        labels: Labels::Slot,
        value: |s| s.restarts.map(Value::Int),
    },
    Family {
        name: "runit_service_quick_deaths",
        kind: Kind::Gauge,
        help: "Consecutive quick deaths of ./run (unrequested, within 10 s or before ready).",
        labels: Labels::Slot,
        value: |s| s.quick_deaths.map(Value::Int),
    },
    Family {
        name: "runit_service_given_up",
        kind: Kind::Gauge,
        help: "1 if runsv gave up restarting ./run (restart-limit-count), until a command.",
        labels: Labels::Slot,
        value: |s| s.given_up.map(|g| Value::Int(g as u64)),
    },
    Family {
        name: "runit_service_last_exit_code",
        kind: Kind::Gauge,
        help: "Exit status of the last ./run, if it exited.",
        labels: Labels::Slot,
        value: |s| match s.last_exit.map(|e| e.how) {
            Some(ExitHow::Code(c)) => Some(Value::Int(c as u64)),
            _ => None,
        },
    },
    Family {
        name: "runit_service_last_exit_signal",
        kind: Kind::Gauge,
        help: "Signal that killed the last ./run, if one did.",
        labels: Labels::Slot,
        value: |s| match s.last_exit.map(|e| e.how) {
            Some(ExitHow::Signal(n)) => Some(Value::Int(n as u64)),
            _ => None,
        },
    },
    Family {
        name: "runit_service_last_exit_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time the last ./run ended.",
        labels: Labels::Slot,
        value: |s| s.last_exit.map(|e| Value::Time(e.at)),
    },
];

/// One sample: service label, slot label, value.
type Sample<'a> = (&'a [u8], Option<&'static [u8]>, Value);

const SUPERVISOR_UP: &str = "runit_service_supervisor_up";

/// The exposition for `entries`, in the order given. `openmetrics` selects OpenMetrics
/// 1.0 (counter families named without `_total`, `# EOF` at the end).
pub fn exposition(entries: &[Entry], openmetrics: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + entries.len() * 1024);
    header(&mut out, SUPERVISOR_UP, Kind::Gauge, "1 if runsv answers for the service, 0 if not.", openmetrics);
    for e in entries {
        sample(&mut out, SUPERVISOR_UP, &e.label, None, Labels::Service, Value::Int(e.view.is_some() as u64));
    }
    for f in FAMILIES {
        let mut samples: Vec<Sample<'_>> = Vec::new();
        for e in entries {
            let Some(v) = &e.view else { continue };
            if let Some(x) = (f.value)(&v.main) {
                samples.push((&e.label, Some(b"main"), x));
            }
            if f.labels == Labels::Node {
                continue;
            }
            if let Some(x) = v.log.as_ref().and_then(f.value) {
                samples.push((&e.label, Some(b"log"), x));
            }
        }
        if samples.is_empty() {
            continue;
        }
        header(&mut out, f.name, f.kind, f.help, openmetrics);
        for (label, slot, x) in samples {
            sample(&mut out, f.name, label, slot, f.labels, x);
        }
    }
    if openmetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    out
}

fn header(out: &mut Vec<u8>, name: &str, kind: Kind, help: &str, openmetrics: bool) {
    let family = if openmetrics && kind == Kind::Counter { name.strip_suffix("_total").unwrap_or(name) } else { name };
    for (tag, text) in [("# HELP ", help), ("# TYPE ", if kind == Kind::Counter { "counter" } else { "gauge" })] {
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(family.as_bytes());
        out.push(b' ');
        out.extend_from_slice(text.as_bytes());
        out.push(b'\n');
    }
}

fn sample(out: &mut Vec<u8>, name: &str, service: &[u8], slot: Option<&[u8]>, labels: Labels, v: Value) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"{service=\"");
    push_label_value(out, service);
    out.push(b'"');
    match labels {
        Labels::Node => out.extend_from_slice(b",supervisor=\"runit\""),
        Labels::Slot => {
            out.extend_from_slice(b",slot=\"");
            out.extend_from_slice(slot.unwrap_or(b"main"));
            out.push(b'"');
        }
        Labels::Service => {}
    }
    out.extend_from_slice(b"} ");
    match v {
        Value::Int(n) => push_decimal(out, n),
        Value::Time(t) => push_time(out, t),
    }
    out.push(b'\n');
}

/// A label value: UTF-8 (invalid bytes become U+FFFD), `\` `"` and newline escaped.
fn push_label_value(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            match ch {
                '\\' => out.extend_from_slice(b"\\\\"),
                '"' => out.extend_from_slice(b"\\\""),
                '\n' => out.extend_from_slice(b"\\n"),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::StatusRecord;
    use crate::sv::view::slot_view;
    use crate::time::Wall;
    use alloc::string::String;

    fn view(name: &str, pid: u32, with_log: bool) -> ServiceView {
        let st = StatusRecord::new(
            Tai64n::from_wall(Wall { unix_secs: 1000, nanos: 0 }),
            pid,
            false,
            Want::Up,
            false,
            if pid != 0 { RunState::Run } else { RunState::Down },
        );
        let main = slot_view(&st, true, None);
        ServiceView { name: name.as_bytes().to_vec(), main: main.clone(), log: if with_log { Some(main) } else { None } }
    }

    #[test]
    fn test_metrics_exposition_from_20_bytes() {
        let entries = [Entry::new(b"/etc/service/web/", Some(view("web", 42, true))), Entry::new(b"db", None)];
        let text = String::from_utf8(exposition(&entries, false)).unwrap();
        assert!(text.starts_with("# HELP runit_service_supervisor_up "), "{text}");
        assert!(text.contains("runit_service_supervisor_up{service=\"web\"} 1\nrunit_service_supervisor_up{service=\"db\"} 0\n"));
        assert!(text.contains("node_service_state{service=\"web\",supervisor=\"runit\"} 1\n"));
        assert!(text.contains("node_service_state_last_change_timestamp_seconds{service=\"web\",supervisor=\"runit\"} 1000.000000500\n"));
        assert!(
            text.contains("runit_service_ready{service=\"web\",slot=\"main\"} 1\nrunit_service_ready{service=\"web\",slot=\"log\"} 1\n")
        );
        // Record-only families are absent without a record.
        assert!(!text.contains("restarts") && !text.contains("last_exit"));
        assert!(!text.contains("# EOF"));
        // Each family's TYPE comes once, before its samples.
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let name = line.split(' ').nth(2).unwrap();
            assert_eq!(text.matches(&alloc::format!("# TYPE {name} ")).count(), 1);
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn test_metrics_down_finish_and_exits() {
        let mut down = view("db", 0, false);
        down.main.wanted = Some(Want::Down);
        down.main.last_exit = Some(crate::record::LastExit { how: ExitHow::Code(3), at: down.main.since });
        let mut fin = view("fin", 0, false);
        fin.main.state = Some(RunState::Finish);
        fin.main.pid = 9;
        fin.main.ready = true;
        fin.main.ready_since = Some(fin.main.since);
        fin.main.last_exit = Some(crate::record::LastExit { how: ExitHow::Signal(9), at: fin.main.since });
        let text = String::from_utf8(exposition(&[Entry::new(b"db", Some(down)), Entry::new(b"fin", Some(fin))], false)).unwrap();
        for want in [
            "node_service_desired_state{service=\"db\",supervisor=\"runit\"} 0\n",
            "node_service_desired_state{service=\"fin\",supervisor=\"runit\"} 1\n",
            "runit_service_want_up{service=\"db\",slot=\"main\"} 0\n",
            "runit_service_up{service=\"db\",slot=\"main\"} 0\n",
            "runit_service_up{service=\"fin\",slot=\"main\"} 0\n",
            "runit_service_ready{service=\"db\",slot=\"main\"} 0\n",
            "runit_service_ready{service=\"fin\",slot=\"main\"} 0\n",
            "node_service_state{service=\"fin\",supervisor=\"runit\"} 2\n",
            "runit_service_last_exit_code{service=\"db\",slot=\"main\"} 3\n",
            "runit_service_last_exit_signal{service=\"fin\",slot=\"main\"} 9\n",
        ] {
            assert!(text.contains(want), "missing {want} in\n{text}");
        }
        assert!(!text.contains("runit_service_ready_timestamp_seconds"), "{text}");
        assert!(!text.contains("runit_service_last_exit_code{service=\"fin\""), "{text}");
        assert!(!text.contains("runit_service_last_exit_signal{service=\"db\""), "{text}");
    }

    #[test]
    fn test_metrics_openmetrics_counter_and_eof() {
        let mut v = view("web", 42, false);
        v.main.restarts = Some(3);
        let text = String::from_utf8(exposition(&[Entry::new(b"web", Some(v.clone()))], true)).unwrap();
        assert!(text.contains("# TYPE runit_service_restarts counter\nrunit_service_restarts_total{service=\"web\",slot=\"main\"} 3\n"));
        assert!(text.ends_with("# EOF\n"));
        let text = String::from_utf8(exposition(&[Entry::new(b"web", Some(v))], false)).unwrap();
        assert!(text.contains("# TYPE runit_service_restarts_total counter\n"));
    }

    #[test]
    fn test_metrics_labels() {
        assert_eq!(Entry::new(b"./a/b//", None).label, b"b");
        assert_eq!(Entry::new(b"/", None).label, b"/");
        let mut out = Vec::new();
        push_label_value(&mut out, b"a\"b\\c\nd\xff");
        assert_eq!(String::from_utf8(out).unwrap(), "a\\\"b\\\\c\\nd\u{fffd}");
    }
}
