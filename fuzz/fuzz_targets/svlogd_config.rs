//! svlogd `config` parsing on arbitrary bytes: total; the instruction buffer's offsets
//! stay inside it; parsing on top of the defaults equals [`config::parse`]; and a config
//! that [`config::print`] can write reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::svlogd::config::{self, Config};

fn printable(c: &Config) -> bool {
    let clean = |v: &[u8]| !v.contains(&0) && !v.contains(&b'\n');
    c.processor.as_deref().map_or(true, |p| !p.is_empty() && clean(p))
        && clean(&c.prefix)
        && c.patterns.iter().all(|p| clean(&p.text))
        && config::inst_of(&c.patterns) == c.inst
        && !c.udp_only
}

fuzz_target!(|data: &[u8]| {
    let (c, _warnings) = config::parse(data);
    for (_, at) in config::instructions(&c.inst) {
        assert!(at <= c.inst.len());
    }
    let mut again = Config::default();
    let mut w = Vec::new();
    config::parse_into(data, &mut again, &mut w);
    assert_eq!(again, c);
    if printable(&c) {
        let text = config::print(&c);
        let (back, _) = config::parse(&text);
        assert_eq!(back.size_max, c.size_max);
        assert_eq!(back.n_max, c.n_max);
        assert_eq!(back.n_min, c.n_min);
        assert_eq!(back.t_max, c.t_max);
        assert_eq!(back.processor, c.processor);
        assert_eq!(back.prefix, c.prefix);
        assert_eq!(back.patterns, c.patterns);
    }
});
