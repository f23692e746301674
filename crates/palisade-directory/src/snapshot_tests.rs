//! Tests of the in-memory directory: every write is seen by the next read, a write reloads
//! only its tenant's part, and tenants stay apart. (Another process's writes:
//! `crates/palisade/tests/it/snapshot.rs`.)

use super::*;
use crate::{ApplicationDefinition, Directory, NewApplication, SignInAudience, MTP_APP_ID};
use palisade_clock::{Clock, ManualClock, SharedClock};
use uuid::Uuid;

async fn directory() -> (Directory, ManualClock) {
    let clock = ManualClock::starting_now();
    let shared: SharedClock = Arc::new(clock.clone());
    let dir = Directory::new(Store::open_in_memory().await.expect("store"), shared);
    dir.ensure_builtins().await.expect("builtins");
    (dir, clock)
}

fn daemon(name: &str, audience: SignInAudience) -> NewApplication {
    NewApplication {
        display_name: name.into(),
        sign_in_audience: audience,
        is_public_client: false,
        identifier_uris: vec![],
        definition: ApplicationDefinition::default(),
    }
}

const MTP: &str = "https://api.security.microsoft.com";

#[tokio::test]
async fn every_write_is_seen_by_the_next_snapshot() {
    let (dir, clock) = directory().await;
    let before = dir
        .app_directory("contoso.onmicrosoft.com", &[])
        .await
        .unwrap();
    assert!(before.tenant("contoso.onmicrosoft.com").is_none());
    let t = dir.create_tenant("Contoso", None, None).await.unwrap();
    let snap = dir
        .app_directory("CONTOSO.onmicrosoft.com", &[])
        .await
        .unwrap();
    assert!(snap.version() > before.version());
    assert_eq!(snap.tenant("CONTOSO.onmicrosoft.com").unwrap().id, t.id);
    let snap = dir.app_directory(&t.id.to_uppercase(), &[]).await.unwrap();
    assert_eq!(snap.tenant(&t.id.to_uppercase()).unwrap().id, t.id);
    let common = dir.app_directory("common", &[]).await.unwrap();
    assert!(common.tenant("common").is_none());

    // An app, a secret, a grant: each visible to the next read, not before.
    let app = dir
        .create_application(&t.id, daemon("d", SignInAudience::AzureADMyOrg))
        .await
        .unwrap();
    let (cred, secret) = dir
        .add_password(&t.id, &app.app_id, None, None, None)
        .await
        .unwrap();
    let now = clock.now().unix_timestamp();
    assert!(
        snap.application(&app.app_id).is_none(),
        "an old snapshot is immutable"
    );
    let snap = dir.app_directory(&t.id, &[&app.app_id, MTP]).await.unwrap();
    let held = snap.application(&app.app_id.to_uppercase()).unwrap();
    assert!(
        held.definition.web_redirect_uris.is_empty(),
        "held trimmed to what a token reads"
    );
    assert_eq!(
        snap.check_client_secret(held, &secret, now),
        Some(SecretCheck::Valid(cred.key_id.clone()))
    );
    assert_eq!(
        snap.check_client_secret(held, "wrong", now),
        Some(SecretCheck::Invalid)
    );
    let mtp = snap.resource(&format!("{MTP}/")).unwrap().clone();
    assert_eq!(mtp.app_id, MTP_APP_ID);
    assert_eq!(
        snap.resource(&format!("api://{MTP_APP_ID}"))
            .unwrap()
            .app_id,
        MTP_APP_ID
    );
    assert!(snap.service_principal_id(&t.id, &app.app_id).is_none());
    dir.grant_permissions(&t.id, &app.app_id, MTP, &["Incident.Read.All".into()])
        .await
        .unwrap();
    let snap = dir.app_directory(&t.id, &[&app.app_id, MTP]).await.unwrap();
    let sp = snap.service_principal_id(&t.id, &app.app_id).unwrap();
    assert_eq!(snap.granted_roles(&t.id, sp, &mtp), ["Incident.Read.All"]);

    // Removing the secret, then the app (a cascade to its principal and grants).
    dir.remove_password(&t.id, &app.id, &cred.key_id)
        .await
        .unwrap();
    let snap = dir.app_directory(&t.id, &[&app.app_id]).await.unwrap();
    let held = snap.application(&app.app_id).unwrap();
    assert_eq!(
        snap.check_client_secret(held, &secret, now),
        Some(SecretCheck::Invalid)
    );
    dir.delete_application(&t.id, &app.app_id).await.unwrap();
    let snap = dir.app_directory(&t.id, &[&app.app_id, MTP]).await.unwrap();
    assert!(snap.application(&app.app_id).is_none());
    assert!(snap.service_principal_id(&t.id, &app.app_id).is_none());
    assert!(snap.granted_roles(&t.id, sp, &mtp).is_empty());
}

