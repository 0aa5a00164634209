//! `palisade scan secrets`: a working tree, standard input, git history or
//! the staged changes.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use palisade_secrets::history::{self, HistoryOptions, Since};
use palisade_secrets::{staged, tree, Detector, ResolvedConfig, RuleSet, ScanOptions};

use super::scan::{finish_scan, scope_of, ScanResult};
use super::{block_on, open_store};
use crate::args::{GlobalArgs, ScanSecretsArgs};
use crate::config::Config;
use crate::Outcome;

/// gitleaks' configuration file name, looked for at the scanned root.
const GITLEAKS_CONFIG_FILE: &str = ".gitleaks.toml";
/// The key of the secret hashes, in palisade's home directory.
const HASH_KEY_FILE: &str = "secret-hash.key";

pub fn run(global: &GlobalArgs, args: ScanSecretsArgs) -> Result<Outcome> {
    let from_stdin = args.paths.iter().any(|p| p == Path::new("-"));
    if from_stdin && args.paths.len() > 1 {
        bail!("`-` (standard input) cannot be combined with other paths");
    }
    if (args.history || args.staged) && args.paths.len() > 1 {
        bail!("--history and --staged take one repository");
    }
    let root = if from_stdin {
        PathBuf::from(".")
    } else {
        args.paths[0].clone()
    };
    let config = Config::load(global.config.as_deref(), &root)?;
    let detector = detector(&args, &config, &root)?;
    let options = ScanOptions {
        no_ignore: args.no_ignore,
        max_file_size: args
            .common
            .max_file_size
            .or(config.max_file_size)
            .unwrap_or(palisade_secrets::DEFAULT_MAX_FILE_SIZE),
        skip_paths: config
            .skip_paths
            .iter()
            .chain(&args.common.skip_paths)
            .cloned()
            .collect(),
        verify: args.verify,
    };
    let started_at = Utc::now();
    let mut partial = false;
    let mut scanned_commits = None;
    let (output, scope) = if from_stdin {
        let mut content = Vec::new();
        std::io::stdin()
            .read_to_end(&mut content)
            .context("cannot read standard input")?;
        (
            tree::scan_bytes("<stdin>", &content, &detector, &options),
            "stdin".to_string(),
        )
    } else if args.staged {
        let output = staged::scan_staged(&root, &detector, &options)?;
        (output, format!("staged:{}", scope_of(&args.paths)))
    } else if args.history {
        let scope = format!("git:{}", scope_of(&args.paths));
        let already_scanned = if args.full || args.common.no_store {
            Vec::new()
        } else {
            block_on(async {
                let store = open_store(global).await?;
                let commits = store.scanned_commits(&scope).await?;
                store.close().await;
                Ok::<_, anyhow::Error>(commits)
            })??
        };
        partial = !already_scanned.is_empty() || args.since.is_some();
        let history_options = HistoryOptions {
            since: args.since.as_deref().map(Since::parse),
            already_scanned,
        };
        let scan = history::scan_history(&root, &detector, &options, &history_options)?;
        tracing::info!(
            commits = scan.commits_scanned.len(),
            repository = %scan.repository.display(),
            "history scanned"
        );
        scanned_commits = Some(scan.commits_scanned);
        (scan.output, scope)
    } else {
        let output = tree::scan_paths(&args.paths, &detector, &options)?;
        (output, scope_of(&args.paths))
    };
    let no_store = args.common.no_store || from_stdin;
    let complete = output.errors.is_empty();
    let outcome = finish_scan(
        global,
        ScanResult {
            engine: "secrets",
            scope: scope.clone(),
            started_at,
            output,
            rules: detector.rule_set().metadata(),
            sla: config.sla,
            partial,
        },
        &args.common.output,
        args.common.fail_on,
        no_store,
    )?;
    // Remember the commits only once their findings are recorded, and only
    // from a run that read them all: a failed read must be retried next time.
    if let (Some(commits), false, true) = (scanned_commits, no_store, complete) {
        block_on(async {
            let store = open_store(global).await?;
            store
                .add_scanned_commits(&scope, &commits, args.full, Utc::now())
                .await?;
            store.close().await;
            Ok::<_, anyhow::Error>(())
        })??;
    }
    Ok(outcome)
}

fn detector(args: &ScanSecretsArgs, config: &Config, root: &Path) -> Result<Detector> {
    let rules_file = args.rules.clone().or_else(|| {
        let dir = if root.is_dir() {
            root
        } else {
            root.parent().unwrap_or(Path::new("."))
        };
        Some(dir.join(GITLEAKS_CONFIG_FILE)).filter(|p| p.is_file())
    });
    let resolved = match &rules_file {
        Some(path) => {
            tracing::info!(rules = %path.display(), "loading secret rules");
            ResolvedConfig::load(path)?
        }
        None => ResolvedConfig::builtin()?,
    };
    let mut rules = RuleSet::compile(&resolved)?;
    let disabled: Vec<String> = config
        .disabled_rules
        .iter()
        .chain(&args.common.disabled_rules)
        .cloned()
        .collect();
    rules.disable(&disabled);
    for (id, severity) in &config.severity_overrides {
        rules.override_severity(id, *severity);
    }
    Ok(Detector::new(rules, hash_key()?)?)
}

/// The key of the secret hashes: created once per palisade home, so the
/// same secret has the same fingerprint in every run and on no other machine.
fn hash_key() -> Result<[u8; 32]> {
    let path = palisade_store::default_home_dir().join(HASH_KEY_FILE);
    if let Ok(existing) = std::fs::read(&path) {
        return existing.as_slice().try_into().with_context(|| {
            format!(
                "{}: not a 32-byte key; delete it to start afresh",
                path.display()
            )
        });
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    write_private(&path, &key)?;
    // Two first runs at once: whoever wrote first wins, both use that key.
    let written =
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    written
        .as_slice()
        .try_into()
        .with_context(|| format!("{}: not a 32-byte key", path.display()))
}

fn write_private(path: &Path, key: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => file
            .write_all(key)
            .with_context(|| format!("cannot write {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}
