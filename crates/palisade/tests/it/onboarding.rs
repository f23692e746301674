//! Issue 14, "the first ten minutes": the real binary, a real `serve --demo`, real TLS,
//! HOME in a temporary directory. One test per failure the issue lists, plus contexts,
//! precedence, trust order, doctor, completions and `ca install` on a temporary NSS db.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::AsyncBufReadExt;

/// Environment variables that would leak the developer's own settings into a run.
const LEAKY: [&str; 25] = [
    "XDG_CONFIG_HOME",
    "PALISADE_CONFIG",
    "PALISADE_CONTEXT",
    "PALISADE_CA_FILE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "PALISADE_DATA_DIR",
    "PALISADE_TENANT",
    "PALISADE_TENANT_ID",
    "PALISADE_CLIENT_ID",
    "PALISADE_CLIENT_SECRET",
    "PALISADE_SERVER",
    "PALISADE_AUTHORITY",
    "PALISADE_API",
    "PALISADE_ADMIN_KEY",
    "PALISADE_TOKEN_VERSION",
    "PALISADE_TOKEN_CACHE",
    "PALISADE_PUBLIC_CLIENT_ID",
    "PALISADE_GRAPH_API",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
];

struct Out {
    ok: bool,
    out: String,
    err: String,
}

/// A user's shell: a HOME and a working directory.
struct Shell {
    home: PathBuf,
    cwd: PathBuf,
}

impl Shell {
    async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"));
        for v in LEAKY {
            cmd.env_remove(v);
        }
        cmd.env("HOME", &self.home)
            .current_dir(&self.cwd)
            .args(args)
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = cmd.output().await.expect("run palisade");
        Out {
            ok: o.status.success(),
            out: String::from_utf8_lossy(&o.stdout).into(),
            err: String::from_utf8_lossy(&o.stderr).into(),
        }
    }

    async fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let o = self.run(args, env).await;
        assert!(o.ok, "palisade {args:?} failed:\n{}\n{}", o.out, o.err);
        o.out
    }
}

/// `palisade serve --demo` in `dir/user` with HOME `dir/home`; returns the base URL once the
/// demo is ready (it printed the `Context:` line).
async fn serve_demo(dir: &Path) -> (tokio::process::Child, String) {
    let home = dir.join("home");
    let cwd = dir.join("user");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"));
    for v in LEAKY {
        cmd.env_remove(v);
    }
    let mut child = cmd
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("HOME", &home)
        .env_remove("PALISADE_KEK")
        .env_remove("PALISADE_KEK_FILE")
        .current_dir(&cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = None;
    loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("serve --demo output");
        if let Some(url) = line.strip_prefix("Palisade listening on ") {
            base = Some(url.trim().to_string());
        }
        if line.starts_with("Context:") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base.expect("base URL"))
}

fn shell(dir: &Path) -> Shell {
    Shell {
        home: dir.join("home"),
        cwd: dir.join("user"),
    }
}

