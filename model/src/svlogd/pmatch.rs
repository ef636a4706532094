//! runit's pattern matcher (spec/svlogd.md §8): anchored at both ends, left to right,
//! no backtracking. `*c` skips to the first `c`; a final `*` matches the rest; `+c`
//! matches a run of `c` and succeeds outright if the text ends inside the run.

/// Whether `pattern` matches all of `text` (a NUL or the end of `pattern` ends it).
pub fn pmatch(pattern: &[u8], text: &[u8]) -> bool {
    pmatch_raw(pattern, text, 0)
}

/// runit's matcher byte for byte, including its two out-of-bounds reads: `+c` with the
/// text used up compares `c` with `stale` (the byte after the text in runit's line
/// buffer, left there by an earlier line), and a `+` that ends the pattern takes the
/// terminating NUL as its run character and then goes on matching with whatever
/// follows in `pattern` (runit's next stored instruction). A NUL, or the end of
/// `pattern`, ends the pattern.
pub fn pmatch_raw(pattern: &[u8], text: &[u8], stale: u8) -> bool {
    let mut p = 0;
    let mut s = 0;
    loop {
        let c = pattern.get(p).copied().unwrap_or(0);
        p += 1;
        if c == 0 {
            return s == text.len();
        }
        match c {
            b'*' => {
                let next = pattern.get(p).copied().unwrap_or(0);
                if next == 0 {
                    return true;
                }
                loop {
                    if s == text.len() {
                        return false;
                    }
                    if text[s] == next {
                        break;
                    }
                    s += 1;
                }
            }
            b'+' => {
                let run = pattern.get(p).copied().unwrap_or(0);
                p += 1;
                let here = text.get(s).copied().unwrap_or(stale);
                if here != run {
                    return false;
                }
                // Over the run (none when `here` was the stale byte); a text that ends
                // inside it matches.
                s += text[s..].iter().take_while(|&&b| b == run).count();
                if s == text.len() {
                    return true;
                }
            }
            _ => {
                if s == text.len() || text[s] != c {
                    return false;
                }
                s += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pmatch;

    fn check(p: &str, yes: &[&str], no: &[&str]) {
        for t in yes {
            assert!(pmatch(p.as_bytes(), t.as_bytes()), "{p} should match {t}");
        }
        for t in no {
            assert!(!pmatch(p.as_bytes(), t.as_bytes()), "{p} should not match {t}");
        }
    }

    #[test]
    fn spec_table() {
        check("abc", &["abc"], &["ab", "abcd", "xabc"]);
        check("a*", &["a", "ab", "abc"], &["", "b"]);
        check("*c", &["c", "abc", "ac"], &["cc", "abcd"]);
        check("*b*", &["b", "ab", "abc", "xbx", "bb", "cab"], &["", "a"]);
        check("a+bc", &["abc", "abbc", "abbbc"], &["ac", "abcc"]);
        check("+ab", &["a", "aa", "ab", "aab"], &["b"]);
        check("a+b", &["ab", "abb"], &["a"]);
        check("a*b*c", &["abc", "axbxc", "aXbYc", "abbc"], &["ac", "abcc"]);
        check("*: *: pid *", &["tcpsvd: info: pid 1977 from 10.4.1.14", "x: y: pid 3"], &["x: pid 3"]);
        check("", &[""], &["a"]);
        check("*", &["", "anything"], &[]);
    }

    #[test]
    fn runit_out_of_bounds_reads() {
        use super::pmatch_raw;
        // `a+b` on "a": the byte after the text decides.
        assert!(pmatch_raw(b"a+b", b"a", b'b'));
        assert!(!pmatch_raw(b"a+b", b"a", b'x'));
        // A final `+` runs over NULs, then continues into the next instruction.
        assert!(pmatch_raw(b"+\0x", b"\0\0", 0));
        assert!(pmatch_raw(b"+\0x", b"\0x", 0));
        assert!(!pmatch_raw(b"+\0x", b"\0y", 0));
        assert!(pmatch_raw(b"a+", b"a", 0));
    }
}
