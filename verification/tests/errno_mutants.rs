//! Every entry of runit's errno table (spec/common.md §2, copied from the spec, not from
//! the code) renders as the spec says; values outside the table render as
//! `unknown error`. Kills the `delete match arm` mutants in `model::errno::errstr` that no
//! other test observed (docs/assurance.md, "Mutation testing").

use model::errno::{errstr, Errno};

/// (Linux errno, runit's text) from spec/common.md §2.
const SPEC: &[(i32, &str)] = &[
    (0, "no error"),
    (11, "temporary failure"),
    (1, "permission denied"),
    (2, "file does not exist"),
    (3, "no such process"),
    (4, "interrupted system call"),
    (5, "input/output error"),
    (6, "device not configured"),
    (7, "argument list too long"),
    (8, "exec format error"),
    (9, "file descriptor not open"),
    (10, "no child processes"),
    (12, "out of memory"),
    (13, "access denied"),
    (14, "bad address"),
    (15, "not a block device"),
    (16, "device busy"),
    (17, "file already exists"),
    (18, "cross-device link"),
    (19, "device does not support operation"),
    (20, "not a directory"),
    (21, "is a directory"),
    (22, "invalid argument"),
    (23, "system cannot open more files"),
    (24, "process cannot open more files"),
    (25, "not a tty"),
    (26, "text busy"),
    (27, "file too big"),
    (28, "out of disk space"),
    (29, "unseekable descriptor"),
    (30, "read-only file system"),
    (31, "too many links"),
    (32, "broken pipe"),
    (33, "input out of range"),
    (34, "output out of range"),
    (35, "operation would cause deadlock"),
    (36, "file name too long"),
    (37, "no locks available"),
    (38, "system call not available"),
    (39, "directory not empty"),
    (40, "symbolic link loop"),
    (42, "no message of desired type"),
    (43, "identifier removed"),
    (60, "not a stream device"),
    (62, "timer expired"),
    (63, "out of stream resources"),
    (64, "machine not on network"),
    (66, "too many levels of remote in path"),
    (67, "link severed"),
    (68, "advertise error"),
    (69, "srmount error"),
    (70, "communication error"),
    (71, "protocol error"),
    (72, "multihop attempted"),
    (74, "bad message type"),
    (78, "remote address changed"),
    (87, "too many users"),
    (88, "not a socket"),
    (89, "destination address required"),
    (90, "message too long"),
    (91, "incorrect protocol type"),
    (92, "protocol not available"),
    (93, "protocol not supported"),
    (94, "socket type not supported"),
    (95, "operation not supported"),
    (96, "protocol family not supported"),
    (97, "address family not supported"),
    (98, "address already used"),
    (99, "address not available"),
    (100, "network down"),
    (101, "network unreachable"),
    (102, "network reset"),
    (103, "connection aborted"),
    (104, "connection reset"),
    (105, "out of buffer space"),
    (106, "already connected"),
    (107, "not connected"),
    (108, "socket shut down"),
    (109, "too many references"),
    (110, "timed out"),
    (111, "connection refused"),
    (112, "host down"),
    (113, "host unreachable"),
    (114, "operation already in progress"),
    (115, "operation in progress"),
    (116, "stale NFS file handle"),
    (122, "disk quota exceeded"),
];

#[test]
fn every_spec_errno_renders_as_the_spec_says() {
    for &(n, text) in SPEC {
        assert_eq!(errstr(n), text, "errno {n}");
        assert_eq!(Errno(n).text(), text, "errno {n}");
    }
}

#[test]
fn values_outside_the_table_are_unknown() {
    let known: Vec<i32> = SPEC.iter().map(|e| e.0).collect();
    for n in (-5..300).chain([i32::MIN, i32::MAX]) {
        if !known.contains(&n) {
            assert_eq!(errstr(n), "unknown error", "errno {n}");
        }
    }
}