#[tokio::test]
async fn the_first_ten_minutes_with_serve_demo() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = serve_demo(dir.path()).await;
    let sh = shell(dir.path());
    let demo: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("user/palisade-data/demo-credentials.json"))
            .unwrap(),
    )
    .unwrap();
    let demo_tenant = demo["tenant_id"].as_str().unwrap().to_string();
    let demo_secret = demo["client_secret"].as_str().unwrap().to_string();

    // serve --demo made the `demo` context current; its secret is not in config.toml.
    let list = sh.ok(&["context", "list"], &[]).await;
    assert!(
        list.lines()
            .any(|l| l.starts_with('*') && l.contains("demo") && l.contains(&base)),
        "{list}"
    );
    let config_dir = dir.path().join("home/.config/palisade");
    let config = std::fs::read_to_string(config_dir.join("config.toml")).unwrap();
    assert!(!config.contains(&demo_secret), "{config}");
    let secrets = std::fs::read_to_string(config_dir.join("secrets.toml")).unwrap();
    assert!(secrets.contains(&demo_secret));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["config.toml", "secrets.toml"] {
            let mode = std::fs::metadata(config_dir.join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
    for args in [
        vec!["context", "show"],
        vec!["context", "show", "demo", "-o", "json"],
        vec!["context", "list"],
    ] {
        let o = sh.run(&args, &[]).await;
        assert!(o.ok, "{}", o.err);
        assert!(
            !o.out.contains(&demo_secret) && !o.err.contains(&demo_secret),
            "{args:?} printed the secret"
        );
    }

    // Failure 4: `palisade hunt` and `incidents list` with no flags use the demo context.
    let hunt = sh
        .ok(
            &["hunt", "DeviceInfo | summarize n = count()", "-o", "csv"],
            &[],
        )
        .await;
    let n: u64 = hunt.lines().nth(1).unwrap().trim().parse().unwrap();
    assert!(n > 0, "{hunt}");
    let incidents = sh
        .ok(&["incidents", "list", "--top", "3", "-o", "json"], &[])
        .await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&incidents)
            .unwrap()
            .as_array()
            .map(Vec::len),
        Some(3),
        "{incidents}"
    );

    // Failure 1: a second tenant; `admin app create` right after works through the context
    // the tenant got, or `-t` with the tenant's name.
    let created = sh.run(&["admin", "tenant", "create", "Contoso"], &[]).await;
    assert!(created.ok, "{}", created.err);
    assert!(
        created.err.contains("palisade context use contoso"),
        "{}",
        created.err
    );
    let by_name = sh
        .ok(
            &[
                "admin", "-t", "Contoso", "app", "create", "By name", "--query", "appId",
            ],
            &[],
        )
        .await;
    assert_eq!(by_name.trim().len(), 36, "{by_name}");
    sh.ok(&["context", "use", "contoso"], &[]).await;
    let client_id = sh
        .ok(
            &[
                "admin",
                "app",
                "create",
                "SOAR connector",
                "--query",
                "appId",
            ],
            &[],
        )
        .await
        .trim()
        .to_string();
    let secret = sh
        .ok(
            &[
                "admin",
                "secret",
                "add",
                "SOAR connector",
                "--query",
                "secretText",
            ],
            &[],
        )
        .await
        .trim()
        .to_string();
    sh.ok(
        &[
            "admin",
            "grant",
            "SOAR connector",
            "Incident.Read.All",
            "AdvancedHunting.Read.All",
        ],
        &[],
    )
    .await;
    let contoso_apps = sh
        .ok(
            &[
                "admin",
                "-t",
                "contoso.onmicrosoft.com",
                "app",
                "list",
                "--query",
                "displayName",
            ],
            &[],
        )
        .await;
    assert!(contoso_apps.contains("SOAR connector") && contoso_apps.contains("By name"));
    let demo_apps = sh
        .ok(
            &[
                "admin",
                "-t",
                &demo_tenant,
                "app",
                "list",
                "--query",
                "displayName",
            ],
            &[],
        )
        .await;
    assert!(!demo_apps.contains("SOAR connector"), "{demo_apps}");
    let unknown = sh
        .run(&["admin", "-t", "Nowhere", "app", "list"], &[])
        .await;
    assert!(
        !unknown.ok && unknown.err.contains("no tenant 'Nowhere'"),
        "{}",
        unknown.err
    );

    // Failure 2: curl with --cacert "$(palisade ca path)" gets the docs' v1 token.
    let ca = sh.ok(&["ca", "path"], &[]).await.trim().to_string();
    let curl = tokio::process::Command::new("curl")
        .args(["-sS", "--fail-with-body", "--cacert", &ca])
        .args(["-d", "grant_type=client_credentials", "-d"])
        .arg(format!("client_id={client_id}"))
        .args(["--data-urlencode"])
        .arg(format!("client_secret={secret}"))
        .args(["-d", "resource=https://api.security.microsoft.com"])
        .arg(format!("{base}/contoso.onmicrosoft.com/oauth2/token"))
        .output()
        .await
        .expect("curl is installed");
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&curl.stdout).unwrap();
    assert!(body["access_token"].as_str().is_some(), "{body}");

    // Failure 3: `token get --authority https://localhost:…` with no CA flag: trusted from
    // the local data directory here; elsewhere the error names what was tried and the fix.
    let token_args = [
        "token",
        "get",
        "--tenant-id",
        "contoso.onmicrosoft.com",
        "--client-id",
        &client_id,
        &format!("--client-secret={secret}"),
        "--authority",
        &base,
    ];
    let bare_home = dir.path().join("bare-home");
    std::fs::create_dir_all(&bare_home).unwrap();
    let here = Shell {
        home: bare_home.clone(),
        cwd: dir.path().join("user"),
    };
    let token = here.ok(&token_args, &[]).await;
    assert_eq!(token.trim().split('.').count(), 3);
    let elsewhere = Shell {
        home: bare_home.clone(),
        cwd: bare_home.clone(),
    };
    let refused = elsewhere.run(&token_args, &[]).await;
    assert!(!refused.ok);
    assert!(
        refused.err.contains("not trusted")
            && refused.err.contains("only the system's roots")
            && refused.err.contains("--ca-file"),
        "{}",
        refused.err
    );
    // SSL_CERT_FILE, SSL_CERT_DIR, PALISADE_CA_FILE and --ca-file each fix it.
    let ca_dir = dir.path().join("ca-dir");
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::copy(&ca, ca_dir.join("palisade.pem")).unwrap();
    for env in [
        ("SSL_CERT_FILE", ca.as_str()),
        ("SSL_CERT_DIR", ca_dir.to_str().unwrap()),
        ("PALISADE_CA_FILE", ca.as_str()),
    ] {
        elsewhere.ok(&token_args, &[env]).await;
    }
    let mut with_flag = token_args.to_vec();
    with_flag.extend(["--ca-file", &ca]);
    elsewhere.ok(&with_flag, &[]).await;
    // The order: --ca-file before PALISADE_CA_FILE before SSL_CERT_FILE; a wrong CA first
    // in line is the one named in the error.
    let wrong = dir.path().join("wrong-ca.pem");
    {
        let t = start().await; // another server's CA: a valid PEM that signed nothing here
        std::fs::copy(t.server.ca_path.as_ref().unwrap(), &wrong).unwrap();
    }
    let wrong_s = wrong.to_str().unwrap();
    let mut wrong_flag = token_args.to_vec();
    wrong_flag.extend(["--ca-file", wrong_s]);
    let o = elsewhere
        .run(&wrong_flag, &[("PALISADE_CA_FILE", ca.as_str())])
        .await;
    assert!(
        !o.ok && o.err.contains(wrong_s) && o.err.contains("from --ca-file"),
        "{}",
        o.err
    );
    // PALISADE_CA_FILE and SSL_CERT_FILE come before the context's CA (the demo context
    // has the right one).
    for var in ["PALISADE_CA_FILE", "SSL_CERT_FILE"] {
        let o = sh
            .run(&["token", "get", "--context", "demo"], &[(var, wrong_s)])
            .await;
        assert!(
            !o.ok && o.err.contains(&format!("from {var}")) && o.err.contains(wrong_s),
            "{var}: {}",
            o.err
        );
    }
    elsewhere
        .ok(
            &token_args,
            &[
                ("PALISADE_CA_FILE", ca.as_str()),
                ("SSL_CERT_FILE", wrong_s),
            ],
        )
        .await;

    // The context keeps the credential: incidents and hunting in Contoso with no flags.
    sh.ok(
        &[
            "context",
            "set",
            "--client-id",
            &client_id,
            &format!("--client-secret={secret}"),
        ],
        &[],
    )
    .await;
    sh.ok(&["incidents", "list", "--all", "-o", "csv"], &[])
        .await;
    sh.ok(&["hunt", "DeviceInfo | take 1"], &[]).await;

    // Precedence: flag > PALISADE_* > AZURE_* > context (the tenant decides who answers).
    let get = ["token", "get"];
    sh.ok(&get, &[]).await; // context: Contoso
    let o = sh
        .run(&get, &[("AZURE_TENANT_ID", "nowhere.onmicrosoft.com")])
        .await;
    assert!(
        !o.ok && o.err.contains("AADSTS90002"),
        "AZURE_* beats the context: {}",
        o.err
    );
    sh.ok(
        &get,
        &[
            ("AZURE_TENANT_ID", "nowhere.onmicrosoft.com"),
            ("PALISADE_TENANT_ID", "contoso.onmicrosoft.com"),
        ],
    )
    .await;
    let o = sh
        .run(
            &["token", "get", "--tenant-id", "nowhere.onmicrosoft.com"],
            &[("PALISADE_TENANT_ID", "contoso.onmicrosoft.com")],
        )
        .await;
    assert!(
        !o.ok && o.err.contains("AADSTS90002"),
        "the flag beats PALISADE_*: {}",
        o.err
    );
    // --context picks another context for one command.
    let demo_token = sh.ok(&["token", "get", "--context", "demo"], &[]).await;
    let (_, claims) = decode(demo_token.trim());
    assert_eq!(claims["tid"], demo_tenant.as_str());

    // doctor: every check passes for the demo context; a context without a credential
    // fails the token check, with its fix.
    let doctor = sh.run(&["doctor", "--context", "demo"], &[]).await;
    assert!(doctor.ok, "{}\n{}", doctor.out, doctor.err);
    for check in [
        "server answers",
        "this CLI trusts its certificate",
        "tenant exists",
        "the credential gets a token",
        "token allows incidents",
        "token allows hunting",
    ] {
        assert!(
            doctor
                .out
                .lines()
                .any(|l| l.starts_with("ok") && l.contains(check)),
            "{check}:\n{}",
            doctor.out
        );
    }
    // curl and Python ran for real (no --cacert: untrusted here, a warning with its fix).
    assert!(
        doctor.out.lines().any(|l| l.contains("curl trusts")
            && l.contains("curl: (60)")
            && l.contains("palisade ca install")),
        "{}",
        doctor.out
    );
    sh.ok(
        &[
            "context",
            "set",
            "bare",
            "--server",
            &base,
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
        &[],
    )
    .await;
    let bad = sh.run(&["doctor", "--context", "bare"], &[]).await;
    assert!(!bad.ok);
    assert!(
        bad.out
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("credential") && l.contains("fix:")),
        "{}",
        bad.out
    );
    // The bare context's CA comes from the local data directory (localhost URL).
    assert!(
        bad.out.contains("from the local data directory"),
        "{}",
        bad.out
    );

    // context delete removes its secret too.
    sh.ok(&["context", "delete", "contoso"], &[]).await;
    let secrets = std::fs::read_to_string(config_dir.join("secrets.toml")).unwrap();
    assert!(!secrets.contains(&secret));
    assert!(!sh.run(&["context", "use", "contoso"], &[]).await.ok);
}

