//! A tiny MaxMind DB (format 2.0) writer, so the GeoIP tests build their database instead of
//! shipping MaxMind's data: an IPv6 search tree (IPv4 networks under `::/96`, as MaxMind's
//! own databases store them), 24-bit records, the data section and the metadata.
//!
//! No maintained Rust crate writes the format, and the Python writer would tie the Rust tests
//! to the Python environment; the format is small and documented (MaxMind DB File Format
//! Specification 2.0), and every database written here is read back by the real reader
//! (`maxminddb`), which validates its layout.

use std::net::IpAddr;

use serde_json::Value as Json;

/// A database being built: networks and their data.
#[derive(Debug, Clone)]
pub struct MmdbWriter {
    database_type: String,
    networks: Vec<(u128, u8, Json)>,
}

/// The GeoIP2 City record of one network: English names and coordinates.
#[derive(Debug, Clone, Default)]
pub struct CityRecord<'a> {
    /// `country.names.en` (and `country.iso_code` when given).
    pub country: Option<(&'a str, &'a str)>,
    /// `subdivisions[0].names.en`.
    pub state: Option<&'a str>,
    /// `city.names.en`.
    pub city: Option<&'a str>,
    /// `location.latitude` and `location.longitude`.
    pub location: Option<(f64, f64)>,
}

impl CityRecord<'_> {
    /// The record as GeoIP2's City layout.
    pub fn to_json(&self) -> Json {
        let names = |en: &str| serde_json::json!({"en": en, "de": format!("{en} (de)")});
        let mut m = serde_json::Map::new();
        if let Some((name, iso)) = self.country {
            m.insert(
                "country".into(),
                serde_json::json!({"geoname_id": 1u32, "iso_code": iso, "names": names(name)}),
            );
        }
        if let Some(state) = self.state {
            m.insert(
                "subdivisions".into(),
                serde_json::json!([{"names": names(state)}, {"names": names("second level")}]),
            );
        }
        if let Some(city) = self.city {
            m.insert("city".into(), serde_json::json!({"names": names(city)}));
        }
        if let Some((lat, lon)) = self.location {
            m.insert(
                "location".into(),
                serde_json::json!({"latitude": lat, "longitude": lon,}),
            );
        }
        Json::Object(m)
    }
}

impl MmdbWriter {
    /// An empty database of `database_type` (`GeoLite2-City`, …).
    pub fn new(database_type: &str) -> MmdbWriter {
        MmdbWriter {
            database_type: database_type.to_string(),
            networks: Vec::new(),
        }
    }

