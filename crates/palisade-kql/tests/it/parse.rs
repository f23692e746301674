//! Parser tests: one per construct, plus exact error positions.

use palisade_kql::ast::*;
use palisade_kql::{parse, ParseError};

fn ok(q: &str) -> Query {
    match parse(q) {
        Ok(x) => x,
        Err(e) => panic!("{q}\n=> {e}"),
    }
}

fn err(q: &str) -> ParseError {
    match parse(q) {
        Ok(x) => panic!("{q} parsed: {x:?}"),
        Err(e) => e,
    }
}

/// Asserts the error message and its line:column.
fn err_at(q: &str, line: u32, column: u32) -> String {
    let e = err(q);
    assert_eq!(
        (e.pos().line, e.pos().column),
        (line, column),
        "{q}\n=> {e}"
    );
    e.to_string()
}

fn ops(q: &str) -> Vec<OpKind> {
    let query = ok(q);
    match query.statements.last() {
        Some(Statement::Query(Expr {
            kind: ExprKind::Pipe { ops, .. },
            ..
        })) => ops.iter().map(|o| o.kind.clone()).collect(),
        other => panic!("not a pipeline: {other:?}"),
    }
}

fn where_expr(q: &str) -> ExprKind {
    match ops(&format!("T | where {q}")).remove(0) {
        OpKind::Where(e) => e.kind,
        other => panic!("{other:?}"),
    }
}

#[test]
fn simple_pipeline() {
    let o = ops(
        "DeviceProcessEvents | where Timestamp > ago(7d) | project Timestamp, FileName | take 10",
    );
    assert_eq!(o.len(), 3);
    assert!(matches!(o[0], OpKind::Where(_)));
    assert!(matches!(&o[1], OpKind::Project(v) if v.len() == 2));
    assert!(matches!(o[2], OpKind::Take(_)));
}

#[test]
fn dashed_operator_names() {
    let o = ops("T | project-away A, B* | project-keep C | project-rename X = Y | project-reorder Z asc | mv-expand D | mvexpand E");
    assert!(matches!(&o[0], OpKind::ProjectAway(v) if v[1].name == "B*"));
    assert!(matches!(o[1], OpKind::ProjectKeep(_)));
    assert!(matches!(&o[2], OpKind::ProjectRename(v) if v[0].0.name == "X" && v[0].1.name == "Y"));
    assert!(matches!(o[3], OpKind::ProjectReorder(_)));
    assert!(matches!(o[4], OpKind::MvExpand { .. }));
    assert!(matches!(o[5], OpKind::MvExpand { .. }));
}

#[test]
fn string_operators() {
    for (op, kind, cs, neg) in [
        ("has", StrOpKind::Has, false, false),
        ("!has", StrOpKind::Has, false, true),
        ("has_cs", StrOpKind::Has, true, false),
        ("!has_cs", StrOpKind::Has, true, true),
        ("hasprefix", StrOpKind::HasPrefix, false, false),
        ("!hassuffix_cs", StrOpKind::HasSuffix, true, true),
        ("contains", StrOpKind::Contains, false, false),
        ("!contains", StrOpKind::Contains, false, true),
        ("contains_cs", StrOpKind::Contains, true, false),
        ("!contains_cs", StrOpKind::Contains, true, true),
        ("startswith", StrOpKind::StartsWith, false, false),
        ("!startswith", StrOpKind::StartsWith, false, true),
        ("startswith_cs", StrOpKind::StartsWith, true, false),
        ("endswith", StrOpKind::EndsWith, false, false),
        ("!endswith_cs", StrOpKind::EndsWith, true, true),
        ("=~", StrOpKind::Equals, false, false),
        ("!~", StrOpKind::Equals, false, true),
    ] {
        let e = where_expr(&format!("A {op} 'x'"));
        let ExprKind::Binary {
            op: BinOp::Str(s), ..
        } = e
        else {
            panic!("{op}: {e:?}")
        };
        assert_eq!(
            (s.kind, s.case_sensitive, s.negated),
            (kind, cs, neg),
            "{op}"
        );
    }
    assert!(matches!(
        where_expr("A matches regex '[a-z]+'"),
        ExprKind::Binary {
            op: BinOp::Str(StrOp {
                kind: StrOpKind::MatchesRegex,
                ..
            }),
            ..
        }
    ));
}

