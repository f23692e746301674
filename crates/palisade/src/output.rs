//! Printing results as a table or as JSON.

use clap::ValueEnum;
use serde_json::Value;

/// Output format of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// The API's JSON.
    Json,
}

/// Prints `rows` under `headers` as aligned columns.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(headers.to_vec())];
    out.push(line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    out.join("\n")
}

/// The string at `pointer` in `v` (`""` when absent, JSON text for non-strings).
pub fn field(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Rows as CSV (RFC 4180 quoting) under a header line.
pub fn csv(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |c: &str| {
        if c.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.to_string()
        }
    };
    let mut out = String::new();
    out.push_str(
        &headers
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push('\n');
    for row in rows {
        out.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// ISO-8601 UTC with seconds and `Z`.
pub fn iso(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The `--query FIELD` of this invocation: set once, at the start of an admin command.
static QUERY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes [`emit`] print only `field` (a name, `a.b` path or JSON pointer) of each result.
pub fn set_query(field: &str) {
    let _ = QUERY.set(field.to_string());
}

/// The values `query` selects in `json`: the field of the object, or of each element of a
/// list's `value`.
fn select(json: &Value, query: &str) -> Vec<String> {
    let pointer = if query.starts_with('/') {
        query.to_string()
    } else {
        format!("/{}", query.replace('.', "/"))
    };
    match (
        json.pointer(&pointer),
        json.get("value").and_then(Value::as_array),
    ) {
        (Some(_), _) => vec![field(json, &pointer)],
        (None, Some(items)) => items.iter().map(|i| field(i, &pointer)).collect(),
        (None, None) => Vec::new(),
    }
}

/// Prints either the JSON or the table (or, with `--query`, only the field asked for).
pub fn emit(format: Format, json: &Value, headers: &[&str], rows: Vec<Vec<String>>) {
    if let Some(q) = QUERY.get() {
        for v in select(json, q) {
            println!("{v}");
        }
        return;
    }
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(json).unwrap_or_default()),
        Format::Table => println!("{}", table(headers, &rows)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            csv(&["a", "b"], &[vec!["x,y".into(), "say \"hi\"".into()]]),
            "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n"
        );
    }

    #[test]
    fn query_selects_a_field_or_each_listed_one() {
        let one = serde_json::json!({"appId": "a1", "web": {"redirectUris": ["x"]}});
        assert_eq!(select(&one, "appId"), vec!["a1"]);
        assert_eq!(select(&one, "web.redirectUris"), vec!["[\"x\"]"]);
        let list = serde_json::json!({"value": [{"id": "1"}, {"id": "2"}]});
        assert_eq!(select(&list, "id"), vec!["1", "2"]);
        assert!(select(&one, "missing").is_empty());
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["a", "bb"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "a    bb\n---  --\nxyz  1");
    }
}
