//! Tests of the in-memory directory: every write is seen by the next read, and tenants
//! stay apart. (Another process's writes: `crates/palisade/tests/it/snapshot.rs`.)

use super::*;
use crate::{ApplicationDefinition, Directory, NewApplication, SignInAudience, MTP_APP_ID};
use palisade_clock::{Clock, ManualClock, SharedClock};

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
    let before = dir.app_directory().await.unwrap();
    assert!(before.tenant("contoso.onmicrosoft.com").is_none());
    let t = dir.create_tenant("Contoso", None, None).await.unwrap();
    let snap = dir.app_directory().await.unwrap();
    assert!(snap.version() > before.version());
    assert_eq!(snap.tenant("CONTOSO.onmicrosoft.com").unwrap().id, t.id);
    assert_eq!(snap.tenant(&t.id.to_uppercase()).unwrap().id, t.id);
    assert!(snap.tenant("common").is_none());

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
    let snap = dir.app_directory().await.unwrap();
    let held = snap.application(&app.app_id.to_uppercase()).unwrap();
    assert_eq!(
        snap.check_client_secret(held, &secret, now),
        SecretCheck::Valid(cred.key_id.clone())
    );
    assert_eq!(
        snap.check_client_secret(held, "wrong", now),
        SecretCheck::Invalid
    );
    let mtp = snap.resource(&format!("{MTP}/")).unwrap().clone();
    assert_eq!(mtp.app_id, MTP_APP_ID);
    assert_eq!(
        snap.resource(&format!("api://{MTP_APP_ID}"))
            .unwrap()
            .app_id,
        MTP_APP_ID
    );
    assert!(snap.service_principal(&t.id, &app.app_id).is_none());
    dir.grant_permissions(&t.id, &app.app_id, MTP, &["Incident.Read.All".into()])
        .await
        .unwrap();
    let snap = dir.app_directory().await.unwrap();
    let sp = snap.service_principal(&t.id, &app.app_id).unwrap().clone();
    assert_eq!(
        snap.granted_roles(&t.id, &sp.id, &mtp),
        ["Incident.Read.All"]
    );

    // Removing the secret, then the app (a cascade to its principal and grants).
    dir.remove_password(&t.id, &app.id, &cred.key_id)
        .await
        .unwrap();
    let snap = dir.app_directory().await.unwrap();
    let held = snap.application(&app.app_id).unwrap();
    assert_eq!(
        snap.check_client_secret(held, &secret, now),
        SecretCheck::Invalid
    );
    dir.delete_application(&t.id, &app.app_id).await.unwrap();
    let snap = dir.app_directory().await.unwrap();
    assert!(snap.application(&app.app_id).is_none());
    assert!(snap.service_principal(&t.id, &app.app_id).is_none());
    assert!(snap.granted_roles(&t.id, &sp.id, &mtp).is_empty());
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
    let a = dir.app_directory().await.unwrap();
    let b = dir.app_directory().await.unwrap();
    assert!(Arc::ptr_eq(&a, &b), "same version: same snapshot");
    let held = b.application(&app.app_id).unwrap();
    let later = (clock.now() + time::Duration::hours(2)).unix_timestamp();
    assert_eq!(
        b.check_client_secret(held, &secret, later),
        SecretCheck::Expired(cred.key_id)
    );
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
    let principal = outcome.client_service_principal.id;
    let snap = dir.app_directory().await.unwrap();
    let mtp = snap.resource(MTP).unwrap().clone();
    assert_eq!(
        snap.granted_roles(&a.id, &principal, &mtp),
        ["Incident.Read.All"]
    );
    // Beta has not consented: no principal, and Alpha's principal id grants nothing there.
    assert!(snap.service_principal(&b.id, &multi.app_id).is_none());
    assert!(snap.granted_roles(&b.id, &principal, &mtp).is_empty());
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
    let snap = dir.app_directory().await.unwrap();
    let b_principal = in_b.client_service_principal.id;
    assert_ne!(b_principal, principal);
    assert_eq!(
        snap.granted_roles(&b.id, &b_principal, &mtp),
        ["AdvancedHunting.Read.All"]
    );
    assert_eq!(
        snap.granted_roles(&a.id, &principal, &mtp),
        ["Incident.Read.All"]
    );
    assert!(snap.granted_roles(&a.id, &b_principal, &mtp).is_empty());
}
