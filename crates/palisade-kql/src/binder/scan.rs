//! The `scan` operator: declared columns, steps and their state, bound as [`BoundScan`].
//!
//! A step's condition and assignments see the input row's columns, the declared columns (at
//! their defaults: the row before its step's assignments) and, as `Step.Column`, the record
//! each step holds in the state the condition is evaluated with (Kusto's scan logic; the
//! engine runs it, see `palisade-hunting`'s `scan_steps`).

use super::*;

/// Most steps one `scan` may have [inferred: Kusto documents no limit; each step adds a copy of
/// the row's columns to the state every condition may read, so the bound keeps that state
/// small].
pub const MAX_SCAN_STEPS: usize = 64;

impl Binder<'_> {
    pub(super) fn scan(
        &mut self,
        t: BoundTable,
        spec: &ScanSpec,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let mut record = t.schema.columns.clone();
        let mut defaults = Vec::with_capacity(spec.declare.len());
        for d in &spec.declare {
            if record.iter().any(|c| c.name == d.name.name) {
                return Err(invalid(
                    format!(
                        "scan: the declared column '{}' is already a column of the input",
                        d.name.name
                    ),
                    d.name.span,
                ));
            }
            let default = match &d.default {
                Some(e) => {
                    let ctx = Ctx {
                        env,
                        row: None,
                        agg: false,
                    };
                    let x = self.scalar(e, ctx)?;
                    check_assignable(&d.name.name, d.ty, &x)?;
                    x
                }
                None => BoundExpr {
                    node: ExprNode::Literal(Literal::Null(d.ty)),
                    ty: d.ty,
                    span: d.name.span,
                },
            };
            defaults.push(default);
            record.push(Column::new(d.name.name.clone(), d.ty));
        }
        if spec.steps.len() > MAX_SCAN_STEPS {
            return Err(invalid(
                format!("scan: more than {MAX_SCAN_STEPS} steps"),
                spec.steps[MAX_SCAN_STEPS].name.span,
            ));
        }
        let mut names: Vec<&str> = Vec::new();
        for s in &spec.steps {
            if names.contains(&s.name.name.as_str()) {
                return Err(invalid(
                    format!("scan: the step name '{}' is used twice", s.name.name),
                    s.name.span,
                ));
            }
            names.push(&s.name.name);
        }
        let mut state = record.clone();
        for s in &spec.steps {
            state.extend(
                record
                    .iter()
                    .map(|c| Column::new(format!("{}.{}", s.name.name, c.name), c.ty)),
            );
        }
        let state = Schema::new(state);
        let outer = std::mem::replace(
            &mut self.scan_steps,
            spec.steps.iter().map(|s| s.name.name.clone()).collect(),
        );
        let steps = self.scan_steps_bound(spec, &state, &record[t.schema.columns.len()..], env);
        self.scan_steps = outer;
        let steps = steps?;
        let mut out = record;
        if let Some(m) = &spec.match_id {
            if out.iter().any(|c| c.name == m.name) {
                return Err(invalid(
                    format!("scan: the match id column '{}' is already a column", m.name),
                    m.span,
                ));
            }
            out.push(Column::new(m.name.clone(), KqlType::Long));
        }
        Ok(table(
            TableNode::ScanSteps {
                input: Box::new(t),
                scan: Box::new(BoundScan {
                    partition: None,
                    defaults,
                    steps,
                    match_id: spec.match_id.is_some(),
                }),
            },
            Schema::new(out),
        ))
    }

    fn scan_steps_bound(
        &mut self,
        spec: &ScanSpec,
        state: &Schema,
        declared: &[Column],
        env: &Env,
    ) -> Result<Vec<BoundScanStep>, BindError> {
        let mut steps = Vec::with_capacity(spec.steps.len());
        for s in &spec.steps {
            let condition = self.scalar(&s.condition, row(env, state))?;
            if !matches!(condition.ty, KqlType::Bool | KqlType::Dynamic) {
                return Err(invalid(
                    format!(
                        "scan: the condition of step '{}' must be bool, found {}",
                        s.name.name, condition.ty
                    ),
                    s.condition.span,
                ));
            }
            let mut assignments = Vec::with_capacity(s.assignments.len());
            for (column, value) in &s.assignments {
                let Some(i) = declared.iter().position(|c| c.name == column.name) else {
                    return Err(invalid(
                        format!(
                            "scan: '{}' is not a declared column (declare it in 'declare (...)')",
                            column.name
                        ),
                        column.span,
                    ));
                };
                let x = self.scalar(value, row(env, state))?;
                check_assignable(&column.name, declared[i].ty, &x)?;
                assignments.push((i, x));
            }
            steps.push(BoundScanStep {
                name: s.name.name.clone(),
                output: s.output,
                condition,
                assignments,
            });
        }
        Ok(steps)
    }

    /// `partition by key ([sort by ... |] scan ...)`: the scan run on each partition.
    pub(super) fn partitioned_scan(
        &mut self,
        t: BoundTable,
        key: &Ident,
        ops: &[Operator],
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        let (k, _) = t
            .schema
            .find(&key.name)
            .ok_or_else(|| unknown("column", &key.name, key.span))?;
        let mut input = t;
        let mut scanned = None;
        for op in ops {
            match &op.kind {
                OpKind::Sort(_) if scanned.is_none() => input = self.operator(input, op, env)?,
                OpKind::Scan(spec) if scanned.is_none() => {
                    scanned = Some(self.scan(input.clone(), spec, env)?)
                }
                _ => {
                    return Err(BindError::Unsupported {
                        what: "operator",
                        name: "operators other than one 'sort' before 'scan' inside partition"
                            .into(),
                        pos: op.span.start,
                    })
                }
            }
        }
        let mut out = scanned.ok_or_else(|| invalid("partition: no scan", key.span))?;
        if let TableNode::ScanSteps { scan, .. } = &mut out.node {
            scan.partition = Some(k);
        }
        Ok(out)
    }

    /// The state column `Step.Column` when `base.name` names one while a `scan`'s steps are
    /// bound (a column of the row named `base` takes precedence).
    pub(super) fn scan_state_column(
        &self,
        base: &Expr,
        name: &Ident,
        row: &Schema,
    ) -> Result<Option<usize>, BindError> {
        let ExprKind::Name(step) = &base.kind else {
            return Ok(None);
        };
        if !self.scan_steps.contains(step) || row.find(step).is_some() {
            return Ok(None);
        }
        match row.find(&format!("{step}.{}", name.name)) {
            Some((i, _)) => Ok(Some(i)),
            None => Err(invalid(
                format!(
                    "scan: step '{step}' has no column '{}' (its state holds the input's and \
                     the declared columns)",
                    name.name
                ),
                name.span,
            )),
        }
    }
}

/// A value of type `x.ty` can be stored in declared column `name` of type `ty`: the same type,
/// numbers of another numeric type, or a dynamic value (converted as `to<type>()` would).
fn check_assignable(name: &str, ty: KqlType, x: &BoundExpr) -> Result<(), BindError> {
    let ok = x.ty == ty
        || (x.ty.is_numeric() && ty.is_numeric())
        || x.ty == KqlType::Dynamic
        || matches!(x.node, ExprNode::Literal(Literal::Null(_)));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            format!(
                "scan: cannot assign a {} value to the declared column '{name}' of type {ty}",
                x.ty
            ),
            x.span,
        ))
    }
}
