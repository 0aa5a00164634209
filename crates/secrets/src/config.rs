//! The rule configuration, in gitleaks' TOML format.
//!
//! palisade's built-in rules are written in this format too, with a few
//! extra fields gitleaks ignores (severity, validator, examples, peer ids), so
//! a team's existing `.gitleaks.toml` loads through the same code as ours:
//! `[extend] useDefault = true` extends palisade's built-in rules the way it
//! extends gitleaks' defaults, `disabledRules` drops some of them, and rules
//! with the id of an extended rule override its fields.

use std::path::{Path, PathBuf};

use palisade_core::Severity;
use serde::Deserialize;

use crate::error::Error;

/// The built-in rules, compiled into the binary.
pub const BUILTIN_RULES: &str = include_str!("../rules/builtin.toml");

/// A whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigFile {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub extend: Option<Extend>,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// gitleaks before v8.25: one global allowlist.
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
    /// gitleaks v8.25 and later: several global allowlists.
    #[serde(default)]
    pub allowlists: Vec<AllowlistSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extend {
    /// Extend the built-in rules.
    #[serde(default)]
    pub use_default: bool,
    /// Extend another configuration file (relative to this one).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Built-in or extended rules to leave out.
    #[serde(default)]
    pub disabled_rules: Vec<String>,
}

/// One rule as written in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    pub id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub regex: Option<String>,
    /// Which capture group holds the secret; 0 means the first non-empty group,
    /// or the whole match when the regex has no groups (gitleaks' rule).
    #[serde(default)]
    pub secret_group: Option<usize>,
    /// Minimum Shannon entropy (bits per character) of the secret.
    #[serde(default)]
    pub entropy: Option<f64>,
    /// Literals of which one must occur (case-insensitive) near a match.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The rule applies only to files whose path matches.
    #[serde(default)]
    pub path: Option<String>,
    /// The first tag names the rule's family (cloud, code-host, chat ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// gitleaks before v8.25: one allowlist per rule.
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
    #[serde(default)]
    pub allowlists: Vec<AllowlistSpec>,

    // palisade's own fields, ignored by gitleaks (snake_case, unlike gitleaks' camelCase).
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub validate: Option<ValidatorName>,
    /// What this rule's secret is for `--verify`, which checks it with the provider.
    #[serde(default)]
    pub verify: Option<VerifierRole>,
    #[serde(default)]
    pub gitleaks: Option<String>,
    #[serde(default, rename = "detect_secrets")]
    pub detect_secrets: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    /// Lines this rule must report (checked by the test suite).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Lines this rule must not report.
    #[serde(default, rename = "negative_examples")]
    pub negative_examples: Vec<String>,
}

/// A structural check of a candidate secret, beyond its regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidatorName {
    /// GitHub and npm tokens: the last 6 characters are the base62 CRC32 of the 30 before them.
    GithubChecksum,
    /// An AWS access key id: a known prefix and 16 base32 characters.
    AwsAccessKeyId,
    /// A JWT whose header decodes to JSON naming an algorithm.
    Jwt,
    /// A PEM private key whose body is base64 of a plausible key size.
    PrivateKey,
    /// A value that decodes as base64.
    Base64,
}

/// The part a rule's secret plays in a live check (`--verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifierRole {
    /// Checked together with the nearest AWS secret access key.
    AwsAccessKeyId,
    AwsSecretAccessKey,
}

/// An allowlist: matches are dropped when it applies.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowlistSpec {
    #[serde(default)]
    pub description: Option<String>,
    /// `OR` (default): any criterion allows; `AND`: every given criterion must.
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub commits: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    /// What `regexes` are matched against: `secret` (default), `match` or `line`.
    #[serde(default)]
    pub regex_target: Option<String>,
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub stopwords: Vec<String>,
}

/// The rules and allowlists in effect after resolving `[extend]`.
#[derive(Debug, Clone, Default)]
pub struct ResolvedConfig {
    pub rules: Vec<RuleSpec>,
    pub allowlists: Vec<AllowlistSpec>,
    /// Where each part came from, for messages.
    pub sources: Vec<String>,
}

