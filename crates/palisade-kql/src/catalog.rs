//! The advanced-hunting table catalog: table names, columns and column types.
//!
//! One home: `catalog/hunting-tables.json` is a verbatim copy of the shared spec
//! (`shared/spec/hunting-tables.json`; a test fails when the two differ), embedded at build
//! time and read here. It holds the 66 Defender XDR tables and, under `sentinel`, the Microsoft
//! Sentinel (Log Analytics) tables and the workspace columns the Log Analytics copies of the
//! XDR tables carry. Three views of it:
//! - [`Catalog::defender`]: the XDR tables (a tenant without a connected Sentinel workspace);
//! - [`Catalog::stored`]: what the event store keeps: the XDR tables and the Sentinel tables;
//! - [`Catalog::view`] with `sentinel = true` (from a stored catalog): the unified portal of a
//!   tenant whose workspace is connected: the Sentinel tables, and the XDR tables that Log
//!   Analytics copies with [`WORKSPACE_COLUMNS`] appended.
//!
//! Choices where the spec leaves room: the pages' type spellings `boolean`/`nullable bool` →
//! `bool`, `integer` → `int`, `object` → `dynamic`, `enum` → `string`; Sentinel's UEBA
//! `IdentityInfo` is not offered (the XDR `IdentityInfo` takes the name, as in the portal);
//! of the workspace columns only `TimeGenerated`, `TenantId`, `Type` and `SourceSystem` are
//! exposed (not `_BilledSize`, `_IsBillable`, `MachineGroup`), and a column the XDR table
//! already has keeps its advanced-hunting meaning (IdentityAccountInfo's `Type`).

use std::collections::{BTreeMap, BTreeSet};

use crate::value::KqlType;

/// The advanced-hunting schema, a copy of the shared spec's `hunting-tables.json`.
const DEFENDER_TABLES: &str = include_str!("../catalog/hunting-tables.json");

/// The Log Analytics workspace columns added to the XDR tables a connected Sentinel workspace
/// copies, in this order. Their values are computed at scan time, never stored: `TimeGenerated`
/// is the event time (`Timestamp`), or the row's ingestion time when it arrived more than
/// [`LATE_ARRIVAL_NS`] late (or when the table has no `Timestamp`); `TenantId` is the
/// workspace id; `Type` is the table's name; `SourceSystem` is empty.
pub const WORKSPACE_COLUMNS: &[&str] = &["TimeGenerated", "TenantId", "Type", "SourceSystem"];

/// A row ingested this much later than its `Timestamp` gets its ingestion time as
/// `TimeGenerated` (48 hours, `hunting-tables.md`).
pub const LATE_ARRIVAL_NS: i64 = 48 * 3600 * 1_000_000_000;

/// A named, typed column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    /// Column name (case-sensitive).
    pub name: String,
    /// Column type.
    pub ty: KqlType,
}

impl Column {
    /// Builds a column.
    pub fn new(name: impl Into<String>, ty: KqlType) -> Self {
        Column {
            name: name.into(),
            ty,
        }
    }
}

/// An ordered list of columns: a table's or an operator's output schema.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Schema {
    /// Columns in output order.
    pub columns: Vec<Column>,
}

impl Schema {
    /// Builds a schema from columns.
    pub fn new(columns: Vec<Column>) -> Self {
        Schema { columns }
    }

    /// Index and column named `name` (case-sensitive).
    pub fn find(&self, name: &str) -> Option<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }

    /// True when a column named `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Column names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The column that places a row in time: `Timestamp` (XDR tables), else `TimeGenerated`
    /// (Sentinel tables), when it is a `datetime`; `None` for snapshot tables (TVM, exposure
    /// graph), which are stored undated.
    pub fn time_column(&self) -> Option<&'static str> {
        ["Timestamp", "TimeGenerated"]
            .into_iter()
            .find(|n| self.find(n).is_some_and(|(_, c)| c.ty == KqlType::DateTime))
    }
}

/// Errors loading a catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The JSON is malformed.
    #[error("catalog JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    /// A column has a type name KQL does not know.
    #[error("table '{table}', column '{column}': unknown type '{ty}'")]
    UnknownType {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
        /// The unknown type name.
        ty: String,
    },
}

#[derive(serde::Deserialize)]
struct RawCatalog {
    tables: BTreeMap<String, Vec<RawColumn>>,
    #[serde(default)]
    sentinel: Option<RawSentinel>,
}

