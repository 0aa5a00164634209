//! Custom policies in Rego (OPA/conftest style), evaluated with `regorus`.
//!
//! Each `.rego` file under a policy directory (tests `*_test.rego` aside) is
//! one policy. Its `deny`, `violation` and `warn` rules are evaluated once per
//! resource over the input document described in `docs/rego.md`:
//! `{framework, kind, address, name, file, start_line, end_line, attributes}`.
//! Each result (a string, or an object with `msg`) becomes a finding of the
//! policy's rule. Rule metadata comes from a `__rego_metadata__` object
//! (Trivy's convention) or an OPA `# METADATA` comment block; both may carry
//! `id`, `title`, `severity`, `description`, `remediation`/`recommended_actions`
//! and references. Both Rego v1 and the older v0 syntax load.

use std::path::{Path, PathBuf};

use palisade_core::{Category, Rule, Severity};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::checks::Violation;
use crate::model::IacResource;

#[derive(Debug, thiserror::Error)]
pub enum RegoError {
    #[error("cannot read policy directory {path}: {source}")]
    ReadDir {
        path: String,
        source: std::io::Error,
    },
    #[error("policy {path}: {message}")]
    Policy { path: String, message: String },
}

/// The result rules palisade evaluates, with the severity `warn` implies.
const ENTRYPOINTS: [&str; 3] = ["deny", "violation", "warn"];

struct Policy {
    /// `data.<package>`.
    package: String,
    rule: Rule,
    entrypoints: Vec<&'static str>,
}

/// Loaded policies, ready to evaluate.
pub struct PolicySet {
    engine: regorus::Engine,
    policies: Vec<Policy>,
}

/// A policy result on one resource.
pub struct PolicyViolation {
    pub resource_index: usize,
    pub rule_id: String,
    pub violation: Violation,
}

impl PolicySet {
    /// Loads every policy under `dirs`. A policy that does not parse is an
    /// error: a custom control that silently never runs is worse than none.
    pub fn load(dirs: &[PathBuf]) -> Result<Self, RegoError> {
        let mut engine = regorus::Engine::new();
        let mut policies = Vec::new();
        for dir in dirs {
            for path in policy_files(dir)? {
                let display = path.display().to_string();
                let text = std::fs::read_to_string(&path).map_err(|e| RegoError::Policy {
                    path: display.clone(),
                    message: e.to_string(),
                })?;
                let package = add_policy(&mut engine, &display, &text)?;
                let entrypoints: Vec<&'static str> = ENTRYPOINTS
                    .into_iter()
                    .filter(|name| declares_rule(&text, name))
                    .collect();
                if entrypoints.is_empty() {
                    return Err(RegoError::Policy {
                        path: display,
                        message: "declares none of the rules deny, violation or warn".into(),
                    });
                }
                let metadata = rego_metadata(&mut engine, &package)
                    .or_else(|| comment_metadata(&text))
                    .unwrap_or(Value::Null);
                let rule = rule_from_metadata(&package, &metadata, &entrypoints);
                policies.push(Policy {
                    package,
                    rule,
                    entrypoints,
                });
            }
        }
        Ok(Self { engine, policies })
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.policies.iter().map(|p| &p.rule)
    }

    /// Evaluates every policy on every resource, in parallel (one engine clone per worker).
    pub fn evaluate(&self, resources: &[IacResource]) -> Vec<PolicyViolation> {
        if self.policies.is_empty() {
            return Vec::new();
        }
        resources
            .par_iter()
            .enumerate()
            .map_init(
                || self.engine.clone(),
                |engine, (index, resource)| self.evaluate_one(engine, index, resource),
            )
            .flatten_iter()
            .collect()
    }

    fn evaluate_one(
        &self,
        engine: &mut regorus::Engine,
        resource_index: usize,
        resource: &IacResource,
    ) -> Vec<PolicyViolation> {
        engine.set_input(regorus::Value::from(input_document(resource)));
        let mut out = Vec::new();
        for policy in &self.policies {
            for entrypoint in &policy.entrypoints {
                let query = format!("{}.{}", policy.package, entrypoint);
                let Ok(result) = engine.eval_rule(query) else {
                    continue;
                };
                let Ok(result) = serde_json::to_value(&result) else {
                    continue;
                };
                for message in result_messages(&result) {
                    out.push(PolicyViolation {
                        resource_index,
                        rule_id: policy.rule.id.clone(),
                        violation: Violation::new(message.clone()).discriminator(message),
                    });
                }
            }
        }
        out
    }
}

/// The document a policy sees as `input`.
pub fn input_document(resource: &IacResource) -> Value {
    json!({
        "framework": resource.framework.as_str(),
        "kind": resource.kind,
        "address": resource.address,
        "name": resource.name,
        "file": resource.file,
        "start_line": resource.start_line,
        "end_line": resource.end_line,
        "attributes": resource.attributes,
    })
}

