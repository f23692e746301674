//! `docs/kql-functions.md` is generated from the function registry: the checked-in page must be
//! what `render_markdown()` produces now. Regenerate it with
//! `PALISADE_REGENERATE_DOCS=1 cargo test -p palisade-kql --test it functions_page`.

use std::path::PathBuf;

use palisade_kql::functions::render_markdown;

#[test]
fn functions_page_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/kql-functions.md");
    let generated = render_markdown();
    if std::env::var_os("PALISADE_REGENERATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("writing docs/kql-functions.md");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/kql-functions.md is out of date with the function registry; regenerate it with\n  \
         PALISADE_REGENERATE_DOCS=1 cargo test -p palisade-kql --test it functions_page"
    );
}

#[test]
fn rejected_functions_fail_to_bind_by_name() {
    use palisade_kql::{analyze, Catalog, KqlError};
    let catalog = Catalog::defender();
    for name in ["geo_h3cell_level", "series_fft", "SeenBy", "graph"] {
        let q = format!("print x = {name}(1, 2)");
        match analyze(&q, &catalog) {
            Err(e @ KqlError::Bind(_)) => assert_eq!(e.unsupported_name(), Some(name), "{e}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    // An unknown name stays an unknown-function error, not "not supported".
    let e = analyze("print x = no_such_function(1)", &catalog).unwrap_err();
    assert_eq!(e.unsupported_name(), None, "{e}");
}
