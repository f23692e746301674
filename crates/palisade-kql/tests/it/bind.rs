//! Binder tests: output schemas, types, name resolution and error positions.

use palisade_kql::{
    analyze, BindError, BoundExpr, Catalog, Column, ExprNode, JoinKind, KqlError, KqlType, Schema,
    TableNode,
};
use KqlType::*;

fn catalog() -> Catalog {
    let mut c = Catalog::defender();
    c.insert(
        "T",
        Schema::new(vec![
            Column::new("Timestamp", DateTime),
            Column::new("DeviceId", String),
            Column::new("Name", String),
            Column::new("N", Long),
            Column::new("I", Int),
            Column::new("R", Real),
            Column::new("D", Dynamic),
            Column::new("B", Bool),
        ]),
    );
    c.insert(
        "U",
        Schema::new(vec![
            Column::new("DeviceId", String),
            Column::new("Name", String),
            Column::new("Extra", Long),
        ]),
    );
    c
}

/// Output columns of the (single) result as `name:type`.
fn schema(q: &str) -> Vec<std::string::String> {
    match analyze(q, &catalog()) {
        Ok(b) => b.results[0]
            .schema
            .columns
            .iter()
            .map(|c| format!("{}:{}", c.name, c.ty))
            .collect(),
        Err(e) => panic!("{q}\n=> {e}"),
    }
}

fn bind_err(q: &str) -> KqlError {
    match analyze(q, &catalog()) {
        Ok(b) => panic!("{q} bound: {:?}", b.results[0].schema),
        Err(e) => e,
    }
}

/// Asserts a bind error's message and position.
fn err_at(q: &str, line: u32, column: u32) -> std::string::String {
    let e = bind_err(q);
    let pos = match &e {
        KqlError::Bind(b) => b.pos(),
        KqlError::Parse(p) => panic!("{q}: parse error {p}"),
    };
    assert_eq!((pos.line, pos.column), (line, column), "{q}\n=> {e}");
    e.to_string()
}

fn cols(v: &[&str]) -> Vec<std::string::String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The type of `expr` evaluated over T.
fn ty(expr: &str) -> std::string::String {
    schema(&format!("T | project x = {expr}"))[0]
        .trim_start_matches("x:")
        .to_string()
}

#[test]
fn catalog_tables() {
    let s = schema("DeviceProcessEvents | take 1");
    assert_eq!(s[0], "Timestamp:datetime");
    assert_eq!(s.len(), 69, "the published page's 69 columns");
    let s = schema("DeviceFileCertificateInfo | project IsRootSignerMicrosoft");
    assert_eq!(s, cols(&["IsRootSignerMicrosoft:bool"]));
}

#[test]
fn project_extend_rename_away() {
    assert_eq!(
        schema("T | project Name, x = N + 1, tostring(D.a), D.b"),
        cols(&["Name:string", "x:long", "D_a:string", "D_b:dynamic"])
    );
    assert_eq!(
        schema("T | extend a = N * 2, b = a + 1, N = 'now a string' | project a, b, N"),
        cols(&["a:long", "b:long", "N:string"])
    );
    assert_eq!(
        schema("T | extend tolower(Name) | project Column1"),
        cols(&["Column1:string"])
    );
    assert_eq!(
        schema("T | project-away Time*, D, N, I, R | project-rename Id = DeviceId"),
        cols(&["Id:string", "Name:string", "B:bool"])
    );
    assert_eq!(
        schema("T | project-keep *Id, Name | project-reorder Name"),
        cols(&["Name:string", "DeviceId:string"])
    );
}

#[test]
fn extend_chains_are_inlined() {
    let b = analyze("T | extend a = N + 1, b = a * 2", &catalog()).unwrap();
    let TableNode::Project { exprs, .. } = &b.results[0].node else {
        panic!("{:?}", b.results[0].node)
    };
    // b refers to the input column N, not to the new column a.
    fn refs(e: &BoundExpr, out: &mut Vec<std::string::String>) {
        match &e.node {
            ExprNode::Column { name, .. } => out.push(name.clone()),
            ExprNode::Binary { lhs, rhs, .. } => {
                refs(lhs, out);
                refs(rhs, out);
            }
            _ => {}
        }
    }
    let mut r = Vec::new();
    refs(exprs.last().unwrap(), &mut r);
    assert_eq!(r, vec!["N".to_string()]);
}

