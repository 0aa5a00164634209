//! CloudFormation templates (YAML with short-form intrinsics, and JSON).

use crate::model::ParsedSet;

/// Resources of one template, intrinsics resolved where possible.
pub fn parse(_rel_path: &str, _content: &str) -> ParsedSet {
    ParsedSet::default()
}