#[test]
fn list_operators() {
    let cases = [
        (
            "A in ('a', 'b')",
            ListOp::In {
                negated: false,
                case_insensitive: false,
            },
        ),
        (
            "A !in ('a')",
            ListOp::In {
                negated: true,
                case_insensitive: false,
            },
        ),
        (
            "A in~ ('a')",
            ListOp::In {
                negated: false,
                case_insensitive: true,
            },
        ),
        (
            "A !in~ ('a')",
            ListOp::In {
                negated: true,
                case_insensitive: true,
            },
        ),
        ("A has_any ('a', 'b')", ListOp::HasAny),
        ("A has_all (L)", ListOp::HasAll),
    ];
    for (q, want) in cases {
        match where_expr(q) {
            ExprKind::List { op, .. } => assert_eq!(op, want, "{q}"),
            other => panic!("{q}: {other:?}"),
        }
    }
    // Tabular subquery inside in().
    match where_expr("A in ((T | project B))") {
        ExprKind::List { items, .. } => {
            assert!(matches!(items[0].kind, ExprKind::Pipe { .. }))
        }
        other => panic!("{other:?}"),
    }
    match where_expr("A in (T | where X == 1 | project B)") {
        ExprKind::List { items, .. } => {
            assert!(matches!(items[0].kind, ExprKind::Pipe { .. }))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn between_and_precedence() {
    assert!(matches!(
        where_expr("T between (ago(1d) .. now())"),
        ExprKind::Between { negated: false, .. }
    ));
    assert!(matches!(
        where_expr("N !between (1 .. 10)"),
        ExprKind::Between { negated: true, .. }
    ));
    // or binds looser than and, comparisons bind tighter, * tighter than +.
    match where_expr("a == 1 or b == 2 and c + 2 * 3 > 4") {
        ExprKind::Binary {
            op: BinOp::Or, rhs, ..
        } => match rhs.kind {
            ExprKind::Binary {
                op: BinOp::And,
                rhs,
                ..
            } => match rhs.kind {
                ExprKind::Binary {
                    op: BinOp::Gt, lhs, ..
                } => assert!(matches!(lhs.kind, ExprKind::Binary { op: BinOp::Add, .. })),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(matches!(where_expr("not(a)"), ExprKind::Call { .. }));
    assert!(matches!(where_expr("-x < 3"), ExprKind::Binary { .. }));
}

#[test]
fn member_index_and_calls() {
    match where_expr("parse_json(A).b['c'][0] == 1") {
        ExprKind::Binary { lhs, .. } => match lhs.kind {
            ExprKind::Index { base, .. } => match base.kind {
                ExprKind::Member { base, name } => {
                    assert_eq!(name.name, "c");
                    assert!(matches!(base.kind, ExprKind::Member { .. }));
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let o =
        ops("T | summarize arg_max(Timestamp, *), c = count(), dcount(X) by bin(Timestamp, 1h), D");
    match &o[0] {
        OpKind::Summarize { aggs, by, .. } => {
            assert_eq!(aggs.len(), 3);
            assert_eq!(aggs[1].names[0].name, "c");
            assert_eq!(by.len(), 2);
            match &aggs[0].expr.kind {
                ExprKind::Call { args, .. } => assert!(matches!(args[1].kind, ExprKind::Star)),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    let o = ops("T | summarize (t, a) = arg_max(Timestamp, A) by D");
    assert!(matches!(&o[0], OpKind::Summarize { aggs, .. } if aggs[0].names.len() == 2));
}

#[test]
fn literals() {
    let lit = |src: &str| match ok(&format!("print {src}")).statements.remove(0) {
        Statement::Query(Expr {
            kind: ExprKind::Print(mut v),
            ..
        }) => match v.remove(0).expr.kind {
            ExprKind::Literal(l) => l,
            other => panic!("{src}: {other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(lit("42"), Literal::Long(42));
    assert_eq!(lit("-1.5"), Literal::Real(-1.5));
    assert_eq!(lit("1e3"), Literal::Real(1000.0));
    assert_eq!(lit("true"), Literal::Bool(true));
    assert_eq!(lit("7d"), Literal::TimeSpan(7 * 86_400 * 1_000_000_000));
    assert_eq!(lit("100ms"), Literal::TimeSpan(100_000_000));
    assert_eq!(lit("1.5h"), Literal::TimeSpan(5_400 * 1_000_000_000));
    assert_eq!(
        lit("time(1.00:00:00)"),
        Literal::TimeSpan(86_400 * 1_000_000_000)
    );
    assert_eq!(
        lit("timespan(2d)"),
        Literal::TimeSpan(2 * 86_400 * 1_000_000_000)
    );
    assert_eq!(
        lit("datetime(1970-01-02)"),
        Literal::DateTime(86_400 * 1_000_000_000)
    );
    assert_eq!(
        lit("datetime(1970-01-01T00:00:01Z)"),
        Literal::DateTime(1_000_000_000)
    );
    assert_eq!(
        lit("datetime(1970-01-01 00:01)"),
        Literal::DateTime(60_000_000_000)
    );
    assert_eq!(
        lit("long(null)"),
        Literal::Null(palisade_kql::KqlType::Long)
    );
    assert_eq!(
        lit("datetime(null)"),
        Literal::Null(palisade_kql::KqlType::DateTime)
    );
    assert_eq!(lit("real(2)"), Literal::Real(2.0));
    assert_eq!(
        lit("guid(74be27de-1e4e-49d9-b579-fe0b331d3642)"),
        Literal::Guid("74be27de-1e4e-49d9-b579-fe0b331d3642".into())
    );
    assert_eq!(
        lit(r#"dynamic(["a", 1, {"b": null, c: -2.5}, true])"#),
        Literal::Dynamic(serde_json::json!(["a", 1, {"b": null, "c": -2.5}, true]))
    );
    assert_eq!(
        lit(r#"@"C:\Windows""#),
        Literal::String(r"C:\Windows".into())
    );
    assert_eq!(lit(r#"h'secret'"#), Literal::String("secret".into()));
    assert_eq!(
        lit("```multi\nline```"),
        Literal::String("multi\nline".into())
    );
}

#[test]
fn let_statements_and_functions() {
    let q = ok("let n = 5;\nlet T2 = T | where x > n;\nlet f = (a:string, b:int = 5) { T2 | where y == a | take b };\nlet g = (t:(*)) { t | count };\nlet v = view () { T };\nf('x')");
    assert_eq!(q.statements.len(), 6);
    match &q.statements[2] {
        Statement::Let {
            value: LetValue::Function(f),
            ..
        } => {
            assert_eq!(f.params.len(), 2);
            assert!(f.params[1].default.is_some());
        }
        other => panic!("{other:?}"),
    }
    match &q.statements[3] {
        Statement::Let {
            value: LetValue::Function(f),
            ..
        } => assert_eq!(f.params[0].ty, ParamType::Tabular(Vec::new())),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &q.statements[4],
        Statement::Let { value: LetValue::Function(f), .. } if f.is_view
    ));
    ok("let M = materialize(T | take 1); M");
    ok("let s = toscalar(T | summarize max(x)); T | where x == s");
    ok("let ['my name'] = 1; print ['my name']");
}

#[test]
fn join_forms() {
    for q in [
        "T | join kind=inner (U) on DeviceId",
        "T | join kind=leftouter hint.strategy=shuffle U on DeviceId, ReportId",
        "T | join (U | where x == 1) on $left.A == $right.B",
        "T | join kind=anti U on $left.A == $right.B, C",
        "T | join kind = leftsemi (U) on A and $right.B == $left.C",
        "T | lookup kind=leftouter (U) on A",
    ] {
        let o = ops(q);
        let on = match &o[0] {
            OpKind::Join { on, .. } | OpKind::Lookup { on, .. } => on.clone(),
            other => panic!("{other:?}"),
        };
        assert!(!on.is_empty(), "{q}");
    }
    match &ops("T | join (U) on $left.A == $right.B, C")[0] {
        OpKind::Join { on, .. } => {
            assert_eq!(
                on[0],
                JoinCond::Eq {
                    left: on_ident(&on[0], true),
                    right: on_ident(&on[0], false)
                }
            );
            assert!(matches!(&on[1], JoinCond::Same(i) if i.name == "C"));
        }
        other => panic!("{other:?}"),
    }
}

fn on_ident(c: &JoinCond, left: bool) -> Ident {
    match c {
        JoinCond::Eq { left: l, right: r } => {
            if left {
                l.clone()
            } else {
                r.clone()
            }
        }
        JoinCond::Same(i) => i.clone(),
    }
}

#[test]
fn union_forms() {
    let q = ok("union withsource=Src kind=outer isfuzzy=true Device*Events, (T | take 1), U");
    match &q.statements[0] {
        Statement::Query(Expr {
            kind: ExprKind::Union(u),
            ..
        }) => {
            assert_eq!(u.withsource.as_ref().map(|i| i.name.as_str()), Some("Src"));
            assert!(u.isfuzzy);
            assert_eq!(u.tables.len(), 3);
            assert!(matches!(&u.tables[0].kind, ExprKind::Name(n) if n == "Device*Events"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(ops("T | union U, V")[0], OpKind::Union(_)));
}

#[test]
fn other_operators() {
    let o = ops("T | sort by A asc nulls last, B desc | order by C | top 5 by D asc | limit 3 | distinct A, B | distinct * | count");
    assert!(matches!(&o[0], OpKind::Sort(k) if k[0].asc && !k[0].nulls_first && !k[1].asc));
    assert!(matches!(&o[1], OpKind::Sort(k) if !k[0].asc));
    assert!(matches!(&o[2], OpKind::Top { by, .. } if by.asc));
    assert!(matches!(o[6], OpKind::Count));
    let o = ops("T | mv-expand with_itemindex=I x = A to typeof(string), B limit 10");
    match &o[0] {
        OpKind::MvExpand {
            params,
            items,
            limit,
        } => {
            assert_eq!(params[0].name.name, "with_itemindex");
            assert_eq!(items[0].name.as_ref().map(|n| n.name.as_str()), Some("x"));
            assert_eq!(items[0].to, Some(palisade_kql::KqlType::String));
            assert!(limit.is_some());
        }
        other => panic!("{other:?}"),
    }
    let o = ops(r#"T | parse kind=regex flags=Ui Cmd with * "-p " Port:int " " Rest"#);
    match &o[0] {
        OpKind::Parse {
            params, pattern, ..
        } => {
            assert_eq!(params.len(), 2);
            assert_eq!(pattern.len(), 5);
            assert!(matches!(&pattern[2], ParsePart::Capture(i, Some(_)) if i.name == "Port"));
        }
        other => panic!("{other:?}"),
    }
    let o = ops("T | as X | serialize rn = row_number() | render timechart with (title='x') | invoke FileProfile(SHA1, 1000) | evaluate bag_unpack(A) | getschema | sample 5");
    assert_eq!(o.len(), 7);
    let o = ops(
        "T | top-nested 10 of A by count() asc, top-nested 2 of B with others = 'x' by m = max(C)",
    );
    assert!(matches!(&o[0], OpKind::TopNested(l) if l.len() == 2 && l[0].asc));
    let o = ops("T | partition by A ( top 1 by B )");
    assert!(matches!(&o[0], OpKind::Partition { ops, .. } if ops.len() == 1));
    let o = ops(
        "T | make-series n = count() default = 0 on Timestamp from ago(7d) to now() step 1h by A",
    );
    assert!(matches!(&o[0], OpKind::MakeSeries(m) if m.by.len() == 1));
}

#[test]
fn sources() {
    ok("datatable(a:int, b:string) [1, 'x', 2, 'y',]");
    ok("range x from 1 to 10 step 1 | where x > 3");
    ok("print a = 1, 'b'");
    ok("print x = datetime(2021-01-01) - 1d");
}

#[test]
fn comments_and_blank_line_blocks() {
    let q = ok("// header\nT // trailing\n| take 1 // more\n\n// second query\nU | count");
    assert_eq!(q.statements.len(), 2);
}

#[test]
fn error_positions() {
    assert_eq!(
        err_at("T\n| where x == 1\n| take 10 foo", 3, 11),
        "expected '|' or end of query, found 'foo' at 3:11"
    );
    assert_eq!(
        err_at("T | where", 1, 10),
        "expected an expression, found end of query at 1:10"
    );
    assert_eq!(
        err_at("T | frobnicate x", 1, 5),
        "expected a tabular operator, found 'frobnicate' at 1:5"
    );
    assert_eq!(
        err_at("T\n  | project a,\n    b = (1 + ", 3, 14),
        "expected an expression, found end of query at 3:14"
    );
    assert_eq!(
        err_at("T | join kind=inner (U) x", 1, 25),
        "expected 'on', found 'x' at 1:25"
    );
    assert_eq!(
        err_at("let x = 1\nT", 2, 1),
        "expected ';', found 'T' at 2:1"
    );
    assert_eq!(
        err_at("T | where a between (1 .. )", 1, 27),
        "expected an expression, found ')' at 1:27"
    );
    assert_eq!(
        err_at("T | sort A", 1, 10),
        "expected 'by', found 'A' at 1:10"
    );
    err_at("T | where s == 'abc", 1, 20);
    err_at("T | where d > ago(7q)", 1, 20);
    err_at("T | extend x = dynamic([1, 2)", 1, 29);
    err_at("T | mv-expand A to typeof(strng)", 1, 27);
    err_at("print datetime(2021-02-30x)", 1, 16);
}

#[test]
fn unsupported_rejected_by_name() {
    let name = |q: &str| match err(q) {
        ParseError::Unsupported { name, pos, .. } => (name, pos.line, pos.column),
        other => panic!("{q}: {other}"),
    };
    assert_eq!(
        name("externaldata(x:string) [@'https://example.com/x.csv']"),
        ("externaldata".into(), 1, 1)
    );
    assert_eq!(
        name("let a = 1;\nlet f = (externaldata(x:string) ['u']);\nf"),
        ("externaldata".into(), 2, 10)
    );
    assert_eq!(name("T | reduce by A"), ("reduce".into(), 1, 5));
    assert_eq!(
        name("T | graph-match (a)-->(b)"),
        ("graph-match".into(), 1, 5)
    );
    assert_eq!(
        name("declare query_parameters(n:long = 1);\nT"),
        ("declare query_parameters".into(), 1, 1)
    );
    assert_eq!(name("T | find where x == 1"), ("find".into(), 1, 5));
    assert_eq!(
        name("T | sample-distinct 1 of A"),
        ("sample-distinct".into(), 1, 5)
    );
    let e = err("T | consume").to_string();
    assert_eq!(e, "operator 'consume' is not supported at 1:5");
    let e = err("externaldata(x:string) ['u']").to_string();
    assert!(e.contains("externaldata"), "{e}");
}

#[test]
fn nesting_is_bounded_not_a_crash() {
    // 23 nested parentheses parse (and bind: see bind.rs); 200 are an error, not a stack overflow.
    let ok_q = format!("print x = {}1{}", "(".repeat(23), ")".repeat(23));
    ok(&ok_q);
    let deep = format!("print x = {}1{}", "(".repeat(200), ")".repeat(200));
    let e = err(&deep).to_string();
    assert!(e.contains("levels deep"), "{e}");
    let deep_json = format!("print dynamic({}1{})", "[".repeat(200), "]".repeat(200));
    assert!(err(&deep_json).to_string().contains("levels deep"));
    // Long flat chains are iterative, not recursive.
    let chain = format!("T | where {}", vec!["A == 1"; 1000].join(" or "));
    ok(&chain);
    ok(&format!("T{}", " | take 1".repeat(250)));
    assert!(err(&format!("T{}", " | take 1".repeat(251)))
        .to_string()
        .contains("operators in one pipeline"));
    let too_long = format!("T | where {}", vec!["A == 1"; 1001].join(" or "));
    assert!(err(&too_long).to_string().contains("operands in one chain"));
}