#[derive(serde::Deserialize)]
struct RawSentinel {
    #[serde(default)]
    tables: BTreeMap<String, Vec<RawColumn>>,
    xdr_columns_in_sentinel: Option<RawWorkspaceColumns>,
}

#[derive(serde::Deserialize)]
struct RawWorkspaceColumns {
    tables_compared: Vec<String>,
    columns: Vec<RawColumn>,
}

#[derive(serde::Deserialize)]
struct RawColumn {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

/// The KQL type of a type name as the schema pages print it (see the module docs).
fn spec_type(table: &str, c: &RawColumn) -> Result<KqlType, CatalogError> {
    let ty = match c.ty.as_str() {
        "integer" => Some(KqlType::Int),
        "object" => Some(KqlType::Dynamic),
        "enum" => Some(KqlType::String),
        "nullable bool" => Some(KqlType::Bool),
        other => KqlType::from_name(other),
    };
    ty.ok_or_else(|| CatalogError::UnknownType {
        table: table.to_string(),
        column: c.name.clone(),
        ty: c.ty.clone(),
    })
}

fn schema_of(table: &str, cols: Vec<RawColumn>) -> Result<Schema, CatalogError> {
    let mut columns = Vec::with_capacity(cols.len());
    for c in cols {
        let ty = spec_type(table, &c)?;
        columns.push(Column::new(c.name, ty));
    }
    Ok(Schema::new(columns))
}

/// Tables and their schemas.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<String, Schema>,
    /// Which of `tables` are Sentinel workspace tables.
    sentinel_tables: BTreeSet<String>,
    /// The Sentinel section of the source, kept for [`Catalog::view`] and [`Catalog::stored`].
    sentinel: SentinelPart,
}

/// The Sentinel tables and the workspace columns of the XDR tables, as the spec lists them.
#[derive(Debug, Clone, Default)]
struct SentinelPart {
    tables: BTreeMap<String, Schema>,
    /// [`WORKSPACE_COLUMNS`] with their types.
    columns: Vec<Column>,
    /// The XDR tables Log Analytics copies (which get the workspace columns).
    copied: BTreeSet<String>,
}

impl Catalog {
    /// The Defender XDR advanced-hunting tables (66, embedded at build time): what a tenant
    /// without a connected Sentinel workspace queries.
    pub fn defender() -> Catalog {
        // The embedded file is validated by the crate's tests; an invalid copy is a build defect.
        static PARSED: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        PARSED
            .get_or_init(|| Catalog::from_json(DEFENDER_TABLES).unwrap_or_default())
            .clone()
    }

    /// Every table the event store keeps: the XDR tables and the Sentinel tables (without the
    /// computed workspace columns). Narrow it per tenant with [`Catalog::view`].
    pub fn stored() -> Catalog {
        Catalog::defender().with_sentinel_tables()
    }

    /// The XDR tables plus the Sentinel tables the source lists (an XDR table keeps its name
    /// when a Sentinel table has the same one).
    pub fn with_sentinel_tables(mut self) -> Catalog {
        for (name, schema) in &self.sentinel.tables {
            if !self.tables.contains_key(name) {
                self.tables.insert(name.clone(), schema.clone());
                self.sentinel_tables.insert(name.clone());
            }
        }
        self
    }

    /// What a tenant queries: without a connected Sentinel workspace (`sentinel = false`), the
    /// Sentinel tables are left out (unknown tables, as in the portal); with one, they are in
    /// and the XDR tables Log Analytics copies get the [`WORKSPACE_COLUMNS`] they lack.
    pub fn view(&self, sentinel: bool) -> Catalog {
        let mut out = self.clone();
        if !sentinel {
            for t in &self.sentinel_tables {
                out.tables.remove(t);
            }
            out.sentinel_tables.clear();
            return out;
        }
        for (name, schema) in out.tables.iter_mut() {
            if !self.sentinel.copied.contains(name) {
                continue;
            }
            for c in &self.sentinel.columns {
                if !schema.contains(&c.name) {
                    schema.columns.push(c.clone());
                }
            }
        }
        out
    }

    /// True when `table` is a Sentinel workspace table of this catalog.
    pub fn is_sentinel_table(&self, table: &str) -> bool {
        self.sentinel_tables.contains(table)
    }

