//! The svlogd golden state table: the rendering must equal the committed file.

#[test]
fn svlogd_state_table_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/state-tables/svlogd.md");
    let rendered = verification::tables::svlogd::render();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/state-tables")).expect("mkdir");
        std::fs::write(path, &rendered).expect("write golden");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(committed, rendered, "docs/state-tables/svlogd.md is stale: rerun with UPDATE_GOLDEN=1");
}
