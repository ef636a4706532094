//! Tests written to kill mutants that cargo-mutants found surviving in the core codecs
//! (`model/src/{status,time,getopt}.rs`); see docs/assurance.md, "Mutation testing".

use model::status::{StatusRecord, STATUS_LEN};

/// A record shorter than 20 bytes is rejected (sv's "unable to read status").
#[test]
fn status_decode_rejects_short() {
    assert!(StatusRecord::decode(&[0u8; STATUS_LEN - 1]).is_none());
    assert!(StatusRecord::decode(&[0u8; STATUS_LEN]).is_some());
}
