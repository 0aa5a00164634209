//! Which parser a file goes to, decided by extension and then by content,
//! because `.yaml` and `.json` are shared by CloudFormation, Kubernetes,
//! Terraform plans and countless unrelated files.

use std::path::Path;

use crate::{cloudformation, kubernetes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A `.tf` file: its directory is evaluated as a Terraform module.
    TerraformModuleFile,
    TerraformPlan,
    CloudFormation,
    Kubernetes,
}

/// The kind of input a path may be from its name alone; `None` means the
/// file is not IaC and need not be read. `Some(None)` means "read it and sniff".
pub fn by_extension(path: &Path) -> Option<Option<InputKind>> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".tf") {
        Some(Some(InputKind::TerraformModuleFile))
    } else if [".yaml", ".yml", ".json", ".template"]
        .iter()
        .any(|ext| name.ends_with(ext))
        && !is_known_non_iac_json(&name)
    {
        Some(None)
    } else {
        None
    }
}

/// Lockfiles and editor/tool configs that are JSON or YAML but never IaC;
/// skipping them avoids reading large files for nothing.
fn is_known_non_iac_json(name: &str) -> bool {
    matches!(
        name,
        "package-lock.json"
            | "package.json"
            | "composer.lock"
            | "pnpm-lock.yaml"
            | "tsconfig.json"
            | ".terraform.lock.hcl"
    ) || name.ends_with(".tfstate.backup")
}

/// Classifies a YAML/JSON/template file by its content.
pub fn by_content(path: &Path, content: &str) -> Option<InputKind> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let head = &content[..floor_char_boundary(content, 4096)];
    if name.ends_with(".json")
        && head.contains("\"format_version\"")
        && (content.contains("\"planned_values\"") || content.contains("\"terraform_version\""))
    {
        return Some(InputKind::TerraformPlan);
    }
    if cloudformation::looks_like_cloudformation(content) {
        return Some(InputKind::CloudFormation);
    }
    if kubernetes::looks_like_kubernetes(content) {
        return Some(InputKind::Kubernetes);
    }
    None
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

/// Whether bytes look binary (a NUL in the first 8 KiB), as git and ripgrep judge it.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_decides_what_is_read() {
        assert_eq!(
            by_extension(Path::new("a/main.tf")),
            Some(Some(InputKind::TerraformModuleFile))
        );
        assert_eq!(by_extension(Path::new("deploy.YAML")), Some(None));
        assert_eq!(by_extension(Path::new("package-lock.json")), None);
        assert_eq!(by_extension(Path::new("README.md")), None);
    }

    #[test]
    fn plan_json_is_recognised_by_content() {
        let plan = r#"{"format_version":"1.2","terraform_version":"1.9.0","planned_values":{}}"#;
        assert_eq!(
            by_content(Path::new("plan.json"), plan),
            Some(InputKind::TerraformPlan)
        );
        assert_eq!(by_content(Path::new("x.json"), r#"{"name":"app"}"#), None);
    }

    #[test]
    fn nul_bytes_mean_binary() {
        assert!(is_binary(b"abc\0def"));
        assert!(!is_binary(b"resource \"x\" \"y\" {}"));
    }
}
