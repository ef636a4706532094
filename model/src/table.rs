//! Golden state tables: every machine renders its `(state, input) -> outcome` table as
//! Markdown into `docs/state-tables/<machine>.md`, and a test fails when the rendering
//! and the committed file differ. A reviewer then sees every semantic change as a diff.

use alloc::string::String;
use alloc::vec::Vec;

/// One row: the state, the input, and what happens (actions and the next state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The state before, in words.
    pub state: String,
    /// The input, in words.
    pub input: String,
    /// Actions emitted, in order, in words.
    pub actions: String,
    /// The state after, in words.
    pub next: String,
}

/// Renders rows as a Markdown document with a title and a preamble.
pub fn render(title: &str, preamble: &str, rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("# ");
    out.push_str(title);
    out.push_str("\n\n");
    out.push_str(preamble);
    out.push_str("\n\n| state | input | actions | next state |\n|---|---|---|---|\n");
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.dedup();
    for r in sorted {
        for cell in [&r.state, &r.input, &r.actions, &r.next] {
            out.push_str("| ");
            out.push_str(&cell.replace('|', "\\|"));
            out.push(' ');
        }
        out.push_str("|\n");
    }
    out
}
