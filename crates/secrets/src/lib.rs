//! Secrets scanning: credentials committed to code, in working trees and in
//! git history.
//!
//! - [`config`] reads rules in gitleaks' TOML format; palisade's built-in
//!   rules (`rules/builtin.toml`) are written in it too, so a team's
//!   `.gitleaks.toml` (with `[extend] useDefault = true`) loads the same way.
//! - A [`Detector`] holds the compiled rules ([`RuleSet`]) behind one keyword
//!   automaton and finds [`SecretMatch`]es in a buffer: regex, entropy,
//!   structural validation, placeholder and allowlist filters, inline allow
//!   comments.
//! - [`tree`] scans files on disk, [`history`] every blob reachable from any
//!   ref of a git repository (each blob read once), [`staged`] the index.
//! - Matches become [`palisade_core::Finding`]s, one per distinct secret
//!   (identified by a keyed hash of its value), listing every place it occurs.
//!
//! A secret's value never leaves this crate: findings carry it redacted
//! ([`redact::redact`]), and its identity is an HMAC under a key the caller
//! keeps, so the database cannot be used to confirm a guessed secret.
//!
//! This crate reads files and git objects; it knows nothing of the store or
//! of report formats.

pub mod config;
mod detector;
mod error;
mod filter;
mod findings;
pub mod history;
mod inline;
mod keywords;
pub mod redact;
mod rules;
pub mod staged;
pub mod tree;
mod validate;
mod verify;

pub use config::{ConfigFile, ResolvedConfig, RuleSpec};
pub use detector::{is_binary, Detector, SecretMatch, Source};
pub use error::Error;
pub use rules::{RuleSet, SecretRule, RULE_PREFIX};

/// Files larger than this are reported, not read, unless told otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 50 * 1024 * 1024;

/// Options common to every kind of secrets scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Scan files `.gitignore` excludes too.
    pub no_ignore: bool,
    pub max_file_size: u64,
    /// Globs of paths (relative to the scanned root) to leave out.
    pub skip_paths: Vec<String>,
    /// Check found AWS keys with STS (sends them over the network).
    pub verify: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            no_ignore: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            skip_paths: Vec::new(),
            verify: false,
        }
    }
}

/// Turns collected matches into findings, verifying credentials first when asked.
fn finish(
    mut collector: findings::Collector,
    detector: &Detector,
    options: &ScanOptions,
) -> Vec<palisade_core::Finding> {
    if options.verify {
        verify::verify(&mut collector, detector);
    }
    collector.into_findings(detector.rules())
}

/// The metadata of every built-in rule.
pub fn builtin_rules() -> Result<Vec<palisade_core::Rule>, Error> {
    Ok(RuleSet::builtin()?.metadata())
}
