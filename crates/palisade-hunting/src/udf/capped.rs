//! DataFusion's string builders (`concat`, `concat_ws`) under the query's budget: their
//! output is at most the sum of their inputs, so it is sized and charged **before** the
//! built-in runs (see [`crate::budget`]). `extend s = strcat(s, s)` repeated doubles a value
//! each time; without this it would grow until Arrow's offsets overflow.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

use crate::budget::{check_value, Budget, Charge};

/// `e` (a call of a string-building built-in) with its output sized and charged first; any
/// other expression unchanged.
pub(crate) fn capped(e: Expr) -> Expr {
    match e {
        Expr::ScalarFunction(ScalarFunction { func, args }) => {
            let udf = ScalarUDF::new_from_impl(Capped {
                name: format!("kql_{}", func.name()),
                inner: func,
                budget: crate::budget::current(),
            });
            Expr::ScalarFunction(ScalarFunction::new_udf(Arc::new(udf), args))
        }
        other => other,
    }
}

#[derive(Debug)]
struct Capped {
    name: String,
    inner: Arc<ScalarUDF>,
    budget: Option<Budget>,
}

impl PartialEq for Capped {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Capped {}

impl std::hash::Hash for Capped {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

/// Bytes of the longest value and of all values of one string argument, `rows` rows.
fn text_bytes(v: &ColumnarValue, rows: usize) -> (usize, usize) {
    match v {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
        ) => (s.len(), s.len().saturating_mul(rows)),
        ColumnarValue::Scalar(_) => (0, 0),
        ColumnarValue::Array(a) => {
            let longest = |lens: &mut dyn Iterator<Item = usize>| lens.max().unwrap_or(0);
            match a.data_type() {
                DataType::Utf8 => {
                    let s = a.as_string::<i32>();
                    let o = s.value_offsets();
                    let bytes = (o[o.len() - 1] - o[0]) as usize;
                    (
                        longest(&mut o.windows(2).map(|w| (w[1] - w[0]) as usize)),
                        bytes,
                    )
                }
                DataType::LargeUtf8 => {
                    let s = a.as_string::<i64>();
                    let o = s.value_offsets();
                    let bytes = (o[o.len() - 1] - o[0]) as usize;
                    (
                        longest(&mut o.windows(2).map(|w| (w[1] - w[0]) as usize)),
                        bytes,
                    )
                }
                DataType::Utf8View => {
                    let s = a.as_string_view();
                    let mut total = 0usize;
                    let max = longest(&mut s.views().iter().map(|v| {
                        let n = *v as u32 as usize;
                        total += n;
                        n
                    }));
                    (max, total)
                }
                _ => (0, a.get_array_memory_size()),
            }
        }
    }
}

impl ScalarUDFImpl for Capped {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.inner.return_type(arg_types)
    }
    fn return_field_from_args(
        &self,
        args: ReturnFieldArgs,
    ) -> DfResult<arrow::datatypes::FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let (mut longest, mut total) = (0usize, 0usize);
        for a in &args.args {
            let (l, t) = text_bytes(a, rows);
            longest = longest.saturating_add(l);
            total = total.saturating_add(t);
        }
        check_value(&self.name, longest)?;
        let mut charge = Charge::new(&self.name, self.budget.as_ref());
        charge.add(total)?;
        self.inner.invoke_with_args(args)
    }
}