    /// Adds `network` (`a.b.c.d/n` or an IPv6 CIDR) with `data` (JSON objects become maps,
    /// whole numbers `uint32`/`uint64` (the reader checks integer widths: GeoIP2's `uint16`
    /// fields such as `accuracy_radius` cannot be written), other numbers `double`). Later networks win where they
    /// overlap earlier ones.
    ///
    /// # Panics
    /// On a malformed network (test input).
    pub fn insert(&mut self, network: &str, data: Json) -> &mut MmdbWriter {
        let (ip, bits) = network.split_once('/').expect("network as address/prefix");
        let ip: IpAddr = ip.parse().expect("network address");
        let bits: u8 = bits.parse().expect("prefix length");
        let (addr, prefix) = match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), bits + 96),
            IpAddr::V6(v6) => (u128::from(v6), bits),
        };
        assert!(prefix <= 128 && prefix > 0, "prefix length");
        self.networks.push((addr, prefix, data));
        self
    }

    /// The database file's bytes.
    pub fn build(&self) -> Vec<u8> {
        // The search tree: node 0 is the root; each node has two records.
        let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty, Rec::Empty]];
        let mut data = Vec::new();
        for (addr, prefix, value) in &self.networks {
            let offset = data.len();
            encode(&mut data, &field(value));
            let mut node = 0;
            for depth in 0..*prefix {
                let bit = ((addr >> (127 - depth)) & 1) as usize;
                if depth + 1 == *prefix {
                    nodes[node][bit] = Rec::Data(offset);
                    break;
                }
                node = match nodes[node][bit] {
                    Rec::Node(next) => next,
                    other => {
                        // A new node; a network it splits keeps both halves.
                        nodes.push([other, other]);
                        let next = nodes.len() - 1;
                        nodes[node][bit] = Rec::Node(next);
                        next
                    }
                };
            }
        }
        let count = nodes.len();
        let mut out = Vec::with_capacity(count * 6 + data.len() + 256);
        for pair in &nodes {
            for rec in pair {
                let v = match *rec {
                    Rec::Node(i) => i,
                    Rec::Empty => count,
                    Rec::Data(off) => count + 16 + off,
                };
                let v = u32::try_from(v).expect("24-bit record");
                assert!(v < 1 << 24, "24-bit record");
                out.extend_from_slice(&v.to_be_bytes()[1..]);
            }
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let metadata = Field::Map(vec![
            ("binary_format_major_version".into(), Field::U16(2)),
            ("binary_format_minor_version".into(), Field::U16(0)),
            ("build_epoch".into(), Field::U64(1_700_000_000)),
            (
                "database_type".into(),
                Field::Str(self.database_type.clone()),
            ),
            (
                "description".into(),
                Field::Map(vec![(
                    "en".into(),
                    Field::Str("Palisade test database".into()),
                )]),
            ),
            ("ip_version".into(), Field::U16(6)),
            (
                "languages".into(),
                Field::Array(vec![Field::Str("en".into()), Field::Str("de".into())]),
            ),
            (
                "node_count".into(),
                Field::U32(u32::try_from(count).expect("node count")),
            ),
            ("record_size".into(), Field::U16(24)),
        ]);
        encode(&mut out, &metadata);
        out
    }
}

/// One record of the search tree.
#[derive(Debug, Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// A value of the data section, typed as the format types it.
enum Field {
    Str(String),
    Double(f64),
    U16(u16),
    U32(u32),
    U64(u64),
    I32(i32),
    Bool(bool),
    Map(Vec<(String, Field)>),
    Array(Vec<Field>),
}

fn field(v: &Json) -> Field {
    match v {
        Json::Null => Field::Map(Vec::new()),
        Json::Bool(b) => Field::Bool(*b),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                u32::try_from(u).map_or(Field::U64(u), Field::U32)
            } else if let Some(i) = n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                Field::I32(i)
            } else {
                Field::Double(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => Field::Str(s.clone()),
        Json::Array(a) => Field::Array(a.iter().map(field).collect()),
        Json::Object(o) => Field::Map(o.iter().map(|(k, v)| (k.clone(), field(v))).collect()),
    }
}

/// The control byte(s): type (extended types after it) and size.
fn control(out: &mut Vec<u8>, ty: u8, size: usize) {
    let (first, ext) = if ty <= 7 {
        (ty << 5, None)
    } else {
        (0, Some(ty - 7))
    };
    let (bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, vec![])
    } else if size < 29 + 256 {
        (29, vec![(size - 29) as u8])
    } else if size < 285 + 65_536 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    out.push(first | bits);
    out.extend(ext);
    out.extend(extra);
}

/// An unsigned integer in its fewest big-endian bytes.
fn uint(out: &mut Vec<u8>, ty: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, ty, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

fn encode(out: &mut Vec<u8>, f: &Field) {
    match f {
        Field::Str(s) => {
            control(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Field::Double(d) => {
            control(out, 3, 8);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Field::U16(v) => uint(out, 5, u64::from(*v)),
        Field::U32(v) => uint(out, 6, u64::from(*v)),
        Field::U64(v) => uint(out, 9, *v),
        Field::I32(v) => {
            control(out, 8, 4);
            out.extend_from_slice(&v.to_be_bytes());
        }
        Field::Bool(b) => control(out, 14, usize::from(*b)),
        Field::Map(entries) => {
            control(out, 7, entries.len());
            for (k, v) in entries {
                encode(out, &Field::Str(k.clone()));
                encode(out, v);
            }
        }
        Field::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                encode(out, v);
            }
        }
    }
}
