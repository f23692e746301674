//! Built-in scalar functions and aggregates the binder knows: names, arity, result types.

use crate::types::KqlType;
use KqlType::*;

/// How a function's result type is derived.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ret {
    /// Always this type.
    Fixed(KqlType),
    /// The type of argument `i`.
    Arg(usize),
    /// The common type of the arguments from `start`, stepping by `step` (`iff`, `case`, `coalesce`).
    Common { start: usize, step: usize },
    /// `sum`-like: int widens to long, others keep their type.
    Sum,
    /// `avg`-like: real, except timespan/datetime which keep their type.
    Avg,
}

/// A function signature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sig {
    /// Canonical name (aliases such as `parsejson` map to `parse_json`).
    pub name: &'static str,
    /// Minimum argument count.
    pub min: usize,
    /// Maximum argument count (`usize::MAX` = variadic).
    pub max: usize,
    /// Result type rule.
    pub ret: Ret,
}

const VAR: usize = usize::MAX;

const fn sig(name: &'static str, min: usize, max: usize, ret: Ret) -> Sig {
    Sig {
        name,
        min,
        max,
        ret,
    }
}

/// Scalar built-ins.
pub(crate) fn scalar(name: &str) -> Option<Sig> {
    use Ret::*;
    Some(match name {
        "ago" => sig("ago", 1, 1, Fixed(DateTime)),
        "now" => sig("now", 0, 1, Fixed(DateTime)),
        "datetime" | "todatetime" => sig("todatetime", 1, 1, Fixed(DateTime)),
        "bin" | "floor" => sig("bin", 2, 2, Arg(0)),
        "bin_at" => sig("bin_at", 3, 3, Arg(0)),
        "tostring" => sig("tostring", 1, 1, Fixed(String)),
        "toint" => sig("toint", 1, 1, Fixed(Int)),
        "tolong" => sig("tolong", 1, 1, Fixed(Long)),
        "todouble" | "toreal" => sig("todouble", 1, 1, Fixed(Real)),
        "todecimal" | "decimal" => sig("todecimal", 1, 1, Fixed(Decimal)),
        "tobool" | "toboolean" => sig("tobool", 1, 1, Fixed(Bool)),
        "toguid" => sig("toguid", 1, 1, Fixed(Guid)),
        "totimespan" | "totime" => sig("totimespan", 1, 1, Fixed(TimeSpan)),
        "parse_json" | "parsejson" | "todynamic" | "toobject" => {
            sig("parse_json", 1, 1, Fixed(Dynamic))
        }
        "pack" | "bag_pack" => sig("bag_pack", 0, VAR, Fixed(Dynamic)),
        "pack_array" => sig("pack_array", 0, VAR, Fixed(Dynamic)),
        "array_length" | "arraylength" => sig("array_length", 1, 1, Fixed(Long)),
        "strcat" => sig("strcat", 1, VAR, Fixed(String)),
        "strcat_delim" => sig("strcat_delim", 2, VAR, Fixed(String)),
        "strcat_array" => sig("strcat_array", 2, 2, Fixed(String)),
        "strlen" => sig("strlen", 1, 1, Fixed(Long)),
        "substring" => sig("substring", 2, 3, Fixed(String)),
        "split" => sig("split", 2, 3, Fixed(Dynamic)),
        "tolower" => sig("tolower", 1, 1, Fixed(String)),
        "toupper" => sig("toupper", 1, 1, Fixed(String)),
        "trim" => sig("trim", 2, 2, Fixed(String)),
        "trim_start" => sig("trim_start", 2, 2, Fixed(String)),
        "trim_end" => sig("trim_end", 2, 2, Fixed(String)),
        "reverse" => sig("reverse", 1, 1, Fixed(String)),
        "replace_string" => sig("replace_string", 3, 3, Fixed(String)),
        "replace_regex" | "replace" => sig("replace_regex", 3, 3, Fixed(String)),
        "strrep" => sig("strrep", 2, 3, Fixed(String)),
        "translate" => sig("translate", 3, 3, Fixed(String)),
        "extract" => sig("extract", 3, 4, Fixed(String)),
        "extract_all" | "extractall" => sig("extract_all", 2, 3, Fixed(Dynamic)),
        "extract_json" | "extractjson" => sig("extract_json", 2, 3, Fixed(String)),
        "iff" | "iif" => sig("iff", 3, 3, Common { start: 1, step: 1 }),
        "case" => sig("case", 3, VAR, Common { start: 1, step: 2 }),
        "coalesce" => sig("coalesce", 1, VAR, Common { start: 0, step: 1 }),
        "max_of" => sig("max_of", 1, VAR, Common { start: 0, step: 1 }),
        "min_of" => sig("min_of", 1, VAR, Common { start: 0, step: 1 }),
        "isempty" => sig("isempty", 1, 1, Fixed(Bool)),
        "isnotempty" | "notempty" => sig("isnotempty", 1, 1, Fixed(Bool)),
        "isnull" => sig("isnull", 1, 1, Fixed(Bool)),
        "isnotnull" | "notnull" => sig("isnotnull", 1, 1, Fixed(Bool)),
        "isnan" => sig("isnan", 1, 1, Fixed(Bool)),
        "isinf" => sig("isinf", 1, 1, Fixed(Bool)),
        "not" => sig("not", 1, 1, Fixed(Bool)),
        "gettype" => sig("gettype", 1, 1, Fixed(String)),
        "format_datetime" => sig("format_datetime", 2, 2, Fixed(String)),
        "format_timespan" => sig("format_timespan", 2, 2, Fixed(String)),
        "datetime_diff" => sig("datetime_diff", 3, 3, Fixed(Long)),
        "datetime_add" => sig("datetime_add", 3, 3, Fixed(DateTime)),
        "datetime_part" => sig("datetime_part", 2, 2, Fixed(Int)),
        "startofday" => sig("startofday", 1, 2, Fixed(DateTime)),
        "startofweek" => sig("startofweek", 1, 2, Fixed(DateTime)),
        "startofmonth" => sig("startofmonth", 1, 2, Fixed(DateTime)),
        "startofyear" => sig("startofyear", 1, 2, Fixed(DateTime)),
        "endofday" => sig("endofday", 1, 2, Fixed(DateTime)),
        "endofweek" => sig("endofweek", 1, 2, Fixed(DateTime)),
        "endofmonth" => sig("endofmonth", 1, 2, Fixed(DateTime)),
        "dayofweek" => sig("dayofweek", 1, 1, Fixed(TimeSpan)),
        "dayofmonth" => sig("dayofmonth", 1, 1, Fixed(Int)),
        "dayofyear" => sig("dayofyear", 1, 1, Fixed(Int)),
        "hourofday" => sig("hourofday", 1, 1, Fixed(Int)),
        "getmonth" | "monthofyear" => sig("getmonth", 1, 1, Fixed(Int)),
        "getyear" => sig("getyear", 1, 1, Fixed(Int)),
        "week_of_year" => sig("week_of_year", 1, 1, Fixed(Int)),
        "make_datetime" => sig("make_datetime", 3, 7, Fixed(DateTime)),
        "make_timespan" => sig("make_timespan", 2, 4, Fixed(TimeSpan)),
        "unixtime_seconds_todatetime" => sig("unixtime_seconds_todatetime", 1, 1, Fixed(DateTime)),
        "unixtime_milliseconds_todatetime" => {
            sig("unixtime_milliseconds_todatetime", 1, 1, Fixed(DateTime))
        }
        "base64_decode_tostring" | "base64_decodestring" => {
            sig("base64_decode_tostring", 1, 1, Fixed(String))
        }
        "base64_encode_tostring" | "base64_encodestring" => {
            sig("base64_encode_tostring", 1, 1, Fixed(String))
        }
        "base64_decode_toarray" => sig("base64_decode_toarray", 1, 1, Fixed(Dynamic)),
        "url_decode" => sig("url_decode", 1, 1, Fixed(String)),
        "url_encode" | "url_encode_component" => sig("url_encode", 1, 1, Fixed(String)),
        "parse_url" | "parseurl" => sig("parse_url", 1, 1, Fixed(Dynamic)),
        "parse_urlquery" => sig("parse_urlquery", 1, 1, Fixed(Dynamic)),
        "parse_path" => sig("parse_path", 1, 1, Fixed(Dynamic)),
        "parse_command_line" => sig("parse_command_line", 2, 2, Fixed(Dynamic)),
        "parse_csv" => sig("parse_csv", 1, 1, Fixed(Dynamic)),
        "parse_ipv4" => sig("parse_ipv4", 1, 1, Fixed(Long)),
        "ipv4_is_private" => sig("ipv4_is_private", 1, 1, Fixed(Bool)),
        "ipv4_is_in_range" => sig("ipv4_is_in_range", 2, 2, Fixed(Bool)),
        "ipv4_is_match" => sig("ipv4_is_match", 2, 3, Fixed(Bool)),
        "ipv4_compare" => sig("ipv4_compare", 2, 3, Fixed(Int)),
        "ipv6_is_match" => sig("ipv6_is_match", 2, 3, Fixed(Bool)),
        "hash_sha256" => sig("hash_sha256", 1, 1, Fixed(String)),
        "hash_sha1" => sig("hash_sha1", 1, 1, Fixed(String)),
        "hash_md5" => sig("hash_md5", 1, 1, Fixed(String)),
        "hash" | "hash_xxhash64" => sig("hash", 1, 2, Fixed(Long)),
        "countof" => sig("countof", 2, 3, Fixed(Long)),
        "indexof" => sig("indexof", 2, 5, Fixed(Long)),
        "array_index_of" => sig("array_index_of", 2, 2, Fixed(Long)),
        "array_concat" => sig("array_concat", 1, VAR, Fixed(Dynamic)),
        "array_slice" => sig("array_slice", 3, 3, Fixed(Dynamic)),
        "array_sort_asc" => sig("array_sort_asc", 1, 2, Fixed(Dynamic)),
        "array_sort_desc" => sig("array_sort_desc", 1, 2, Fixed(Dynamic)),
        "array_sum" => sig("array_sum", 1, 1, Fixed(Real)),
        "set_difference" => sig("set_difference", 2, VAR, Fixed(Dynamic)),
        "set_intersect" => sig("set_intersect", 2, VAR, Fixed(Dynamic)),
        "set_union" => sig("set_union", 2, VAR, Fixed(Dynamic)),
        "set_has_element" => sig("set_has_element", 2, 2, Fixed(Bool)),
        "bag_keys" => sig("bag_keys", 1, 1, Fixed(Dynamic)),
        "bag_merge" => sig("bag_merge", 1, VAR, Fixed(Dynamic)),
        "bag_remove_keys" => sig("bag_remove_keys", 2, 2, Fixed(Dynamic)),
        "bag_has_key" => sig("bag_has_key", 2, 2, Fixed(Bool)),
        "zip" => sig("zip", 2, VAR, Fixed(Dynamic)),
        "range" => sig("range", 2, 3, Fixed(Dynamic)),
        "abs" => sig("abs", 1, 1, Arg(0)),
        "round" => sig("round", 1, 2, Arg(0)),
        "ceiling" => sig("ceiling", 1, 1, Arg(0)),
        "sign" => sig("sign", 1, 1, Arg(0)),
        "sqrt" => sig("sqrt", 1, 1, Fixed(Real)),
        "exp" => sig("exp", 1, 1, Fixed(Real)),
        "log" => sig("log", 1, 1, Fixed(Real)),
        "log10" => sig("log10", 1, 1, Fixed(Real)),
        "log2" => sig("log2", 1, 1, Fixed(Real)),
        "pow" => sig("pow", 2, 2, Fixed(Real)),
        "rand" => sig("rand", 0, 1, Fixed(Real)),
        "strcmp" => sig("strcmp", 2, 2, Fixed(Int)),
        "tohex" => sig("tohex", 1, 2, Fixed(String)),
        "new_guid" => sig("new_guid", 0, 0, Fixed(Guid)),
        "ingestion_time" => sig("ingestion_time", 0, 0, Fixed(DateTime)),
        "make_string" => sig("make_string", 1, VAR, Fixed(String)),
        "row_number" => sig("row_number", 0, 2, Fixed(Long)),
        "next" => sig("next", 1, 3, Arg(0)),
        "prev" => sig("prev", 1, 3, Arg(0)),
        "column_ifexists" => sig("column_ifexists", 2, 2, Arg(1)),
        "geo_info_from_ip_address" => sig("geo_info_from_ip_address", 1, 1, Fixed(Dynamic)),
        _ => return None,
    })
}

