//! `palisade demo`: a populated console in one command. Writes the bundled
//! examples (Terraform, Kubernetes and CloudFormation files, a config tree
//! with planted fake secrets, an npm lockfile and the OSV advisories that
//! affect it) into a fresh data directory, runs the real scanners on them
//! (this binary's own `scan iac|secrets|deps`, so the demo shows what a
//! user's scans record), creates a `demo` administrator with a random
//! passphrase printed once, and serves the console.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;
use palisade_store::Role;
use palisade_web::accounts::create_user;
use palisade_web::WebConfig;

use super::block_on;
use super::serve::ServeArgs;
use crate::args::GlobalArgs;
use crate::Outcome;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address and port to listen on (loopback: the demo serves plain HTTP).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub bind: std::net::SocketAddr,
    /// Keep the demo's data in DIR (new or empty) instead of a temporary
    /// directory removed when the demo stops.
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
}

/// The demo's inputs, bundled into the binary: (path under the source tree, content).
const SOURCES: &[(&str, &str)] = &[
    (
        "infra/terraform/main.tf",
        include_str!("../../../../examples/terraform/main.tf"),
    ),
    (
        "infra/terraform/variables.tf",
        include_str!("../../../../examples/terraform/variables.tf"),
    ),
    (
        "infra/terraform/terraform.tfvars",
        include_str!("../../../../examples/terraform/terraform.tfvars"),
    ),
    (
        "infra/terraform/modules/logs/main.tf",
        include_str!("../../../../examples/terraform/modules/logs/main.tf"),
    ),
    (
        "infra/kubernetes/web.yaml",
        include_str!("../../../../examples/kubernetes/web.yaml"),
    ),
    (
        "infra/cloudformation/storage.yaml",
        include_str!("../../../../examples/cloudformation/storage.yaml"),
    ),
    (
        "app/config/app.ini",
        include_str!("../../../secrets/tests/fixtures/corpus/config/app.ini"),
    ),
    (
        "app/config/application.properties",
        include_str!("../../../secrets/tests/fixtures/corpus/config/application.properties"),
    ),
    (
        "app/config/appsettings.json",
        include_str!("../../../secrets/tests/fixtures/corpus/config/appsettings.json"),
    ),
    (
        "app/config/database.yml",
        include_str!("../../../secrets/tests/fixtures/corpus/config/database.yml"),
    ),
    (
        "app/config/settings.py",
        include_str!("../../../secrets/tests/fixtures/corpus/config/settings.py"),
    ),
    (
        "app/deploy/deploy.sh",
        include_str!("../../../secrets/tests/fixtures/corpus/deploy/deploy.sh"),
    ),
    (
        "app/package-lock.json",
        include_str!("../../../deps/tests/fixtures/lockfiles/npm-v3/package-lock.json"),
    ),
];

/// OSV advisories for the lockfile's packages, imported into the demo's vulndb.
const ADVISORIES: &[(&str, &str)] = &[
    (
        "GHSA-35jh-r3h4-6jhm.json",
        include_str!("../../../deps/tests/fixtures/osv/GHSA-35jh-r3h4-6jhm.json"),
    ),
    (
        "GHSA-jf85-cpcp-j695.json",
        include_str!("../../../deps/tests/fixtures/osv/GHSA-jf85-cpcp-j695.json"),
    ),
];

fn write_files(root: &Path, files: &[(&str, &str)]) -> Result<()> {
    for (relative, content) in files {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, content)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Runs this binary with `args` on the demo's database; exit 1 (findings
/// at a threshold) is fine, anything else fails the demo.
fn palisade(home: &Path, database: &Path, args: &[&str]) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the palisade binary")?;
    let output = Command::new(exe)
        .env("PALISADE_HOME", home)
        .arg("--database-url")
        .arg(database)
        .arg("--quiet")
        .args(args)
        .output()
        .with_context(|| format!("cannot run palisade {}", args.join(" ")))?;
    match output.status.code() {
        Some(0 | 1) => Ok(()),
        _ => bail!(
            "palisade {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

fn seed(home: &Path, database: &Path) -> Result<()> {
    let sources = home.join("demo-src");
    write_files(&sources, SOURCES)?;
    let advisories = home.join("demo-osv");
    write_files(&advisories, ADVISORIES)?;
    let reports = home.join("demo-reports");
    std::fs::create_dir_all(&reports)
        .with_context(|| format!("cannot create {}", reports.display()))?;
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let report = |name: &str| path(&reports.join(name));
    palisade(home, database, &["vulndb", "import", &path(&advisories)])?;
    for (engine, target, report_name) in [
        ("iac", sources.join("infra"), "iac.json"),
        ("secrets", sources.join("app"), "secrets.json"),
        ("deps", sources.join("app"), "deps.json"),
    ] {
        eprintln!("scanning the bundled examples with `scan {engine}` ...");
        palisade(
            home,
            database,
            &[
                "scan",
                engine,
                &path(&target),
                "--format",
                "json",
                "--output",
                &report(report_name),
            ],
        )?;
    }
    Ok(())
}

/// A passphrase of 120 random bits in groups, printed once.
fn random_passphrase() -> Result<String> {
    let hex = palisade_web::secrets::random_token()?;
    Ok(hex.as_bytes()[..30]
        .chunks(6)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-"))
}

pub fn run(global: &GlobalArgs, args: DemoArgs) -> Result<Outcome> {
    let (home, _temporary) = match &args.home {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let used = std::fs::read_dir(dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .next()
                .is_some();
            if used {
                bail!(
                    "--home {}: not empty; the demo seeds a fresh data directory",
                    dir.display()
                );
            }
            (dir.clone(), None)
        }
        None => {
            let dir = tempfile::Builder::new()
                .prefix("palisade-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            (dir.path().to_path_buf(), Some(dir))
        }
    };
    let database = home.join(palisade_store::DATABASE_FILE_NAME);
    eprintln!("demo data in {}", home.display());
    seed(&home, &database)?;

    let passphrase = random_passphrase()?;
    block_on(async {
        let store = palisade_store::Store::open(&database.to_string_lossy()).await?;
        let config = WebConfig::default();
        create_user(
            &store,
            &config,
            "demo",
            Role::Admin,
            Some(&passphrase),
            chrono::Utc::now(),
        )
        .await?;
        store.close().await;
        anyhow::Ok(())
    })??;
    println!("Demo administrator: demo");
    println!("Passphrase (shown only now): {passphrase}");

    let global = GlobalArgs {
        database_url: Some(database.to_string_lossy().into_owned()),
        config: global.config.clone(),
        log_format: global.log_format,
        verbose: global.verbose,
        quiet: global.quiet,
    };
    super::serve::run(
        &global,
        ServeArgs {
            bind: args.bind,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            behind_tls_proxy: false,
            public_url: None,
            sso: Default::default(),
            proxy: Default::default(),
        },
    )
}