    /// The Sentinel tables the source lists, sorted (whether or not this catalog holds them).
    pub fn sentinel_table_names(&self) -> impl Iterator<Item = &str> {
        self.sentinel.tables.keys().map(String::as_str)
    }

    /// Loads a catalog in the `hunting-tables.json` format:
    /// `{"tables": {"Name": [{"name": "...", "type": "string", ...}, ...]}, "sentinel": {...}}`
    /// (`sentinel` optional). The result holds the `tables` only; see [`Catalog::stored`].
    pub fn from_json(json: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = serde_json::from_str(json)?;
        let mut tables = BTreeMap::new();
        for (table, cols) in raw.tables {
            let schema = schema_of(&table, cols)?;
            tables.insert(table, schema);
        }
        let mut sentinel = SentinelPart::default();
        if let Some(s) = raw.sentinel {
            for (table, cols) in s.tables {
                let schema = schema_of(&table, cols)?;
                sentinel.tables.insert(table, schema);
            }
            if let Some(w) = s.xdr_columns_in_sentinel {
                sentinel.copied = w.tables_compared.into_iter().collect();
                for name in WORKSPACE_COLUMNS {
                    if let Some(c) = w.columns.iter().find(|c| c.name == *name) {
                        sentinel
                            .columns
                            .push(Column::new(c.name.clone(), spec_type(name, c)?));
                    }
                }
            }
        }
        Ok(Catalog {
            tables,
            sentinel_tables: BTreeSet::new(),
            sentinel,
        })
    }

    /// Adds or replaces a table.
    pub fn insert(&mut self, name: impl Into<String>, schema: Schema) {
        self.tables.insert(name.into(), schema);
    }

    /// The schema of table `name` (case-sensitive).
    pub fn table(&self, name: &str) -> Option<&Schema> {
        self.tables.get(name)
    }

    /// All table names, sorted.
    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }
}

/// The name of the file-profile reference dataset (and of the `invoke` function that reads
/// it).
pub const FILE_PROFILE: &str = "FileProfile";

/// Stored columns of a file profile, as documented for `FileProfile()` (Microsoft documents
/// `FileSize` and `GlobalPrevalence` as `int`). `ProfileAvailability` is not stored: the
/// engine computes it per row.
pub const FILE_PROFILE_COLUMNS: &[(&str, KqlType)] = &[
    ("SHA1", KqlType::String),
    ("SHA256", KqlType::String),
    ("MD5", KqlType::String),
    ("FileSize", KqlType::Int),
    ("GlobalPrevalence", KqlType::Int),
    ("GlobalFirstSeen", KqlType::DateTime),
    ("GlobalLastSeen", KqlType::DateTime),
    ("Signer", KqlType::String),
    ("Issuer", KqlType::String),
    ("SignerHash", KqlType::String),
    ("IsCertificateValid", KqlType::Bool),
    ("IsRootSignerMicrosoft", KqlType::Bool),
    ("SignatureState", KqlType::String),
    ("IsExecutable", KqlType::Bool),
    ("ThreatName", KqlType::String),
    ("Publisher", KqlType::String),
    ("SoftwareName", KqlType::String),
];

/// The file-id columns `invoke FileProfile(x, y)` accepts as `x`.
pub const FILE_PROFILE_KEYS: &[&str] = &[
    "SHA1",
    "SHA256",
    "InitiatingProcessSHA1",
    "InitiatingProcessSHA256",
];

/// The schema of global reference dataset `name` (data that is no tenant's, read by
/// enrichment functions); `None` if there is no such dataset.
pub fn reference_schema(name: &str) -> Option<Schema> {
    (name == FILE_PROFILE).then(|| {
        Schema::new(
            FILE_PROFILE_COLUMNS
                .iter()
                .map(|(n, t)| Column::new(*n, *t))
                .collect(),
        )
    })
}