/// Functions with several results (dynamic arrays), used as `(a, b, ...) = f(...)`:
/// (name, minimum arguments, maximum arguments, result names).
pub(crate) fn multi_output(name: &str) -> Option<(usize, usize, &'static [&'static str])> {
    Some(match name {
        "series_decompose_anomalies" => (1, 7, &["ad_flag", "ad_score", "baseline"]),
        "series_decompose" => (1, 5, &["baseline", "seasonal", "trend", "residual"]),
        "series_fit_line" => (
            1,
            1,
            &[
                "rsquare",
                "slope",
                "variance",
                "rvariance",
                "interception",
                "line_fit",
            ],
        ),
        _ => return None,
    })
}

/// Default output-name prefix of an aggregate (`dcount(X)` is named `dcount_X`).
pub(crate) fn agg_prefix(canonical: &str) -> &'static str {
    match canonical {
        "count" => "count_",
        "countif" => "countif_",
        "dcount" => "dcount_",
        "dcountif" => "dcountif_",
        "sum" => "sum_",
        "sumif" => "sumif_",
        "avg" => "avg_",
        "avgif" => "avgif_",
        "min" => "min_",
        "max" => "max_",
        "minif" => "minif_",
        "maxif" => "maxif_",
        "make_set" | "make_set_if" => "set_",
        "make_list" | "make_list_if" => "list_",
        "make_bag" | "make_bag_if" => "bag_",
        "take_any" | "take_anyif" => "any_",
        "percentile" | "percentiles" => "percentile_",
        "percentiles_array" => "percentiles_",
        "stdev" | "stdevif" => "stdev_",
        "variance" | "varianceif" => "variance_",
        _ => "",
    }
}

