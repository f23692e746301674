//! `docs/kql-operators.md` is generated from the parser: the checked-in page must be what
//! `operators::render_markdown()` produces now. Regenerate it with
//! `PALISADE_REGENERATE_DOCS=1 cargo test -p palisade-kql --test it operators_page`.

use std::path::PathBuf;

use palisade_kql::bound::BoundTable;
use palisade_kql::operators::{self, OperatorKind, Status};
use palisade_kql::{
    analyze, bind_with_probe, parse, Catalog, KqlError, ParseError, ProbeError, SchemaProbe,
};

/// A probe that finds no data: plugins whose schema depends on the data bind with no columns.
struct NoData;

impl SchemaProbe for NoData {
    fn first_column(&self, _: &BoundTable, _: usize) -> Result<Vec<serde_json::Value>, ProbeError> {
        Ok(Vec::new())
    }
}

#[test]
fn operators_page_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/kql-operators.md");
    let generated = operators::render_markdown();
    if std::env::var_os("PALISADE_REGENERATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("writing docs/kql-operators.md");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/kql-operators.md is out of date with the parser; regenerate it with\n  \
         PALISADE_REGENERATE_DOCS=1 cargo test -p palisade-kql --test it operators_page"
    );
}

/// One query per implemented reference entry (keyed `kind name`) (the docs' examples, on the hunting tables): the
/// coverage says "implemented" only for what a real query of it binds.
const EXAMPLES: &[(&str, &str)] = &[
    ("source datatable", "datatable(a:long, b:string) [1, 'x', 2, 'y'] | count"),
    ("source find", "find in (DeviceProcessEvents, DeviceFileEvents) where FileName == 'a.exe'"),
    ("source print", "print x = 1, y = 'a'"),
    ("source range", "range x from 1 to 10 step 2"),
    ("source search", "search in (DeviceProcessEvents) 'powershell'"),
    ("source union", "union DeviceProcessEvents, DeviceFileEvents | count"),
    ("operator as", "DeviceInfo | as D | count"),
    ("operator count", "DeviceInfo | count"),
    ("operator distinct", "DeviceInfo | distinct DeviceName, OSPlatform"),
    ("operator evaluate", "DeviceInfo | project AdditionalFields | extend d = parse_json(AdditionalFields) | project d | evaluate bag_unpack(d)"),
    ("operator extend", "DeviceInfo | extend n = strlen(DeviceName)"),
    ("operator where", "DeviceInfo | where DeviceName startswith 'a'"),
    ("operator getschema", "DeviceInfo | getschema"),
    ("operator invoke", "DeviceFileEvents | invoke FileProfile(SHA1, 100)"),
    ("operator join", "DeviceInfo | join kind=inner (DeviceNetworkInfo) on DeviceId"),
    ("operator lookup", "DeviceProcessEvents | lookup kind=inner (DeviceInfo | project DeviceId, OSPlatform) on DeviceId"),
    ("operator make-series", "DeviceProcessEvents | make-series n = count() on Timestamp from ago(1d) to now() step 1h"),
    ("operator mv-apply", "DeviceInfo | mv-apply v = parse_json(AdditionalFields) on (where tostring(v) != '' | take 1)"),
    ("operator mv-expand", "DeviceInfo | mv-expand d = parse_json(AdditionalFields)"),
    ("operator parse", "DeviceProcessEvents | parse ProcessCommandLine with * '-enc ' payload:string"),
    ("operator parse-where", "DeviceProcessEvents | parse-where ProcessCommandLine with * '-enc ' payload:string"),
    ("operator partition", "DeviceProcessEvents | partition by DeviceId (top 3 by Timestamp)"),
    ("operator project", "DeviceInfo | project DeviceName"),
    ("operator project-away", "DeviceInfo | project-away DeviceName"),
    ("operator project-keep", "DeviceInfo | project-keep Device*"),
    ("operator project-rename", "DeviceInfo | project-rename Name = DeviceName"),
    ("operator project-reorder", "DeviceInfo | project-reorder DeviceName"),
    ("operator render", "DeviceInfo | summarize count() by OSPlatform | render piechart with (title = 'OS')"),
    ("operator sample", "DeviceInfo | sample 10"),
    ("operator scan", "DeviceProcessEvents | sort by Timestamp asc | scan with_match_id=m with (step s1: FileName == 'cmd.exe'; step s2: FileName == 'whoami.exe' and Timestamp - s1.Timestamp < 5m;)"),
    ("operator fork", "DeviceInfo | fork (take 1) (summarize count() by OSPlatform)"),
    ("operator facet", "DeviceInfo | facet by OSPlatform with (take 5)"),
    ("operator serialize", "DeviceInfo | serialize n = row_number()"),
    ("operator sort", "DeviceInfo | sort by Timestamp desc"),
    ("operator summarize", "DeviceInfo | summarize count() by OSPlatform"),
    ("operator take", "DeviceInfo | take 10"),
    ("operator top", "DeviceInfo | top 5 by Timestamp"),
    ("operator top-hitters", "DeviceProcessEvents | top-hitters 5 of FileName by toint(ProcessId)"),
    ("operator top-nested", "DeviceProcessEvents | top-nested 3 of DeviceName by count()"),
    ("statement let", "let n = 10;\nDeviceInfo | take n"),
    ("operator search", "DeviceProcessEvents | search 'powershell'"),
    ("operator union", "DeviceProcessEvents | union DeviceFileEvents | count"),
];

