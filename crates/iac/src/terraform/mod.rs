//! Terraform: HCL modules evaluated to resources, and plan JSON.

use std::path::{Path, PathBuf};

use crate::model::ParsedSet;

mod plan;

pub use plan::parse_plan;

/// Evaluates the Terraform modules in `dirs` (absolute directories holding
/// `.tf` files). Paths in the result are relative to `root`.
pub fn scan_dirs(_root: &Path, _dirs: &[PathBuf]) -> ParsedSet {
    ParsedSet::default()
}
