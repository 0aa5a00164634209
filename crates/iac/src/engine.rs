//! The scan: walk, parse, check, suppress.

use std::path::PathBuf;

use palisade_core::{Rule, ScanOutput};

use crate::checks::all_checks;

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {}

pub fn builtin_rules() -> Vec<Rule> {
    all_checks().map(|c| c.rule.to_rule()).collect()
}

pub fn scan_paths(_paths: &[PathBuf], _options: &ScanOptions) -> ScanOutput {
    ScanOutput::default()
}
