//! The bound tree as text: one line per operator, inputs indented below it, each line ending
//! with the operator's output columns. Expressions print in KQL syntax with their resolved
//! function names, so what the binder inlined and converted is visible.

use std::fmt::Write;

use crate::ast::{BinOp, ListOp, StrOp, StrOpKind};
use crate::bound::{BoundExpr, BoundParsePart, BoundQuery, BoundTable, ExprNode, TableNode};
use crate::value::{format_datetime, format_timespan, Literal};

/// Every result table of `q`, as an indented operator tree.
pub fn explain_bound(q: &BoundQuery) -> String {
    let mut out = String::new();
    for (i, t) in q.results.iter().enumerate() {
        let _ = writeln!(out, "result {i}:");
        table(t, 1, &mut out);
    }
    out
}

fn table(t: &BoundTable, depth: usize, out: &mut String) {
    let list = |v: &[BoundExpr]| v.iter().map(expr).collect::<Vec<_>>().join(", ");
    let line = match &t.node {
        TableNode::Scan { table } => format!("Scan {table}"),
        TableNode::Values { rows } => format!("Values ({} rows)", rows.len()),
        TableNode::Range { from, to, step } => {
            format!("Range {} to {} step {}", expr(from), expr(to), expr(step))
        }
        TableNode::Print { exprs } => format!("Print {}", list(exprs)),
        TableNode::Union { source_column, .. } => match source_column {
            Some(c) => format!("Union withsource={}", t.schema.columns[*c].name),
            None => "Union".into(),
        },
        TableNode::Filter { predicate, .. } => format!("Filter {}", expr(predicate)),
        TableNode::Project { exprs, .. } => format!(
            "Project {}",
            t.schema
                .columns
                .iter()
                .zip(exprs)
                .map(|(c, e)| format!("{} = {}", c.name, expr(e)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TableNode::Aggregate { keys, aggs, .. } => {
            format!("Aggregate [{}] by [{}]", list(aggs), list(keys))
        }
        TableNode::Sort { keys, .. } => format!(
            "Sort by {}",
            keys.iter()
                .map(|k| format!(
                    "{} {}{}",
                    expr(&k.expr),
                    if k.asc { "asc" } else { "desc" },
                    if k.nulls_first { " nulls first" } else { "" }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TableNode::Limit { n, .. } => format!("Limit {}", expr(n)),
        TableNode::Sample { n, .. } => format!("Sample {}", expr(n)),
        TableNode::Distinct { .. } => "Distinct".into(),
        TableNode::Count { .. } => "Count".into(),
        TableNode::Serialize { .. } => "Serialize".into(),
        TableNode::GetSchema { .. } => "GetSchema".into(),
        TableNode::Join {
            left,
            right,
            kind,
            on,
            ..
        } => format!(
            "Join kind={kind:?} on {}",
            on.iter()
                .map(|(l, r)| format!(
                    "$left.{} == $right.{}",
                    left.schema.columns[*l].name, right.schema.columns[*r].name
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TableNode::MvExpand { items, limit, .. } => {
            let mut s = format!(
                "MvExpand {}",
                items
                    .iter()
                    .map(|(c, e, ty)| format!(
                        "{} = {} to typeof({ty})",
                        t.schema.columns[*c].name,
                        expr(e)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(l) = limit {
                let _ = write!(s, " limit {}", expr(l));
            }
            s
        }
        TableNode::Parse {
            source,
            kind,
            flags,
            pattern,
            ..
        } => {
            let parts = pattern
                .iter()
                .map(|p| match p {
                    BoundParsePart::Text(s) => format!("{s:?}"),
                    BoundParsePart::Any => "*".into(),
                    BoundParsePart::Capture { column, ty } => {
                        format!("{}:{ty}", t.schema.columns[*column].name)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            let flags = flags
                .as_deref()
                .map(|f| format!(" flags={f}"))
                .unwrap_or_default();
            format!("Parse kind={kind:?}{flags} {} with {parts}", expr(source))
        }
        TableNode::MakeSeries {
            keys,
            aggs,
            axis,
            from,
            to,
            step,
            ..
        } => format!(
            "MakeSeries [{}] on {} from {} to {} step {} by [{}]",
            aggs.iter()
                .map(|(a, _)| expr(a))
                .collect::<Vec<_>>()
                .join(", "),
            expr(axis),
            from.as_ref().map_or("(data)".into(), expr),
            to.as_ref().map_or("(data)".into(), expr),
            expr(step),
            list(keys)
        ),
        TableNode::TopNested { levels, .. } => format!(
            "TopNested {}",
            levels
                .iter()
                .map(|l| format!(
                    "{} of {} by {}",
                    l.n.as_ref().map_or("all".into(), expr),
                    expr(&l.key),
                    expr(&l.agg)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TableNode::Partition { key, input, .. } => {
            format!("Partition by {}", input.schema.columns[*key].name)
        }
        TableNode::PartitionSource => "PartitionSource".into(),
        TableNode::ScanSteps { scan, .. } => format!(
            "ScanSteps {}{}",
            scan.steps
                .iter()
                .map(|s| format!(
                    "{} ({:?}): {}{}",
                    s.name,
                    s.output,
                    expr(&s.condition),
                    s.assignments
                        .iter()
                        .map(|(i, e)| format!(" => #{i} = {}", expr(e)))
                        .collect::<String>()
                ))
                .collect::<Vec<_>>()
                .join("; "),
            if scan.match_id { " with match id" } else { "" }
        ),
        TableNode::Invoke { function, args, .. } => format!("Invoke {function}({})", list(args)),
    };
    let cols = t
        .schema
        .columns
        .iter()
        .map(|c| format!("{}:{}", c.name, c.ty))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(out, "{}{line} -> ({cols})", "  ".repeat(depth));
    for input in t.inputs() {
        table(input, depth + 1, out);
    }
}

/// An expression in KQL syntax.
pub(crate) fn expr(e: &BoundExpr) -> String {
    match &e.node {
        ExprNode::Literal(l) => literal(l),
        ExprNode::Column { name, .. } => name.clone(),
        ExprNode::Call { func, args } => format!("{func}({})", args_text(args)),
        ExprNode::Aggregate { func, args, output } if *output > 0 => {
            format!("{func}({})#{output}", args_text(args))
        }
        ExprNode::Aggregate { func, args, .. } => format!("{func}({})", args_text(args)),
        ExprNode::Neg(x) => format!("-{}", expr(x)),
        ExprNode::Binary { op, lhs, rhs } => {
            format!("({} {} {})", expr(lhs), bin_op(*op), expr(rhs))
        }
        ExprNode::InList { op, expr: x, items } => {
            format!("({} {} ({}))", expr(x), list_op(*op), args_text(items))
        }
        ExprNode::InSubquery { op, expr: x, .. } => {
            format!("({} {} (subquery))", expr(x), list_op(*op))
        }
        ExprNode::Between {
            expr: x,
            low,
            high,
            negated,
        } => format!(
            "({} {}between ({} .. {}))",
            expr(x),
            if *negated { "!" } else { "" },
            expr(low),
            expr(high)
        ),
        ExprNode::Member { base, key } => format!("{}[{key:?}]", expr(base)),
        ExprNode::Index { base, index } => format!("{}[{}]", expr(base), expr(index)),
        ExprNode::ScalarSubquery(_) => "toscalar(subquery)".into(),
        ExprNode::Output { call, index } => format!("{}#{index}", expr(call)),
        ExprNode::TypeOf(t) => format!("typeof({t})"),
    }
}

fn args_text(args: &[BoundExpr]) -> String {
    args.iter().map(expr).collect::<Vec<_>>().join(", ")
}

fn literal(l: &Literal) -> String {
    match l {
        Literal::Bool(b) => b.to_string(),
        Literal::Long(v) => v.to_string(),
        Literal::Int(v) => format!("int({v})"),
        Literal::Real(v) => format!("real({v})"),
        Literal::String(s) => format!("{s:?}"),
        Literal::DateTime(ns) => format!("datetime({})", format_datetime(*ns)),
        Literal::TimeSpan(ns) => format!("time({})", format_timespan(*ns)),
        Literal::Guid(g) => format!("guid({g})"),
        Literal::Dynamic(v) => format!("dynamic({v})"),
        Literal::Null(t) => format!("{t}(null)"),
    }
}

fn bin_op(op: BinOp) -> String {
    match op {
        BinOp::Or => "or".into(),
        BinOp::And => "and".into(),
        BinOp::Eq => "==".into(),
        BinOp::Ne => "!=".into(),
        BinOp::Lt => "<".into(),
        BinOp::Le => "<=".into(),
        BinOp::Gt => ">".into(),
        BinOp::Ge => ">=".into(),
        BinOp::Add => "+".into(),
        BinOp::Sub => "-".into(),
        BinOp::Mul => "*".into(),
        BinOp::Div => "/".into(),
        BinOp::Mod => "%".into(),
        BinOp::Str(s) => str_op(s),
    }
}

fn str_op(s: StrOp) -> String {
    if s.kind == StrOpKind::Equals {
        return if s.negated { "!~" } else { "=~" }.into();
    }
    let name = match s.kind {
        StrOpKind::Equals => "=~",
        StrOpKind::Has => "has",
        StrOpKind::HasPrefix => "hasprefix",
        StrOpKind::HasSuffix => "hassuffix",
        StrOpKind::Contains => "contains",
        StrOpKind::StartsWith => "startswith",
        StrOpKind::EndsWith => "endswith",
        StrOpKind::MatchesRegex => "matches regex",
    };
    format!(
        "{}{name}{}",
        if s.negated { "!" } else { "" },
        if s.case_sensitive && s.kind != StrOpKind::MatchesRegex {
            "_cs"
        } else {
            ""
        }
    )
}

fn list_op(op: ListOp) -> &'static str {
    match op {
        ListOp::In {
            negated: false,
            case_insensitive: false,
        } => "in",
        ListOp::In {
            negated: true,
            case_insensitive: false,
        } => "!in",
        ListOp::In {
            negated: false,
            case_insensitive: true,
        } => "in~",
        ListOp::In {
            negated: true,
            case_insensitive: true,
        } => "!in~",
        ListOp::HasAny => "has_any",
        ListOp::HasAll => "has_all",
    }
}

#[cfg(test)]
mod tests {
    use crate::{explain, Catalog};

    #[test]
    fn explains_each_operator_with_its_columns() {
        let text = explain(
            "DeviceProcessEvents | where FileName =~ 'cmd.exe' | summarize c = count() by DeviceName | top 3 by c",
            &Catalog::defender(),
        )
        .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "result 0:");
        assert_eq!(lines[1], "  Limit 3 -> (DeviceName:string, c:long)");
        assert_eq!(
            lines[2],
            "    Sort by c desc -> (DeviceName:string, c:long)"
        );
        assert_eq!(
            lines[3],
            "      Aggregate [count()] by [DeviceName] -> (DeviceName:string, c:long)"
        );
        assert!(
            lines[4].starts_with("        Filter (FileName =~ \"cmd.exe\") -> (Timestamp:datetime"),
            "{}",
            lines[4]
        );
        assert!(lines[5].starts_with("          Scan DeviceProcessEvents -> ("));
    }
}
