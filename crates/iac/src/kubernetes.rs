//! Kubernetes manifests: multi-document YAML, JSON, `kind: List`.

use crate::model::ParsedSet;

/// Every object of one manifest file.
pub fn parse(_rel_path: &str, _content: &str) -> ParsedSet {
    ParsedSet::default()
}
