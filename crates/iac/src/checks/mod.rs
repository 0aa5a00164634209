//! The built-in check registry.
//!
//! A [`Check`] pairs one rule's metadata ([`RuleSpec`]) with the function that
//! evaluates it. Per-resource checks name the resource kinds they apply to, so
//! the engine dispatches each resource to only the checks that can fire on it
//! (one pass per resource, no per-check walk of the whole input). Set checks
//! see every resource at once, for conditions that span resources (a bucket
//! whose versioning lives in a separate `aws_s3_bucket_versioning`, a
//! namespace without any NetworkPolicy).
//!
//! Every rule is registered exactly once, here; `docs/rules.md` and
//! `palisade rules list` are generated from [`all_checks`].

use std::collections::HashMap;

use palisade_core::{Category, ComplianceRef, PeerId, Rule, Severity};
use serde_json::Value;

use crate::model::IacResource;

pub(crate) mod aws;
pub(crate) mod k8s;

/// Static metadata of a built-in rule.
#[derive(Debug)]
pub struct RuleSpec {
    /// `iac.aws.s3-encryption`, `iac.k8s.privileged-container`.
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub description: &'static str,
    pub remediation: &'static str,
    pub references: &'static [&'static str],
    /// `(framework, control)`, e.g. `("CIS AWS Foundations v3.0", "2.1.1")`.
    pub compliance: &'static [(&'static str, &'static str)],
    /// Equivalent Checkov check ids (used to honour `checkov:skip` comments).
    pub checkov: &'static [&'static str],
}

impl RuleSpec {
    pub fn to_rule(&self) -> Rule {
        Rule {
            id: self.id.to_string(),
            title: self.title.into(),
            severity: self.severity,
            category: Category::Misconfiguration,
            description: self.description.to_string(),
            remediation: self.remediation.into(),
            references: self.references.iter().map(|r| r.to_string()).collect(),
            compliance: self
                .compliance
                .iter()
                .map(|(framework, control)| ComplianceRef::new(*framework, *control))
                .collect(),
            peers: self
                .checkov
                .iter()
                .map(|id| PeerId::new("checkov", *id))
                .collect(),
        }
    }
}

/// One failed condition on one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// What is wrong with this resource, in one sentence.
    pub message: String,
    /// The attribute and value that prove it, e.g. `acl = "public-read"`.
    pub evidence: Option<String>,
    /// Distinguishes several violations of one rule on one resource
    /// (a container name, a port); part of the fingerprint.
    pub discriminator: Option<String>,
    /// `(kind, id)` of what the finding is really about when that is not the
    /// resource it is reported on (a namespace, reported at its first workload);
    /// the finding's identity then follows the subject, not the resource.
    pub subject: Option<(String, String)>,
}

impl Violation {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            evidence: None,
            discriminator: None,
            subject: None,
        }
    }

    pub fn evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = Some(evidence.into());
        self
    }

    pub fn discriminator(mut self, discriminator: impl Into<String>) -> Self {
        self.discriminator = Some(discriminator.into());
        self
    }

    pub fn subject(mut self, kind: impl Into<String>, id: impl Into<String>) -> Self {
        self.subject = Some((kind.into(), id.into()));
        self
    }
}

pub type ResourceCheckFn = fn(&IacResource, &Context) -> Vec<Violation>;
/// Returns `(index into Context::resources, violation)` pairs.
pub type SetCheckFn = fn(&Context) -> Vec<(usize, Violation)>;

pub enum CheckKind {
    /// Runs on each resource whose `kind` is listed.
    PerResource {
        kinds: &'static [&'static str],
        run: ResourceCheckFn,
    },
    /// Runs once over all resources of the scan.
    Set(SetCheckFn),
}

pub struct Check {
    pub rule: RuleSpec,
    pub kind: CheckKind,
}

/// Every built-in check, each rule once.
pub fn all_checks() -> impl Iterator<Item = &'static Check> {
    aws::CHECKS.iter().chain(k8s::CHECKS.iter())
}

/// What checks can see besides the resource they are given.
pub struct Context<'a> {
    pub resources: &'a [IacResource],
    by_kind: HashMap<&'a str, Vec<usize>>,
    by_address: HashMap<&'a str, usize>,
}

impl<'a> Context<'a> {
    pub fn new(resources: &'a [IacResource]) -> Self {
        let mut by_kind: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_address = HashMap::with_capacity(resources.len());
        for (index, resource) in resources.iter().enumerate() {
            by_kind
                .entry(resource.kind.as_str())
                .or_default()
                .push(index);
            by_address.entry(resource.address.as_str()).or_insert(index);
        }
        Self {
            resources,
            by_kind,
            by_address,
        }
    }

    /// The resource with this address (`ns/ServiceAccount/name`, `aws_kms_key.k`), if any.
    pub fn by_address(&self, address: &str) -> Option<&'a IacResource> {
        self.by_address.get(address).map(|&i| &self.resources[i])
    }

    /// Every resource of one kind, with its index.
    pub fn of_kind<'s>(
        &'s self,
        kind: &str,
    ) -> impl Iterator<Item = (usize, &'a IacResource)> + 's {
        self.by_kind
            .get(kind)
            .into_iter()
            .flatten()
            .map(|&i| (i, &self.resources[i]))
    }

    /// Resources of `kind` whose attribute `path` refers to `target` (by a
    /// `"${address.attr}"` reference or by the target's literal name/id), for
    /// settings kept in companion resources (`aws_s3_bucket_versioning.bucket`).
    pub fn companions<'s>(
        &'s self,
        kind: &str,
        path: &'s str,
        target: &IacResource,
    ) -> impl Iterator<Item = &'a IacResource> + 's {
        let target_address = target.address.clone();
        let target_name = target
            .get("bucket")
            .or_else(|| target.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        self.of_kind(kind).map(|(_, r)| r).filter(move |candidate| {
            candidate
                .get(path)
                .is_some_and(|v| refers_to(v, &target_address, target_name.as_deref()))
        })
    }
}

/// Whether `value` is a reference to the resource at `address`
/// (`"${aws_s3_bucket.logs.id}"`, `"${LogicalId}"`) or equals its literal name.
pub fn refers_to(value: &Value, address: &str, literal_name: Option<&str>) -> bool {
    match value {
        Value::String(s) => {
            if let Some(inner) = s.strip_prefix("${").and_then(|s| s.strip_suffix('}')) {
                inner == address
                    || inner
                        .strip_prefix(address)
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            } else {
                literal_name.is_some_and(|name| name == s)
            }
        }
        Value::Object(map) => map
            .get("Ref")
            .and_then(Value::as_str)
            .is_some_and(|r| r == address),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rule_ids_are_unique_and_namespaced() {
        let mut seen = HashSet::new();
        for check in all_checks() {
            assert!(check.rule.id.starts_with("iac."), "{}", check.rule.id);
            assert!(
                seen.insert(check.rule.id),
                "duplicate rule id {}",
                check.rule.id
            );
            assert!(!check.rule.title.is_empty() && !check.rule.remediation.is_empty());
        }
    }

    #[test]
    fn references_match_address_prefix_only_at_a_boundary() {
        let v = Value::String("${aws_s3_bucket.logs.id}".into());
        assert!(refers_to(&v, "aws_s3_bucket.logs", None));
        assert!(!refers_to(&v, "aws_s3_bucket.log", None));
        assert!(refers_to(
            &Value::String("my-bucket".into()),
            "x",
            Some("my-bucket")
        ));
    }
}
