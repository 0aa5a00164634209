//! `palisade scan aws`: collect a live account (or several, with
//! --role-arn), run the posture checks, keep the inventory as assets.

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use palisade_aws::Inventory;
use palisade_aws_collect::{collect, identity, organization_accounts, sdk_config, CollectOptions};
use palisade_core::{ScanError, ScanOutput};

use super::scan::{finish_scan_except, ScanResult};
use crate::args::{GlobalArgs, ScanAwsArgs};
use crate::config::Config;
use crate::Outcome;

pub fn run(global: &GlobalArgs, args: ScanAwsArgs) -> Result<Outcome> {
    let config = Config::load(global.config.as_deref(), std::path::Path::new("."))?;
    let started_at = Utc::now();
    let base = CollectOptions {
        profile: args.profile.clone(),
        regions: args.regions.clone(),
        role_arn: None,
        external_id: args.external_id.clone(),
        concurrency: args.concurrency.max(1),
        call_timeout: Duration::from_secs(args.call_timeout.max(1)),
        ..CollectOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // One collection per account: the caller's own, each --role-arn, or each
    // account of the organization.
    let targets: Vec<CollectOptions> = if let Some(role_name) = &args.organization {
        runtime.block_on(organization_targets(&base, role_name))?
    } else if args.role_arns.is_empty() {
        vec![base]
    } else {
        args.role_arns
            .iter()
            .map(|arn| CollectOptions {
                role_arn: Some(arn.clone()),
                ..base.clone()
            })
            .collect()
    };
    let mut inventories: Vec<Inventory> = Vec::new();
    let mut failed_accounts: Vec<ScanError> = Vec::new();
    for target in &targets {
        match runtime.block_on(collect(target)) {
            Ok(inventory) => {
                tracing::info!(
                    account = %inventory.account_id,
                    regions = inventory.regions.len(),
                    gaps = inventory.gaps.len(),
                    "collected"
                );
                inventories.push(inventory);
            }
            // With several accounts, one that cannot be entered is not checked; the others are.
            Err(error) if targets.len() > 1 => {
                let who = target
                    .role_arn
                    .clone()
                    .unwrap_or_else(|| "the caller's account".to_string());
                tracing::warn!(account = %who, %error, "account not scanned");
                failed_accounts.push(ScanError {
                    path: format!("aws://{who}"),
                    line: None,
                    message: format!("not checked: {error}"),
                });
            }
            Err(error) => return Err(error).context("cannot scan the AWS account"),
        }
    }
    drop(runtime);

    let disabled: Vec<String> = config
        .disabled_rules
        .iter()
        .chain(&args.common.disabled_rules)
        .cloned()
        .collect();
    let now = Utc::now();
    let any_account_failed = !failed_accounts.is_empty();
    let mut output = ScanOutput {
        errors: failed_accounts,
        ..ScanOutput::default()
    };
    for inventory in &inventories {
        let scanned = palisade_aws::scan(inventory, now, &disabled);
        output.findings.extend(scanned.findings);
        output.errors.extend(scanned.errors);
        output.inputs_scanned += scanned.inputs_scanned;
    }
    for finding in &mut output.findings {
        if let Some(severity) = config.severity_overrides.get(&finding.rule_id) {
            finding.severity = *severity;
        }
    }
    if !args.common.no_store {
        super::assets::record(global, &inventories)?;
    }
    // One failed call holds back only the checks that read its service; an
    // account that could not be entered holds back everything.
    let mut unchecked: Vec<String> = inventories
        .iter()
        .flat_map(palisade_aws::coverage::unchecked_rules)
        .collect();
    unchecked.sort();
    unchecked.dedup();
    if any_account_failed {
        unchecked = palisade_aws::builtin_rules()
            .into_iter()
            .map(|r| r.id)
            .collect();
    }
    finish_scan_except(
        global,
        ScanResult {
            engine: "aws",
            scope: scope(&inventories, &args.regions),
            started_at,
            output,
            rules: palisade_aws::builtin_rules(),
            sla: config.sla,
            partial: false,
        },
        &unchecked,
        &args.common.output,
        args.common.fail_on,
        args.common.no_store,
    )
}

/// `aws:111122223333` (every enabled region) or `aws:111122223333/eu-west-1,us-east-1`:
/// a run resolves only findings of the same accounts and regions.
fn scope(inventories: &[Inventory], explicit_regions: &[String]) -> String {
    let mut accounts: Vec<&str> = inventories.iter().map(|i| i.account_id.as_str()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let mut scope = format!("aws:{}", accounts.join(","));
    if !explicit_regions.is_empty() {
        let mut regions = explicit_regions.to_vec();
        regions.sort();
        regions.dedup();
        scope.push('/');
        scope.push_str(&regions.join(","));
    }
    scope
}

/// The caller's own account with its own credentials, and every other
/// active account of the organization through `role_name`.
async fn organization_targets(
    base: &CollectOptions,
    role_name: &str,
) -> Result<Vec<CollectOptions>> {
    let config = sdk_config(base).await;
    let (own_account, partition) = identity(&config).await?;
    let accounts = organization_accounts(&config).await?;
    tracing::info!(accounts = accounts.len(), "organization listed");
    let mut targets = vec![base.clone()];
    for (account, name) in accounts.into_iter().filter(|(id, _)| *id != own_account) {
        tracing::debug!(%account, %name, "member account");
        targets.push(CollectOptions {
            role_arn: Some(format!("arn:{partition}:iam::{account}:role/{role_name}")),
            ..base.clone()
        });
    }
    Ok(targets)
}
