//! svlogd: line assembly, timestamps, selection, rotation (spec/svlogd.md).
//!
//! | module | what it decides |
//! |---|---|
//! | [`options`] | argv -> settings, or runit's usage text and exit code |
//! | [`config`] | the `config` file of a log directory (parse and print) |
//! | [`pmatch`] | runit's anchored, non-backtracking `*`/`+` patterns |
//! | [`stamp`] | the three line timestamps (TAI64N, `-tt`, `-ttt`), own UTC calendar |
//! | [`scan`] | a fast word-at-a-time newline search |
//! | [`diag`] | the exact `svlogd: ...` message lines |
//! | [`logger`] | the logger machine: lines -> per-directory writes, rotations, processors |

pub mod config;
pub mod diag;
pub mod logger;
pub mod options;
pub mod pmatch;
pub mod scan;
pub mod spawn;
pub mod stamp;

pub use logger::{Action, Input, LogName, Logger, Owed, Sig, UdpOutcome};
pub use options::Settings;
