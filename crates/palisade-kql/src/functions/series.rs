//! Functions with several results, used as `extend (a, b, ...) = f(...)`.

super::family! {
    /// Multi-result series functions.
    pub enum SeriesFn {
        SeriesDecomposeAnomalies = ["series_decompose_anomalies"] (1, 7, Fixed(Dynamic)),
        SeriesDecompose = ["series_decompose"] (1, 5, Fixed(Dynamic)),
        SeriesFitLine = ["series_fit_line"] (1, 1, Fixed(Dynamic)),
    }
}

impl SeriesFn {
    /// The names of the results, in order (each a dynamic array).
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
        }
    }
}