#[test]
fn every_implemented_entry_has_a_binding_example_and_every_example_is_implemented() {
    let catalog = Catalog::defender();
    let mut missing = Vec::new();
    for c in operators::coverage() {
        let key = format!("{} {}", c.operator.kind.label(), c.operator.name);
        let example = EXAMPLES.iter().find(|(n, _)| *n == key);
        match (c.status, example) {
            (Status::Implemented, Some((_, q))) => {
                let bound = parse(q)
                    .map_err(KqlError::from)
                    .and_then(|a| Ok(bind_with_probe(&a, &catalog, &NoData)?));
                if let Err(e) = bound {
                    panic!("{}: {q}: {e}", c.operator.name);
                }
            }
            (Status::Implemented, None) => missing.push(c.operator.name),
            (Status::Rejected, Some(_)) => {
                panic!("{} is rejected but has an example", c.operator.name)
            }
            (Status::Rejected, None) => {}
        }
    }
    assert!(
        missing.is_empty(),
        "implemented without an example: {missing:?}"
    );
}

/// The query that uses entry `name` of kind `kind` on the second line, at column 3 or 1.
fn use_of(kind: OperatorKind, name: &str) -> (String, u32) {
    match kind {
        OperatorKind::Source => (format!("print 1;\n{name} x"), 1),
        OperatorKind::Operator => (format!("DeviceInfo\n| {name} x"), 3),
        OperatorKind::Statement => (format!("print 1;\n{name} x = 1;\nDeviceInfo"), 1),
    }
}

#[test]
fn every_rejected_entry_is_rejected_by_name_with_its_position() {
    let catalog = Catalog::defender();
    let mut rejected = 0;
    for c in operators::coverage() {
        if c.status != Status::Rejected {
            continue;
        }
        rejected += 1;
        let o = c.operator;
        for spelling in std::iter::once(o.name).chain(o.aliases()) {
            let (q, column) = use_of(o.kind, spelling);
            let e = analyze(&q, &catalog).expect_err(&q);
            assert_eq!(e.unsupported_name(), Some(spelling), "{q}: {e}");
            let KqlError::Parse(ParseError::Unsupported { pos, .. }) = &e else {
                panic!("{q}: {e:?}");
            };
            assert_eq!((pos.line, pos.column), (2, column), "{q}");
        }
    }
    assert!(rejected > 0);
}

#[test]
fn an_unknown_operator_is_a_syntax_error_not_a_rejection() {
    let e = parse("DeviceInfo | no-such-operator").unwrap_err();
    assert!(matches!(e, ParseError::Syntax { .. }), "{e:?}");
}

#[test]
fn the_text_and_json_listings_agree() {
    let j = operators::render_json();
    let all = &j["counts"];
    let text = operators::render_text();
    assert!(text.contains(&format!(
        "{} of {} implemented",
        all["implemented"], all["total"]
    )));
    assert_eq!(
        j["operators"].as_array().map(Vec::len),
        Some(operators::reference().len())
    );
    println!("{text}");
}
