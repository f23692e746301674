//! Tests of [`super::Directory`].

use super::*;
use crate::builtin::MTP_APP_ID;
use palisade_clock::{Clock, ManualClock, SharedClock};
use std::sync::Arc;

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

#[tokio::test]
async fn tenants_resolve_by_id_and_domain_and_get_builtin_principals() {
    let (dir, _) = directory().await;
    let t = dir
        .create_tenant("Contoso", None, None)
        .await
        .expect("tenant");
    assert_eq!(t.initial_domain, "contoso.onmicrosoft.com");
    assert_eq!(
        dir.resolve_tenant("CONTOSO.onmicrosoft.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        t.id
    );
    assert_eq!(
        dir.resolve_tenant(&t.id.to_uppercase())
            .await
            .unwrap()
            .unwrap()
            .id,
        t.id
    );
    assert!(dir.resolve_tenant("common").await.unwrap().is_none());
    assert!(dir
        .find_service_principal(&t.id, MTP_APP_ID)
        .await
        .unwrap()
        .is_some());
    let dup = dir.create_tenant("Contoso", None, None).await;
    assert!(matches!(dup, Err(DirectoryError::Conflict(_))), "{dup:?}");
}

#[tokio::test]
async fn secrets_verify_expire_and_are_removed() {
    let (dir, clock) = directory().await;
    let t = dir.create_tenant("Contoso", None, None).await.unwrap();
    let app = dir
        .create_application(&t.id, daemon("d", SignInAudience::AzureADMyOrg))
        .await
        .unwrap();
    let end = clock.now() + Duration::hours(1);
    let (cred, secret) = dir
        .add_password(&t.id, &app.app_id, Some("ci".into()), None, Some(end))
        .await
        .unwrap();
    assert_eq!(cred.hint, &secret[..3]);
    assert_eq!(
        dir.check_client_secret(&app, &secret).await.unwrap(),
        SecretCheck::Valid(cred.key_id.clone())
    );
    assert_eq!(
        dir.check_client_secret(&app, "nope").await.unwrap(),
        SecretCheck::Invalid
    );
    clock.advance(Duration::hours(2));
    assert_eq!(
        dir.check_client_secret(&app, &secret).await.unwrap(),
        SecretCheck::Expired(cred.key_id.clone())
    );
    dir.remove_password(&t.id, &app.id, &cred.key_id)
        .await
        .unwrap();
    assert_eq!(
        dir.check_client_secret(&app, &secret).await.unwrap(),
        SecretCheck::Invalid
    );
}

#[tokio::test]
async fn grants_produce_roles_per_tenant_only() {
    let (dir, _) = directory().await;
    let a = dir.create_tenant("Alpha", None, None).await.unwrap();
    let b = dir.create_tenant("Beta", None, None).await.unwrap();
    let app = dir
        .create_application(
            &a.id,
            daemon("partner", SignInAudience::AzureADMultipleOrgs),
        )
        .await
        .unwrap();
    let outcome = dir
        .grant_permissions(
            &a.id,
            &app.app_id,
            "Microsoft Threat Protection",
            &["Incident.Read.All".into()],
        )
        .await
        .unwrap();
    let mtp = dir
        .find_resource("https://api.security.microsoft.com/")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        dir.granted_roles(&a.id, &outcome.client_service_principal.id, &mtp)
            .await
            .unwrap(),
        ["Incident.Read.All"]
    );
    // Tenant B has not consented: no principal there.
    assert!(dir
        .find_service_principal(&b.id, &app.app_id)
        .await
        .unwrap()
        .is_none());
    let bad = dir
        .grant_permissions(
            &a.id,
            &app.app_id,
            MTP_APP_ID,
            &["Incident.Delete.All".into()],
        )
        .await;
    assert!(matches!(bad, Err(DirectoryError::Invalid(_))));
}

#[tokio::test]
async fn single_tenant_apps_stay_home() {
    let (dir, _) = directory().await;
    let a = dir.create_tenant("Alpha", None, None).await.unwrap();
    let b = dir.create_tenant("Beta", None, None).await.unwrap();
    let app = dir
        .create_application(&a.id, daemon("home", SignInAudience::AzureADMyOrg))
        .await
        .unwrap();
    assert!(matches!(
        dir.create_service_principal(&b.id, &app.app_id).await,
        Err(DirectoryError::Invalid(_))
    ));
    // Another tenant cannot see or delete the app either.
    assert!(matches!(
        dir.get_application(&b.id, &app.id).await,
        Err(DirectoryError::NotFound(_))
    ));
    assert!(matches!(
        dir.delete_application(&b.id, &app.app_id).await,
        Err(DirectoryError::NotFound(_))
    ));
}
