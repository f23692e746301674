//! `fork` and `facet`: operators that end a query statement with several result tables.
//!
//! Each branch (each `fork` subquery; the `facet` `with` table and one table per faceted
//! column) is bound as its own result over a copy of the input, so the input runs once per
//! table. The branches may use every operator (Kusto allows a subset in `fork`).

use super::*;

impl Binder<'_> {
    /// The result tables of query statement `e` when its last operator is `fork` or `facet`.
    pub(super) fn result_tables(
        &mut self,
        e: &Expr,
        env: &Env,
    ) -> Result<Option<Vec<BoundTable>>, BindError> {
        let ExprKind::Pipe { source, ops } = &e.kind else {
            return Ok(None);
        };
        let Some((last, before)) = ops.split_last() else {
            return Ok(None);
        };
        if !matches!(last.kind, OpKind::Fork(_) | OpKind::Facet { .. }) {
            return Ok(None);
        }
        let input = if before.is_empty() {
            self.table_expr(source, env)?
        } else {
            let head = Expr {
                kind: ExprKind::Pipe {
                    source: source.clone(),
                    ops: before.to_vec(),
                },
                span: e.span,
            };
            self.table_expr(&head, env)?
        };
        let mut tables = Vec::new();
        match &last.kind {
            OpKind::Fork(branches) => {
                for b in branches {
                    tables.push(self.branch(&input, &b.ops, last.span, env)?);
                }
            }
            OpKind::Facet { by, with } => {
                if let Some(ops) = with {
                    tables.push(self.branch(&input, ops, last.span, env)?);
                }
                for c in by {
                    if input.schema.find(&c.name).is_none() {
                        return Err(unknown("column", &c.name, c.span));
                    }
                    let count = Operator {
                        kind: OpKind::Summarize {
                            params: Vec::new(),
                            aggs: vec![NamedExpr {
                                names: vec![Ident {
                                    name: format!("count_{}", c.name),
                                    span: c.span,
                                }],
                                expr: Expr {
                                    kind: ExprKind::Call {
                                        name: Ident {
                                            name: "count".into(),
                                            span: c.span,
                                        },
                                        args: Vec::new(),
                                    },
                                    span: c.span,
                                },
                            }],
                            by: vec![NamedExpr {
                                names: Vec::new(),
                                expr: Expr {
                                    kind: ExprKind::Name(c.name.clone()),
                                    span: c.span,
                                },
                            }],
                        },
                        span: c.span,
                    };
                    tables.push(self.branch(&input, std::slice::from_ref(&count), c.span, env)?);
                }
            }
            _ => return Ok(None),
        }
        Ok(Some(tables))
    }

    /// `ops` applied to a copy of `input` (charged to the inlining budget).
    fn branch(
        &mut self,
        input: &BoundTable,
        ops: &[Operator],
        span: Span,
        env: &Env,
    ) -> Result<BoundTable, BindError> {
        self.charge(input.size(), span)?;
        let mut t = input.clone();
        for op in ops {
            t = self.operator(t, op, env)?;
        }
        Ok(t)
    }
}
