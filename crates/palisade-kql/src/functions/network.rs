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
        ParseIpv4Mask = ["parse_ipv4_mask"] (2, 2, Fixed(Long)),
        FormatIpv4 = ["format_ipv4"] (1, 2, Fixed(String)),
        FormatIpv4Mask = ["format_ipv4_mask"] (1, 2, Fixed(String)),
        Ipv4IsInAnyRange = ["ipv4_is_in_any_range"] (2, VARIADIC, Fixed(Bool)),
        Ipv4NetmaskSuffix = ["ipv4_netmask_suffix"] (1, 1, Fixed(Int)),
        HasIpv4 = ["has_ipv4"] (2, 2, Fixed(Bool)),
        HasIpv4Prefix = ["has_ipv4_prefix"] (2, 2, Fixed(Bool)),
        HasAnyIpv4 = ["has_any_ipv4"] (2, VARIADIC, Fixed(Bool)),
        HasAnyIpv4Prefix = ["has_any_ipv4_prefix"] (2, VARIADIC, Fixed(Bool)),
        Ipv4RangeToCidrList = ["ipv4_range_to_cidr_list"] (2, 2, Fixed(Dynamic)),
        // IPv6 (implemented in the engine's `ipv6` module).
        ParseIpv6 = ["parse_ipv6"] (1, 1, Fixed(String)),
        ParseIpv6Mask = ["parse_ipv6_mask"] (2, 2, Fixed(String)),
        Ipv6Compare = ["ipv6_compare"] (2, 3, Fixed(Int)),
        Ipv6IsInRange = ["ipv6_is_in_range"] (2, 2, Fixed(Bool)),
        Ipv6IsInAnyRange = ["ipv6_is_in_any_range"] (2, VARIADIC, Fixed(Bool)),
    }
}