#[tokio::test]
async fn an_unchanged_directory_is_not_reloaded_and_expiry_follows_the_clock() {
    let (dir, clock) = directory().await;
    let t = dir.create_tenant("Contoso", None, None).await.unwrap();
    let app = dir
        .create_application(&t.id, daemon("d", SignInAudience::AzureADMyOrg))
        .await
        .unwrap();
    let end = clock.now() + time::Duration::hours(1);
    let (cred, secret) = dir
        .add_password(&t.id, &app.app_id, None, None, Some(end))
        .await
        .unwrap();
    let a = dir.app_directory(&t.id, &[&app.app_id]).await.unwrap();
    let b = dir.app_directory(&t.id, &[&app.app_id]).await.unwrap();
    assert!(b.shares_parts_with(&a), "same version: nothing reloaded");
    let held = b.application(&app.app_id).unwrap();
    let later = (clock.now() + time::Duration::hours(2)).unix_timestamp();
    assert_eq!(
        b.check_client_secret(held, &secret, later),
        Some(SecretCheck::Expired(cred.key_id.clone()))
    );
    // Rotation: a new secret, the old one removed; the old secret stops working at once.
    let (new_cred, new_secret) = dir
        .add_password(&t.id, &app.app_id, None, None, None)
        .await
        .unwrap();
    dir.remove_password(&t.id, &app.id, &cred.key_id)
        .await
        .unwrap();
    let c = dir.app_directory(&t.id, &[&app.app_id]).await.unwrap();
    let held = c.application(&app.app_id).unwrap();
    let now = clock.now().unix_timestamp();
    assert_eq!(
        c.check_client_secret(held, &new_secret, now),
        Some(SecretCheck::Valid(new_cred.key_id))
    );
    assert_eq!(
        c.check_client_secret(held, &secret, now),
        Some(SecretCheck::Invalid)
    );
}

#[tokio::test]
async fn a_write_reloads_only_its_tenant() {
    let (dir, _) = directory().await;
    let a = dir.create_tenant("Alpha", None, None).await.unwrap();
    let b = dir.create_tenant("Beta", None, None).await.unwrap();
    let app_a = dir
        .create_application(&a.id, daemon("a", SignInAudience::AzureADMyOrg))
        .await
        .unwrap();
    let view_a = dir.app_directory(&a.id, &[&app_a.app_id]).await.unwrap();
    let view_b = dir.app_directory(&b.id, &[]).await.unwrap();
    assert_eq!(
        dir.app_directory_held(),
        (3, 1 + crate::builtin_apps().len())
    );
    // A write in Beta: Alpha's part (and the built-ins) are kept, Beta's is reloaded.
    let app_b = dir
        .create_application(&b.id, daemon("b", SignInAudience::AzureADMyOrg))
        .await
        .unwrap();
    let again_a = dir.app_directory(&a.id, &[&app_a.app_id]).await.unwrap();
    assert!(again_a.version() > view_a.version());
    assert!(again_a.shares_parts_with(&view_a), "Alpha not reloaded");
    let again_b = dir.app_directory(&b.id, &[&app_b.app_id]).await.unwrap();
    assert!(!again_b.shares_parts_with(&view_b), "Beta reloaded");
    assert!(again_b.application(&app_b.app_id).is_some());
    // Beta's view holds nothing of Alpha's single-tenant app, even when asked for it.
    let cross = dir.app_directory(&b.id, &[&app_a.app_id]).await.unwrap();
    assert!(cross.application(&app_a.app_id).is_none());
    assert!(cross.tenant(&a.id).is_none());
}

#[tokio::test]
async fn tenants_stay_apart_in_the_snapshot() {
    let (dir, _) = directory().await;
    let a = dir.create_tenant("Alpha", None, None).await.unwrap();
    let b = dir.create_tenant("Beta", None, None).await.unwrap();
    let multi = dir
        .create_application(
            &a.id,
            daemon("partner", SignInAudience::AzureADMultipleOrgs),
        )
        .await
        .unwrap();
    let outcome = dir
        .grant_permissions(&a.id, &multi.app_id, MTP, &["Incident.Read.All".into()])
        .await
        .unwrap();
    let principal: Uuid = outcome.client_service_principal.id.parse().unwrap();
    let snap = dir
        .app_directory(&a.id, &[&multi.app_id, MTP])
        .await
        .unwrap();
    let mtp = snap.resource(MTP).unwrap().clone();
    assert_eq!(
        snap.granted_roles(&a.id, principal, &mtp),
        ["Incident.Read.All"]
    );
    // Beta has not consented: no principal, and Alpha's principal id grants nothing there.
    let snap = dir
        .app_directory(&b.id, &[&multi.app_id, MTP])
        .await
        .unwrap();
    assert!(
        snap.application(&multi.app_id).is_some(),
        "a multi-tenant app is seen from every tenant"
    );
    assert!(snap.service_principal_id(&b.id, &multi.app_id).is_none());
    assert!(snap.granted_roles(&b.id, principal, &mtp).is_empty());
    // Consent in Beta with fewer roles: each tenant keeps its own.
    let in_b = dir
        .grant_permissions(
            &b.id,
            &multi.app_id,
            MTP,
            &["AdvancedHunting.Read.All".into()],
        )
        .await
        .unwrap();
    let snap = dir
        .app_directory(&b.id, &[&multi.app_id, MTP])
        .await
        .unwrap();
    let b_principal: Uuid = in_b.client_service_principal.id.parse().unwrap();
    assert_ne!(b_principal, principal);
    assert_eq!(
        snap.granted_roles(&b.id, b_principal, &mtp),
        ["AdvancedHunting.Read.All"]
    );
    // Alpha keeps its own roles.
    let snap = dir
        .app_directory(&a.id, &[&multi.app_id, MTP])
        .await
        .unwrap();
    assert_eq!(
        snap.granted_roles(&a.id, principal, &mtp),
        ["Incident.Read.All"]
    );
    assert!(snap.granted_roles(&a.id, b_principal, &mtp).is_empty());
}
