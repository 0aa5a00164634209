//! `.palisade.toml`: found upward from the scanned path, or named with `--config`.
//!
//! ```toml
//! skip_paths = ["vendor/**", "test/fixtures"]
//! disabled_rules = ["iac.k8s.liveness-probe"]
//! policy_dirs = ["policies"]          # relative to this file
//! max_file_size = 5242880
//!
//! [severity_overrides]
//! "iac.aws.s3-versioning" = "low"
//!
//! [sla]                               # days per severity
//! critical = 3
//! high = 14
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use palisade_core::Severity;
use palisade_store::SlaPolicy;
use serde::Deserialize;

pub const CONFIG_FILE_NAME: &str = ".palisade.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub skip_paths: Vec<String>,
    pub disabled_rules: Vec<String>,
    pub severity_overrides: HashMap<String, Severity>,
    pub policy_dirs: Vec<PathBuf>,
    pub max_file_size: Option<u64>,
    pub sla: SlaPolicy,
    /// The file this was read from, to resolve relative policy dirs.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl Config {
    /// The explicit `--config` file, else the nearest `.palisade.toml` at or
    /// above `start`, else defaults.
    pub fn load(explicit: Option<&Path>, start: &Path) -> Result<Self> {
        let path = match explicit {
            Some(path) => Some(path.to_path_buf()),
            None => find_upward(start),
        };
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e))?;
        tracing::debug!(config = %path.display(), "loaded configuration");
        config.source = Some(path);
        Ok(config)
    }

    /// Policy directories resolved against the config file's directory.
    pub fn resolved_policy_dirs(&self) -> Vec<PathBuf> {
        let base = self
            .source
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."));
        self.policy_dirs
            .iter()
            .map(|dir| {
                if dir.is_absolute() {
                    dir.clone()
                } else {
                    base.join(dir)
                }
            })
            .collect()
    }
}

fn find_upward(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    let mut dir = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(current) = dir {
        let candidate = current.join(CONFIG_FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = current.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_config_upward_and_resolves_policy_dirs() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("infra/prod");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(
            root.path().join(CONFIG_FILE_NAME),
            "skip_paths = [\"vendor\"]\npolicy_dirs = [\"policies\"]\n[severity_overrides]\n\"iac.aws.s3-versioning\" = \"low\"\n[sla]\nhigh = 10\n",
        )
        .unwrap();
        let config = Config::load(None, &nested).unwrap();
        assert_eq!(config.skip_paths, vec!["vendor"]);
        assert_eq!(config.sla.high, Some(10));
        assert_eq!(config.sla.critical, Some(7), "unset SLA keys keep defaults");
        assert_eq!(
            config.severity_overrides.get("iac.aws.s3-versioning"),
            Some(&Severity::Low)
        );
        let dirs = config.resolved_policy_dirs();
        assert!(dirs[0].ends_with("policies"));
        assert!(dirs[0].starts_with(std::fs::canonicalize(root.path()).unwrap()));
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_file() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("custom.toml");
        std::fs::write(&path, "skip_path = []\n").unwrap();
        let err = Config::load(Some(&path), root.path()).unwrap_err();
        assert!(format!("{err:#}").contains("custom.toml"), "{err:#}");
    }
}
