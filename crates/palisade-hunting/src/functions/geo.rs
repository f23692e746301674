//! Geospatial functions on points and geohashes.
//!
//! Kusto measures on a sphere (its docs: "the geodetic datum used for measurements on Earth is
//! a sphere"); the radius is S2's 6,371,010 m, which reproduces the docs' example distance to
//! the millimetre. Coordinates are degrees, longitude in [−180, 180] and latitude in
//! [−90, 90]; anything else (or null) gives null (`""` for a geohash, as documented).
//! Geohashes are the standard base-32 interleaving; an invalid one gives null.

use super::*;
use palisade_kql::functions::GeoFn as F;

/// S2's mean Earth radius in metres.
const EARTH_RADIUS_M: f64 = 6_371_010.0;
const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// A valid (longitude, latitude) from two values.
fn point(lon: Val, lat: Val) -> Option<(f64, f64)> {
    let (lon, lat) = (lon.f64()?, lat.f64()?);
    ((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)).then_some((lon, lat))
}

/// Great-circle distance in metres (haversine).
pub(crate) fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.1.to_radians(), b.1.to_radians());
    let (dp, dl) = (p2 - p1, (b.0 - a.0).to_radians());
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Initial bearing from `a` to `b`, radians clockwise from north in [0, 2π); None for the
/// same point.
fn azimuth(a: (f64, f64), b: (f64, f64)) -> Option<f64> {
    if a == b {
        return None;
    }
    let (p1, p2) = (a.1.to_radians(), b.1.to_radians());
    let dl = (b.0 - a.0).to_radians();
    let y = dl.sin() * p2.cos();
    let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
    Some(y.atan2(x).rem_euclid(std::f64::consts::TAU))
}

/// The geohash of a point with `len` characters (1 to 18).
pub(crate) fn geohash(lon: f64, lat: f64, len: usize) -> String {
    let (mut lo, mut la) = ((-180.0, 180.0), (-90.0, 90.0));
    let mut out = String::with_capacity(len);
    let (mut bits, mut ch, mut even) = (0, 0usize, true);
    while out.len() < len {
        let (range, v) = if even { (&mut lo, lon) } else { (&mut la, lat) };
        let mid = (range.0 + range.1) / 2.0;
        ch <<= 1;
        if v >= mid {
            ch |= 1;
            range.0 = mid;
        } else {
            range.1 = mid;
        }
        even = !even;
        bits += 1;
        if bits == 5 {
            out.push(BASE32[ch] as char);
            (bits, ch) = (0, 0);
        }
    }
    out
}

/// The cell of a geohash: ((lon_min, lon_max), (lat_min, lat_max)).
pub(crate) fn geohash_cell(hash: &str) -> Option<((f64, f64), (f64, f64))> {
    if hash.is_empty() || hash.len() > 18 {
        return None;
    }
    let (mut lo, mut la) = ((-180.0f64, 180.0f64), (-90.0f64, 90.0f64));
    let mut even = true;
    for c in hash.bytes() {
        let v = BASE32.iter().position(|b| *b == c.to_ascii_lowercase())?;
        for shift in (0..5).rev() {
            let range = if even { &mut lo } else { &mut la };
            let mid = (range.0 + range.1) / 2.0;
            if (v >> shift) & 1 == 1 {
                range.0 = mid;
            } else {
                range.1 = mid;
            }
            even = !even;
        }
    }
    Some((lo, la))
}

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let reals = || c.all_as(p, KqlType::Real);
    Ok(match f {
        F::Distance2Points => c
            .row(
                c.name,
                KqlType::Real,
                Box::new(|a| match (point(a[0], a[1]), point(a[2], a[3])) {
                    (Some(x), Some(y)) => Out::F64(distance(x, y)),
                    _ => Out::Null,
                }),
            )
            .call(reals()?),
        F::PointInCircle => c
            .row(
                c.name,
                KqlType::Bool,
                Box::new(
                    |a| match (point(a[0], a[1]), point(a[2], a[3]), a[4].f64()) {
                        (Some(x), Some(centre), Some(r)) if r >= 0.0 => {
                            Out::Bool(distance(x, centre) <= r)
                        }
                        _ => Out::Null,
                    },
                ),
            )
            .call(reals()?),
        F::Azimuth => c
            .row(
                c.name,
                KqlType::Real,
                Box::new(|a| match (point(a[0], a[1]), point(a[2], a[3])) {
                    (Some(x), Some(y)) => azimuth(x, y).map_or(Out::Null, Out::F64),
                    _ => Out::Null,
                }),
            )
            .call(reals()?),
        F::PointToGeohash => {
            let mut args = vec![
                c.arg_as(p, 0, KqlType::Real)?,
                c.arg_as(p, 1, KqlType::Real)?,
            ];
            if c.n > 2 {
                args.push(c.arg_as(p, 2, KqlType::Long)?);
            }
            c.row(
                c.name,
                KqlType::String,
                Box::new(|a| {
                    let len = a.get(2).map_or(Some(5), |v| v.i64());
                    match (point(a[0], a[1]), len) {
                        (Some((lon, lat)), Some(len)) if (1..=18).contains(&len) => {
                            Out::Str(geohash(lon, lat, len as usize))
                        }
                        _ => Out::Str(String::new()),
                    }
                }),
            )
            .call(args)
        }
        F::GeohashToCentralPoint | F::GeohashToPolygon => {
            let polygon = f == F::GeohashToPolygon;
            c.row(
                c.name,
                KqlType::Dynamic,
                Box::new(move |a| match geohash_cell(a[0].text()) {
                    Some(((x0, x1), (y0, y1))) if polygon => dyn_out(serde_json::json!({
                        "type": "Polygon",
                        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
                    })),
                    Some(((x0, x1), (y0, y1))) => dyn_out(serde_json::json!({
                        "type": "Point",
                        "coordinates": [(x0 + x1) / 2.0, (y0 + y1) / 2.0],
                    })),
                    None => Out::Null,
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_examples() {
        // geo_distance_2points(-122.407628, 47.578557, -118.275287, 34.019056)
        let d = distance((-122.407628, 47.578557), (-118.275287, 34.019056));
        assert!((d - 1_546_754.351_973_81).abs() < 0.01, "{d}");
        // geo_point_to_geohash(-80.195829, 25.802215, 8)
        assert_eq!(geohash(-80.195829, 25.802215, 8), "dhwfz15h");
        // geo_geohash_to_central_point("sunny")
        let ((x0, x1), (y0, y1)) = geohash_cell("sunny").unwrap();
        assert_eq!(
            ((x0 + x1) / 2.0, (y0 + y1) / 2.0),
            (42.47314453125, 23.70849609375)
        );
        // geo_geohash_to_polygon("dr5ru")
        assert_eq!(
            geohash_cell("dr5ru").unwrap(),
            ((-74.00390625, -73.9599609375), (40.7373046875, 40.78125))
        );
        assert_eq!(geohash_cell("a"), None);
        assert_eq!(geohash_cell(""), None);
    }

    #[test]
    fn azimuth_is_clockwise_from_north() {
        let east = azimuth((0.0, 0.0), (1.0, 0.0)).unwrap();
        assert!((east - std::f64::consts::FRAC_PI_2).abs() < 1e-9);
        let south = azimuth((0.0, 1.0), (0.0, 0.0)).unwrap();
        assert!((south - std::f64::consts::PI).abs() < 1e-9);
        assert_eq!(azimuth((1.0, 1.0), (1.0, 1.0)), None);
    }
}