impl ConfigFile {
    pub fn parse(text: &str, origin: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::Config {
            origin: origin.to_string(),
            message: e.message().to_string(),
            line: e.span().map(|span| line_of(text, span.start)),
        })
    }

    pub fn builtin() -> Result<Self, Error> {
        Self::parse(BUILTIN_RULES, "built-in rules")
    }

    fn global_allowlists(&self) -> impl Iterator<Item = &AllowlistSpec> {
        self.allowlist.iter().chain(&self.allowlists)
    }
}

impl RuleSpec {
    pub fn all_allowlists(&self) -> impl Iterator<Item = &AllowlistSpec> {
        self.allowlist.iter().chain(&self.allowlists)
    }

    /// gitleaks' override semantics: the extending rule's fields win where set.
    fn override_with(&mut self, newer: RuleSpec) {
        if !newer.description.is_empty() {
            self.description = newer.description;
        }
        if newer.regex.is_some() {
            self.regex = newer.regex;
        }
        if newer.secret_group.is_some() {
            self.secret_group = newer.secret_group;
        }
        if newer.entropy.is_some() {
            self.entropy = newer.entropy;
        }
        if !newer.keywords.is_empty() {
            self.keywords = newer.keywords;
        }
        if newer.path.is_some() {
            self.path = newer.path;
        }
        if !newer.tags.is_empty() {
            self.tags = newer.tags;
        }
        if newer.severity.is_some() {
            self.severity = newer.severity;
        }
        // Allowlists accumulate: an extension narrows, it does not replace.
        self.allowlists.extend(newer.allowlist);
        self.allowlists.extend(newer.allowlists);
    }
}

/// Deepest chain of `[extend] path` files followed; deeper is almost surely a cycle.
const MAX_EXTEND_DEPTH: usize = 4;

impl ResolvedConfig {
    /// The built-in rules alone.
    pub fn builtin() -> Result<Self, Error> {
        Self::resolve(ConfigFile::builtin()?, "built-in rules", None, 0)
    }

    /// A user's configuration file (`.gitleaks.toml` or palisade's own),
    /// with its `[extend]` chain resolved. A file without `[extend]` replaces
    /// the built-in rules, as in gitleaks.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let origin = path.display().to_string();
        let file = ConfigFile::parse(&text, &origin)?;
        Self::resolve(file, &origin, path.parent(), 0)
    }

    fn resolve(
        file: ConfigFile,
        origin: &str,
        base_dir: Option<&Path>,
        depth: usize,
    ) -> Result<Self, Error> {
        let mut resolved = ResolvedConfig::default();
        if let Some(extend) = &file.extend {
            if depth >= MAX_EXTEND_DEPTH {
                return Err(Error::Config {
                    origin: origin.to_string(),
                    message: format!("[extend] nests deeper than {MAX_EXTEND_DEPTH} files"),
                    line: None,
                });
            }
            if extend.use_default {
                resolved.merge(Self::builtin()?);
            }
            if let Some(parent) = &extend.path {
                let parent = match base_dir {
                    Some(dir) if parent.is_relative() => dir.join(parent),
                    _ => parent.clone(),
                };
                let text = std::fs::read_to_string(&parent).map_err(|source| Error::Io {
                    path: parent.display().to_string(),
                    source,
                })?;
                let parent_origin = parent.display().to_string();
                let parent_file = ConfigFile::parse(&text, &parent_origin)?;
                resolved.merge(Self::resolve(
                    parent_file,
                    &parent_origin,
                    parent.parent(),
                    depth + 1,
                )?);
            }
            resolved
                .rules
                .retain(|rule| !extend.disabled_rules.contains(&rule.id));
        }
        resolved
            .allowlists
            .extend(file.global_allowlists().cloned());
        for rule in file.rules {
            match resolved.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(existing) => existing.override_with(rule),
                None => resolved.rules.push(rule),
            }
        }
        resolved.sources.push(origin.to_string());
        Ok(resolved)
    }

    fn merge(&mut self, other: ResolvedConfig) {
        for rule in other.rules {
            match self.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(existing) => existing.override_with(rule),
                None => self.rules.push(rule),
            }
        }
        self.allowlists.extend(other.allowlists);
        self.sources.extend(other.sources);
    }
}

fn line_of(text: &str, offset: usize) -> u32 {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
        + 1
}