fn policy_files(dir: &Path) -> Result<Vec<PathBuf>, RegoError> {
    let read_error = |source| RegoError::ReadDir {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() && !name.starts_with('.') {
                pending.push(path);
            } else if name.ends_with(".rego") && !name.ends_with("_test.rego") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Adds a policy, trying Rego v1 first and the v0 syntax (conftest's
/// `deny[msg] { ... }`) second; the flag is recorded per module.
fn add_policy(engine: &mut regorus::Engine, path: &str, text: &str) -> Result<String, RegoError> {
    engine.set_rego_v0(false);
    match engine.add_policy(path.to_string(), text.to_string()) {
        Ok(package) => Ok(package),
        Err(v1_error) => {
            engine.set_rego_v0(true);
            let result = engine.add_policy(path.to_string(), text.to_string());
            engine.set_rego_v0(false);
            result.map_err(|_| RegoError::Policy {
                path: path.to_string(),
                message: first_line(&v1_error.to_string()),
            })
        }
    }
}

fn first_line(message: &str) -> String {
    message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message)
        .trim()
        .to_string()
}

fn declares_rule(text: &str, name: &str) -> bool {
    text.lines().any(|line| {
        line.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(['[', ' ', '{', ':', '=']))
    })
}

fn rego_metadata(engine: &mut regorus::Engine, package: &str) -> Option<Value> {
    engine.set_input(regorus::Value::new_object());
    let value = engine
        .eval_rule(format!("{package}.__rego_metadata__"))
        .ok()?;
    serde_json::to_value(&value).ok().filter(Value::is_object)
}

/// The YAML of an OPA `# METADATA` comment block, flattened with its `custom` map.
fn comment_metadata(text: &str) -> Option<Value> {
    let mut lines = text.lines().skip_while(|l| l.trim() != "# METADATA");
    lines.next()?;
    let yaml: Vec<&str> = lines
        .map_while(|l| l.trim_start().strip_prefix('#'))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let mut value: Value = serde_norway::from_str(&yaml.join("\n")).ok()?;
    if let Some(custom) = value.get("custom").cloned() {
        if let (Some(map), Some(custom)) = (value.as_object_mut(), custom.as_object()) {
            for (key, v) in custom {
                map.entry(key.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    Some(value)
}

fn rule_from_metadata(package: &str, metadata: &Value, entrypoints: &[&str]) -> Rule {
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| metadata.get(*k).and_then(Value::as_str))
            .map(str::to_string)
    };
    let package_path = package.strip_prefix("data.").unwrap_or(package);
    let default_severity = if entrypoints == ["warn"] {
        Severity::Low
    } else {
        Severity::Medium
    };
    let references = ["references", "related_resources", "url"]
        .iter()
        .filter_map(|k| metadata.get(*k))
        .flat_map(|v| match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().or_else(|| i.get("ref").and_then(Value::as_str)))
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    Rule {
        id: text(&["id", "avd_id"]).unwrap_or_else(|| format!("rego.{package_path}")),
        title: text(&["title"])
            .unwrap_or_else(|| format!("Custom policy {package_path}"))
            .into(),
        severity: text(&["severity"])
            .and_then(|s| s.parse().ok())
            .unwrap_or(default_severity),
        category: Category::Misconfiguration,
        description: text(&["description"]).unwrap_or_default(),
        remediation: text(&["remediation", "recommended_actions", "recommended_action"])
            .unwrap_or_else(|| "See the policy's documentation.".to_string())
            .into(),
        references,
        compliance: Default::default(),
        peers: Vec::new(),
    }
}

/// Messages of a `deny`/`violation`/`warn` result: a set of strings or of
/// objects with `msg`, or a single string.
fn result_messages(result: &Value) -> Vec<String> {
    let message = |item: &Value| match item {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map
            .get("msg")
            .or_else(|| map.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    };
    match result {
        Value::Array(items) => items.iter().filter_map(message).collect(),
        Value::String(s) if s != "<undefined>" => vec![s.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Framework;

    fn bucket(acl: &str) -> IacResource {
        IacResource {
            framework: Framework::Terraform,
            kind: "aws_s3_bucket".into(),
            address: "aws_s3_bucket.b".into(),
            name: "b".into(),
            file: "main.tf".into(),
            start_line: 1,
            end_line: 3,
            attributes: json!({ "acl": acl }),
        }
    }

    fn policies(files: &[(&str, &str)]) -> PolicySet {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        PolicySet::load(&[dir.path().to_path_buf()]).unwrap()
    }

    #[test]
    fn v1_policy_with_rego_metadata_produces_violations() {
        let set = policies(&[(
            "acl.rego",
            r#"package custom.s3acl
import rego.v1
__rego_metadata__ := {"id": "ACME-001", "title": "No public ACL", "severity": "HIGH", "recommended_actions": "Use private"}
deny contains msg if {
  input.kind == "aws_s3_bucket"
  input.attributes.acl == "public-read"
  msg := sprintf("%s is public", [input.address])
}
"#,
        )]);
        let rule = set.rules().next().unwrap();
        assert_eq!(rule.id, "ACME-001");
        assert_eq!(rule.severity, Severity::High);
        assert_eq!(&*rule.remediation, "Use private");
        let found = set.evaluate(&[bucket("private"), bucket("public-read")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].resource_index, 1);
        assert_eq!(found[0].violation.message, "aws_s3_bucket.b is public");
    }

    #[test]
    fn v0_conftest_policy_with_metadata_comment_loads() {
        let set = policies(&[(
            "legacy.rego",
            r#"# METADATA
# title: Buckets need an ACL
# custom:
#   severity: low
package legacy

deny[msg] {
  not input.attributes.acl
  msg := "no acl"
}
"#,
        )]);
        let rule = set.rules().next().unwrap();
        assert_eq!(rule.id, "rego.legacy");
        assert_eq!(&*rule.title, "Buckets need an ACL");
        assert_eq!(rule.severity, Severity::Low);
        let mut no_acl = bucket("x");
        no_acl.attributes = json!({});
        assert_eq!(set.evaluate(&[no_acl, bucket("private")]).len(), 1);
    }

    #[test]
    fn broken_policy_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.rego"),
            "package x\ndeny contains msg if {",
        )
        .unwrap();
        let err = PolicySet::load(&[dir.path().to_path_buf()]).err().unwrap();
        assert!(err.to_string().contains("bad.rego"), "{err}");
    }
}
