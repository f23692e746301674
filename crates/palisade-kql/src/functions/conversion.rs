//! Conversions between scalar types (Kusto's `to*()` functions).

super::family! {
    /// Conversion functions.
    pub enum ConversionFn {
        ToDateTime = ["todatetime", "datetime"] (1, 1, Fixed(DateTime)),
        ToString = ["tostring"] (1, 1, Fixed(String)),
        ToInt = ["toint"] (1, 1, Fixed(Int)),
        ToLong = ["tolong"] (1, 1, Fixed(Long)),
        ToReal = ["todouble", "toreal"] (1, 1, Fixed(Real)),
        ToDecimal = ["todecimal", "decimal"] (1, 1, Fixed(Decimal)),
        ToBool = ["tobool", "toboolean"] (1, 1, Fixed(Bool)),
        ToGuid = ["toguid"] (1, 1, Fixed(Guid)),
        ToTimespan = ["totimespan", "totime"] (1, 1, Fixed(TimeSpan)),
        ToHex = ["tohex"] (1, 2, Fixed(String)),
    }
}

impl ConversionFn {
    /// The type a `to*()` conversion produces (`None` for `tohex`, which formats).
    pub fn target(self) -> Option<crate::value::KqlType> {
        match self.signature().ret {
            super::Ret::Fixed(t) if self != ConversionFn::ToHex => Some(t),
            _ => None,
        }
    }
}
