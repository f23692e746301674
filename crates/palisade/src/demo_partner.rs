//! The partner part of `palisade serve --demo`: a partner tenant with a multi-tenant app
//! (a secret, Incident.Read.All and AdvancedHunting.Read.All at home) and two customer
//! tenants, each with a Global Administrator and incidents: Contoso has consented to the
//! partner's app, Fabrikam has not (its administrator can do it with the consent link).

use crate::server::RunningServer;
use crate::tls::write_private;
use anyhow::Result;
use palisade_directory::{
    ApplicationDefinition, Directory, NewApplication, SignInAudience, MTP_APP_ID,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File holding the partner demo's credentials (mode 0600).
pub const PARTNER_FILE: &str = "demo-partner.json";

/// Where the partner app sends customers after consent: the Defender walkthrough's
/// portal first (the consent link's default), then a local page.
pub const PARTNER_REDIRECTS: [&str; 2] = [
    "https://portal.azure.com",
    "https://localhost/partner-consented",
];

/// A customer tenant of the demo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoCustomer {
    /// Tenant id.
    pub tenant_id: String,
    /// Initial domain.
    pub domain: String,
    /// Its Global Administrator.
    pub admin_upn: String,
    /// Password.
    pub admin_password: String,
    /// Consented to the partner app at creation.
    pub consented: bool,
}

/// The partner demo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoPartner {
    /// Partner tenant id.
    pub tenant_id: String,
    /// Partner domain.
    pub domain: String,
    /// The multi-tenant app's client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The customers.
    pub customers: Vec<DemoCustomer>,
}

async fn tenant(
    directory: &Directory,
    name: &str,
    label: &str,
) -> Result<palisade_store::TenantRow> {
    Ok(
        match directory
            .resolve_tenant(&format!("{label}.onmicrosoft.com"))
            .await?
        {
            Some(t) => t,
            None => directory.create_tenant(name, Some(label), None).await?,
        },
    )
}

async fn customer(
    directory: &Directory,
    name: &str,
    label: &str,
    partner_app: &str,
    consent: bool,
) -> Result<DemoCustomer> {
    let t = tenant(directory, name, label).await?;
    let upn = format!("admin@{}", t.initial_domain);
    let password = palisade_directory::password::generate_password();
    let user = match directory.get_user(&t.id, &upn).await {
        Ok(u) => {
            directory
                .update_user(
                    &t.id,
                    &u.id,
                    palisade_directory::UserPatch {
                        password: Some((password.clone(), None)),
                        ..Default::default()
                    },
                )
                .await?
        }
        Err(_) => {
            directory
                .create_user(
                    &t.id,
                    palisade_directory::NewUser {
                        user_principal_name: upn.clone(),
                        display_name: Some(format!("{name} Admin")),
                        password: password.clone(),
                        account_enabled: true,
                        password_expires_at: None,
                    },
                )
                .await?
        }
    };
    directory
        .assign_role(&t.id, &user.id, "Global Administrator")
        .await?;
    if consent {
        directory.grant_admin_consent(&t.id, partner_app).await?;
    }
    Ok(DemoCustomer {
        tenant_id: t.id,
        domain: t.initial_domain,
        admin_upn: upn,
        admin_password: password,
        consented: consent,
    })
}

/// Creates the partner demo the first time; afterwards reads it back. Seeds each customer's
/// incidents idempotently.
pub async fn ensure(server: &RunningServer, data_dir: &Path) -> Result<DemoPartner> {
    let directory = &server.directory;
    let file = data_dir.join(PARTNER_FILE);
    let existing = match std::fs::read_to_string(&file) {
        Ok(text) => {
            let p: DemoPartner = serde_json::from_str(&text)?;
            directory.resolve_tenant(&p.tenant_id).await?.map(|_| p)
        }
        Err(_) => None,
    };
    let partner = match existing {
        Some(p) => p,
        None => {
            let t = tenant(directory, "Palisade Partner", "palisadepartner").await?;
            let app = directory
                .create_application(
                    &t.id,
                    NewApplication {
                        display_name: "Palisade Partner SOC".into(),
                        sign_in_audience: SignInAudience::AzureADMultipleOrgs,
                        is_public_client: false,
                        identifier_uris: vec![],
                        definition: ApplicationDefinition {
                            web_redirect_uris: PARTNER_REDIRECTS
                                .iter()
                                .map(|s| s.to_string())
                                .collect(),
                            ..Default::default()
                        },
                    },
                )
                .await?;
            directory
                .grant_permissions(
                    &t.id,
                    &app.app_id,
                    MTP_APP_ID,
                    &[
                        "Incident.Read.All".into(),
                        "AdvancedHunting.Read.All".into(),
                    ],
                )
                .await?;
            let (_, secret) = directory
                .add_password(&t.id, &app.app_id, Some("demo".into()), None, None)
                .await?;
            let mut p = DemoPartner {
                tenant_id: t.id,
                domain: t.initial_domain,
                client_id: app.app_id.clone(),
                client_secret: secret,
                customers: Vec::new(),
            };
            write_private(&file, serde_json::to_string_pretty(&p)?.as_bytes())?;
            p.customers.push(
                customer(
                    directory,
                    "Contoso Customer",
                    "contosocustomer",
                    &app.app_id,
                    true,
                )
                .await?,
            );
            p.customers.push(
                customer(
                    directory,
                    "Fabrikam Customer",
                    "fabrikamcustomer",
                    &app.app_id,
                    false,
                )
                .await?,
            );
            p
        }
    };
    write_private(&file, serde_json::to_string_pretty(&partner)?.as_bytes())?;
    for c in &partner.customers {
        palisade_defender::seed_demo_incidents(&server.store, &c.tenant_id, directory.clock(), 25)
            .await?;
    }
    Ok(partner)
}

/// The partner form's consent link (identity.md §8.3) for `client_id` at `base_url`.
pub fn consent_link(base_url: &str, client_id: &str, tenant: Option<&str>) -> String {
    format!(
        "{}/{}/oauth2/authorize?prompt=consent&client_id={client_id}&response_type=code&sso_reload=true",
        base_url.trim_end_matches('/'),
        tenant.unwrap_or("common")
    )
}

/// Prints the partner demo.
pub fn print(partner: &DemoPartner, base_url: &str) {
    println!("Partner tenant: {} ({})", partner.tenant_id, partner.domain);
    println!("Partner app:    {} (multi-tenant)", partner.client_id);
    println!("Partner secret: {}", partner.client_secret);
    println!(
        "Consent link:   {}",
        consent_link(base_url, &partner.client_id, None)
    );
    for c in &partner.customers {
        println!(
            "Customer:       {} ({}) — {} — admin {} / {}",
            c.tenant_id,
            c.domain,
            if c.consented {
                "consented"
            } else {
                "not consented"
            },
            c.admin_upn,
            c.admin_password
        );
    }
    let ids: Vec<&str> = partner
        .customers
        .iter()
        .map(|c| c.tenant_id.as_str())
        .collect();
    println!(
        "Fan out:        palisade incidents list --tenants {} --client-id {} --client-secret …",
        ids.join(","),
        partner.client_id
    );
}