/// True when `name` matches `pattern`, where `*` matches any run of characters.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.len() >= part.len() && rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(k) => rest = &rest[k + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defender_catalog_loads() {
        let c = Catalog::from_json(DEFENDER_TABLES).unwrap();
        assert_eq!(c.table_names().count(), 66);
        let dpe = c.table("DeviceProcessEvents").unwrap();
        assert_eq!(dpe.columns[0], Column::new("Timestamp", KqlType::DateTime));
        assert_eq!(dpe.find("FileSize").unwrap().1.ty, KqlType::Long);
        let total: usize = c.tables.values().map(|s| s.columns.len()).sum();
        assert_eq!(total, 1623);
        // The pages' odd type spellings.
        let oauth = c.table("OAuthAppInfo").unwrap();
        assert!(oauth.columns.iter().any(|c| c.ty == KqlType::Int));
        assert!(c.table("SigninLogs").is_none());
        assert_eq!(
            c.table("ExposureGraphNodes").unwrap().time_column(),
            None,
            "snapshot tables are undated"
        );
    }

    /// Every column of every table of the spec, with its type, is in the catalog, in order.
    #[test]
    fn the_catalog_is_the_spec_column_for_column() {
        let raw: serde_json::Value = serde_json::from_str(DEFENDER_TABLES).unwrap();
        let stored = Catalog::stored();
        let mut checked = 0;
        let tables = raw["tables"].as_object().unwrap();
        let sentinel = raw["sentinel"]["tables"].as_object().unwrap();
        for (name, cols) in tables.iter().chain(sentinel.iter()) {
            if name == "IdentityInfo" && cols == &sentinel["IdentityInfo"] {
                continue; // Sentinel's UEBA IdentityInfo: the XDR table keeps the name.
            }
            let schema = stored.table(name).unwrap();
            let cols = cols.as_array().unwrap();
            assert_eq!(schema.columns.len(), cols.len(), "{name}");
            for (c, raw) in schema.columns.iter().zip(cols) {
                assert_eq!(c.name, raw["name"].as_str().unwrap(), "{name}");
                let ty = raw["type"].as_str().unwrap();
                let want = match ty {
                    "boolean" | "nullable bool" => "bool",
                    "integer" => "int",
                    "object" => "dynamic",
                    "enum" => "string",
                    t => t,
                };
                assert_eq!(c.ty.name(), want, "{name}.{}", c.name);
                checked += 1;
            }
        }
        assert_eq!(
            checked,
            1623 + 1258 - sentinel["IdentityInfo"].as_array().unwrap().len()
        );
        assert_eq!(stored.table_names().count(), 66 + 20);
    }

    /// The embedded copy is the shared spec byte for byte, so the catalog cannot drift from it.
    /// (The spec lives beside the repository, `../shared/spec`; a checkout without it has only
    /// the embedded copy, which the other tests check.)
    #[test]
    fn the_embedded_copy_is_the_shared_spec() {
        let spec = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/spec/hunting-tables.json"
        );
        match std::fs::read_to_string(spec) {
            Ok(text) => assert!(
                text == DEFENDER_TABLES,
                "crates/palisade-kql/catalog/hunting-tables.json differs from {spec}: copy it"
            ),
            Err(e) => eprintln!("{spec}: {e}; only the embedded copy is checked"),
        }
    }

    #[test]
    fn views_per_sentinel_connection() {
        let stored = Catalog::stored();
        let off = stored.view(false);
        assert!(off.table("SigninLogs").is_none());
        assert!(!off
            .table("DeviceProcessEvents")
            .unwrap()
            .contains("TimeGenerated"));
        let on = stored.view(true);
        assert_eq!(
            on.table("SigninLogs").unwrap().time_column(),
            Some("TimeGenerated")
        );
        let dpe = on.table("DeviceProcessEvents").unwrap();
        let tail: Vec<&str> = dpe.names().skip(dpe.columns.len() - 4).collect();
        assert_eq!(tail, WORKSPACE_COLUMNS);
        // A column the XDR table has keeps its advanced-hunting place and meaning.
        let iai = on.table("IdentityAccountInfo").unwrap();
        assert_eq!(iai.names().filter(|n| *n == "Type").count(), 1);
        // Tables Log Analytics does not copy get no workspace columns.
        assert!(!on
            .table("AADSignInEventsBeta")
            .unwrap()
            .contains("TimeGenerated"));
        assert!(on.is_sentinel_table("AuditLogs"));
        assert!(!on.is_sentinel_table("IdentityInfo"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("Device*Events", "DeviceProcessEvents"));
        assert!(wildcard_match("Device*", "DeviceInfo"));
        assert!(!wildcard_match("Device*Events", "DeviceInfo"));
        assert!(wildcard_match("*", "x"));
        assert!(wildcard_match("Initiating*Id", "InitiatingProcessId"));
    }
}
