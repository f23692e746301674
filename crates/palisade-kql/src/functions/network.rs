//! IP address functions.

super::family! {
    /// Network functions.
    pub enum NetworkFn {
        ParseIpv4 = ["parse_ipv4"] (1, 1, Fixed(Long)),
        Ipv4IsPrivate = ["ipv4_is_private"] (1, 1, Fixed(Bool)),
        Ipv4IsInRange = ["ipv4_is_in_range"] (2, 2, Fixed(Bool)),
        Ipv4IsMatch = ["ipv4_is_match"] (2, 3, Fixed(Bool)),
        Ipv4Compare = ["ipv4_compare"] (2, 3, Fixed(Int)),
        Ipv6IsMatch = ["ipv6_is_match"] (2, 3, Fixed(Bool)),
        GeoInfoFromIpAddress = ["geo_info_from_ip_address"] (1, 1, Fixed(Dynamic)),
    }
}