#[test]
fn summarize_names_and_types() {
    assert_eq!(
        schema("T | summarize count(), dcount(DeviceId), sum(I), avg(N), make_set(Name), makelist(Name), max(Timestamp), x = countif(B), any(R) by bin(Timestamp, 1h), DeviceId"),
        cols(&[
            "Timestamp:datetime",
            "DeviceId:string",
            "count_:long",
            "dcount_DeviceId:long",
            "sum_I:long",
            "avg_N:real",
            "set_Name:dynamic",
            "list_Name:dynamic",
            "max_Timestamp:datetime",
            "x:long",
            "any_R:real"
        ])
    );
    assert_eq!(
        schema("T | summarize percentile(N, 95), stdev(R), tostring(make_set(Name)), 100.0 * countif(B) / count()"),
        cols(&[
            "percentile_N_95:long",
            "stdev_R:real",
            "set_Name:string",
            "Column1:real"
        ])
    );
    assert_eq!(
        schema("T | summarize percentiles(N, 50, 95)"),
        cols(&["percentile_N_50:long", "percentile_N_95:long"])
    );
}

#[test]
fn arg_max_star_and_tuples() {
    let s = schema("T | summarize arg_max(Timestamp, *) by DeviceId");
    assert_eq!(s[0], "DeviceId:string");
    assert_eq!(s[1], "Timestamp:datetime");
    assert_eq!(s.len(), 8, "{s:?}");
    assert!(!s[2..].iter().any(|c| c.starts_with("DeviceId")));
    assert_eq!(
        schema("T | summarize arg_min(Timestamp, Name, N) by DeviceId"),
        cols(&[
            "DeviceId:string",
            "Timestamp:datetime",
            "Name:string",
            "N:long"
        ])
    );
    assert_eq!(
        schema("T | summarize (Last, LastName) = arg_max(Timestamp, Name)"),
        cols(&["Last:datetime", "LastName:string"])
    );
    let b = analyze("T | summarize arg_max(Timestamp, Name)", &catalog()).unwrap();
    let TableNode::Aggregate { aggs, .. } = &b.results[0].node else {
        panic!()
    };
    assert!(
        matches!(&aggs[1].node, ExprNode::Aggregate { func, output: 1, args } if *func == palisade_kql::functions::AggregateFunction::ArgMax && args.len() == 2)
    );
}

#[test]
fn joins_rename_right_columns() {
    assert_eq!(
        schema("T | project DeviceId, Name | join kind=inner U on DeviceId"),
        cols(&[
            "DeviceId:string",
            "Name:string",
            "DeviceId1:string",
            "Name1:string",
            "Extra:long"
        ])
    );
    assert_eq!(
        schema("T | project DeviceId | join (U | project DeviceId) on $left.DeviceId == $right.DeviceId | join (U | project DeviceId) on DeviceId"),
        cols(&["DeviceId:string", "DeviceId1:string", "DeviceId2:string"])
    );
    assert_eq!(
        schema("T | project DeviceId, N | join kind=leftanti U on DeviceId"),
        cols(&["DeviceId:string", "N:long"])
    );
    assert_eq!(
        schema("T | project DeviceId, N | join kind=rightsemi U on DeviceId"),
        cols(&["DeviceId:string", "Name:string", "Extra:long"])
    );
    assert_eq!(
        schema("T | project DeviceId, N | lookup (U) on DeviceId"),
        cols(&["DeviceId:string", "N:long", "Name:string", "Extra:long"])
    );
    let b = analyze(
        "T | join kind=anti U on $left.Name == $right.DeviceId",
        &catalog(),
    )
    .unwrap();
    let TableNode::Join { kind, on, .. } = &b.results[0].node else {
        panic!()
    };
    assert_eq!(*kind, JoinKind::LeftAnti);
    assert_eq!(on, &vec![(2, 0)]);
    err_at("T | join U on Missing", 1, 15);
    err_at("T | join U on $left.N == $right.Nope", 1, 33);
    err_at("T | join kind=sideways U on DeviceId", 1, 15);
}

