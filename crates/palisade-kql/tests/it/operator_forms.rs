//! Operator forms of issue 12 in the front end: `render` with its properties, `as` names,
//! `has_any`/`has_all` with a tabular argument.

use palisade_kql::{analyze, BindError, Catalog, KqlError};
use serde_json::json;

fn catalog() -> Catalog {
    Catalog::defender()
}

fn visualization(q: &str) -> Option<serde_json::Value> {
    let b = analyze(q, &catalog()).unwrap_or_else(|e| panic!("{q}: {e}"));
    b.visualization
        .map(|v| serde_json::Value::Object(v.to_json()))
}

#[test]
fn render_properties_are_kept_under_kusto_s_annotation_keys() {
    assert_eq!(
        visualization(
            "DeviceInfo | summarize c = count(), d = dcount(DeviceId) by OSPlatform\n\
             | render columnchart with (title = 'Devices', ycolumns = c, d, legend = hidden, ymin = -1, accumulate = true)"
        ),
        Some(json!({
            "Visualization": "columnchart",
            "Title": "Devices",
            "YColumns": ["c", "d"],
            "Legend": "hidden",
            "Ymin": -1,
            "Accumulate": true,
        }))
    );
    // The legacy form without `with`, and a property name in any case.
    assert_eq!(
        visualization("DeviceInfo | summarize count() by bin(Timestamp, 1h) | render timechart kind=stacked Title=\"t\""),
        Some(json!({"Visualization": "timechart", "Kind": "stacked", "Title": "t"}))
    );
    assert_eq!(visualization("DeviceInfo | take 1"), None);
    assert_eq!(
        visualization("DeviceInfo | count | render card"),
        Some(json!({"Visualization": "card"}))
    );
}

#[test]
fn unknown_visualizations_and_properties_are_errors_at_their_place() {
    for (q, col, what) in [
        (
            "DeviceInfo\n| render donutchart",
            10,
            "unknown visualization 'donutchart'",
        ),
        (
            "DeviceInfo\n| render piechart with (colour = 'red')",
            25,
            "unknown render property 'colour'",
        ),
    ] {
        match analyze(q, &catalog()) {
            Err(KqlError::Bind(BindError::Invalid { message, pos })) => {
                assert!(message.starts_with(what), "{message}");
                assert_eq!((pos.line, pos.column), (2, col), "{q}");
            }
            other => panic!("{q}: {other:?}"),
        }
    }
}

#[test]
fn as_names_its_input_for_the_rest_of_the_pipeline_and_for_union() {
    // The docs' join example: the name is usable on the join's right side.
    let b = analyze(
        "DeviceProcessEvents | where ActionType == 'ProcessCreated' | as T\n\
         | where FileName == 'a.exe' | join (T | where FileName == 'b.exe') on DeviceId",
        &catalog(),
    )
    .unwrap();
    assert!(b.results[0].schema.find("FileName1").is_some());
    // The name is not visible before the `as`, nor outside its pipeline.
    assert!(analyze("DeviceInfo | join (T) on DeviceId | as T", &catalog()).is_err());
    assert!(analyze("print x = 1;\nDeviceInfo | as T | count;\nT", &catalog()).is_err());
}

#[test]
fn has_any_takes_a_tabular_argument() {
    for q in [
        "let terms = datatable(t:string)['cmd', 'powershell'];\nDeviceProcessEvents | where ProcessCommandLine has_any (terms)",
        "DeviceProcessEvents | where ProcessCommandLine has_all ((DeviceInfo | project DeviceName))",
        "DeviceProcessEvents | where FileName !in ((DeviceFileEvents | project FileName))",
    ] {
        analyze(q, &catalog()).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
}

#[test]
fn named_arguments_of_user_functions() {
    let c = catalog();
    let f = "let f = (a:long, b:long = 10, c:string = 'x') { strcat(c, ':', a + b) };\n";
    for q in [
        "print r = f(1, c = 'y')",
        "print r = f(b = 2, a = 1)",
        "print r = f(1, 2, c = 'z')",
    ] {
        analyze(&format!("{f}{q}"), &c).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    for (q, what) in [
        ("print r = f(1, d = 2)", "function 'f' has no parameter 'd'"),
        ("print r = f(a = 1, a = 2)", "parameter 'a' is given twice"),
        (
            "print r = f(a = 1, 2)",
            "a positional argument cannot follow a named one",
        ),
    ] {
        let e = analyze(&format!("{f}{q}"), &c).unwrap_err().to_string();
        assert!(e.starts_with(what), "{q}: {e}");
    }
    // Built-in functions have no parameter names here: rejected by name.
    let e = analyze("print x = strcat(a = 'x')", &c).unwrap_err();
    assert_eq!(
        e.unsupported_name(),
        Some("named argument 'a' of a built-in function")
    );
}
