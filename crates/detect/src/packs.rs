//! The detection packs embedded in the binary.

/// `(pack name, YAML text)`; each text holds one rule per YAML document.
pub const PACKS: &[(&str, &str)] = &[
    ("cloudtrail.yml", include_str!("../rules/cloudtrail.yml")),
    ("k8s_audit.yml", include_str!("../rules/k8s_audit.yml")),
    ("sql.yml", include_str!("../rules/sql.yml")),
];
