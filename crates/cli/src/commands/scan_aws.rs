//! `palisade scan aws`: collect a live account (or several, with
//! --role-arn), run the posture checks, keep the inventory as assets.

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use palisade_aws::Inventory;
use palisade_aws_collect::{collect, CollectOptions};
use palisade_core::ScanOutput;

use super::scan::{finish_scan, ScanResult};
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
    // One collection per account: the caller's own, or each --role-arn.
    let targets: Vec<CollectOptions> = if args.role_arns.is_empty() {
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut inventories: Vec<Inventory> = Vec::new();
    for target in &targets {
        let inventory =
            runtime
                .block_on(collect(target))
                .with_context(|| match &target.role_arn {
                    Some(arn) => format!("cannot scan the account of {arn}"),
                    None => "cannot scan the AWS account".to_string(),
                })?;
        tracing::info!(
            account = %inventory.account_id,
            regions = inventory.regions.len(),
            gaps = inventory.gaps.len(),
            "collected"
        );
        inventories.push(inventory);
    }
    drop(runtime);

    let disabled: Vec<String> = config
        .disabled_rules
        .iter()
        .chain(&args.common.disabled_rules)
        .cloned()
        .collect();
    let now = Utc::now();
    let mut output = ScanOutput::default();
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
    finish_scan(
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
