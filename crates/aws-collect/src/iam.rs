//! IAM: users, groups, roles and customer managed policies (one paginated
//! GetAccountAuthorizationDetails), then per user credentials and MFA, the
//! password policy, the account summary and root MFA, server certificates.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::{
    AttachedPolicy as SdkAttached, EntityType, PolicyDetail, ReportStateType, SummaryKeyType,
};
use aws_sdk_iam::Client;
use palisade_aws::inventory::{
    AccessKey, AccountSummary, AttachedPolicy, Group, Iam, InlinePolicy, ManagedPolicy,
    PasswordPolicy, PasswordPolicyState, Role, RootCredentials, ServerCertificate, User,
};
use palisade_aws::policy::decode_document;
use palisade_aws::Gap;
use serde_json::Value;

use crate::{reason, time, Gaps};

const SERVICE: &str = "iam";
/// Users whose credentials are read at once.
const USER_CONCURRENCY: usize = 8;

fn gap(gaps: &Gaps, operation: &str, resource: Option<&str>, why: String) {
    gaps.push(Gap::new(SERVICE, None, operation, resource, why));
}

fn attached(list: &[SdkAttached]) -> Vec<AttachedPolicy> {
    list.iter()
        .map(|p| AttachedPolicy {
            name: p.policy_name().unwrap_or_default().to_string(),
            arn: p.policy_arn().unwrap_or_default().to_string(),
        })
        .collect()
}

fn inline(list: &[PolicyDetail]) -> Vec<InlinePolicy> {
    list.iter()
        .map(|p| InlinePolicy {
            name: p.policy_name().unwrap_or_default().to_string(),
            document: p
                .policy_document()
                .and_then(decode_document)
                .unwrap_or(Value::Null),
        })
        .collect()
}