/// Aggregates. `arg_max`/`arg_min`/`take_any`/`percentiles` are multi-output and handled by the binder.
pub(crate) fn aggregate(name: &str) -> Option<Sig> {
    use Ret::*;
    Some(match name {
        "count" => sig("count", 0, 1, Fixed(Long)),
        "countif" => sig("countif", 1, 1, Fixed(Long)),
        "dcount" => sig("dcount", 1, 2, Fixed(Long)),
        "dcountif" => sig("dcountif", 2, 3, Fixed(Long)),
        "count_distinct" => sig("count_distinct", 1, 1, Fixed(Long)),
        "sum" => sig("sum", 1, 1, Sum),
        "sumif" => sig("sumif", 2, 2, Sum),
        "avg" => sig("avg", 1, 1, Avg),
        "avgif" => sig("avgif", 2, 2, Avg),
        "min" => sig("min", 1, 1, Arg(0)),
        "max" => sig("max", 1, 1, Arg(0)),
        "minif" => sig("minif", 2, 2, Arg(0)),
        "maxif" => sig("maxif", 2, 2, Arg(0)),
        "arg_max" | "argmax" => sig("arg_max", 1, VAR, Arg(0)),
        "arg_min" | "argmin" => sig("arg_min", 1, VAR, Arg(0)),
        "make_set" | "makeset" => sig("make_set", 1, 2, Fixed(Dynamic)),
        "make_list" | "makelist" => sig("make_list", 1, 2, Fixed(Dynamic)),
        "make_bag" => sig("make_bag", 1, 2, Fixed(Dynamic)),
        "make_set_if" => sig("make_set_if", 2, 3, Fixed(Dynamic)),
        "make_list_if" => sig("make_list_if", 2, 3, Fixed(Dynamic)),
        "make_bag_if" => sig("make_bag_if", 2, 3, Fixed(Dynamic)),
        "any" | "take_any" => sig("take_any", 1, VAR, Arg(0)),
        "anyif" | "take_anyif" => sig("take_anyif", 2, 2, Arg(0)),
        "percentile" => sig("percentile", 2, 2, Arg(0)),
        "percentiles" => sig("percentiles", 2, VAR, Arg(0)),
        "percentiles_array" => sig("percentiles_array", 2, VAR, Fixed(Dynamic)),
        "stdev" => sig("stdev", 1, 1, Fixed(Real)),
        "stdevif" => sig("stdevif", 2, 2, Fixed(Real)),
        "variance" => sig("variance", 1, 1, Fixed(Real)),
        "varianceif" => sig("varianceif", 2, 2, Fixed(Real)),
        _ => return None,
    })
}

