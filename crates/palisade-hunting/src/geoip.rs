//! `geo_info_from_ip_address()`: answers from an operator-supplied MaxMind DB file
//! (GeoLite2-City, GeoIP2-City or any database of the City layout), read with the
//! `maxminddb` crate. Kusto itself answers from MaxMind's GeoLite2-City data.
//!
//! The result is Kusto's documented shape, a bag with exactly `country`, `state`, `city`
//! (English names; `state` is the first, largest subdivision) and `latitude`, `longitude`
//! (reals). Choices where the docs are silent:
//! - an address the database does not know, an invalid address, and private, loopback,
//!   link-local, shared (100.64/10), multicast, unspecified and documentation addresses
//!   answer null (they have no location), whatever the file holds for them;
//! - a known address whose record lacks a name gets `""` for it, and a record without
//!   coordinates gets null `latitude`/`longitude` (the bag keeps its five keys);
//! - IPv4 addresses are looked up in an IPv6 database through its IPv4 subtree, as MaxMind
//!   readers do; IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are looked up as IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use maxminddb::geoip2;
use serde_json::{json, Value as Json};

/// Why a GeoIP database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    /// The file could not be read.
    #[error("cannot read the GeoIP database {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a MaxMind DB file.
    #[error("{path} is not a valid MaxMind DB file: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the reader found wrong.
        detail: String,
    },
    /// The file is a MaxMind DB of another kind (ASN, ISP, …).
    #[error(
        "{path} is a '{database_type}' database; geo_info_from_ip_address needs a City \
         database (GeoLite2-City or GeoIP2-City)"
    )]
    NotCity {
        /// The file.
        path: PathBuf,
        /// The database type its metadata declares.
        database_type: String,
    },
}

/// An opened City database, shared by every query of the engine.
pub struct GeoIpDatabase {
    reader: maxminddb::Reader<Vec<u8>>,
    path: PathBuf,
}

impl std::fmt::Debug for GeoIpDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIpDatabase")
            .field("path", &self.path)
            .field("database_type", &self.database_type())
            .finish()
    }
}

impl GeoIpDatabase {
    /// Reads the whole file into memory and checks that it is a City database.
    pub fn open(path: &Path) -> Result<GeoIpDatabase, GeoIpError> {
        let bytes = std::fs::read(path).map_err(|source| GeoIpError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        GeoIpDatabase::from_bytes(bytes, path)
    }

    /// A database from its bytes; `path` names it in errors.
    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<GeoIpDatabase, GeoIpError> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| GeoIpError::Invalid {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let database_type = reader.metadata().database_type.clone();
        if !database_type.to_ascii_lowercase().contains("city") {
            return Err(GeoIpError::NotCity {
                path: path.to_path_buf(),
                database_type,
            });
        }
        Ok(GeoIpDatabase {
            reader,
            path: path.to_path_buf(),
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database type its metadata declares (`GeoLite2-City`, …).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// `geo_info_from_ip_address(text)`: Kusto's bag, or null (see the module's rules).
    pub fn lookup(&self, text: &str) -> Json {
        let Some(ip) = parse_address(text) else {
            return Json::Null;
        };
        if !has_location(ip) {
            return Json::Null;
        }
        let city: Option<geoip2::City<'_>> = self
            .reader
            .lookup(ip)
            .and_then(|r| r.decode())
            .ok()
            .flatten();
        let Some(city) = city else {
            return Json::Null;
        };
        let name = |n: Option<&str>| n.unwrap_or_default().to_string();
        let state = city
            .subdivisions
            .first()
            .and_then(|s| s.names.english)
            .unwrap_or_default();
        json!({
            "country": name(city.country.names.english),
            "state": state,
            "city": name(city.city.names.english),
            "latitude": city.location.latitude,
            "longitude": city.location.longitude,
        })
    }
}

/// An IPv4 or IPv6 address (surrounding blanks allowed); IPv4-mapped IPv6 becomes IPv4.
fn parse_address(text: &str) -> Option<IpAddr> {
    let ip: IpAddr = text.trim().parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    })
}

/// False for addresses that are not on the public internet, so have no location.
fn has_location(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)))
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_have_no_location() {
        for s in [
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            let ip = parse_address(s).unwrap();
            assert!(!has_location(ip), "{s}");
        }
        for s in [
            "20.53.203.50",
            "2a03:2880:f12c:83:face:b00c::25de",
            "::ffff:8.8.8.8",
        ] {
            assert!(has_location(parse_address(s).unwrap()), "{s}");
        }
        assert_eq!(parse_address(" 1.2.3.4 "), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(parse_address("1.2.3"), None);
        assert_eq!(parse_address(""), None);
    }
}
