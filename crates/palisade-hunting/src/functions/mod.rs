//! The implementation of every built-in function, by its typed id.
//!
//! [`plan_scalar`] and [`aggregate::plan`] match exhaustively over the families that
//! `palisade_kql::functions` declares, one file per family, so a function declared there
//! without an implementation here does not compile. Each arm turns the bound arguments into a
//! DataFusion expression: a DataFusion built-in where its semantics are Kusto's, a row-wise
//! UDF (see [`crate::udf`]) otherwise. Every declared function runs.

use arrow::datatypes::DataType;
use chrono::{Datelike, Timelike};
use datafusion::functions::expr_fn as fx;
use datafusion::logical_expr::{cast, lit, when, Expr, ScalarUDF};
use palisade_kql::functions::ScalarFunction;
use palisade_kql::value::{format_timespan, NANOS_PER_DAY as NS_DAY};
use palisade_kql::{const_eval, BoundExpr, ExprNode, KqlType, Literal};
use serde_json::Value as Json;

use crate::plan::{ts_lit, unsupported, PResult, PlanError, Planner};
use crate::udf::json::{dyn_out, json_to_string, parse_dyn, val_to_json};
use crate::udf::{arrow_type, cached_regex, row_udf, Out, Val};

pub(crate) mod aggregate;
mod arrays;
mod base64;
mod conditional;
mod conversion;
mod datetime;
mod dynamic;
mod geo;
mod hashing;
mod ipv6;
mod math;
mod network;
mod series;
mod series_math;
mod string;
mod string_ext;
pub(crate) mod window;

/// A boxed row-wise function body.
type BoxedRowFn = Box<dyn Fn(&[Val]) -> Out + Send + Sync>;

/// One call being planned: the bound arguments, their planned forms and the result type.
pub(crate) struct Call<'a> {
    /// The function's canonical name (UDF names and messages).
    name: &'static str,
    /// Bound arguments.
    args: &'a [BoundExpr],
    /// Planned arguments (`typeof(t)` arguments plan as `""`).
    xs: Vec<Expr>,
    /// Number of arguments.
    n: usize,
    /// The call's result type.
    ty: KqlType,
}

impl Call<'_> {
    /// The KQL type of argument `i` (string when absent).
    fn t(&self, i: usize) -> KqlType {
        self.args.get(i).map_or(KqlType::String, |a| a.ty)
    }

    /// Planned argument `i`.
    fn arg(&self, i: usize) -> PResult<Expr> {
        self.xs
            .get(i)
            .cloned()
            .ok_or_else(|| PlanError::Invalid(format!("{}: missing argument {}", self.name, i + 1)))
    }

    /// Argument `i` as KQL type `to`.
    fn arg_as(&self, p: &Planner, i: usize, to: KqlType) -> PResult<Expr> {
        p.conv(self.arg(i)?, self.t(i), to)
    }

    /// Every argument as KQL type `to`.
    fn all_as(&self, p: &Planner, to: KqlType) -> PResult<Vec<Expr>> {
        (0..self.n)
            .map(|i| p.conv(self.xs[i].clone(), self.t(i), to))
            .collect()
    }

    /// A row-wise UDF `kql_<name>` returning `ret`.
    fn row(&self, name: &str, ret: KqlType, f: BoxedRowFn) -> ScalarUDF {
        row_udf(format!("kql_{name}"), arrow_type(ret), f)
    }

    /// A JSON-level function over all arguments converted to dynamic, its result converted
    /// to the call's type.
    fn json_fn(
        &self,
        p: &Planner,
        f: Box<dyn Fn(Vec<Json>) -> Json + Send + Sync>,
    ) -> PResult<Expr> {
        let types: Vec<KqlType> = (0..self.n).map(|i| self.t(i)).collect();
        let u = row_udf(format!("kql_{}", self.name), DataType::Utf8, move |a| {
            let vals: Vec<Json> = a
                .iter()
                .zip(types.iter())
                .map(|(v, ty)| val_to_json(*v, *ty))
                .collect();
            dyn_out(f(vals))
        });
        p.conv(u.call(self.xs.clone()), KqlType::Dynamic, self.ty)
    }
}

/// The DataFusion expression of scalar function `func` applied to `args`, of type `ty`.
pub(crate) fn plan_scalar(
    p: &mut Planner,
    func: ScalarFunction,
    args: &[BoundExpr],
    ty: KqlType,
) -> PResult<Expr> {
    let mut xs = Vec::with_capacity(args.len());
    for a in args {
        xs.push(match &a.node {
            ExprNode::TypeOf(_) => lit(""),
            _ => p.expr(a)?,
        });
    }
    let c = Call {
        name: func.name(),
        args,
        n: args.len(),
        xs,
        ty,
    };
    match func {
        ScalarFunction::Conversion(f) => conversion::plan(p, f, &c),
        ScalarFunction::Conditional(f) => conditional::plan(p, f, &c),
        ScalarFunction::String(f) => string::plan(p, f, &c),
        ScalarFunction::DateTime(f) => datetime::plan(p, f, &c),
        ScalarFunction::Dynamic(f) => dynamic::plan(p, f, &c),
        ScalarFunction::Network(f) => network::plan(p, f, &c),
        ScalarFunction::Hashing(f) => hashing::plan(p, f, &c),
        ScalarFunction::Math(f) => math::plan(p, f, &c),
        // Row-order functions become window columns before their expression is planned
        // (see `Planner::with_windows`); one left here is outside `extend`/`project`/`where`.
        ScalarFunction::Window(f) => Err(PlanError::Invalid(format!(
            "{}() needs a row order: use it in extend, project or where",
            f.name()
        ))),
        // One dynamic array of the results; `ExprNode::Output` picks one.
        ScalarFunction::Series(f) => series::plan_multi(p, f, &c),
        ScalarFunction::SeriesOp(f) => series::plan(p, f, &c),
        ScalarFunction::Geo(f) => geo::plan(p, f, &c),
    }
}

/// Converts arguments to the given types (missing trailing types default to the last).
fn all_typed(p: &Planner, c: &Call, types: &[KqlType]) -> PResult<Vec<Expr>> {
    c.xs.iter()
        .zip(c.args)
        .enumerate()
        .map(|(i, (x, a))| {
            let to = types
                .get(i)
                .or(types.last())
                .copied()
                .unwrap_or(KqlType::String);
            p.conv(x.clone(), a.ty, to)
        })
        .collect()
}