fn tags(list: &[aws_sdk_iam::types::Tag]) -> Vec<(String, String)> {
    list.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// Everything IAM holds; `None` when not even the principals could be listed.
pub(crate) async fn collect(client: &Client, gaps: &Gaps) -> Option<Iam> {
    let mut iam = Iam::default();
    // AWS managed policies are known by ARN: leaving them out of the listing
    // saves the largest part of the answer.
    let mut pages = client
        .get_account_authorization_details()
        .filter(EntityType::User)
        .filter(EntityType::Group)
        .filter(EntityType::Role)
        .filter(EntityType::LocalManagedPolicy)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                gap(gaps, "GetAccountAuthorizationDetails", None, reason(&e));
                return None;
            }
        };
        for u in page.user_detail_list() {
            iam.users.push(User {
                name: u.user_name().unwrap_or_default().to_string(),
                arn: u.arn().unwrap_or_default().to_string(),
                created: u.create_date().map(time).unwrap_or_default(),
                inline_policies: inline(u.user_policy_list()),
                attached_policies: attached(u.attached_managed_policies()),
                groups: u.group_list().to_vec(),
                tags: tags(u.tags()),
                ..User::default()
            });
        }
        for g in page.group_detail_list() {
            iam.groups.push(Group {
                name: g.group_name().unwrap_or_default().to_string(),
                arn: g.arn().unwrap_or_default().to_string(),
                inline_policies: inline(g.group_policy_list()),
                attached_policies: attached(g.attached_managed_policies()),
            });
        }
        for r in page.role_detail_list() {
            iam.roles.push(Role {
                name: r.role_name().unwrap_or_default().to_string(),
                arn: r.arn().unwrap_or_default().to_string(),
                path: r.path().unwrap_or("/").to_string(),
                created: r.create_date().map(time).unwrap_or_default(),
                trust_policy: r
                    .assume_role_policy_document()
                    .and_then(decode_document)
                    .unwrap_or(Value::Null),
                inline_policies: inline(r.role_policy_list()),
                attached_policies: attached(r.attached_managed_policies()),
                tags: tags(r.tags()),
            });
        }
        for p in page.policies() {
            let arn = p.arn().unwrap_or_default();
            // AWS managed policies are known by ARN; only the account's own are checked.
            if arn.contains(":iam::aws:policy/") {
                continue;
            }
            let document = p
                .policy_version_list()
                .iter()
                .find(|v| v.is_default_version())
                .and_then(|v| v.document())
                .and_then(decode_document);
            let name = p
                .policy_name()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or(arn));
            iam.policies.push(ManagedPolicy {
                name: name.to_string(),
                arn: arn.to_string(),
                attachment_count: p.attachment_count().unwrap_or(0).max(0) as u32,
                document,
            });
        }
    }
    let summary = async {
        match client.get_account_summary().send().await {
            Ok(out) => {
                let map: HashMap<SummaryKeyType, i32> =
                    out.summary_map().cloned().unwrap_or_default();
                Some(AccountSummary {
                    root_mfa_enabled: map
                        .get(&SummaryKeyType::AccountMfaEnabled)
                        .copied()
                        .unwrap_or(0)
                        > 0,
                    root_access_keys_present: map
                        .get(&SummaryKeyType::AccountAccessKeysPresent)
                        .copied()
                        .unwrap_or(0)
                        > 0,
                })
            }
            Err(e) => {
                gap(gaps, "GetAccountSummary", None, reason(&e));
                None
            }
        }
    };
    let virtual_mfa = async {
        let mut iam = Iam::default();
        match client
            .list_virtual_mfa_devices()
            .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Assigned)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
        {
            Ok(devices) => {
                iam.virtual_mfa_listed = true;
                iam.root_virtual_mfa = devices
                    .iter()
                    .filter(|d| d.user().is_some_and(|u| u.arn().ends_with(":root")))
                    .map(|d| d.serial_number().to_string())
                    .collect();
            }
            Err(e) => gap(gaps, "ListVirtualMFADevices", None, reason(&e)),
        }
        iam
    };
    let certificates = async {
        let mut iam = Iam::default();
        match client
            .list_server_certificates()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
        {
            Ok(certificates) => {
                iam.server_certificates = certificates
                    .iter()
                    .filter_map(|c| {
                        Some(ServerCertificate {
                            name: c.server_certificate_name().to_string(),
                            arn: c.arn().to_string(),
                            expiration: time(c.expiration()?),
                        })
                    })
                    .collect();
            }
            Err(e) => gap(gaps, "ListServerCertificates", None, reason(&e)),
        }
        iam
    };
    // Everything but the principals' listing is independent: ask it all at once.
    let (_, password_policy, summary, virtual_mfa, certificates, root) = tokio::join!(
        user_details(client, &mut iam.users, gaps),
        password_policy(client, gaps),
        summary,
        virtual_mfa,
        certificates,
        root_credentials(client, gaps),
    );
    iam.password_policy = password_policy;
    iam.summary = summary;
    iam.virtual_mfa_listed = virtual_mfa.virtual_mfa_listed;
    iam.root_virtual_mfa = virtual_mfa.root_virtual_mfa;
    iam.server_certificates = certificates.server_certificates;
    iam.root = root;
    Some(iam)
}

/// The root user's row of the credential report, generated first if needed.
async fn root_credentials(client: &Client, gaps: &Gaps) -> Option<RootCredentials> {
    // Generation takes a few seconds on a large account; an existing report
    // younger than four hours is answered at once as COMPLETE.
    for attempt in 0..20 {
        match client.generate_credential_report().send().await {
            Ok(out) if out.state() == Some(&ReportStateType::Complete) => break,
            Ok(_) if attempt < 19 => tokio::time::sleep(Duration::from_millis(500)).await,
            Ok(_) => {}
            Err(e) => {
                gap(gaps, "GenerateCredentialReport", None, reason(&e));
                return None;
            }
        }
    }
    let out = match client.get_credential_report().send().await {
        Ok(out) => out,
        Err(e) => {
            gap(gaps, "GetCredentialReport", None, reason(&e));
            return None;
        }
    };
    let csv = out
        .content()
        .map(|blob| String::from_utf8_lossy(blob.as_ref()).into_owned())
        .unwrap_or_default();
    match palisade_aws::credential_report::root_credentials(&csv) {
        Ok(root) => Some(root),
        Err(e) => {
            gap(gaps, "GetCredentialReport", None, e.to_string());
            None
        }
    }
}

