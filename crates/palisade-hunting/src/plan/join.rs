//! `join`/`lookup` of every kind, and `invoke FileProfile()` (a left lookup of the global reference data).

use datafusion::logical_expr::{
    cast, lit, when, Expr, ExprFunctionExt, JoinType, LogicalPlan, LogicalPlanBuilder,
};
use palisade_kql::{BoundExpr, BoundTable, ExprNode, JoinKind, KqlType, Schema};

use super::*;

impl Planner<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn join(
        &mut self,
        schema: &Schema,
        left: &BoundTable,
        right: &BoundTable,
        kind: JoinKind,
        on: &[(usize, usize)],
        outputs: &[(bool, usize)],
    ) -> PResult<LogicalPlan> {
        let mut lp = self.plan(left)?;
        let rp = self.plan(right)?;
        if on.is_empty() {
            return unsupported("join without 'on' keys");
        }
        if kind == JoinKind::InnerUnique {
            // Kusto's default join de-duplicates the left side on the join keys (one arbitrary
            // row per key value) before an inner join.
            let keys: Vec<Expr> = on.iter().map(|(l, _)| pcol(*l)).collect();
            let rn = datafusion::functions_window::expr_fn::row_number()
                .partition_by(keys)
                .build()?
                .alias("__rn");
            let cols: Vec<Expr> = (0..left.schema.columns.len()).map(pcol).collect();
            lp = LogicalPlanBuilder::from(lp)
                .window(vec![rn])?
                .filter(ncol("__rn").eq(lit(1u64)))?
                .project(cols)?
                .build()?;
        }
        // Rename the right side to avoid clashes with the left's `_i`.
        let rexprs: Vec<Expr> = (0..right.schema.columns.len())
            .map(|i| pcol(i).alias(format!("__r{i}")))
            .collect();
        let rp = LogicalPlanBuilder::from(rp).project(rexprs)?.build()?;
        let jt = match kind {
            JoinKind::InnerUnique | JoinKind::Inner => JoinType::Inner,
            JoinKind::LeftOuter => JoinType::Left,
            JoinKind::RightOuter => JoinType::Right,
            JoinKind::FullOuter => JoinType::Full,
            JoinKind::LeftSemi => JoinType::LeftSemi,
            JoinKind::RightSemi => JoinType::RightSemi,
            JoinKind::LeftAnti => JoinType::LeftAnti,
            JoinKind::RightAnti => JoinType::RightAnti,
        };
        let mut lk = Vec::new();
        let mut rk = Vec::new();
        for (l, r) in on {
            let (lt, rt) = (left.schema.columns[*l].ty, right.schema.columns[*r].ty);
            let common = palisade_kql::typing::common_type(lt, rt).unwrap_or(lt);
            lk.push(self.conv(pcol(*l), lt, common)?);
            rk.push(self.conv(ncol(&format!("__r{r}")), rt, common)?);
        }
        let joined = LogicalPlanBuilder::from(lp)
            .join_with_expr_keys(rp, jt, (lk, rk), None)?
            .build()?;
        let exprs: Vec<Expr> = outputs
            .iter()
            .enumerate()
            .map(|(k, (is_right, i))| {
                let c = if *is_right {
                    ncol(&format!("__r{i}"))
                } else {
                    pcol(*i)
                };
                // Outer joins leave unmatched columns null; Kusto strings are never null.
                let c = if schema.columns[k].ty == KqlType::String {
                    datafusion::functions::expr_fn::coalesce(vec![c, lit("")])
                } else {
                    c
                };
                cast(c, arrow_type(schema.columns[k].ty)).alias(format!("_{k}"))
            })
            .collect();
        Ok(LogicalPlanBuilder::from(joined).project(exprs)?.build()?)
    }

    /// `invoke FileProfile(key, limit)`: a left lookup of the global file profiles.
    ///
    /// Every input row is kept, in input order. The first `limit` rows (in input order) whose
    /// file id is not empty are looked up, case-insensitively on the hex hash (`SHA1` and
    /// `InitiatingProcessSHA1` against the profiles' SHA1, the SHA256 ids against SHA256): they
    /// get the profile columns and `ProfileAvailability` `Available`, or `Missing` when no
    /// profile is stored. Other rows (empty id, or past the limit) get nulls (`""` for strings)
    /// and an empty `ProfileAvailability`. Planned as row numbers (input order, then rank among
    /// rows with an id) and a hash left join against a scan of the reference files, so the
    /// engine's memory pool bounds it like any join.
    pub(super) fn file_profile(
        &mut self,
        schema: &Schema,
        input: &BoundTable,
        args: &[BoundExpr],
    ) -> PResult<LogicalPlan> {
        use datafusion::functions::expr_fn::{coalesce, lower};
        use datafusion::functions_window::expr_fn::row_number;
        use palisade_kql::catalog::{reference_schema, FILE_PROFILE, FILE_PROFILE_COLUMNS};
        let bad = || PlanError::Invalid("FileProfile() arguments were not bound".into());
        let [key, limit] = args else {
            return Err(bad());
        };
        let ExprNode::Column { index: k, name } = &key.node else {
            return Err(bad());
        };
        let limit = self.const_count(limit)?;
        let n = input.schema.columns.len();
        let p = self.plan(input)?;
        let inputs = || (0..n).map(pcol).collect::<Vec<_>>();
        // 1. Input order; 2. rank among the rows that have an id.
        let id = pcol(*k);
        let has_id = id.clone().is_not_null().and(id.clone().not_eq(lit("")));
        let mut pre = inputs();
        pre.push(ncol("__fp_rn"));
        pre.push(has_id.alias("__fp_has"));
        let rank = row_number()
            .partition_by(vec![ncol("__fp_has")])
            .order_by(vec![ncol("__fp_rn").sort(true, false)])
            .build()?
            .alias("__fp_rank");
        let enriched = ncol("__fp_has").and(ncol("__fp_rank").lt_eq(lit(limit as u64)));
        let mut keyed = inputs();
        keyed.push(ncol("__fp_rn"));
        keyed.push(enriched.clone().alias("__fp_on"));
        keyed.push(
            when(enriched, lower(id))
                .otherwise(lit(ScalarValue::Utf8(None)))?
                .alias("__fp_key"),
        );
        let left = LogicalPlanBuilder::from(p)
            .window(vec![row_number().alias("__fp_rn")])?
            .project(pre)?
            .window(vec![rank])?
            .project(keyed)?
            .build()?;
        // The reference side: profile columns as `__fpr{j}` and the lower-cased key.
        let ref_schema = reference_schema(FILE_PROFILE)
            .ok_or_else(|| PlanError::Invalid("no FileProfile reference schema".into()))?;
        let ref_key = if name.ends_with("SHA1") {
            "SHA1"
        } else {
            "SHA256"
        };
        let mut rexprs = vec![lower(ncol(ref_key)).alias("__fp_pk")];
        rexprs.extend(
            FILE_PROFILE_COLUMNS
                .iter()
                .enumerate()
                .map(|(j, (c, _))| ncol(c).alias(format!("__fpr{j}"))),
        );
        let right = LogicalPlanBuilder::from(self.source.reference(FILE_PROFILE, &ref_schema)?)
            .project(rexprs)?
            .filter(ncol("__fp_pk").not_eq(lit("")))?
            .build()?;
        let joined = LogicalPlanBuilder::from(left)
            .join_with_expr_keys(
                right,
                JoinType::Left,
                (vec![ncol("__fp_key")], vec![ncol("__fp_pk")]),
                None,
            )?
            .build()?;
        let mut out = Vec::with_capacity(schema.columns.len() + 1);
        for (j, c) in schema.columns.iter().enumerate() {
            let e = if j < n {
                pcol(j)
            } else if c.name == "ProfileAvailability" {
                when(
                    ncol("__fp_on").and(ncol("__fp_pk").is_not_null()),
                    lit("Available"),
                )
                .when(ncol("__fp_on"), lit("Missing"))
                .otherwise(lit(""))?
            } else {
                let r = FILE_PROFILE_COLUMNS
                    .iter()
                    .position(|(name, _)| *name == c.name)
                    .ok_or_else(|| {
                        PlanError::Invalid(format!("'{}' is not a FileProfile column", c.name))
                    })?;
                let v = ncol(&format!("__fpr{r}"));
                if c.ty == KqlType::String {
                    coalesce(vec![v, lit("")])
                } else {
                    v
                }
            };
            out.push(cast(e, arrow_type(c.ty)).alias(format!("_{j}")));
        }
        out.push(ncol("__fp_rn"));
        let back: Vec<Expr> = (0..schema.columns.len()).map(pcol).collect();
        Ok(LogicalPlanBuilder::from(joined)
            .project(out)?
            .sort(vec![ncol("__fp_rn").sort(true, false)])?
            .project(back)?
            .build()?)
    }
}
