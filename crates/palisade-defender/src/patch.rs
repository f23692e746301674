//! `PATCH /api/incidents/{id}`: body parsing and the update rules of spec §8.
//!
//! - Field names are case-sensitive; anything but `status`, `assignedTo`,
//!   `classification`, `determination`, `tags`, `comment` → `InvalidRequestBody`.
//! - Enum values are matched case-insensitively with aliases and stored in their canonical
//!   spelling; bad values → `InvalidInput`.
//! - `assignedTo: ""` (or `null`) unassigns. `tags` replaces the list. `comment` appends
//!   one comment (author = caller, time = now); an empty comment is ignored.
//! - Determination rules: see [`Determination::allowed_with`]. The classification that
//!   applies is the one in the body, else the stored one. Changing the classification
//!   without a determination resets a determination that no longer fits to
//!   `NotAvailable`. `Apt` and `SecurityPersonnel` can no longer be set.
//! - Every accepted PATCH bumps `lastUpdateTime` to now.

use crate::error::ApiError;
use crate::model::{Classification, Determination, IncidentStatus};
use palisade_store::{IncidentCommentRow, IncidentRow, IncidentUpdate};
use serde_json::Value;
use time::OffsetDateTime;

/// Most tags accepted on one incident.
pub const MAX_TAGS: usize = 100;
/// Longest tag.
pub const MAX_TAG_LEN: usize = 256;
/// Longest comment.
pub const MAX_COMMENT_LEN: usize = 10_000;
/// Longest `assignedTo`.
pub const MAX_ASSIGNED_TO_LEN: usize = 256;

/// A parsed, validated PATCH body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentPatch {
    /// New status.
    pub status: Option<IncidentStatus>,
    /// New owner; `Some(None)` unassigns.
    pub assigned_to: Option<Option<String>>,
    /// New classification.
    pub classification: Option<Classification>,
    /// New determination.
    pub determination: Option<Determination>,
    /// Replacement tag list.
    pub tags: Option<Vec<String>>,
    /// Comment to append.
    pub comment: Option<String>,
}

fn enum_value<T>(
    field: &str,
    v: &Value,
    parse: impl Fn(&str) -> Option<T>,
    allowed: impl Fn() -> String,
) -> Result<T, ApiError> {
    match v {
        Value::String(s) => parse(s).ok_or_else(|| {
            ApiError::InvalidInput(format!("{field} '{s}'; valid values: {}", allowed()))
        }),
        _ => Err(ApiError::InvalidInput(format!(
            "{field}: a string is required"
        ))),
    }
}

/// Parses and validates a PATCH body (shape and values; rules that depend on the stored
/// incident are applied by [`plan_update`]).
pub fn parse_patch(body: &[u8]) -> Result<IncidentPatch, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::InvalidRequestBody("The body is not valid JSON.".to_string()))?;
    let Value::Object(map) = value else {
        return Err(ApiError::InvalidRequestBody(
            "The body must be a JSON object.".to_string(),
        ));
    };
    let mut patch = IncidentPatch::default();
    for (key, v) in &map {
        match key.as_str() {
            "status" => {
                patch.status = Some(enum_value(
                    "status",
                    v,
                    IncidentStatus::parse,
                    IncidentStatus::allowed,
                )?);
            }
            "classification" => {
                patch.classification = Some(enum_value(
                    "classification",
                    v,
                    Classification::parse,
                    Classification::allowed,
                )?);
            }
            "determination" => {
                let d = enum_value("determination", v, Determination::parse, || {
                    Determination::ALL
                        .iter()
                        .filter(|d| !d.is_retired())
                        .map(|d| d.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })?;
                if d.is_retired() {
                    return Err(ApiError::InvalidInput(format!(
                        "determination '{d}'; it is no longer available through the API"
                    )));
                }
                patch.determination = Some(d);
            }
            "assignedTo" => {
                patch.assigned_to = Some(match v {
                    Value::Null => None,
                    Value::String(s) if s.trim().is_empty() => None,
                    Value::String(s) if s.chars().count() > MAX_ASSIGNED_TO_LEN => {
                        return Err(ApiError::InvalidInput(format!(
                            "assignedTo; longer than {MAX_ASSIGNED_TO_LEN} characters"
                        )))
                    }
                    Value::String(s) => Some(s.trim().to_string()),
                    _ => {
                        return Err(ApiError::InvalidInput(
                            "assignedTo: a string is required".to_string(),
                        ))
                    }
                });
            }
            "tags" => {
                let Value::Array(items) = v else {
                    return Err(ApiError::InvalidInput(
                        "tags: an array of strings is required".to_string(),
                    ));
                };
                if items.len() > MAX_TAGS {
                    return Err(ApiError::InvalidInput(format!(
                        "tags; more than {MAX_TAGS} tags"
                    )));
                }
                let mut tags: Vec<String> = Vec::with_capacity(items.len());
                for item in items {
                    let Value::String(s) = item else {
                        return Err(ApiError::InvalidInput(
                            "tags: an array of strings is required".to_string(),
                        ));
                    };
                    if s.trim().is_empty() || s.chars().count() > MAX_TAG_LEN {
                        return Err(ApiError::InvalidInput(format!(
                            "tag '{s}'; tags must be 1 to {MAX_TAG_LEN} characters"
                        )));
                    }
                    if !tags.contains(s) {
                        tags.push(s.clone());
                    }
                }
                patch.tags = Some(tags);
            }
            "comment" => match v {
                Value::String(s) if s.chars().count() > MAX_COMMENT_LEN => {
                    return Err(ApiError::InvalidInput(format!(
                        "comment; longer than {MAX_COMMENT_LEN} characters"
                    )))
                }
                Value::String(s) if s.trim().is_empty() => {}
                Value::String(s) => patch.comment = Some(s.clone()),
                _ => {
                    return Err(ApiError::InvalidInput(
                        "comment: a string is required".to_string(),
                    ))
                }
            },
            other => {
                let hint = [
                    "status",
                    "assignedTo",
                    "classification",
                    "determination",
                    "tags",
                    "comment",
                ]
                .iter()
                .find(|k| k.eq_ignore_ascii_case(other))
                .map(|k| format!(" Property names are case-sensitive: did you mean '{k}'?"))
                .unwrap_or_default();
                return Err(ApiError::InvalidRequestBody(format!(
                    "Unknown property '{other}'.{hint} Updatable properties: status, assignedTo, classification, determination, tags, comment."
                )));
            }
        }
    }
    Ok(patch)
}

