//! Aggregate functions (`summarize`, `make-series`, `top-nested`, `evaluate pivot`).

use super::by_name;
use std::collections::HashMap;
use std::sync::OnceLock;

super::family! {
    /// Aggregate functions.
    pub enum AggregateFunction {
        Count = ["count"] (0, 1, Fixed(Long)),
        CountIf = ["countif"] (1, 1, Fixed(Long)),
        DCount = ["dcount"] (1, 2, Fixed(Long)),
        DCountIf = ["dcountif"] (2, 3, Fixed(Long)),
        CountDistinct = ["count_distinct"] (1, 1, Fixed(Long)),
        Sum = ["sum"] (1, 1, Sum),
        SumIf = ["sumif"] (2, 2, Sum),
        Avg = ["avg"] (1, 1, Avg),
        AvgIf = ["avgif"] (2, 2, Avg),
        Min = ["min"] (1, 1, Arg(0)),
        Max = ["max"] (1, 1, Arg(0)),
        MinIf = ["minif"] (2, 2, Arg(0)),
        MaxIf = ["maxif"] (2, 2, Arg(0)),
        ArgMax = ["arg_max", "argmax"] (1, VARIADIC, Arg(0)),
        ArgMin = ["arg_min", "argmin"] (1, VARIADIC, Arg(0)),
        MakeSet = ["make_set", "makeset"] (1, 2, Fixed(Dynamic)),
        MakeList = ["make_list", "makelist"] (1, 2, Fixed(Dynamic)),
        MakeBag = ["make_bag", "make_dictionary"] (1, 2, Fixed(Dynamic)),
        MakeSetIf = ["make_set_if"] (2, 3, Fixed(Dynamic)),
        MakeListIf = ["make_list_if"] (2, 3, Fixed(Dynamic)),
        MakeBagIf = ["make_bag_if"] (2, 3, Fixed(Dynamic)),
        TakeAny = ["take_any", "any"] (1, VARIADIC, Arg(0)),
        TakeAnyIf = ["take_anyif", "anyif"] (2, 2, Arg(0)),
        Percentile = ["percentile"] (2, 2, Arg(0)),
        Percentiles = ["percentiles"] (2, VARIADIC, Arg(0)),
        PercentilesArray = ["percentiles_array"] (2, VARIADIC, Fixed(Dynamic)),
        Stdev = ["stdev"] (1, 1, Fixed(Real)),
        StdevIf = ["stdevif"] (2, 2, Fixed(Real)),
        Variance = ["variance"] (1, 1, Fixed(Real)),
        VarianceIf = ["varianceif"] (2, 2, Fixed(Real)),
        StdevP = ["stdevp"] (1, 1, Fixed(Real)),
        VarianceP = ["variancep"] (1, 1, Fixed(Real)),
        VariancePIf = ["variancepif"] (2, 2, Fixed(Real)),
        Covariance = ["covariance"] (2, 2, Fixed(Real)),
        CovarianceIf = ["covarianceif"] (3, 3, Fixed(Real)),
        CovarianceP = ["covariancep"] (2, 2, Fixed(Real)),
        CovariancePIf = ["covariancepif"] (3, 3, Fixed(Real)),
        CountDistinctIf = ["count_distinctif"] (2, 2, Fixed(Long)),
        BinaryAllAnd = ["binary_all_and"] (1, 1, Fixed(Long)),
        BinaryAllOr = ["binary_all_or"] (1, 1, Fixed(Long)),
        BinaryAllXor = ["binary_all_xor"] (1, 1, Fixed(Long)),
        MakeListWithNulls = ["make_list_with_nulls"] (1, 2, Fixed(Dynamic)),
        PercentileW = ["percentilew"] (3, 3, Arg(0)),
        PercentilesWArray = ["percentilesw_array"] (3, VARIADIC, Fixed(Dynamic)),
    }
}

impl AggregateFunction {
    /// The aggregate called `name` (any of its names), if it is one.
    pub fn lookup(name: &str) -> Option<AggregateFunction> {
        static BY_NAME: OnceLock<HashMap<&'static str, AggregateFunction>> = OnceLock::new();
        BY_NAME
            .get_or_init(|| by_name(Self::ALL.iter().copied(), Self::names))
            .get(name)
            .copied()
    }

    /// The prefix of the column name `summarize` gives an unnamed call (`dcount(X)` is
    /// `dcount_X`, `make_set(X)` is `set_X`); empty when there is none.
    pub fn output_prefix(self) -> &'static str {
        use AggregateFunction::*;
        match self {
            Count => "count_",
            CountIf => "countif_",
            DCount => "dcount_",
            DCountIf => "dcountif_",
            Sum => "sum_",
            SumIf => "sumif_",
            Avg => "avg_",
            AvgIf => "avgif_",
            Min => "min_",
            Max => "max_",
            MinIf => "minif_",
            MaxIf => "maxif_",
            MakeSet | MakeSetIf => "set_",
            MakeList | MakeListIf => "list_",
            MakeBag | MakeBagIf => "bag_",
            TakeAny | TakeAnyIf => "any_",
            Percentile | Percentiles | PercentileW => "percentile_",
            PercentilesArray | PercentilesWArray => "percentiles_",
            Stdev | StdevIf => "stdev_",
            Variance | VarianceIf => "variance_",
            StdevP => "stdevp_",
            VarianceP | VariancePIf => "variancep_",
            Covariance | CovarianceIf => "covariance_",
            CovarianceP | CovariancePIf => "covariancep_",
            BinaryAllAnd => "binary_all_and_",
            BinaryAllOr => "binary_all_or_",
            BinaryAllXor => "binary_all_xor_",
            MakeListWithNulls => "list_",
            CountDistinct | CountDistinctIf | ArgMax | ArgMin => "",
        }
    }

    /// Aggregates with one output column per argument (`arg_max(t, a, b)`, `take_any(a, b)`,
    /// `percentiles(x, 50, 95)`): with several arguments they must be a whole `summarize` item.
    pub fn is_multi_output(self) -> bool {
        use AggregateFunction::*;
        matches!(self, ArgMax | ArgMin | TakeAny | Percentiles)
    }

    /// The aggregates `make-series` accepts (its documentation's list).
    pub fn in_make_series(self) -> bool {
        use AggregateFunction::*;
        matches!(
            self,
            Count
                | CountIf
                | DCount
                | DCountIf
                | Sum
                | SumIf
                | Avg
                | AvgIf
                | Min
                | Max
                | MinIf
                | MaxIf
                | Stdev
                | Variance
                | Percentile
                | TakeAny
        )
    }
}
