//! runsvdir's hand-made argument parsing (spec/runsvdir.md §1): only the first argument
//! may be an option, `-P…` sets process-group mode, `--…` is consumed, anything else
//! starting with `-` is the directory.

use alloc::vec::Vec;

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    /// `-P`: every runsv in its own session and process group.
    pub pgrp: bool,
    /// The services directory, verbatim.
    pub dir: Vec<u8>,
    /// The log argument, if given (length not yet checked).
    pub log: Option<Vec<u8>>,
    /// Index of the log argument in argv (its memory becomes the process title).
    pub log_index: Option<usize>,
}

/// Parses argv (including argv[0]); `Err(usage text)` when the directory is missing.
pub fn parse_args(argv: &[Vec<u8>]) -> Result<Args, Vec<u8>> {
    let prog: &[u8] = argv.first().map(|a| a.as_slice()).unwrap_or(b"runsvdir");
    let mut i = 1;
    let mut pgrp = false;
    if let Some(first) = argv.get(1) {
        if first.first() == Some(&b'-') {
            match first.get(1) {
                Some(b'P') => {
                    pgrp = true;
                    i = 2;
                }
                Some(b'-') => i = 2,
                _ => {}
            }
        }
    }
    let Some(dir) = argv.get(i) else {
        return Err(crate::msg::usage(prog, b" [-P] dir"));
    };
    let log = argv.get(i + 1).cloned();
    Ok(Args { pgrp, dir: dir.clone(), log_index: log.as_ref().map(|_| i + 1), log })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn v(args: &[&str]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn usage_without_dir() {
        assert_eq!(parse_args(&v(&["runsvdir"])).unwrap_err(), b"usage: runsvdir [-P] dir\n\n".to_vec());
        assert_eq!(parse_args(&v(&["/x/runsvdir", "-P"])).unwrap_err(), b"usage: /x/runsvdir [-P] dir\n\n".to_vec());
        assert!(parse_args(&[]).is_err());
    }

    #[test]
    fn option_forms() {
        let a = parse_args(&v(&["r", "-Pxyz", "d", "log: ....", "extra"])).unwrap();
        assert_eq!((a.pgrp, a.dir.as_slice(), a.log_index), (true, &b"d"[..], Some(3)));
        let a = parse_args(&v(&["r", "--", "d"])).unwrap();
        assert_eq!((a.pgrp, a.dir.as_slice(), a.log), (false, &b"d"[..], None));
        let a = parse_args(&v(&["r", "-X", "/tmp"])).unwrap();
        assert_eq!((a.dir.as_slice(), a.log), (&b"-X"[..], Some(b"/tmp".to_vec())));
        let a = parse_args(&v(&["r", "-P", "--", "d"])).unwrap();
        assert_eq!((a.pgrp, a.dir.as_slice(), a.log), (true, &b"--"[..], Some(vec![b'd'])));
    }
}
