//! The estate as Security Exposure Management's graph: `ExposureGraphNodes` (its devices, its
//! users and the directory's applications' service principals, each with the ids the other
//! tables use in `EntityIds`: `DeviceInventoryId` = `DeviceId`, `AadObjectId` =
//! `AccountObjectId`, `SecurityIdentifier` = the SID) and `ExposureGraphEdges` (users that
//! can authenticate to devices — each user's own workstation, the administrators every
//! server — and users with permissions to applications).
//!
//! A snapshot: written once per tenant under `day=static` (a second seed leaves it as it is).

use serde_json::{json, Value as JsonValue};

use super::cloud::service_principal_id;
use super::estate::{Estate, Rng};
use super::family::{has_static_rows, FamilyRows, DIRECTORY_APPS};
use crate::columns::Value;
use crate::store::{EventStore, StoreError};

use Value::{Json as J, Str as S};

/// The tables [`seed_exposure`] writes.
pub(super) const EXPOSURE_TABLES: &[&str] = &["ExposureGraphNodes", "ExposureGraphEdges"];

/// The estate's users with administrative roles (the first ones, as in `IdentityInfo`).
const ADMINS: usize = 3;

/// A node: id, label, name, categories.
struct Node {
    id: String,
    label: &'static str,
    name: String,
    categories: JsonValue,
}

/// Seeds `tenant_id`'s exposure graph from the estate; returns the rows written.
pub(super) fn seed_exposure(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    only: Option<&[&str]>,
) -> Result<u64, StoreError> {
    if estate.devices.is_empty() {
        return Ok(0);
    }
    for t in EXPOSURE_TABLES {
        if has_static_rows(store, tenant_id, t)? {
            return Ok(0);
        }
    }
    let mut r = Rng::new(estate.devices.len() as u64 ^ 0xe4_905e);
    let mut out = FamilyRows::new(store, tenant_id, EXPOSURE_TABLES, only)?;
    let mut devices = Vec::new();
    for d in &estate.devices {
        let server = d.name.starts_with("srv") || d.os_platform.contains("Server");
        let node = Node {
            id: r.guid(),
            label: "device",
            name: d.name.clone(),
            categories: json!(["device", "compute"]),
        };
        let properties = json!({"rawData": {
            "deviceName": d.name, "osPlatform": d.os_platform, "ipAddress": d.ip,
            "exposureScore": if server { "High" } else { "Medium" },
            "riskScore": "Low",
            "criticalityLevel": {"criticalityLevel": if server { 1 } else { 3 }},
            "isInternetFacing": false,
        }});
        let ids = json!([{"type": "DeviceInventoryId", "id": d.device_id}]);
        write_node(&mut out, &node, &properties, &ids)?;
        devices.push((node, server));
    }
    let mut users = Vec::new();
    for (i, u) in estate.users.iter().enumerate() {
        let node = Node {
            id: r.guid(),
            label: "user",
            name: u.account_name.replace('.', " "),
            categories: json!(["identity"]),
        };
        let properties = json!({"rawData": {
            "accountUpn": u.upn, "accountObjectId": u.object_id, "onPremSid": u.sid,
            "isAdmin": i < ADMINS, "accountEnabled": true,
        }});
        let ids = json!([
            {"type": "AadObjectId", "id": u.object_id},
            {"type": "SecurityIdentifier", "id": u.sid},
        ]);
        write_node(&mut out, &node, &properties, &ids)?;
        users.push(node);
    }
    let mut apps = Vec::new();
    for (i, (name, app_id)) in DIRECTORY_APPS.iter().enumerate() {
        let node = Node {
            id: r.guid(),
            label: "serviceprincipal",
            name: name.to_string(),
            categories: json!(["identity", "application"]),
        };
        let sp = service_principal_id(i, app_id);
        let properties = json!({"rawData": {"appId": app_id, "servicePrincipalId": sp}});
        let ids = json!([{"type": "AadObjectId", "id": sp}]);
        write_node(&mut out, &node, &properties, &ids)?;
        apps.push(node);
    }
    // Each user can authenticate to their own workstation (the estate's devices in turn, as
    // in the mail clicks); the administrators to every server; everyone uses the first apps.
    let workstations: Vec<&Node> = devices.iter().filter(|d| !d.1).map(|d| &d.0).collect();
    for (i, u) in users.iter().enumerate() {
        let own = &devices[i % devices.len().max(1)].0;
        write_edge(&mut out, &mut r, u, "can authenticate to", own)?;
        if i < ADMINS {
            for (server, _) in devices.iter().filter(|d| d.1) {
                write_edge(&mut out, &mut r, u, "can authenticate to", server)?;
            }
        } else if let Some(w) = workstations.get(i % workstations.len().max(1)) {
            if w.id != own.id {
                write_edge(&mut out, &mut r, u, "can authenticate to", w)?;
            }
        }
        for app in apps.iter().take(if i < ADMINS { apps.len() } else { 2 }) {
            write_edge(&mut out, &mut r, u, "has permissions to", app)?;
        }
    }
    out.commit()
}

fn write_node(
    out: &mut FamilyRows<'_>,
    n: &Node,
    properties: &JsonValue,
    ids: &JsonValue,
) -> Result<(), StoreError> {
    out.row("ExposureGraphNodes", 0, |w| {
        w.set("NodeId", S(&n.id));
        w.set("NodeLabel", S(n.label));
        w.set("NodeName", S(&n.name));
        w.set("Categories", J(&n.categories.to_string()));
        w.set("NodeProperties", J(&properties.to_string()));
        w.set("EntityIds", J(&ids.to_string()));
    })
}

fn write_edge(
    out: &mut FamilyRows<'_>,
    r: &mut Rng,
    from: &Node,
    label: &str,
    to: &Node,
) -> Result<(), StoreError> {
    let id = r.guid();
    out.row("ExposureGraphEdges", 0, |w| {
        w.set("EdgeId", S(&id));
        w.set("EdgeLabel", S(label));
        w.set("SourceNodeId", S(&from.id));
        w.set("SourceNodeName", S(&from.name));
        w.set("SourceNodeLabel", S(from.label));
        w.set("SourceNodeCategories", J(&from.categories.to_string()));
        w.set("TargetNodeId", S(&to.id));
        w.set("TargetNodeName", S(&to.name));
        w.set("TargetNodeLabel", S(to.label));
        w.set("TargetNodeCategories", J(&to.categories.to_string()));
        w.set(
            "EdgeProperties",
            J(&json!({"rawData": {"label": label}}).to_string()),
        );
    })
}
