//! `palisade ca path|install|uninstall`: where Palisade's CA is, and trusting it
//! system-wide — in the system store (Debian's `update-ca-certificates`, which curl,
//! Python and this CLI read) and in the NSS database browsers use (`certutil`).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The system store's directory for local CAs (Debian, Ubuntu).
const SYSTEM_CA_DIR: &str = "/usr/local/share/ca-certificates";
/// The nickname of Palisade's CA in an NSS database.
const NSS_NICKNAME: &str = "Palisade Local CA";

/// `palisade ca …`.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Print the path of the CA certificate clients should trust (the data directory's,
    /// else the current context's).
    Path(CaSourceArgs),
    /// Trust Palisade's CA system-wide: the system store (update-ca-certificates) and the
    /// browsers' NSS database (certutil, if installed). Asks first unless --yes.
    #[command(after_help = "Examples:
  sudo palisade ca install                  # system store + ~/.pki/nssdb
  palisade ca install --yes --no-system     # only the NSS database
  palisade ca uninstall --yes")]
    Install(InstallArgs),
    /// Remove Palisade's CA from the system store and the NSS database.
    Uninstall(InstallArgs),
}

/// Which CA.
#[derive(Debug, Args)]
pub struct CaSourceArgs {
    /// Data directory [env: PALISADE_DATA_DIR; default ./palisade-data, else the current
    /// context's].
    #[arg(long, env = "PALISADE_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

/// Where to install.
#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    source: CaSourceArgs,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Leave the system store alone.
    #[arg(long)]
    no_system: bool,
    /// The system store's directory for local CAs (update-ca-certificates runs only for
    /// the default).
    #[arg(long, default_value = SYSTEM_CA_DIR)]
    system_dir: PathBuf,
    /// NSS database directory (default ~/.pki/nssdb, when it or certutil exists).
    #[arg(long)]
    nss_db: Option<PathBuf>,
    /// Leave the NSS database alone.
    #[arg(long)]
    no_nss: bool,
}

/// Runs `palisade ca …`.
pub fn ca(command: CaCommand) -> Result<()> {
    match command {
        CaCommand::Path(source) => {
            println!("{}", ca_file(&source)?.display());
            Ok(())
        }
        CaCommand::Install(args) => install(&args, true),
        CaCommand::Uninstall(args) => install(&args, false),
    }
}

/// The CA file: `--data-dir`'s, else `./palisade-data`'s, else the current context's CA.
pub fn ca_file(source: &CaSourceArgs) -> Result<PathBuf> {
    if let Some(dir) = &source.data_dir {
        return existing(crate::tls::ca_path(dir));
    }
    let local = crate::tls::ca_path(Path::new(crate::data_dir::DEFAULT_DATA_DIR));
    if local.is_file() {
        return existing(local);
    }
    if let Ok(config) = crate::config::Config::load_default(None) {
        if let Ok((_, ctx)) = config.effective(None) {
            if let Some(ca) = ctx
                .ca_file
                .or_else(|| ctx.data_dir.map(|d| crate::tls::ca_path(&d)))
            {
                return existing(ca);
            }
        }
    }
    existing(local)
}

fn existing(path: PathBuf) -> Result<PathBuf> {
    if !path.is_file() {
        bail!(
            "no CA yet at {}: start the server once (palisade serve) to create it",
            path.display()
        );
    }
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}

/// The name of the CA's file in the system store: one per CA (its SHA-256 prefix).
fn system_file_name(pem: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, pem);
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("palisade-local-ca-{hex}.crt")
}

fn default_nss_db() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pki").join("nssdb"))
}

fn has_certutil() -> bool {
    Command::new("certutil")
        .arg("-H")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

fn confirm(question: &str) -> Result<bool> {
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        println!();
        bail!("not confirmed (no terminal): pass --yes");
    }
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn install(args: &InstallArgs, add: bool) -> Result<()> {
    let ca = ca_file(&args.source)?;
    let pem = std::fs::read(&ca).with_context(|| format!("reading {}", ca.display()))?;
    let system_file = args.system_dir.join(system_file_name(&pem));
    let nss = if args.no_nss {
        None
    } else {
        match &args.nss_db {
            Some(d) => Some(d.clone()),
            None => default_nss_db().filter(|d| d.exists() || has_certutil()),
        }
    };
    let mut plan = Vec::new();
    if !args.no_system {
        plan.push(format!("the system store ({})", system_file.display()));
    }
    if let Some(db) = &nss {
        plan.push(format!("the NSS database {}", db.display()));
    }
    if plan.is_empty() {
        bail!("nothing to do: both --no-system and --no-nss (or no NSS database)");
    }
    let verb = if add { "Trust" } else { "Stop trusting" };
    if !args.yes
        && !confirm(&format!(
            "{verb} {} in {}?",
            ca.display(),
            plan.join(" and ")
        ))?
    {
        bail!("cancelled");
    }
    if !args.no_system {
        system_store(args, &system_file, &pem, add)?;
    }
    if let Some(db) = &nss {
        nss_db(db, &ca, add)?;
    }
    Ok(())
}

fn system_store(args: &InstallArgs, file: &Path, pem: &[u8], add: bool) -> Result<()> {
    if add {
        std::fs::create_dir_all(&args.system_dir)
            .with_context(|| format!("creating {} (run as root?)", args.system_dir.display()))?;
        std::fs::write(file, pem)
            .with_context(|| format!("writing {} (run as root?)", file.display()))?;
    } else if file.exists() {
        std::fs::remove_file(file)
            .with_context(|| format!("removing {} (run as root?)", file.display()))?;
    } else {
        println!("not in the system store: {}", file.display());
        return Ok(());
    }
    if args.system_dir == Path::new(SYSTEM_CA_DIR) {
        let mut cmd = Command::new("update-ca-certificates");
        if !add {
            cmd.arg("--fresh");
        }
        run(&mut cmd).context(
            "the system store was not updated (Debian/Ubuntu's update-ca-certificates is needed)",
        )?;
    }
    println!(
        "{} the system store: {}",
        if add { "added to" } else { "removed from" },
        file.display()
    );
    Ok(())
}

fn nss_db(db: &Path, ca: &Path, add: bool) -> Result<()> {
    if !has_certutil() {
        bail!("certutil is not installed (Debian: apt-get install libnss3-tools); the NSS database was left alone");
    }
    let dbarg = format!("sql:{}", db.display());
    if add {
        if !db.join("cert9.db").exists() {
            std::fs::create_dir_all(db)?;
            run(Command::new("certutil").args(["-N", "--empty-password", "-d", &dbarg]))?;
        }
        // A CA trusted for TLS servers ("C,,").
        run(Command::new("certutil").args([
            "-A",
            "-d",
            &dbarg,
            "-n",
            NSS_NICKNAME,
            "-t",
            "C,,",
            "-i",
            &ca.display().to_string(),
        ]))?;
        println!("added to the NSS database {}", db.display());
    } else {
        let present = Command::new("certutil")
            .args(["-L", "-d", &dbarg, "-n", NSS_NICKNAME])
            .output()
            .is_ok_and(|o| o.status.success());
        if present {
            run(Command::new("certutil").args(["-D", "-d", &dbarg, "-n", NSS_NICKNAME]))?;
            println!("removed from the NSS database {}", db.display());
        } else {
            println!("not in the NSS database {}", db.display());
        }
    }
    Ok(())
}
