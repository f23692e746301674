//! The advanced-hunting table catalog: table names, columns and column types.

use std::collections::BTreeMap;

use crate::value::KqlType;

/// The Defender XDR advanced-hunting schema, copied from `/work/shared/spec/hunting-tables.json`.
const DEFENDER_TABLES: &str = include_str!("../catalog/hunting-tables.json");

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
}

#[derive(serde::Deserialize)]
struct RawColumn {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

/// Tables and their schemas.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<String, Schema>,
}

impl Catalog {
    /// The Defender XDR advanced-hunting tables (28 tables, embedded at build time).
    pub fn defender() -> Catalog {
        // The embedded file is validated by the crate's tests; an invalid copy is a build defect.
        Catalog::from_json(DEFENDER_TABLES).unwrap_or_default()
    }

    /// Loads a catalog in the `hunting-tables.json` format:
    /// `{"tables": {"Name": [{"name": "...", "type": "string", ...}, ...]}}`.
    pub fn from_json(json: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = serde_json::from_str(json)?;
        let mut tables = BTreeMap::new();
        for (table, cols) in raw.tables {
            let mut columns = Vec::with_capacity(cols.len());
            for c in cols {
                let ty = KqlType::from_name(&c.ty).ok_or_else(|| CatalogError::UnknownType {
                    table: table.clone(),
                    column: c.name.clone(),
                    ty: c.ty.clone(),
                })?;
                columns.push(Column::new(c.name, ty));
            }
            tables.insert(table, Schema::new(columns));
        }
        Ok(Catalog { tables })
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
        assert_eq!(c.table_names().count(), 28);
        let dpe = c.table("DeviceProcessEvents").unwrap();
        assert_eq!(dpe.columns[0], Column::new("Timestamp", KqlType::DateTime));
        assert_eq!(dpe.find("FileSize").unwrap().1.ty, KqlType::Long);
        let total: usize = c.tables.values().map(|s| s.columns.len()).sum();
        assert_eq!(total, 861);
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
