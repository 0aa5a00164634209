//! AWS posture: the typed inventory of an account and the checks over it.
//!
//! This crate owns three things, none of which touches the network:
//! - [`Inventory`]: what a collector found in one account (IAM, S3, and per
//!   region EC2/VPC, CloudTrail, KMS), plus the [`Gap`]s it could not read;
//! - the check registry ([`checks::CHECKS`]): pure functions from an
//!   inventory to findings, each carrying CIS AWS Foundations ids and the
//!   equivalent Prowler check ids;
//! - [`exposure`]: which resources the internet can actually reach, and
//!   [`assets`]: the inventory flattened into assets for the store.
//!
//! The AWS SDK lives in `palisade-aws-collect`, which fills an [`Inventory`];
//! everything here is tested with hand-written inventories.
//!
//! ```
//! use palisade_aws::{scan, Inventory};
//! let inventory = Inventory { account_id: "111122223333".into(), ..Inventory::default() };
//! let output = scan(&inventory, inventory.collected_at, &[]);
//! assert!(output.findings.is_empty());
//! ```
//!
//! A check never reads a missing part of the inventory as a pass: it does not
//! run on it, and [`scan`] turns each gap into a "not checked" error.

pub mod assets;
pub mod checks;
pub mod coverage;
pub mod credential_report;
pub mod exposure;
pub mod inventory;
/// IAM policy documents, shared with the IaC engine.
pub use palisade_core::iam_policy as policy;

use chrono::{DateTime, Utc};
use palisade_core::{Finding, Resource, ScanError, ScanOutput};

pub use checks::builtin_rules;
pub use inventory::{Gap, Inventory};

/// Runs every enabled check over the inventory. `disabled` holds rule ids,
/// with a trailing `*` disabling a family (`aws.iam.*`).
pub fn scan(inventory: &Inventory, now: DateTime<Utc>, disabled: &[String]) -> ScanOutput {
    let context = checks::Context { now };
    let mut findings = Vec::new();
    for check in checks::CHECKS
        .iter()
        .filter(|c| !is_disabled(c.rule.id, disabled))
    {
        let rule = check.rule.to_rule();
        for hit in (check.run)(inventory, &context) {
            let resource = Resource {
                kind: hit.kind.to_string(),
                id: hit.id,
                file: None,
                account: Some(inventory.account_id.clone()),
                region: hit.region,
            };
            let mut finding = Finding::new(&rule, resource, hit.message);
            if let Some(evidence) = hit.evidence {
                finding = finding.with_evidence(evidence);
            }
            if let Some(discriminator) = hit.discriminator {
                finding = finding.with_discriminator(&discriminator);
            }
            findings.push(finding);
        }
    }
    ScanOutput {
        findings,
        errors: inventory
            .gaps
            .iter()
            .map(|gap| not_checked(inventory, gap))
            .collect(),
        inputs_scanned: assets::assets(inventory).len(),
    }
}

/// A gap as the report shows it: `aws://ACCOUNT/REGION/SERVICE:Operation[/resource]`.
pub fn not_checked(inventory: &Inventory, gap: &Gap) -> ScanError {
    let mut path = format!(
        "aws://{}/{}/{}:{}",
        inventory.account_id,
        gap.region.as_deref().unwrap_or("global"),
        gap.service,
        gap.operation
    );
    if let Some(resource) = &gap.resource {
        path.push('/');
        path.push_str(resource);
    }
    ScanError {
        path,
        line: None,
        message: format!("not checked: {}", gap.reason),
    }
}

fn is_disabled(id: &str, disabled: &[String]) -> bool {
    disabled.iter().any(|d| match d.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => d == id,
    })
}
