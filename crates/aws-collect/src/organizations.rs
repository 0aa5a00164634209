//! AWS Organizations: the member accounts to scan with `--organization`.

use aws_config::SdkConfig;

use crate::{reason, CollectError};

/// `(account id, name)` of every active account of the organization the
/// credentials' account manages (or is delegated administrator of).
pub async fn organization_accounts(
    config: &SdkConfig,
) -> Result<Vec<(String, String)>, CollectError> {
    let client = aws_sdk_organizations::Client::new(config);
    let pages = client
        .list_accounts()
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| CollectError::Organization(reason(&e)))?;
    let mut out: Vec<(String, String)> = pages
        .iter()
        .flat_map(|page| page.accounts())
        .filter(|a| a.status().is_none_or(|s| s.as_str() == "ACTIVE"))
        .filter_map(|a| {
            Some((
                a.id()?.to_string(),
                a.name().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    out.sort();
    Ok(out)
}