#[test]
fn union_wildcards_and_withsource() {
    let s =
        schema("union withsource=Src DeviceProcess*, DeviceFileEvents | project Src, Timestamp");
    assert_eq!(s, cols(&["Src:string", "Timestamp:datetime"]));
    let b = analyze("union Device*Events", &catalog()).unwrap();
    let TableNode::Union { labels, .. } = &b.results[0].node else {
        panic!()
    };
    assert!(labels.contains(&"DeviceLogonEvents".to_string()));
    assert!(!labels.contains(&"DeviceInfo".to_string()));
    // Same name, different types: name_type columns.
    assert_eq!(
        schema("union (print a = 1), (print a = 'x')"),
        cols(&["a_long:long", "a_string:string"])
    );
    assert_eq!(
        schema("union kind=inner (T | project DeviceId, N), (U | project DeviceId)"),
        cols(&["DeviceId:string"])
    );
    err_at("union Nothing*Here", 1, 7);
}

#[test]
fn lets_functions_and_subqueries() {
    assert_eq!(
        schema("let n = 5; let X = T | where N > n; X | project N"),
        cols(&["N:long"])
    );
    assert_eq!(
        schema("let f = (t:(*), k:string = 'a') { t | where Name == k | project Name }; f(T) | extend y = 1"),
        cols(&["Name:string", "y:long"])
    );
    assert_eq!(
        schema("let twice = (x:long) { x * 2 }; T | project d = twice(N)"),
        cols(&["d:long"])
    );
    assert_eq!(
        schema("let V = view () { U | project Extra }; V"),
        cols(&["Extra:long"])
    );
    assert_eq!(
        schema("let M = materialize(U | take 3); M | join (M) on DeviceId | project Extra1"),
        cols(&["Extra1:long"])
    );
    assert_eq!(
        schema("let top1 = toscalar(U | summarize max(Extra)); T | where N > top1 and DeviceId in (U | project DeviceId) | count"),
        cols(&["Count:long"])
    );
    assert_eq!(
        schema("let ids = dynamic(['a', 'b']); T | where DeviceId in (ids) or Name has_any (ids) | project DeviceId"),
        cols(&["DeviceId:string"])
    );
    err_at("let f = (a:string) { a }; print f(1, 2)", 1, 33);
    err_at("let f = (t:(*)) { t }; f(5)", 1, 26);
}