/// Functions that exist in KQL/Defender but that Palisade rejects by name.
pub(crate) fn unsupported_function(name: &str) -> bool {
    matches!(
        name,
        "externaldata"
            | "external_table"
            | "cluster"
            | "database"
            | "AssignedIPAddresses"
            | "DeviceFromIP"
            | "SeenBy"
            | "make_series"
    )
}

/// Numeric widening order used for arithmetic and common types.
fn numeric_rank(t: KqlType) -> Option<u8> {
    match t {
        Int => Some(0),
        Long => Some(1),
        Decimal => Some(2),
        Real => Some(3),
        _ => None,
    }
}

/// The common type of two branch types, if any (`int`+`long` → `long`, same → same, dynamic absorbs).
pub(crate) fn common_type(a: KqlType, b: KqlType) -> Option<KqlType> {
    if a == b {
        return Some(a);
    }
    if let (Some(x), Some(y)) = (numeric_rank(a), numeric_rank(b)) {
        return Some(if x >= y { a } else { b });
    }
    if a == Dynamic || b == Dynamic {
        return Some(Dynamic);
    }
    None
}

/// Unifies the branches of `iff`/`case`/`coalesce`: like [`common_type`], except that a
/// dynamic branch adopts the other branch's scalar type (Kusto converts the dynamic value, so
/// `iff(c, parts[0], strcat(...))` is a string).
pub(crate) fn branch_type(a: KqlType, b: KqlType) -> Option<KqlType> {
    match (a, b) {
        (Dynamic, t) | (t, Dynamic) => Some(t),
        _ => common_type(a, b),
    }
}

/// Result type of arithmetic, or `None` if the operands do not combine.
pub(crate) fn arithmetic(op: &str, a: KqlType, b: KqlType) -> Option<KqlType> {
    if a == Dynamic || b == Dynamic {
        return Some(Dynamic);
    }
    if a.is_numeric() && b.is_numeric() {
        if op == "/" && a == Int && b == Int {
            return Some(Int);
        }
        return common_type(a, b)
            .map(|t| if t == Int { Long } else { t })
            .map(|t| if a == Int && b == Int { Int } else { t });
    }
    match (op, a, b) {
        ("-", DateTime, DateTime) => Some(TimeSpan),
        ("+" | "-", DateTime, TimeSpan) => Some(DateTime),
        ("+", TimeSpan, DateTime) => Some(DateTime),
        ("+" | "-", TimeSpan, TimeSpan) => Some(TimeSpan),
        ("*" | "/", TimeSpan, t) if t.is_numeric() => Some(TimeSpan),
        ("*", t, TimeSpan) if t.is_numeric() => Some(TimeSpan),
        ("/", TimeSpan, TimeSpan) => Some(Real),
        ("%", TimeSpan, TimeSpan) => Some(TimeSpan),
        _ => None,
    }
}
