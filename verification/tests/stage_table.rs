//! Golden state table of runit's stage machine: the rendering must equal the committed
//! `docs/state-tables/stage.md` (regenerate with `UPDATE_GOLDEN=1`).

#[test]
fn stage_table_matches_golden() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/state-tables/stage.md");
    let rendered = verification::tables::stage::render();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &rendered).expect("write golden table");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/state-tables/stage.md is out of date: run UPDATE_GOLDEN=1 cargo test -p runit-verification --test stage_table"
    );
}
