//! Tests written to kill mutants that cargo-mutants found surviving in the core codecs
//! (`model/src/{status,time,getopt}.rs`); see docs/assurance.md, "Mutation testing".

use model::status::{StatusRecord, STATUS_LEN};

/// A record shorter than 20 bytes is rejected (sv's "unable to read status").
#[test]
fn status_decode_rejects_short() {
    assert!(StatusRecord::decode(&[0u8; STATUS_LEN - 1]).is_none());
    assert!(StatusRecord::decode(&[0u8; STATUS_LEN]).is_some());
}

use model::getopt::{self, Opt};
use model::time::{Mono, Now, Span, Wall};

/// `Span::as_millis` rounds down to whole milliseconds (kills `as_millis -> 0/1`,
/// `/ -> %`, `/ -> *`, which no other test observed).
#[test]
fn span_as_millis_rounds_down() {
    assert_eq!(Span::from_millis(1234).as_millis(), 1234);
    assert_eq!(Span(1_999_999).as_millis(), 1);
    assert_eq!(Span(999_999).as_millis(), 0);
    assert_eq!(Span::from_secs(7).as_millis(), 7000);
}

/// `Now::after` carries nanoseconds into seconds on the wall clock (kills `+ -> -` in the
/// nanosecond sum) and moves the monotonic clock by the span.
#[test]
fn now_after_carries_nanoseconds() {
    let now = Now { mono: Mono(5), wall: Wall { unix_secs: 10, nanos: 600_000_000 } };
    let later = now.after(Span::from_millis(500));
    assert_eq!(later.wall, Wall { unix_secs: 11, nanos: 100_000_000 });
    assert_eq!(later.mono, Mono(5 + 500_000_000));
    let same = now.after(Span::from_millis(300));
    assert_eq!(same.wall, Wall { unix_secs: 10, nanos: 900_000_000 });
    let far = now.after(Span::from_secs(3));
    assert_eq!(far.wall, Wall { unix_secs: 13, nanos: 600_000_000 });
}

/// Monotonic arithmetic saturates in both directions.
#[test]
fn mono_add_sub() {
    assert_eq!(Mono(7) + Span(5), Mono(12));
    assert_eq!(Mono(u64::MAX) + Span(5), Mono(u64::MAX));
    assert_eq!(Mono(12) - Mono(7), Span(5));
    assert_eq!(Mono(7) - Mono(12), Span(0));
}

/// `--` after other options ends them; the operand index is past it (kills `+= -> *=`
/// on the `--` skip, which the existing tests only exercised with `--` at argv[1]).
#[test]
fn getopt_double_dash_after_options() {
    let argv = ["p", "-a", "--", "-b"];
    let p = getopt::parse(&argv, b"ab");
    assert_eq!(p.opts, [Opt::Flag(b'a', None)]);
    assert_eq!(p.operands, 3);
    let argv = ["p", "-a", "-b", "x"];
    let p = getopt::parse(&argv, b"ab");
    assert_eq!(p.opts, [Opt::Flag(b'a', None), Opt::Flag(b'b', None)]);
    assert_eq!(p.operands, 3);
}

/// `Display` for a TAI64N label prints its text form (kills `fmt -> Ok(())`).
#[test]
fn tai64n_display_is_text() {
    let t = model::time::Tai64n { secs: 0x4000_0000_5f00_0000, nanos: 0x1234_5678 };
    assert_eq!(format!("{t}").as_bytes(), &t.to_text()[..]);
    assert_eq!(format!("{t}"), "@400000005f00000012345678");
}
