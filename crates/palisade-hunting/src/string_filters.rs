//! A logical optimizer rule that lets the Parquet reader prune on string equality.
//!
//! Kusto strings are never null, so the planner reads every stored string column as
//! `coalesce(col, '')` (which DataFusion's simplifier turns into
//! `CASE WHEN col IS NOT NULL THEN col ELSE '' END`). After filter pushdown an IOC sweep such
//! as `where SHA256 == "…"` reaches the scan as that `CASE … = '…'`, which neither the
//! row-group statistics, the page index nor the bloom filters can use, so every row of the
//! column was decoded (9× DataFusion SQL on the 10 M-row benchmark).
//!
//! In a filter only *true* keeps a row, and for a non-empty literal `L`,
//! `coalesce(col, '') = L` is true exactly when `col = L` is (a null `col` makes the first
//! false and the second null: both drop the row). The same holds for `IN` lists of non-empty
//! literals, and through `AND`/`OR` (which treat false and null alike for truth), but not
//! under `NOT` or anywhere a value is kept, so only filter predicates and a scan's pushed
//! filters are rewritten, and only down `AND`/`OR` chains.

use arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::{BinaryExpr, Case, InList};
use datafusion::logical_expr::{Expr, LogicalPlan, Operator};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

/// Rewrites `coalesce(col, '') = 'x'` (and `IN` of non-empty literals) to `col = 'x'` in
/// filter predicates and scan filters. See the module docs for why that is exact.
#[derive(Debug, Default)]
pub(crate) struct NonNullStringFilters;

impl OptimizerRule for NonNullStringFilters {
    fn name(&self) -> &str {
        "palisade_non_null_string_filters"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        Ok(match plan {
            LogicalPlan::Filter(mut filter) => {
                let t = truth_preserving(filter.predicate);
                filter.predicate = t.data;
                Transformed::new_transformed(LogicalPlan::Filter(filter), t.transformed)
            }
            LogicalPlan::TableScan(mut scan) => {
                let mut changed = false;
                scan.filters = scan
                    .filters
                    .into_iter()
                    .map(|f| {
                        let t = truth_preserving(f);
                        changed |= t.transformed;
                        t.data
                    })
                    .collect();
                Transformed::new_transformed(LogicalPlan::TableScan(scan), changed)
            }
            other => Transformed::no(other),
        })
    }
}

/// Rewrites the comparisons reachable from a predicate's root through `AND`/`OR` only.
fn truth_preserving(e: Expr) -> Transformed<Expr> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if matches!(op, Operator::And | Operator::Or) =>
        {
            let l = truth_preserving(*left);
            let r = truth_preserving(*right);
            let changed = l.transformed || r.transformed;
            Transformed::new_transformed(
                Expr::BinaryExpr(BinaryExpr::new(Box::new(l.data), op, Box::new(r.data))),
                changed,
            )
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if op == Operator::Eq => {
            let column = match (stored_string(&left), stored_string(&right)) {
                (Some(c), None) if non_empty_string(&right) => Some((c.clone(), *right.clone())),
                (None, Some(c)) if non_empty_string(&left) => Some((c.clone(), *left.clone())),
                _ => None,
            };
            match column {
                Some((c, l)) => Transformed::yes(c.eq(l)),
                None => Transformed::no(Expr::BinaryExpr(BinaryExpr { left, op, right })),
            }
        }
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) if list.iter().all(non_empty_string) && stored_string(&expr).is_some() => {
            let c = stored_string(&expr).cloned().unwrap_or(*expr);
            Transformed::yes(c.in_list(list, false))
        }
        other => Transformed::no(other),
    }
}

/// The column inside the planner's Kusto string read, `coalesce(col, '')` or its simplified
/// `CASE WHEN col IS NOT NULL THEN col ELSE '' END`, a same-type cast around either allowed.
fn stored_string(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Cast(c) if is_string_type(c.field.data_type()) => stored_string(&c.expr),
        Expr::ScalarFunction(f) if f.name() == "coalesce" => match f.args.as_slice() {
            [c @ Expr::Column(_), empty] if is_empty_string(empty) => Some(c),
            _ => None,
        },
        Expr::Case(Case {
            expr: None,
            when_then_expr,
            else_expr: Some(otherwise),
        }) if is_empty_string(otherwise) => match when_then_expr.as_slice() {
            [(when, then)] => match (when.as_ref(), then.as_ref()) {
                (Expr::IsNotNull(tested), c @ Expr::Column(_)) if tested.as_ref() == c => Some(c),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        ) => Some(s),
        Expr::Cast(c) if is_string_type(c.field.data_type()) => string_literal(&c.expr),
        _ => None,
    }
}

/// A cast to one of these keeps a string's value, so it may be looked through.
fn is_string_type(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_empty_string(e: &Expr) -> bool {
    string_literal(e) == Some("")
}

fn non_empty_string(e: &Expr) -> bool {
    string_literal(e).is_some_and(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::functions::expr_fn::coalesce;
    use datafusion::logical_expr::{cast, col, lit, not, when};

    fn kusto(c: &str) -> Expr {
        coalesce(vec![col(c), lit("")])
    }

    fn simplified(c: &str) -> Expr {
        when(col(c).is_not_null(), col(c))
            .otherwise(lit(""))
            .expect("a case")
    }

    #[test]
    fn equality_with_a_non_empty_literal_reads_the_column() {
        for read in [kusto("SHA256"), simplified("SHA256")] {
            let t = truth_preserving(read.clone().eq(lit("abc")));
            assert!(t.transformed);
            assert_eq!(t.data, col("SHA256").eq(lit("abc")));
            let t = truth_preserving(lit("abc").eq(read));
            assert_eq!(t.data, col("SHA256").eq(lit("abc")));
        }
    }

    #[test]
    fn in_lists_and_and_or_chains_are_rewritten() {
        let e = kusto("A")
            .in_list(vec![lit("x"), lit("y")], false)
            .and(simplified("B").eq(lit("z")).or(col("C").gt(lit(1))));
        let want = col("A")
            .in_list(vec![lit("x"), lit("y")], false)
            .and(col("B").eq(lit("z")).or(col("C").gt(lit(1))));
        assert_eq!(truth_preserving(e).data, want);
    }

    #[test]
    fn what_a_null_would_change_is_left_alone() {
        let kept = [
            // '' matches a null column in Kusto.
            kusto("A").eq(lit("")),
            kusto("A").in_list(vec![lit("x"), lit("")], false),
            // NOT turns false into true but null stays null.
            not(kusto("A").eq(lit("x"))),
            kusto("A").not_eq(lit("x")),
            kusto("A").in_list(vec![lit("x")], true),
            // Not the planner's read of a column.
            coalesce(vec![col("A"), lit("q")]).eq(lit("x")),
            // A cast that can change the value (here to a number) is not looked through.
            cast(kusto("A"), DataType::Int64).eq(cast(lit("5"), DataType::Int64)),
        ];
        for e in kept {
            let t = truth_preserving(e.clone());
            assert!(!t.transformed, "{e} was rewritten");
            assert_eq!(t.data, e);
        }
    }
}