#[test]
fn other_operators() {
    assert_eq!(
        schema("T | mv-expand with_itemindex=Idx D to typeof(string), e = parse_json(Name) | project D, e, Idx"),
        cols(&["D:string", "e:dynamic", "Idx:long"])
    );
    assert_eq!(
        schema("T | mvexpand parse_json(Name) | project Name"),
        cols(&["Name:dynamic"])
    );
    assert_eq!(
        schema(r#"T | parse Name with * "pid=" Pid:long " user=" User | project Pid, User"#),
        cols(&["Pid:long", "User:string"])
    );
    assert_eq!(
        schema("T | top 3 by N desc | sort by Name asc | distinct Name, N"),
        cols(&["Name:string", "N:long"])
    );
    assert_eq!(schema("T | count"), cols(&["Count:long"]));
    assert_eq!(
        schema("T | serialize rn = row_number() | project rn, p = prev(N)"),
        cols(&["rn:long", "p:long"])
    );
    assert_eq!(schema("T | getschema")[0], "ColumnName:string");
    assert_eq!(schema("range x from 1 to 5 step 1"), cols(&["x:long"]));
    assert_eq!(
        schema("datatable(a:int, b:string) [1, 'x', 2, 'y'] | extend c = a + 1"),
        cols(&["a:int", "b:string", "c:long"])
    );
    assert_eq!(
        schema("print x = 1, 'two'"),
        cols(&["x:long", "print_1:string"])
    );
    assert!(
        schema(
            "DeviceFileEvents | invoke FileProfile(SHA1, 1000) | project GlobalPrevalence, Signer"
        ) == cols(&["GlobalPrevalence:int", "Signer:string"])
    );
    assert_eq!(
        schema("T | top-nested 3 of DeviceId by count(), top-nested of Name by m = max(N)"),
        cols(&[
            "DeviceId:string",
            "aggregated_DeviceId:long",
            "Name:string",
            "m:long"
        ])
    );
    assert_eq!(
        schema("T | partition by DeviceId ( top 1 by Timestamp ) | project Name"),
        cols(&["Name:string"])
    );
    assert_eq!(
        schema("T | make-series c = count() default = 0 on Timestamp from ago(7d) to now() step 1h by DeviceId | extend (f, s, b) = series_decompose_anomalies(c) | project DeviceId, c, Timestamp, f"),
        cols(&["DeviceId:string", "c:dynamic", "Timestamp:dynamic", "f:dynamic"])
    );
}

#[test]
fn scalar_function_types() {
    for (e, want) in [
        ("ago(1d)", "datetime"),
        ("now()", "datetime"),
        ("bin(Timestamp, 1h)", "datetime"),
        ("bin(N, 10)", "long"),
        ("floor(R, 0.5)", "real"),
        ("todatetime(Name)", "datetime"),
        ("datetime(2021-01-01)", "datetime"),
        ("datetime('2021-01-01')", "datetime"),
        ("tostring(N)", "string"),
        ("toint(Name)", "int"),
        ("tolong(Name)", "long"),
        ("todouble(Name)", "real"),
        ("toreal(Name)", "real"),
        ("tobool(Name)", "bool"),
        ("toguid(Name)", "guid"),
        ("totimespan(Name)", "timespan"),
        ("parse_json(Name)", "dynamic"),
        ("parsejson(Name)", "dynamic"),
        ("todynamic(Name)", "dynamic"),
        ("pack('a', N)", "dynamic"),
        ("bag_pack('a', N)", "dynamic"),
        ("pack_array(N, I)", "dynamic"),
        ("array_length(D)", "long"),
        ("strcat(Name, 'x', N)", "string"),
        ("strlen(Name)", "long"),
        ("substring(Name, 1, 2)", "string"),
        ("split(Name, '/')", "dynamic"),
        ("split(Name, '/')[0]", "dynamic"),
        ("tolower(Name)", "string"),
        ("toupper(Name)", "string"),
        ("trim(' ', Name)", "string"),
        ("trim_start(' ', Name)", "string"),
        ("trim_end(' ', Name)", "string"),
        ("replace_string(Name, 'a', 'b')", "string"),
        ("replace_regex(Name, 'a', 'b')", "string"),
        ("extract('x(.)', 1, Name)", "string"),
        ("extract('x(.)', 1, Name, typeof(long))", "long"),
        ("extract_all('x(.)', Name)", "dynamic"),
        ("iff(B, N, I)", "long"),
        ("iif(B, 'a', 'b')", "string"),
        ("case(N > 1, 'a', N > 0, 'b', 'c')", "string"),
        ("isempty(Name)", "bool"),
        ("isnotempty(Name)", "bool"),
        ("isnull(N)", "bool"),
        ("isnotnull(N)", "bool"),
        ("coalesce(Name, 'x')", "string"),
        ("format_datetime(Timestamp, 'yyyy')", "string"),
        ("datetime_diff('day', now(), Timestamp)", "long"),
        ("startofday(Timestamp)", "datetime"),
        ("startofweek(Timestamp)", "datetime"),
        ("dayofweek(Timestamp)", "timespan"),
        ("base64_decode_tostring(Name)", "string"),
        ("parse_url(Name)", "dynamic"),
        ("parse_path(Name)", "dynamic"),
        ("parse_command_line(Name, 'windows')", "dynamic"),
        ("ipv4_is_private(Name)", "bool"),
        ("ipv4_is_in_range(Name, '10.0.0.0/8')", "bool"),
        ("hash_sha256(Name)", "string"),
        ("countof(Name, 'a')", "long"),
        ("indexof(Name, 'a')", "long"),
        ("array_concat(D, D)", "dynamic"),
        ("set_difference(D, D)", "dynamic"),
        ("set_intersect(D, D)", "dynamic"),
        ("bag_keys(D)", "dynamic"),
        ("Timestamp - ago(1d)", "timespan"),
        ("Timestamp + 1h", "datetime"),
        ("1h / 1m", "real"),
        ("2 * 1h", "timespan"),
        ("I + I", "int"),
        ("I + N", "long"),
        ("N * R", "real"),
        ("-N", "long"),
        ("N between (1 .. 5)", "bool"),
        ("Name in~ ('a', 'b')", "bool"),
        ("not(B)", "bool"),
        ("D.a.b[0]", "dynamic"),
        ("D['a']", "dynamic"),
        ("toscalar(U | summarize max(Extra))", "long"),
        ("long(null)", "long"),
        ("int(-3)", "int"),
        ("real(1)", "real"),
        ("decimal(1.5)", "decimal"),
        ("bool(true)", "bool"),
        ("timespan(null)", "timespan"),
        ("B == 1", "bool"),
    ] {
        assert_eq!(ty(e), want, "{e}");
    }
}

#[test]
fn bind_errors_have_positions() {
    assert_eq!(
        err_at("NoSuchTable | take 1", 1, 1),
        "unknown table or name 'NoSuchTable' at 1:1"
    );
    assert_eq!(
        err_at("T\n| where Nmae > 1", 2, 9),
        "unknown column 'Nmae' at 2:9"
    );
    assert_eq!(
        err_at("T | project x = frobnicate(N)", 1, 17),
        "unknown function 'frobnicate' at 1:17"
    );
    err_at("T | project N | where Name == 'x'", 1, 23);
    err_at("T | where N", 1, 11);
    err_at("T | where Name > 5", 1, 11);
    err_at("T | extend x = Name + 1", 1, 16);
    err_at("T | extend x = count()", 1, 16);
    err_at("T | summarize N by DeviceId", 1, 15);
    err_at("T | where Timestamp > ago('x')", 1, 27);
    err_at("T | extend x = substring(Name)", 1, 16);
    err_at("T | extend x = Name.field", 1, 21);
    err_at("T | take 'x'", 1, 10);
    err_at("T | mv-expand Name", 1, 15);
    err_at("T | project-away Missing", 1, 18);
    err_at("let x = 1; x | take 1", 1, 12);
    err_at("print x = iff(true, 1, 'a')", 1, 24);
}

#[test]
fn rejected_by_name() {
    let name = |q: &str| match bind_err(q) {
        KqlError::Bind(BindError::Unsupported { name, pos, .. }) => (name, pos.line, pos.column),
        other => panic!("{q}: {other}"),
    };
    assert_eq!(
        name("T | evaluate bag_unpack(D)"),
        ("bag_unpack".into(), 1, 14)
    );
    assert_eq!(
        name("T | invoke SomethingElse()"),
        ("SomethingElse".into(), 1, 12)
    );
    assert_eq!(name("print SeenBy('x', now())"), ("SeenBy".into(), 1, 7));
    assert_eq!(name("database('d').T | count"), ("database".into(), 1, 1));
    assert_eq!(
        bind_err("cluster('c').database('d').T | count").unsupported_name(),
        Some("cluster")
    );
    assert_eq!(
        bind_err("T | evaluate pivot(Name)").unsupported_name(),
        Some("pivot")
    );
}

#[test]
fn search_and_find() {
    // search over tables: $table first, union of the columns, bare strings = "some column has".
    let s = schema("search in (T, U) \"abc\" and DeviceId != '' | project-reorder $table");
    assert_eq!(s[0], "$table:string");
    assert!(s.contains(&"Extra:long".to_string()));
    // T | search: a filter, schema unchanged.
    assert_eq!(
        schema("U | search 'x'"),
        cols(&["DeviceId:string", "Name:string", "Extra:long"])
    );
    // find ... project: source_ plus the listed columns (typed nulls where missing).
    assert_eq!(
        schema("find in (T, U) where DeviceId == 'd' project DeviceId, Extra, N:string"),
        cols(&[
            "source_:string",
            "DeviceId:string",
            "Extra:long",
            "N:string"
        ])
    );
    // find, project-smart: predicate columns, common columns, pack_.
    assert_eq!(
        schema("find in (T, U) where Name == 'n'"),
        cols(&[
            "source_:string",
            "Name:string",
            "DeviceId:string",
            "pack_:dynamic"
        ])
    );
    // Tables without any predicate column are skipped.
    let b = analyze("find withsource=Src in (T, U) where Extra > 1", &catalog()).unwrap();
    let TableNode::Union { labels, .. } = &b.results[0].node else {
        panic!()
    };
    assert_eq!(labels, &vec!["U".to_string()]);
    assert_eq!(b.results[0].schema.columns[0].name, "Src");
}

#[test]
fn deep_or_chain_binds() {
    let q = format!("T | where {}", vec!["N + 1 > 2"; 1000].join(" or "));
    analyze(&q, &catalog()).unwrap();
}

#[test]
fn deep_plus_chain_binds() {
    let q = format!("T | extend x = {}", vec!["N"; 1000].join(" + "));
    analyze(&q, &catalog()).unwrap();
}

#[test]
fn deep_parens_bind() {
    let q = format!("print x = {}1{}", "(".repeat(23), ")".repeat(23));
    analyze(&q, &catalog()).unwrap();
    let q = format!("print x = {}1{}", "tolong(".repeat(23), ")".repeat(23));
    analyze(&q, &catalog()).unwrap();
    let q = format!("print x = {}1", "-".repeat(90));
    analyze(&q, &catalog()).unwrap();
    let e = analyze(
        &format!("print x = {}1{}", "tolong(".repeat(30), ")".repeat(30)),
        &catalog(),
    );
    assert!(e.unwrap_err().to_string().contains("levels deep"));
}

#[test]
fn inlining_blowup_is_bounded() {
    // Each let doubles the tree: 2^40 nodes if inlined naively.
    let mut q = std::string::String::from("let t0 = U;\n");
    for i in 1..=40 {
        q += &format!("let t{i} = t{p} | union t{p};\n", p = i - 1);
    }
    q += "t40";
    let e = analyze(&q, &catalog()).unwrap_err().to_string();
    assert!(e.contains("too large"), "{e}");
    // extend chains that reuse earlier columns twice.
    let mut items = vec!["a0 = N".to_string()];
    for i in 1..=40 {
        items.push(format!("a{i} = a{p} + a{p}", p = i - 1));
    }
    let e = analyze(&format!("T | extend {}", items.join(", ")), &catalog())
        .unwrap_err()
        .to_string();
    assert!(e.contains("too large"), "{e}");
    // Chains of user functions: bounded depth.
    let mut q = std::string::String::from("let f0 = (x:long) { x };\n");
    for i in 1..=30 {
        q += &format!("let f{i} = (x:long) {{ f{p}(x) }};\n", p = i - 1);
    }
    q += "print f30(1)";
    let e = analyze(&q, &catalog()).unwrap_err().to_string();
    assert!(e.contains("too deeply"), "{e}");
}

#[test]
fn long_pipelines_bind() {
    let ops = " | where N > 1 | extend M = N".repeat(125);
    analyze(&format!("T{ops}"), &catalog()).unwrap();
}

#[test]
fn long_pipelines_bind_let() {
    let ops = " | where N > 1 | extend M = N".repeat(125);
    analyze(&format!("let x = T{ops}; x | count"), &catalog()).unwrap();
}

#[test]
fn column_ifexists_reads_the_column_or_the_default() {
    // T has N (long): the column wins over the default's type.
    assert_eq!(ty("column_ifexists('N', 'none')"), "long");
    assert_eq!(ty("column_ifexists('Missing', 'none')"), "string");
    assert_eq!(ty("column_ifexists('Missing', 1.5)"), "real");
    let e = err_at("T | project x = column_ifexists(Name, 1)", 1, 33);
    assert!(e.contains("constant string"), "{e}");
    let e = err_at("T | project x = column_ifexists('N')", 1, 17);
    assert!(e.contains("a column name and a default value"), "{e}");
}
