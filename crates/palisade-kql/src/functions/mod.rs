//! The built-in functions: one typed id per function, carrying its names and signature.
//!
//! Each family is one enum declared with [`family!`] in its own file; a variant's line is the
//! function's whole declaration here (names, arity, result type). The engine implements each
//! family in an exhaustive `match` over the same enum, so the compiler refuses a function that
//! is declared without an implementation. Adding a function = one line here + one arm there.
//!
//! Lookup by name ([`ScalarFunction::lookup`], [`AggregateFunction::lookup`]) is
//! case-sensitive, as KQL is; aliases (`parsejson`, `iif`, `makeset`, …) find the same id.
//! Names starting with `__` are internal (produced by the binder, never looked up).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::value::KqlType;

mod aggregate;
mod conditional;
mod conversion;
mod datetime;
mod dynamic;
mod geo;
mod hashing;
mod math;
mod network;
mod reference;
mod series;
mod string;
mod window;

pub use aggregate::AggregateFunction;
pub use conditional::ConditionalFn;
pub use conversion::ConversionFn;
pub use datetime::DateTimeFn;
pub use dynamic::DynamicFn;
pub use geo::GeoFn;
pub use hashing::HashFn;
pub use math::MathFn;
pub use network::NetworkFn;
pub use reference::{
    counts, coverage, is_rejected_by_name, reference, render_json, render_markdown, render_text,
    status, Counts, Covered, FunctionKind, ReferenceFunction, Status, IMPLEMENTED_EXTRAS,
    REJECTED_EXTRAS, SPECIAL_FORMS,
};
pub use series::{SeriesFn, SeriesOpFn};
pub use string::StringFn;
pub use window::WindowFn;

/// How a function's result type is derived from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// Always this type.
    Fixed(KqlType),
    /// The type of argument `i`.
    Arg(usize),
    /// The common type of the arguments from `start`, stepping by `step` (`iff`, `case`,
    /// `coalesce`): numbers widen, a dynamic branch adopts the others' type.
    Common {
        /// First argument that takes part.
        start: usize,
        /// Distance between the arguments that take part.
        step: usize,
    },
    /// `sum`-like: `int` widens to `long`, other types are kept.
    Sum,
    /// `avg`-like: `real`, except `timespan`/`datetime`, which are kept.
    Avg,
}

/// Arity and result type of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// Fewest arguments.
    pub min: usize,
    /// Most arguments ([`VARIADIC`] = no limit).
    pub max: usize,
    /// Result type rule.
    pub ret: Ret,
}

/// [`Signature::max`] of a function without an argument limit.
pub const VARIADIC: usize = usize::MAX;

impl Signature {
    /// A signature.
    pub const fn new(min: usize, max: usize, ret: Ret) -> Signature {
        Signature { min, max, ret }
    }

    /// True when `n` arguments fit.
    pub fn accepts(&self, n: usize) -> bool {
        (self.min..=self.max).contains(&n)
    }
}

