//! Geospatial functions on points (longitude, latitude in degrees, WGS-84) and geohashes.

super::family! {
    /// Geospatial functions.
    pub enum GeoFn {
        Distance2Points = ["geo_distance_2points"] (4, 4, Fixed(Real)),
        PointInCircle = ["geo_point_in_circle"] (5, 5, Fixed(Bool)),
        Azimuth = ["geo_azimuth"] (4, 4, Fixed(Real)),
        PointToGeohash = ["geo_point_to_geohash"] (2, 3, Fixed(String)),
        GeohashToCentralPoint = ["geo_geohash_to_central_point"] (1, 1, Fixed(Dynamic)),
        GeohashToPolygon = ["geo_geohash_to_polygon"] (1, 1, Fixed(Dynamic)),
    }
}
