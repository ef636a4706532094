//! runit's pattern matcher (spec/svlogd.md §8): anchored at both ends, left to right,
//! no backtracking. `*c` skips to the first `c`; a final `*` matches the rest; `+c`
//! matches a run of `c` and succeeds outright if the text ends inside the run.

/// Whether `pattern` (already cut at its first NUL) matches all of `text`.
pub fn pmatch(pattern: &[u8], text: &[u8]) -> bool {
    let mut p = 0;
    let mut s = 0;
    loop {
        let Some(&c) = pattern.get(p) else { return s == text.len() };
        p += 1;
        match c {
            b'*' => {
                let Some(&next) = pattern.get(p) else { return true };
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
                // runit reads one byte past the end of text or pattern here; we call
                // both cases a mismatch.
                let Some(&run) = pattern.get(p) else { return false };
                p += 1;
                if s == text.len() || text[s] != run {
                    return false;
                }
                loop {
                    if s == text.len() {
                        return true;
                    }
                    if text[s] != run {
                        break;
                    }
                    s += 1;
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
}
