//! `docs/hunting-tables.md`, the list of the advanced-hunting tables with what fills each one,
//! is generated from the catalog and the generator's table lists by this module's test, so
//! it cannot drift: `PALISADE_WRITE_DOCS=1 cargo test -p palisade-events catalog_docs`
//! rewrites it; without it, the test fails when the file is not what it would write.

use palisade_kql::Catalog;

use crate::{ESTATE_TABLES, GENERATED_TABLES, SEEDED_SENTINEL_TABLES};

/// Whether the demo estate fills `table` (`palisade serve --demo`, `palisade seed`): the main
/// generator's tables, the family generators' ([`ESTATE_TABLES`]) and, for a connected
/// Sentinel workspace, [`SEEDED_SENTINEL_TABLES`]. Every other table exists typed and empty.
pub fn is_seeded(table: &str) -> bool {
    GENERATED_TABLES.contains(&table)
        || ESTATE_TABLES.iter().any(|f| f.contains(&table))
        || SEEDED_SENTINEL_TABLES.iter().any(|(t, _)| *t == table)
}

/// The page's text.
pub fn render() -> String {
    let stored = Catalog::stored();
    let xdr = Catalog::defender();
    let mut out = String::from(
        "# Advanced hunting tables\n\n\
         Generated from the catalog (`crates/palisade-kql/catalog/hunting-tables.json`, the shared \
         spec) and the event generator by `cargo test -p palisade-events catalog_docs` \
         (`PALISADE_WRITE_DOCS=1` rewrites it). Every table is queryable with its exact columns \
         and types; **seeded** tables get rows from the demo estate (`palisade serve --demo`, \
         `palisade seed`), the others exist typed and empty until `palisade ingest` fills them. \
         The seeded tables share one estate (users, devices, files, apps, messages), so joins \
         across them find rows; the vulnerability-management and exposure-graph snapshots \
         are written once per tenant.\n\n\
         The Sentinel tables, and the Log Analytics columns `TimeGenerated`, `TenantId`, `Type`, \
         `SourceSystem` of the XDR tables marked *LA copy*, exist only for a tenant whose Sentinel \
         workspace is connected (`palisade admin -t T sentinel connect`; on for the demo tenant). \
         `palisade ingest` takes a Sentinel table only for such a tenant. \
         `TimeGenerated` is the row's `Timestamp`, or its ingestion time when it arrived more than \
         48 hours late; `ingestion_time()` is the row's ingestion time.\n\n",
    );
    out.push_str("## Defender XDR tables\n\n| table | columns | time column | demo data |\n|---|---|---|---|\n");
    let unified = stored.view(true);
    for t in xdr.table_names() {
        let Some(s) = xdr.table(t) else { continue };
        let la = unified
            .table(t)
            .is_some_and(|u| u.columns.len() > s.columns.len() || u.contains("TimeGenerated"));
        out.push_str(&format!(
            "| {t} | {} | {}{} | {} |\n",
            s.columns.len(),
            s.time_column().unwrap_or("none (snapshot)"),
            if la { "; LA copy" } else { "" },
            if is_seeded(t) { "seeded" } else { "empty" },
        ));
    }
    out.push_str("\n## Microsoft Sentinel tables (connected workspace only)\n\n| table | columns | demo data |\n|---|---|---|\n");
    for t in stored.table_names().filter(|t| stored.is_sentinel_table(t)) {
        let Some(s) = stored.table(t) else { continue };
        out.push_str(&format!(
            "| {t} | {} | {} |\n",
            s.columns.len(),
            if is_seeded(t) { "seeded" } else { "empty" },
        ));
    }
    out.push_str(
        "\nSentinel's own `IdentityInfo` (the UEBA table) is not offered: the XDR `IdentityInfo` \
         keeps the name, as in the portal.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn catalog_docs_are_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/hunting-tables.md");
        let want = super::render();
        if std::env::var_os("PALISADE_WRITE_DOCS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/hunting-tables.md is stale: PALISADE_WRITE_DOCS=1 cargo test -p palisade-events catalog_docs"
        );
    }
}