/// Applies the rules that depend on the stored incident and turns the patch into a store
/// update (run inside the update transaction).
pub fn plan_update(
    current: &IncidentRow,
    patch: &IncidentPatch,
    author: &str,
    now: OffsetDateTime,
) -> Result<IncidentUpdate, ApiError> {
    let stored_class =
        Classification::parse(&current.classification).unwrap_or(Classification::Unknown);
    let stored_det =
        Determination::parse(&current.determination).unwrap_or(Determination::NotAvailable);
    let class = patch.classification.unwrap_or(stored_class);
    let determination = match patch.determination {
        Some(d) => {
            if !d.allowed_with(class) {
                let allowed = Determination::allowed_for(class);
                return Err(ApiError::InvalidInput(format!(
                    "determination '{d}' with classification '{class}'; allowed with {class}: {allowed}"
                )));
            }
            Some(d)
        }
        None if patch.classification.is_some() && !stored_det.allowed_with(class) => {
            Some(Determination::NotAvailable)
        }
        None => None,
    };
    Ok(IncidentUpdate {
        status: patch.status.map(|s| s.as_str().to_string()),
        assigned_to: patch.assigned_to.clone(),
        classification: patch.classification.map(|c| c.as_str().to_string()),
        determination: determination.map(|d| d.as_str().to_string()),
        tags: patch.tags.clone(),
        comment: patch.comment.as_ref().map(|c| IncidentCommentRow {
            comment: c.clone(),
            created_by: author.to_string(),
            created_time: now,
        }),
        last_update_time: Some(now),
        last_modified_by: Some(author.to_string()),
        ..IncidentUpdate::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn row(class: &str, det: &str) -> IncidentRow {
        IncidentRow {
            tenant_id: "t".into(),
            incident_id: 7,
            incident_name: "x".into(),
            created_time: datetime!(2024-01-01 0:00 UTC),
            last_update_time: datetime!(2024-01-01 0:00 UTC),
            status: "Active".into(),
            severity: "High".into(),
            assigned_to: Some("a@b.c".into()),
            classification: class.into(),
            determination: det.into(),
            detection_source: None,
            redirect_incident_id: None,
            tags: vec![],
            comments: vec![],
            alerts_json: "[]".into(),
            description: None,
            summary: None,
            resolving_comment: None,
            last_modified_by: None,
            system_tags: vec![],
            priority_score: None,
        }
    }

    fn code(r: Result<impl std::fmt::Debug, ApiError>) -> &'static str {
        r.expect_err("should fail").code()
    }

    #[test]
    fn docs_example_body() {
        let body = br#"{"status":"Resolved","assignedTo":"secop2@contoso.com","classification":"TruePositive",
 "determination":"Malware","tags":["Yossi's playground","Don't mess with the Zohan"],"comment":"pen testing"}"#;
        let p = parse_patch(body).expect("parse");
        assert_eq!(p.status, Some(IncidentStatus::Resolved));
        assert_eq!(p.assigned_to, Some(Some("secop2@contoso.com".into())));
        let now = datetime!(2024-02-02 2:02 UTC);
        let u = plan_update(&row("Unknown", "NotAvailable"), &p, "app-1", now).expect("plan");
        assert_eq!(u.classification.as_deref(), Some("TruePositive"));
        assert_eq!(u.determination.as_deref(), Some("Malware"));
        assert_eq!(u.tags.as_ref().map(Vec::len), Some(2));
        let c = u.comment.expect("comment");
        assert_eq!((c.created_by.as_str(), c.created_time), ("app-1", now));
        assert_eq!(u.last_update_time, Some(now));
    }

    #[test]
    fn shape_errors() {
        assert_eq!(code(parse_patch(b"not json")), "InvalidRequestBody");
        assert_eq!(code(parse_patch(b"[1]")), "InvalidRequestBody");
        assert_eq!(
            code(parse_patch(br#"{"Status":"Active"}"#)),
            "InvalidRequestBody"
        );
        assert_eq!(
            code(parse_patch(br#"{"severity":"High"}"#)),
            "InvalidRequestBody"
        );
        assert_eq!(
            code(parse_patch(br#"{"comments":["x"]}"#)),
            "InvalidRequestBody"
        );
        let e = parse_patch(br#"{"assignedto":"x"}"#).unwrap_err();
        assert!(
            e.message().contains("did you mean 'assignedTo'"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn value_errors() {
        for body in [
            r#"{"status":"Closed"}"#,
            r#"{"status":1}"#,
            r#"{"status":null}"#,
            r#"{"classification":"Maybe"}"#,
            r#"{"determination":"Nope"}"#,
            r#"{"determination":"Apt"}"#,
            r#"{"determination":"SecurityPersonnel"}"#,
            r#"{"tags":"x"}"#,
            r#"{"tags":[1]}"#,
            r#"{"tags":[""]}"#,
            r#"{"assignedTo":5}"#,
            r#"{"comment":["x"]}"#,
        ] {
            assert_eq!(code(parse_patch(body.as_bytes())), "InvalidInput", "{body}");
        }
    }

    #[test]
    fn enum_aliases_emit_update_doc_spelling() {
        let p = parse_patch(br#"{"status":"inProgress","classification":"falsePositive","determination":"insufficientData"}"#)
            .expect("parse");
        let u = plan_update(
            &row("Unknown", "NotAvailable"),
            &p,
            "x",
            datetime!(2024-01-02 0:00 UTC),
        )
        .expect("plan");
        assert_eq!(u.status.as_deref(), Some("InProgress"));
        assert_eq!(u.classification.as_deref(), Some("FalsePositive"));
        assert_eq!(u.determination.as_deref(), Some("NoEnoughDataToValidate"));
    }

    #[test]
    fn determination_rules() {
        let now = datetime!(2024-01-02 0:00 UTC);
        let plan = |cur: &IncidentRow, body: &str| {
            plan_update(cur, &parse_patch(body.as_bytes()).expect("parse"), "x", now)
        };
        // Determination alone is judged against the stored classification.
        assert_eq!(
            code(plan(
                &row("Unknown", "NotAvailable"),
                r#"{"determination":"Malware"}"#
            )),
            "InvalidInput"
        );
        assert!(plan(
            &row("TruePositive", "NotAvailable"),
            r#"{"determination":"Malware"}"#
        )
        .is_ok());
        assert_eq!(
            code(plan(
                &row("TruePositive", "Malware"),
                r#"{"determination":"Clean"}"#
            )),
            "InvalidInput"
        );
        // New taxonomy per classification.
        assert!(plan(
            &row("Unknown", "NotAvailable"),
            r#"{"classification":"FalsePositive","determination":"Clean"}"#
        )
        .is_ok());
        assert!(plan(
            &row("Unknown", "NotAvailable"),
            r#"{"classification":"InformationalExpectedActivity","determination":"ConfirmedUserActivity"}"#
        )
        .is_ok());
        assert_eq!(
            code(plan(
                &row("Unknown", "NotAvailable"),
                r#"{"classification":"FalsePositive","determination":"Malware"}"#
            )),
            "InvalidInput"
        );
        // Changing classification resets a determination that no longer fits.
        let u = plan(
            &row("TruePositive", "Malware"),
            r#"{"classification":"FalsePositive"}"#,
        )
        .expect("plan");
        assert_eq!(u.determination.as_deref(), Some("NotAvailable"));
        let u = plan(
            &row("TruePositive", "Other"),
            r#"{"classification":"FalsePositive"}"#,
        )
        .expect("plan");
        assert_eq!(u.determination, None);
        let u = plan(
            &row("TruePositive", "Malware"),
            r#"{"classification":"Unknown"}"#,
        )
        .expect("plan");
        assert_eq!(u.determination.as_deref(), Some("NotAvailable"));
    }

    #[test]
    fn assignment_tags_comment() {
        let p = parse_patch(br#"{"assignedTo":""}"#).expect("parse");
        assert_eq!(p.assigned_to, Some(None));
        let p = parse_patch(br#"{"assignedTo":null}"#).expect("parse");
        assert_eq!(p.assigned_to, Some(None));
        let p = parse_patch(br#"{"tags":[]}"#).expect("parse");
        assert_eq!(p.tags, Some(vec![]));
        let p = parse_patch(br#"{"tags":["a","b","a"]}"#).expect("parse");
        assert_eq!(p.tags, Some(vec!["a".to_string(), "b".to_string()]));
        let p = parse_patch(br#"{"comment":"  "}"#).expect("parse");
        assert_eq!(p.comment, None);
        let p = parse_patch(b"{}").expect("parse");
        assert_eq!(p, IncidentPatch::default());
    }
}
