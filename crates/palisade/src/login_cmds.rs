//! `palisade login | logout | whoami`: the user context from the command line. The
//! sign-in (a refresh token and access tokens) is kept in the SDK's persistent cache
//! (mode 0600); `incidents` and `hunt` use it when no app credentials are configured.
//! Against the real cloud, pass the public client id of an app registration with the
//! Defender delegated permissions (`--public-client-id`).

use crate::client_cmds::DEFENDER_RESOURCE;
use crate::output::{emit, Format};
use crate::settings::{ClientArgs, Settings};
use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade_client::{
    DeviceCodeCredential, InteractiveBrowserCredential, PublicClient, SignedInUserCredential,
    TokenCredential, UsernamePasswordCredential,
};
use serde_json::{json, Value};
use std::io::Read;
use std::sync::Arc;
use time::OffsetDateTime;

/// How `palisade login` signs in.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// Device code flow.
    pub device_code: bool,
    /// Username (password prompted, or read from standard input).
    pub username: Option<String>,
    /// Read the password from standard input.
    pub password_stdin: bool,
    /// Print the sign-in URL instead of opening a browser.
    pub no_browser: bool,
}

/// Directory role names by template id (the `wids` claim).
const ROLE_NAMES: [(&str, &str); 5] = [
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    ("5f2222b1-57c3-48ba-8ad5-d4759f1fde6f", "Security Operator"),
    ("5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader"),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
];

fn public_client(settings: &Settings) -> Result<PublicClient> {
    let client_id = settings.public_client_id.as_deref().ok_or_else(|| {
        anyhow!(
            "no public client id: pass --public-client-id, set PALISADE_PUBLIC_CLIENT_ID, or put public_client_id in the config file"
        )
    })?;
    let tenant = settings.tenant_id.as_deref().unwrap_or("organizations");
    Ok(PublicClient::new(
        Some(&settings.authority),
        tenant,
        client_id,
        Some(settings.http()?),
    )?)
}