#[tokio::test]
async fn completions_and_ca_install_on_a_temporary_nss_db() {
    let t = start().await;
    let sh = Shell {
        home: t.dir.path().to_path_buf(),
        cwd: t.dir.path().to_path_buf(),
    };
    // bash loads the completion script and registers it.
    let script = sh.ok(&["completions", "bash"], &[]).await;
    let file = t.dir.path().join("palisade.bash");
    std::fs::write(&file, &script).unwrap();
    let bash = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p palisade", file.display()))
        .output()
        .unwrap();
    assert!(
        bash.status.success(),
        "{}",
        String::from_utf8_lossy(&bash.stderr)
    );
    assert!(String::from_utf8_lossy(&bash.stdout).contains("palisade"));
    for shell in ["zsh", "fish"] {
        let s = sh.ok(&["completions", shell], &[]).await;
        assert!(s.contains("context") && s.contains("doctor"), "{shell}");
    }
    assert!(sh.ok(&["--help"], &[]).await.contains("Examples:"));
    assert!(sh.ok(&["admin", "--help"], &[]).await.contains("Examples:"));

    // ca install: refuses without a terminal or --yes; installs into a temporary system
    // directory and NSS database; uninstall removes both.
    let data = t.dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let system = t.dir.path().join("system-cas");
    let nss = t.dir.path().join("nssdb");
    let args = |verb: &'static str, yes: bool| {
        let mut a = vec![
            "ca".to_string(),
            verb.to_string(),
            "--data-dir".into(),
            data_s.into(),
            "--system-dir".into(),
            system.to_str().unwrap().into(),
            "--nss-db".into(),
            nss.to_str().unwrap().into(),
        ];
        if yes {
            a.push("--yes".into());
        }
        a
    };
    let run = |a: Vec<String>| {
        let sh = &sh;
        async move {
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            sh.run(&refs, &[]).await
        }
    };
    let o = run(args("install", false)).await;
    assert!(!o.ok && o.err.contains("--yes"), "{}", o.err);
    assert!(!system.exists());
    let certutil = std::process::Command::new("certutil")
        .arg("-H")
        .output()
        .is_ok();
    let o = run(args("install", true)).await;
    if !certutil {
        // Without NSS tools the error says which package brings them.
        assert!(!o.ok && o.err.contains("libnss3-tools"), "{}", o.err);
        return;
    }
    assert!(o.ok, "{}\n{}", o.out, o.err);
    let installed: Vec<_> = std::fs::read_dir(&system).unwrap().collect();
    assert_eq!(installed.len(), 1);
    let listed = std::process::Command::new("certutil")
        .args([
            "-L",
            "-d",
            &format!("sql:{}", nss.display()),
            "-n",
            "Palisade Local CA",
        ])
        .output()
        .unwrap();
    assert!(listed.status.success(), "the CA is in the NSS db");
    let o = run(args("uninstall", true)).await;
    assert!(o.ok, "{}", o.err);
    assert_eq!(std::fs::read_dir(&system).unwrap().count(), 0);
    let listed = std::process::Command::new("certutil")
        .args([
            "-L",
            "-d",
            &format!("sql:{}", nss.display()),
            "-n",
            "Palisade Local CA",
        ])
        .output()
        .unwrap();
    assert!(!listed.status.success(), "the CA left the NSS db");
}
