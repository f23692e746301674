//! Numbers: rounding into bins, arithmetic functions, random values.

super::family! {
    /// Math functions. `bin` also rounds datetimes and timespans.
    pub enum MathFn {
        Bin = ["bin", "floor"] (2, 2, Arg(0)),
        BinAt = ["bin_at"] (3, 3, Arg(0)),
        Abs = ["abs"] (1, 1, Arg(0)),
        Round = ["round"] (1, 2, Arg(0)),
        Ceiling = ["ceiling"] (1, 1, Arg(0)),
        Sign = ["sign"] (1, 1, Arg(0)),
        Sqrt = ["sqrt"] (1, 1, Fixed(Real)),
        Exp = ["exp"] (1, 1, Fixed(Real)),
        Log = ["log"] (1, 1, Fixed(Real)),
        Log10 = ["log10"] (1, 1, Fixed(Real)),
        Log2 = ["log2"] (1, 1, Fixed(Real)),
        Pow = ["pow"] (2, 2, Fixed(Real)),
        IsNan = ["isnan"] (1, 1, Fixed(Bool)),
        IsInf = ["isinf"] (1, 1, Fixed(Bool)),
        Rand = ["rand"] (0, 1, Fixed(Real)),
        NewGuid = ["new_guid"] (0, 0, Fixed(Guid)),
    }
}