/// Declares a family of functions: an enum whose variants are the functions, with their
/// names (canonical first) and signature, plus `ALL`, `names()`, `name()` and `signature()`.
macro_rules! family {
    (
        $(#[$doc:meta])*
        $vis:vis enum $family:ident {
            $( $variant:ident = [$first:literal $(, $alias:literal)*] ($min:expr, $max:expr, $ret:expr) ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $family {
            $(
                #[doc = concat!("`", $first, "()`")]
                $variant,
            )+
        }

        impl $family {
            /// Every function of the family.
            pub const ALL: &'static [$family] = &[$($family::$variant),+];

            /// The names the function is called by; the first is canonical.
            pub fn names(self) -> &'static [&'static str] {
                match self {
                    $($family::$variant => &[$first $(, $alias)*],)+
                }
            }

            /// The canonical name.
            pub fn name(self) -> &'static str {
                match self {
                    $($family::$variant => $first,)+
                }
            }

            /// Arity and result type.
            pub fn signature(self) -> $crate::functions::Signature {
                #[allow(unused_imports)]
                use $crate::functions::{Ret::*, VARIADIC};
                #[allow(unused_imports)]
                use $crate::value::KqlType::*;
                match self {
                    $($family::$variant => $crate::functions::Signature::new($min, $max, $ret),)+
                }
            }
        }

        impl std::fmt::Display for $family {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
pub(crate) use family;

/// A built-in scalar function, by family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalarFunction {
    /// `tostring()`, `tolong()`, `todatetime()`, ….
    Conversion(ConversionFn),
    /// `iff()`, `case()`, `coalesce()`, `isempty()`, ….
    Conditional(ConditionalFn),
    /// Text: `strcat()`, `split()`, `extract()`, `base64_*`, `url_*`, ….
    String(StringFn),
    /// `ago()`, `bin()` of times, `format_datetime()`, `startofday()`, ….
    DateTime(DateTimeFn),
    /// JSON values, arrays and bags: `parse_json()`, `bag_pack()`, `array_length()`, ….
    Dynamic(DynamicFn),
    /// IP addresses: `parse_ipv4()`, `ipv4_is_in_range()`, ….
    Network(NetworkFn),
    /// Digests: `hash_sha256()`, `hash()`, ….
    Hashing(HashFn),
    /// Numbers: `bin()`, `round()`, `log()`, ….
    Math(MathFn),
    /// Row order: `row_number()`, `prev()`, `next()`.
    Window(WindowFn),
    /// Functions with several results: `series_decompose()`, ….
    Series(SeriesFn),
    /// Series functions with one result: `series_add()`, `series_fir()`, ….
    SeriesOp(SeriesOpFn),
    /// Points and geohashes: `geo_distance_2points()`, `geo_point_to_geohash()`, ….
    Geo(GeoFn),
}

macro_rules! each_family {
    ($f:expr, $g:ident => $body:expr) => {
        match $f {
            ScalarFunction::Conversion($g) => $body,
            ScalarFunction::Conditional($g) => $body,
            ScalarFunction::String($g) => $body,
            ScalarFunction::DateTime($g) => $body,
            ScalarFunction::Dynamic($g) => $body,
            ScalarFunction::Network($g) => $body,
            ScalarFunction::Hashing($g) => $body,
            ScalarFunction::Math($g) => $body,
            ScalarFunction::Window($g) => $body,
            ScalarFunction::Series($g) => $body,
            ScalarFunction::SeriesOp($g) => $body,
            ScalarFunction::Geo($g) => $body,
        }
    };
}

impl ScalarFunction {
    /// Every scalar function.
    pub fn all() -> impl Iterator<Item = ScalarFunction> {
        use ScalarFunction as F;
        let conv = ConversionFn::ALL.iter().map(|f| F::Conversion(*f));
        let cond = ConditionalFn::ALL.iter().map(|f| F::Conditional(*f));
        let string = StringFn::ALL.iter().map(|f| F::String(*f));
        let dt = DateTimeFn::ALL.iter().map(|f| F::DateTime(*f));
        let dynamic = DynamicFn::ALL.iter().map(|f| F::Dynamic(*f));
        let net = NetworkFn::ALL.iter().map(|f| F::Network(*f));
        let hash = HashFn::ALL.iter().map(|f| F::Hashing(*f));
        let math = MathFn::ALL.iter().map(|f| F::Math(*f));
        let window = WindowFn::ALL.iter().map(|f| F::Window(*f));
        let series = SeriesFn::ALL.iter().map(|f| F::Series(*f));
        let series_op = SeriesOpFn::ALL.iter().map(|f| F::SeriesOp(*f));
        let geo = GeoFn::ALL.iter().map(|f| F::Geo(*f));
        conv.chain(cond)
            .chain(string)
            .chain(dt)
            .chain(dynamic)
            .chain(net)
            .chain(hash)
            .chain(math)
            .chain(window)
            .chain(series)
            .chain(series_op)
            .chain(geo)
    }

    /// The scalar function called `name` (any of its names), if it is one.
    pub fn lookup(name: &str) -> Option<ScalarFunction> {
        static BY_NAME: OnceLock<HashMap<&'static str, ScalarFunction>> = OnceLock::new();
        BY_NAME
            .get_or_init(|| by_name(ScalarFunction::all(), ScalarFunction::names))
            .get(name)
            .copied()
    }

    /// The names the function is called by; the first is canonical.
    pub fn names(self) -> &'static [&'static str] {
        each_family!(self, f => f.names())
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        each_family!(self, f => f.name())
    }

    /// Arity and result type.
    pub fn signature(self) -> Signature {
        each_family!(self, f => f.signature())
    }
}

impl std::fmt::Display for ScalarFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name → id map over `all`, leaving out internal (`__`) names.
fn by_name<T: Copy>(
    all: impl Iterator<Item = T>,
    names: impl Fn(T) -> &'static [&'static str],
) -> HashMap<&'static str, T> {
    let mut map = HashMap::new();
    for f in all {
        for n in names(f).iter().filter(|n| !n.starts_with("__")) {
            map.insert(*n, f);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_finds_its_function_and_no_name_is_taken_twice() {
        let mut seen: HashMap<&str, String> = HashMap::new();
        for f in ScalarFunction::all() {
            for n in f.names() {
                assert!(
                    seen.insert(n, format!("{f:?}")).is_none(),
                    "{n} is declared twice"
                );
                if !n.starts_with("__") {
                    assert_eq!(ScalarFunction::lookup(n), Some(f), "{n}");
                }
            }
        }
        for f in AggregateFunction::ALL {
            for n in f.names() {
                assert_eq!(AggregateFunction::lookup(n), Some(*f), "{n}");
                assert_eq!(ScalarFunction::lookup(n), None, "{n} is also scalar");
            }
        }
        assert_eq!(
            ScalarFunction::lookup("parsejson"),
            Some(ScalarFunction::Dynamic(DynamicFn::ParseJson))
        );
        assert_eq!(ScalarFunction::lookup("__bag_pack_nonempty"), None);
        assert_eq!(ScalarFunction::lookup("ParseJson"), None);
    }

    #[test]
    fn signatures_are_sane() {
        for f in ScalarFunction::all() {
            let s = f.signature();
            assert!(s.min <= s.max, "{f}");
        }
        for f in AggregateFunction::ALL {
            let s = f.signature();
            assert!(s.min <= s.max, "{f}");
        }
    }
}
