//! `parse` and `parse-where` (`simple`, `regex`, `relaxed`): the pattern as one regular expression with named groups, each capture converted to its column type.

use datafusion::logical_expr::{cast, lit, when, Expr, LogicalPlan, LogicalPlanBuilder};
use palisade_kql::bound::{BoundParsePart, ParseKind};
use palisade_kql::{BoundTable, KqlType, TableNode};

use super::*;

impl Planner<'_> {
    /// Plans a [`TableNode::Parse`] node `t`.
    pub(super) fn parse(&mut self, t: &BoundTable) -> PResult<LogicalPlan> {
        let TableNode::Parse {
            input,
            source,
            kind,
            flags,
            pattern,
            filter,
        } = &t.node
        else {
            return Err(PlanError::Invalid("parse: not a parse node".into()));
        };
        let (schema, kind, flags) = (&t.schema, *kind, flags.as_deref());
        let p = self.plan(input)?;
        let mut re = String::new();
        if let Some(f) = flags {
            let f: String = f.chars().filter(|c| "imsxU".contains(*c)).collect();
            if !f.is_empty() {
                re.push_str(&format!("(?{f})"));
            }
        }
        re.push('^');
        // simple: literal delimiters, strict types; regex: regex delimiters, strict types;
        // relaxed: literal delimiters, typed columns captured as text and converted one by one
        // (a value that does not convert is null for that column only). Strict kinds null
        // every extended column of a row when any typed column fails to match its type.
        let (regex_mode, relaxed) = match kind {
            ParseKind::Simple => (false, false),
            ParseKind::Regex => (true, false),
            ParseKind::Relaxed => (false, true),
        };
        let mut captures: Vec<(usize, KqlType)> = Vec::new();
        for (k, part) in pattern.iter().enumerate() {
            let last = k + 1 == pattern.len();
            match part {
                BoundParsePart::Text(t) => {
                    if regex_mode {
                        re.push_str(t);
                    } else {
                        re.push_str(&regex::escape(t));
                    }
                }
                BoundParsePart::Any => re.push_str(if last { ".*" } else { ".*?" }),
                BoundParsePart::Capture { column, ty } => {
                    // Kusto's regex kind captures text greedily (its docs' examples: without
                    // `flags=U`, `resourceName ','` runs to the last comma).
                    let text = if last || regex_mode { ".*" } else { ".*?" };
                    let number = match ty {
                        KqlType::Int | KqlType::Long => Some(r"-?\d+"),
                        KqlType::Real | KqlType::Decimal => {
                            Some(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
                        }
                        _ => None,
                    };
                    let body = match number {
                        // Relaxed: a number if one is there, otherwise the text up to the next
                        // delimiter (which then fails to convert: null for this column).
                        Some(n) if relaxed => format!("{n}|{text}"),
                        Some(n) => n.to_string(),
                        None => text.to_string(),
                    };
                    // Named, because a regex-kind pattern may contain groups of its own.
                    re.push_str(&format!("(?P<__pc{}>{body})", captures.len()));
                    captures.push((*column, *ty));
                }
            }
        }
        let Some(compiled) = crate::udf::cached_regex(&re) else {
            return Err(PlanError::Invalid(format!("invalid parse pattern: {re}")));
        };
        let src = self.expr(source)?;
        let src = self.conv(src, source.ty, KqlType::String)?;
        // One regex run per row gives every capture (the struct column `__pg` below); then
        // the converted value of every capture, in capture order.
        let groups = (0..captures.len())
            .map(|g| {
                let name = format!("__pc{g}");
                compiled
                    .capture_names()
                    .position(|n| n == Some(name.as_str()))
                    .ok_or_else(|| PlanError::Invalid(format!("invalid parse pattern: {re}")))
            })
            .collect::<PResult<Vec<usize>>>()?;
        let matched =
            crate::udf::text::regex_groups_udf(compiled.clone(), groups).call(vec![src.clone()]);
        let mut values = Vec::with_capacity(captures.len());
        for (g, (_, ty)) in captures.iter().enumerate() {
            let x = crate::udf::text::capture_udf(g).call(vec![ncol("__pg")]);
            values.push(self.conv(x, KqlType::String, *ty)?);
        }
        // Strict kinds: the row parses only if every typed capture converted.
        let all_typed_ok = if relaxed {
            None
        } else {
            captures
                .iter()
                .zip(&values)
                .filter(|((_, ty), _)| !matches!(ty, KqlType::String | KqlType::Guid))
                .map(|(_, v)| v.clone().is_not_null())
                .reduce(Expr::and)
        };
        let mut exprs = Vec::with_capacity(schema.columns.len());
        for (j, c) in schema.columns.iter().enumerate() {
            let e = if let Some(g) = captures.iter().position(|(col, _)| *col == j) {
                let v = values[g].clone();
                match &all_typed_ok {
                    Some(ok) => {
                        let failed = if c.ty == KqlType::String {
                            lit("")
                        } else {
                            null_of(c.ty)?
                        };
                        when(ok.clone(), v).otherwise(failed)?
                    }
                    None => v,
                }
            } else if j < input.schema.columns.len() {
                pcol(j)
            } else {
                null_of(c.ty)?
            };
            exprs.push(cast(e, arrow_type(c.ty)).alias(format!("_{j}")));
        }
        // The captures as one struct column below the output's projection, so each row is
        // matched once (see `capture_udf`).
        let mut with_groups: Vec<Expr> = (0..input.schema.columns.len()).map(pcol).collect();
        with_groups.push(matched.alias("__pg"));
        let b = LogicalPlanBuilder::from(p).project(with_groups)?;
        let b = if *filter {
            // parse-where: only the rows the pattern matches (and, for strict kinds, whose
            // typed captures all convert).
            let whole = datafusion::functions::regex::expr_fn::regexp_like(
                src.clone(),
                lit(re.clone()),
                None,
            );
            b.filter(match all_typed_ok {
                Some(ok) => whole.and(ok),
                None => whole,
            })?
        } else {
            b
        };
        Ok(b.project(exprs)?.build()?)
    }
}