/// `palisade login`.
pub async fn login(args: &ClientArgs, options: LoginOptions) -> Result<()> {
    let settings = args.resolve()?;
    let client = public_client(&settings)?;
    let cache = Arc::new(settings.sign_in_cache()?);
    // A login always signs in afresh.
    if let Some(old) = cache.account(client.authority(), client.client_id()) {
        cache.remove(Some(&old))?;
    }
    let credential: Box<dyn TokenCredential> = if let Some(user) = &options.username {
        let password = if options.password_stdin {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s.trim_end_matches(['\r', '\n']).to_string()
        } else {
            rpassword::prompt_password(format!("Password for {user}: ")).map_err(|e| {
                anyhow!(
                    "cannot prompt for the password ({e}): without a terminal, pass it with --password-stdin"
                )
            })?
        };
        Box::new(
            UsernamePasswordCredential::new(client, user.clone(), password)
                .with_cache(cache.clone()),
        )
    } else if options.device_code {
        Box::new(
            DeviceCodeCredential::new(client)
                .with_cache(cache.clone())
                .on_prompt(|info| eprintln!("{}", info.message)),
        )
    } else {
        let no_browser = options.no_browser;
        Box::new(
            InteractiveBrowserCredential::new(client)
                .with_cache(cache.clone())
                .with_opener(move |url| {
                    eprintln!("Sign in in your browser. If it does not open, go to:\n\n  {url}\n");
                    if no_browser {
                        Ok(())
                    } else {
                        palisade_client::user::open_system_browser(url).or(Ok(()))
                    }
                }),
        )
    };
    credential
        .get_token(DEFENDER_RESOURCE)
        .await
        .context("signing in")?;
    let account = cache
        .accounts()
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the sign-in left no account in the cache"))?;
    println!(
        "Signed in as {} (tenant {}). The sign-in is kept in {}.",
        account.username,
        account.tenant_id,
        cache
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    Ok(())
}

/// `palisade logout`.
pub async fn logout(args: &ClientArgs) -> Result<()> {
    let settings = args.resolve()?;
    let cache = settings.sign_in_cache()?;
    let accounts = cache.accounts();
    cache.remove(None)?;
    if accounts.is_empty() {
        println!("Nobody was signed in.");
    }
    for a in accounts {
        println!("Signed out {} (tenant {}).", a.username, a.tenant_id);
    }
    Ok(())
}

fn claims(jwt: &str) -> Result<Value> {
    let payload = jwt.split('.').nth(1).ok_or_else(|| anyhow!("not a JWT"))?;
    Ok(serde_json::from_slice(
        &URL_SAFE_NO_PAD.decode(payload.trim_end_matches('='))?,
    )?)
}

/// `palisade whoami`: the signed-in user, tenant, scopes, roles, device groups, expiry.
pub async fn whoami(args: &ClientArgs, format: Format) -> Result<()> {
    let settings = args.resolve()?;
    let cache = Arc::new(settings.sign_in_cache()?);
    let Some(user) = SignedInUserCredential::from_cache(cache, Some(settings.http()?))? else {
        bail!("nobody is signed in: run `palisade login`");
    };
    let token = user.get_token(DEFENDER_RESOURCE).await?;
    let c = claims(&token.token)?;
    let roles: Vec<String> = c["wids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|id| {
            ROLE_NAMES
                .iter()
                .find(|(t, _)| t.eq_ignore_ascii_case(id))
                .map(|(_, n)| n.to_string())
                .unwrap_or_else(|| id.to_string())
        })
        .collect();
    // Device groups and rights: Palisade's extension endpoint (absent in the real cloud).
    let url = format!("{}/api/palisade/whoami", settings.api.trim_end_matches('/'));
    let access = match settings
        .http()?
        .get(&url)
        .bearer_auth(&token.token)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.json::<Value>().await.ok(),
        _ => None,
    };
    let groups = match access.as_ref().map(|a| &a["deviceGroups"]) {
        Some(Value::String(s)) if s == "all" => "all device groups".to_string(),
        Some(Value::Array(g)) if g.is_empty() => "(none)".to_string(),
        Some(Value::Array(g)) => g
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => "(not reported by this service)".to_string(),
    };
    let rights = access
        .as_ref()
        .and_then(|a| a["rights"].as_array())
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "(not reported by this service)".into());
    let exp = OffsetDateTime::from_unix_timestamp(c["exp"].as_i64().unwrap_or(0))
        .map(crate::output::iso)
        .unwrap_or_default();
    let upn = c["upn"]
        .as_str()
        .or(c["preferred_username"].as_str())
        .unwrap_or("")
        .to_string();
    let out = json!({
        "user": upn,
        "name": c["name"],
        "objectId": c["oid"],
        "tenantId": c["tid"],
        "clientId": c["appid"].as_str().or(c["azp"].as_str()),
        "scopes": c["scp"].as_str().unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "roles": roles,
        "rights": access.as_ref().map(|a| a["rights"].clone()),
        "deviceGroups": access.as_ref().map(|a| a["deviceGroups"].clone()),
        "expiresOn": exp,
    });
    let rows = vec![
        vec![
            "User".into(),
            format!("{upn} ({})", c["name"].as_str().unwrap_or("")),
        ],
        vec!["Tenant".into(), c["tid"].as_str().unwrap_or("").into()],
        vec!["Scopes".into(), c["scp"].as_str().unwrap_or("").into()],
        vec![
            "Roles".into(),
            if roles.is_empty() {
                "(none)".into()
            } else {
                roles.join(", ")
            },
        ],
        vec!["Defender rights".into(), rights],
        vec!["Device groups".into(), groups],
        vec!["Token expires".into(), exp],
    ];
    emit(format, &out, &["", ""], rows);
    Ok(())
}