/// Per user: console password and its last use, MFA devices, access keys and their last use.
async fn user_details(client: &Client, users: &mut [User], gaps: &Gaps) {
    let last_sign_in: HashMap<String, chrono::DateTime<chrono::Utc>> = match client
        .list_users()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
    {
        Ok(list) => list
            .iter()
            .filter_map(|u| Some((u.user_name().to_string(), time(u.password_last_used()?))))
            .collect(),
        Err(e) => {
            gap(gaps, "ListUsers", None, reason(&e));
            HashMap::new()
        }
    };
    for user in users.iter_mut() {
        user.password_last_used = last_sign_in.get(&user.name).copied();
    }
    // Users are read a few at a time, each with its three listings at once.
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(USER_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, user) in users.iter().enumerate() {
        let (client, gaps, semaphore) = (client.clone(), gaps.clone(), semaphore.clone());
        let (name, arn) = (user.name.clone(), user.arn.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (index, credentials(&client, &name, &arn, &gaps).await)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, (password_enabled, mfa_devices, access_keys))) => {
                if let Some(user) = users.get_mut(index) {
                    if let Some(enabled) = password_enabled {
                        user.password_enabled = enabled;
                    }
                    user.mfa_devices = mfa_devices;
                    user.access_keys = access_keys;
                }
            }
            Err(e) => gap(gaps, "*", None, format!("user collector failed: {e}")),
        }
    }
}

/// One user's console password (`None` when unreadable), MFA devices and access keys.
async fn credentials(
    client: &Client,
    name: &str,
    arn: &str,
    gaps: &Gaps,
) -> (Option<bool>, Vec<String>, Vec<AccessKey>) {
    let (login, mfa, keys) = tokio::join!(
        client.get_login_profile().user_name(name).send(),
        client.list_mfa_devices().user_name(name).send(),
        client.list_access_keys().user_name(name).send(),
    );
    let password_enabled = match login {
        Ok(_) => Some(true),
        Err(e) if e.code() == Some("NoSuchEntity") => Some(false),
        Err(e) => {
            gap(gaps, "GetLoginProfile", Some(arn), reason(&e));
            None
        }
    };
    let mfa_devices = match mfa {
        Ok(out) => out
            .mfa_devices()
            .iter()
            .map(|d| d.serial_number().to_string())
            .collect(),
        Err(e) => {
            gap(gaps, "ListMFADevices", Some(arn), reason(&e));
            Vec::new()
        }
    };
    let mut access_keys = Vec::new();
    match keys {
        Ok(out) => {
            for key in out.access_key_metadata() {
                let Some(id) = key.access_key_id() else {
                    continue;
                };
                let last_used = match client
                    .get_access_key_last_used()
                    .access_key_id(id)
                    .send()
                    .await
                {
                    Ok(used) => used
                        .access_key_last_used()
                        .and_then(|u| u.last_used_date())
                        .map(time),
                    Err(e) => {
                        gap(gaps, "GetAccessKeyLastUsed", Some(arn), reason(&e));
                        None
                    }
                };
                access_keys.push(AccessKey {
                    id: id.to_string(),
                    active: key.status() == Some(&aws_sdk_iam::types::StatusType::Active),
                    created: key.create_date().map(time).unwrap_or_default(),
                    last_used,
                });
            }
        }
        Err(e) => gap(gaps, "ListAccessKeys", Some(arn), reason(&e)),
    }
    (password_enabled, mfa_devices, access_keys)
}

async fn password_policy(client: &Client, gaps: &Gaps) -> PasswordPolicyState {
    match client.get_account_password_policy().send().await {
        Ok(out) => match out.password_policy() {
            Some(p) => PasswordPolicyState::Set(PasswordPolicy {
                minimum_length: p.minimum_password_length().unwrap_or(6).max(0) as u32,
                require_uppercase: p.require_uppercase_characters(),
                require_lowercase: p.require_lowercase_characters(),
                require_numbers: p.require_numbers(),
                require_symbols: p.require_symbols(),
                reuse_prevention: p.password_reuse_prevention().map(|n| n.max(0) as u32),
                max_age_days: p.max_password_age().filter(|n| *n > 0).map(|n| n as u32),
            }),
            None => PasswordPolicyState::NotSet,
        },
        Err(e) if e.code() == Some("NoSuchEntity") => PasswordPolicyState::NotSet,
        Err(e) => {
            gap(gaps, "GetAccountPasswordPolicy", None, reason(&e));
            PasswordPolicyState::Unknown
        }
    }
}
