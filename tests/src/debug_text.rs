//! A minimal reader for the `Debug` renderings a `RUNIT_TRACE` file holds, shared by the
//! trace-replay tests (each adds the parsing of its own machine's inputs on top).

use model::errno::Errno;

/// The rest of one trace line, consumed from the front.
pub struct DebugText<'a> {
    /// What is left to read.
    pub s: &'a str,
}

impl DebugText<'_> {
    /// Consumes `t` (after separators) if it comes next.
    pub fn eat(&mut self, t: &str) -> bool {
        let s = self.s.trim_start_matches([' ', ',']);
        match s.strip_prefix(t) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }
    /// Consumes `t` or panics with where the text went off.
    pub fn expect(&mut self, t: &str) {
        assert!(self.eat(t), "expected {t:?} at {:?}", self.s);
    }
    /// A signed decimal number.
    pub fn num(&mut self) -> i64 {
        let s = self.s.trim_start_matches([' ', ',', ':']);
        let end = s.find(|c: char| !(c.is_ascii_digit() || c == '-')).unwrap_or(s.len());
        self.s = &s[end..];
        s[..end].parse().unwrap_or_else(|_| panic!("number at {s:?}"))
    }
    /// `true` or `false`.
    pub fn boolean(&mut self) -> bool {
        if self.eat("true") {
            true
        } else {
            self.expect("false");
            false
        }
    }
    /// `[1, 2, 3]` as bytes.
    pub fn bytes(&mut self) -> Vec<u8> {
        self.expect("[");
        let mut v = Vec::new();
        while !self.eat("]") {
            v.push(self.num() as u8);
        }
        v
    }
    /// `None`, or `Some(` then what `inner` reads then `)`.
    pub fn option<T>(&mut self, inner: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.eat("None") {
            return None;
        }
        self.expect("Some(");
        let v = inner(self);
        self.expect(")");
        Some(v)
    }
    /// `Span(n)`.
    pub fn span(&mut self) -> model::time::Span {
        self.expect("Span(");
        let n = self.num() as u64;
        self.expect(")");
        model::time::Span(n)
    }
    /// `Errno(n)`.
    pub fn errno(&mut self) -> Errno {
        self.expect("Errno(");
        let n = self.num() as i32;
        self.expect(")");
        Errno(n)
    }
}
