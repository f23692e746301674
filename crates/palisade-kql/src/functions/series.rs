//! Series functions: the numeric-array functions used with `make-series`. [`SeriesFn`] has
//! several results, used as `extend (a, b, ...) = f(...)`; [`SeriesOpFn`] has one.

super::family! {
    /// Multi-result series functions.
    pub enum SeriesFn {
        SeriesDecomposeAnomalies = ["series_decompose_anomalies"] (1, 7, Fixed(Dynamic)),
        SeriesDecompose = ["series_decompose"] (1, 5, Fixed(Dynamic)),
        SeriesFitLine = ["series_fit_line"] (1, 1, Fixed(Dynamic)),
        SeriesStats = ["series_stats"] (1, 2, Fixed(Dynamic)),
    }
}

impl SeriesFn {
    /// The names of the results, in order (each a dynamic value).
    pub fn outputs(self) -> &'static [&'static str] {
        match self {
            SeriesFn::SeriesDecomposeAnomalies => &["ad_flag", "ad_score", "baseline"],
            SeriesFn::SeriesDecompose => &["baseline", "seasonal", "trend", "residual"],
            SeriesFn::SeriesFitLine => &[
                "rsquare",
                "slope",
                "variance",
                "rvariance",
                "interception",
                "line_fit",
            ],
            SeriesFn::SeriesStats => &[
                "min", "min_idx", "max", "max_idx", "avg", "stdev", "variance",
            ],
        }
    }
}

super::family! {
    /// Single-result series functions: element-wise arithmetic and comparisons, reductions,
    /// filling, filters, outliers, and the `_dynamic` (bag) forms of the statistics.
    pub enum SeriesOpFn {
        Abs = ["series_abs"] (1, 1, Fixed(Dynamic)),
        Acos = ["series_acos"] (1, 1, Fixed(Dynamic)),
        Asin = ["series_asin"] (1, 1, Fixed(Dynamic)),
        Atan = ["series_atan"] (1, 1, Fixed(Dynamic)),
        Ceiling = ["series_ceiling"] (1, 1, Fixed(Dynamic)),
        Cos = ["series_cos"] (1, 1, Fixed(Dynamic)),
        Exp = ["series_exp"] (1, 1, Fixed(Dynamic)),
        Floor = ["series_floor"] (1, 1, Fixed(Dynamic)),
        Log = ["series_log"] (1, 1, Fixed(Dynamic)),
        Sign = ["series_sign"] (1, 1, Fixed(Dynamic)),
        Sin = ["series_sin"] (1, 1, Fixed(Dynamic)),
        Tan = ["series_tan"] (1, 1, Fixed(Dynamic)),
        Add = ["series_add"] (2, 2, Fixed(Dynamic)),
        Subtract = ["series_subtract"] (2, 2, Fixed(Dynamic)),
        Multiply = ["series_multiply"] (2, 2, Fixed(Dynamic)),
        Divide = ["series_divide"] (2, 2, Fixed(Dynamic)),
        Pow = ["series_pow"] (2, 2, Fixed(Dynamic)),
        Greater = ["series_greater"] (2, 2, Fixed(Dynamic)),
        GreaterEquals = ["series_greater_equals"] (2, 2, Fixed(Dynamic)),
        Less = ["series_less"] (2, 2, Fixed(Dynamic)),
        LessEquals = ["series_less_equals"] (2, 2, Fixed(Dynamic)),
        Equals = ["series_equals"] (2, 2, Fixed(Dynamic)),
        NotEquals = ["series_not_equals"] (2, 2, Fixed(Dynamic)),
        Sum = ["series_sum"] (1, 1, Fixed(Real)),
        Product = ["series_product"] (1, 1, Fixed(Real)),
        Magnitude = ["series_magnitude"] (1, 1, Fixed(Real)),
        DotProduct = ["series_dot_product"] (2, 2, Fixed(Real)),
        CosineSimilarity = ["series_cosine_similarity"] (2, 4, Fixed(Real)),
        PearsonCorrelation = ["series_pearson_correlation"] (2, 2, Fixed(Real)),
        FillBackward = ["series_fill_backward"] (1, 2, Fixed(Dynamic)),
        FillForward = ["series_fill_forward"] (1, 2, Fixed(Dynamic)),
        FillConst = ["series_fill_const"] (1, 3, Fixed(Dynamic)),
        FillLinear = ["series_fill_linear"] (1, 4, Fixed(Dynamic)),
        Fir = ["series_fir"] (2, 4, Fixed(Dynamic)),
        Iir = ["series_iir"] (3, 3, Fixed(Dynamic)),
        Outliers = ["series_outliers"] (1, 5, Fixed(Dynamic)),
        Seasonal = ["series_seasonal"] (1, 2, Fixed(Dynamic)),
        StatsDynamic = ["series_stats_dynamic"] (1, 2, Fixed(Dynamic)),
        FitLineDynamic = ["series_fit_line_dynamic"] (1, 1, Fixed(Dynamic)),
    }
}
