//! Line distribution against a naive reference: replacement (`-r`/`-R`), `-l`,
//! prefixes, `+ - e E` selection over several directories, stderr copies with `...`,
//! arbitrary bytes in arbitrary chunks. Nothing rotates here (`s0`).

mod svlogd_sim;

use model::svlogd::pmatch::pmatch_raw;
use proptest::prelude::*;
use svlogd_sim::{Event, Sim};

#[derive(Clone, Debug)]
struct Dir {
    prefix: Vec<u8>,
    patterns: Vec<(u8, Vec<u8>)>,
}

fn dir() -> impl Strategy<Value = Dir> {
    let pat = (
        prop_oneof![Just(b'+'), Just(b'-'), Just(b'e'), Just(b'E')],
        prop::collection::vec(prop_oneof![Just(b'*'), Just(b'+'), b'a'..=b'c'], 0..4),
    );
    (prop::collection::vec(b'P'..=b'R', 0..3), prop::collection::vec(pat, 0..4)).prop_map(|(prefix, patterns)| Dir { prefix, patterns })
}

fn config(d: &Dir) -> String {
    let mut s = String::from("s0\n");
    if !d.prefix.is_empty() {
        s.push('p');
        s.push_str(&String::from_utf8_lossy(&d.prefix));
        s.push('\n');
    }
    for (k, p) in &d.patterns {
        s.push(*k as char);
        s.push_str(&String::from_utf8_lossy(p));
        s.push('\n');
    }
    s
}

/// Expected (file bytes per dir, stderr) the naive way, line by line.
fn expected(input: &[u8], dirs: &[Dir], line_max: usize, repl: Option<u8>, extra: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut files = vec![Vec::new(); dirs.len()];
    let mut err = Vec::new();
    let mut to_stderr = vec![false; dirs.len()];
    // runit's line buffer: bytes of earlier lines stay behind the current one, and a
    // `+` pattern at the end of the text reads the next byte.
    let mut linebuf = vec![0u8; line_max];
    let mut rest = input;
    loop {
        let nl = rest.iter().position(|&b| b == b'\n');
        let line = match nl {
            Some(i) => &rest[..i],
            // A final partial line is dropped unless it reached -l.
            None if rest.len() >= line_max => rest,
            None => break,
        };
        let n = line.len().min(line_max);
        let collected: Vec<u8> = line[..n]
            .iter()
            .map(|&b| match repl {
                Some(r) if !(32..=126).contains(&b) || extra.contains(&b) => r,
                _ => b,
            })
            .collect();
        linebuf[..n].copy_from_slice(&collected);
        let stale = linebuf.get(n).copied().unwrap_or(0);
        for (i, d) in dirs.iter().enumerate() {
            let mut sel = true;
            if !d.patterns.is_empty() {
                to_stderr[i] = false;
                // Each pattern followed by the rest of runit's instruction buffer.
                let mut inst = Vec::new();
                let mut starts = Vec::new();
                for (k, p) in &d.patterns {
                    inst.push(*k);
                    starts.push(inst.len());
                    inst.extend_from_slice(p);
                    inst.push(0);
                }
                for ((k, _), at) in d.patterns.iter().zip(starts) {
                    if pmatch_raw(&inst[at..], &collected, stale) {
                        match k {
                            b'+' => sel = true,
                            b'-' => sel = false,
                            b'e' => to_stderr[i] = true,
                            _ => to_stderr[i] = false,
                        }
                    }
                }
            }
            if to_stderr[i] {
                err.extend_from_slice(&d.prefix);
                err.extend_from_slice(&collected);
                if n == line_max {
                    err.extend_from_slice(b"...");
                }
                err.push(b'\n');
            }
            if sel {
                files[i].extend_from_slice(&d.prefix);
                files[i].extend_from_slice(&collected);
                files[i].extend_from_slice(&line[n..]);
                files[i].push(b'\n');
            }
        }
        match nl {
            Some(i) => rest = &rest[i + 1..],
            None => break,
        }
    }
    (files, err)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn lines_match_reference(input in prop::collection::vec(prop_oneof![6 => b'a'..=b'd', 2 => Just(b'\n'), 1 => any::<u8>()], 0..200),
                             chunks in prop::collection::vec(1usize..30, 1..40),
                             dirs in prop::collection::vec(dir(), 1..3),
                             line_max in 1usize..10,
                             repl in prop::option::of(prop_oneof![Just(b'#'), Just(b'_')]),
                             extra in prop::collection::vec(b'a'..=b'd', 0..2)) {
        let l = line_max.to_string();
        let mut args: Vec<String> = vec!["-l".into(), l];
        if let Some(r) = repl {
            args.push("-r".into());
            args.push((r as char).to_string());
        }
        if !extra.is_empty() {
            args.push("-R".into());
            args.push(String::from_utf8_lossy(&extra).into_owned());
        }
        let repl_eff = repl.or(if extra.is_empty() { None } else { Some(b'_') });
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let configs: Vec<String> = dirs.iter().map(config).collect();
        let cfg_ref: Vec<&str> = configs.iter().map(String::as_str).collect();
        let mut sim = Sim::new(&args_ref, &cfg_ref);
        sim.pending = input.clone();
        for c in &chunks {
            sim.event(&Event::Data(*c));
        }
        sim.finish();
        prop_assert!(sim.violations.is_empty(), "{:?}", sim.violations);
        let (files, err) = expected(&input, &dirs, line_max, repl_eff, &extra);
        for (i, f) in files.iter().enumerate() {
            prop_assert_eq!(&sim.dirs[i].all_bytes(), f, "dir {}", i);
        }
        prop_assert_eq!(sim.stderr, err);
    }
}
