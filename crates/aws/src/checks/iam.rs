//! IAM checks: the root user, the password policy, users and their
//! credentials, policies granting too much, role trust.

use palisade_core::Severity;
use serde_json::Value;

use super::{days_since, Check, Hit, RuleSpec, CIS_AWS, ISO, SOC2};
use crate::inventory::{
    AttachedPolicy, Iam, InlinePolicy, Inventory, PasswordPolicy, PasswordPolicyState,
};
use crate::policy;

const ACCOUNT: &str = "AWS::Account";
const USER: &str = "AWS::IAM::User";
const ROLE: &str = "AWS::IAM::Role";
const GROUP: &str = "AWS::IAM::Group";
const POLICY: &str = "AWS::IAM::ManagedPolicy";
const CERTIFICATE: &str = "AWS::IAM::ServerCertificate";

/// Credentials unused for this many days should be disabled (CIS 1.12).
pub(crate) const UNUSED_DAYS: i64 = 45;
/// Access keys older than this many days should be rotated (CIS 1.14).
pub(crate) const ROTATION_DAYS: i64 = 90;

fn root_arn(inv: &Inventory) -> String {
    format!("arn:{}:iam::{}:root", partition(inv), inv.account_id)
}

fn partition(inv: &Inventory) -> &str {
    if inv.partition.is_empty() {
        "aws"
    } else {
        &inv.partition
    }
}

fn iam(inv: &Inventory) -> Option<&Iam> {
    inv.iam.as_ref()
}

pub(crate) const ROOT_ACCESS_KEY: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.root-access-key",
        title: "Root user has access keys",
        severity: Severity::Critical,
        description: "Access keys of the root user give unrestricted, unconditional access to the whole account and cannot be limited by any policy. They are the most valuable credential to steal.",
        remediation: "Sign in as root, open Security credentials and delete the access keys; use IAM roles for programmatic access.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_add-key.html"],
        compliance: &[(CIS_AWS, "1.4"), (SOC2, "CC6.1"), (ISO, "A.8.2")],
        prowler: &["iam_no_root_access_key"],
    },
    run: |inv, _| {
        let Some(summary) = iam(inv).and_then(|i| i.summary) else {
            return vec![];
        };
        if !summary.root_access_keys_present {
            return vec![];
        }
        vec![Hit::new(ACCOUNT, root_arn(inv), "the root user has active access keys")
            .evidence("AccountAccessKeysPresent: 1")]
    },
};

/// Root sign-ins or key uses within this many days are reported (CIS 1.7).
pub(crate) const ROOT_USAGE_DAYS: i64 = 30;

pub(crate) const ROOT_USAGE: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.root-usage",
        title: "Root user was used recently",
        severity: Severity::High,
        description: "The root user should only be used for the few tasks that require it (closing the account, changing its support plan). A sign-in or access-key call as root in the last 30 days means it is in everyday use, with no policy able to limit it. Read from the IAM credential report.",
        remediation: "Find what was done as root in CloudTrail (userIdentity.type = Root), move that work to IAM Identity Center users or roles, and put the root credentials in a safe with MFA.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-tasks.html", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html"],
        compliance: &[(CIS_AWS, "1.7"), (SOC2, "CC6.1"), (ISO, "A.8.2")],
        prowler: &["iam_avoid_root_usage"],
    },
    run: |inv, cx| {
        let Some(root) = iam(inv).and_then(|i| i.root) else {
            return vec![];
        };
        [("signed in to the console", root.password_last_used), ("used an access key", root.access_key_last_used)]
            .into_iter()
            .filter_map(|(what, when)| {
                let when = when?;
                let days = days_since(when, cx.now);
                (days <= ROOT_USAGE_DAYS).then(|| {
                    Hit::new(ACCOUNT, root_arn(inv), format!("the root user {what} {days} days ago"))
                        .evidence(format!("last used {}", when.to_rfc3339()))
                        .discriminator(what)
                })
            })
            .collect()
    },
};

pub(crate) const ROOT_MFA: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.root-mfa",
        title: "Root user has no MFA",
        severity: Severity::Critical,
        description: "Without a second factor, the root user's password alone gives full control of the account, including closing it.",
        remediation: "Sign in as root and assign an MFA device (preferably a hardware key) under Security credentials.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-mfa-for-root.html"],
        compliance: &[(CIS_AWS, "1.5"), (SOC2, "CC6.1"), (ISO, "A.8.5")],
        prowler: &["iam_root_mfa_enabled"],
    },
    run: |inv, _| {
        let Some(summary) = iam(inv).and_then(|i| i.summary) else {
            return vec![];
        };
        if summary.root_mfa_enabled {
            return vec![];
        }
        vec![Hit::new(ACCOUNT, root_arn(inv), "the root user has no MFA device")
            .evidence("AccountMFAEnabled: 0")]
    },
};

pub(crate) const ROOT_HARDWARE_MFA: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.root-hardware-mfa",
        title: "Root user MFA is a virtual device, not hardware",
        severity: Severity::Medium,
        description: "A virtual MFA lives on a phone or laptop that can be lost, cloned or compromised along with the password. CIS asks for a hardware device for the root user.",
        remediation: "Replace the root user's virtual MFA device with a hardware TOTP token or a FIDO security key.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_physical.html"],
        compliance: &[(CIS_AWS, "1.6"), (ISO, "A.8.5")],
        prowler: &["iam_root_hardware_mfa_enabled"],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        let mfa_on = iam.summary.is_some_and(|s| s.root_mfa_enabled);
        if !mfa_on || !iam.virtual_mfa_listed || iam.root_virtual_mfa.is_empty() {
            return vec![];
        }
        vec![Hit::new(ACCOUNT, root_arn(inv), "the root user's MFA device is virtual")
            .evidence(format!("virtual MFA {}", iam.root_virtual_mfa.join(", ")))]
    },
};

/// A password-policy check: fires on the account when the policy is missing or `weak` says why it is weak.
fn password_check(
    inv: &Inventory,
    weak: fn(&PasswordPolicy) -> Option<String>,
    missing: &str,
) -> Vec<Hit> {
    let Some(iam) = iam(inv) else { return vec![] };
    let id = format!(
        "arn:{}:iam::{}:account-password-policy",
        partition(inv),
        inv.account_id
    );
    match &iam.password_policy {
        PasswordPolicyState::Unknown => vec![],
        PasswordPolicyState::NotSet => {
            vec![Hit::new(
                ACCOUNT,
                id,
                format!("the account has no password policy, so {missing}"),
            )
            .evidence("no account password policy")]
        }
        PasswordPolicyState::Set(p) => weak(p)
            .map(|evidence| {
                Hit::new(
                    ACCOUNT,
                    id,
                    format!("the account password policy: {missing}"),
                )
                .evidence(evidence)
            })
            .into_iter()
            .collect(),
    }
}

pub(crate) const PASSWORD_LENGTH: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.password-min-length",
        title: "Password policy allows passwords shorter than 14 characters",
        severity: Severity::Medium,
        description: "Short passwords fall to guessing and cracking. CIS asks IAM user passwords to be at least 14 characters.",
        remediation: "aws iam update-account-password-policy --minimum-password-length 14 (keep the other settings you have).",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html"],
        compliance: &[(CIS_AWS, "1.8"), (SOC2, "CC6.1"), (ISO, "A.5.17")],
        prowler: &["iam_password_policy_minimum_length_14"],
    },
    run: |inv, _| {
        password_check(
            inv,
            |p| (p.minimum_length < 14).then(|| format!("MinimumPasswordLength: {}", p.minimum_length)),
            "passwords may be shorter than 14 characters",
        )
    },
};

pub(crate) const PASSWORD_REUSE: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.password-reuse",
        title: "Password policy does not prevent reuse of the last 24 passwords",
        severity: Severity::Medium,
        description: "Users who can cycle back to an old (possibly leaked) password defeat rotation. CIS asks that the last 24 passwords cannot be reused.",
        remediation: "aws iam update-account-password-policy --password-reuse-prevention 24.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html"],
        compliance: &[(CIS_AWS, "1.9"), (ISO, "A.5.17")],
        prowler: &["iam_password_policy_reuse_24"],
    },
    run: |inv, _| {
        password_check(
            inv,
            |p| match p.reuse_prevention {
                Some(n) if n >= 24 => None,
                Some(n) => Some(format!("PasswordReusePrevention: {n}")),
                None => Some("PasswordReusePrevention not set".to_string()),
            },
            "old passwords may be reused",
        )
    },
};

macro_rules! complexity_check {
    ($name:ident, $id:literal, $title:literal, $what:literal, $field:ident, $flag:literal, $prowler:literal) => {
        pub(crate) const $name: Check = Check {
            rule: RuleSpec {
                id: $id,
                title: $title,
                severity: Severity::Low,
                description: concat!("The account password policy does not require ", $what, ", which shrinks the space of passwords an attacker has to guess."),
                remediation: concat!("aws iam update-account-password-policy ", $flag, " (keep the other settings you have)."),
                references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html"],
                compliance: &[(ISO, "A.5.17")],
                prowler: &[$prowler],
            },
            run: |inv, _| {
                password_check(
                    inv,
                    |p| (!p.$field).then(|| format!("{}: false", stringify!($field))),
                    concat!("passwords need no ", $what),
                )
            },
        };
    };
}

complexity_check!(
    PASSWORD_UPPERCASE,
    "aws.iam.password-uppercase",
    "Password policy does not require an uppercase letter",
    "uppercase letters",
    require_uppercase,
    "--require-uppercase-characters",
    "iam_password_policy_uppercase"
);
complexity_check!(
    PASSWORD_LOWERCASE,
    "aws.iam.password-lowercase",
    "Password policy does not require a lowercase letter",
    "lowercase letters",
    require_lowercase,
    "--require-lowercase-characters",
    "iam_password_policy_lowercase"
);
complexity_check!(
    PASSWORD_NUMBERS,
    "aws.iam.password-numbers",
    "Password policy does not require a number",
    "numbers",
    require_numbers,
    "--require-numbers",
    "iam_password_policy_number"
);
complexity_check!(
    PASSWORD_SYMBOLS,
    "aws.iam.password-symbols",
    "Password policy does not require a symbol",
    "symbols",
    require_symbols,
    "--require-symbols",
    "iam_password_policy_symbol"
);

pub(crate) const PASSWORD_EXPIRY: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.password-expiry",
        title: "Password policy does not expire passwords within 90 days",
        severity: Severity::Low,
        description: "Passwords that never expire stay valid after a silent leak. Many audit frameworks still expect a maximum age of 90 days or less (NIST 800-63B prefers MFA and breach checks; keep this in line with your policy).",
        remediation: "aws iam update-account-password-policy --max-password-age 90.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html"],
        compliance: &[(ISO, "A.5.17")],
        prowler: &["iam_password_policy_expires_passwords_within_90_days_or_less"],
    },
    run: |inv, _| {
        password_check(
            inv,
            |p| match p.max_age_days {
                Some(days) if days <= 90 => None,
                Some(days) => Some(format!("MaxPasswordAge: {days}")),
                None => Some("MaxPasswordAge not set".to_string()),
            },
            "passwords do not expire within 90 days",
        )
    },
};

pub(crate) const USER_CONSOLE_MFA: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.user-console-mfa",
        title: "IAM user with a console password has no MFA",
        severity: Severity::High,
        description: "A console password without a second factor is one phishing page or one reused password away from an account takeover.",
        remediation: "Have the user assign an MFA device (Security credentials > Assign MFA device), and deny actions without aws:MultiFactorAuthPresent until they do. Better: move people to IAM Identity Center with your identity provider's MFA.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html"],
        compliance: &[(CIS_AWS, "1.10"), (SOC2, "CC6.1"), (ISO, "A.8.5")],
        prowler: &["iam_user_mfa_enabled_console_access"],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        iam.users
            .iter()
            .filter(|u| u.password_enabled && u.mfa_devices.is_empty())
            .map(|u| {
                Hit::new(USER, &u.arn, format!("user `{}` can sign in to the console without MFA", u.name))
                    .evidence("login profile present, no MFA device")
            })
            .collect()
    },
};

pub(crate) const INITIAL_ACCESS_KEY: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.user-initial-access-key",
        title: "Console user has an access key that was never used",
        severity: Severity::Low,
        description: "Access keys created together with a console user (the old console default) are often never used, yet stay valid. Unused keys are pure risk.",
        remediation: "Delete access keys that have never been used (aws iam delete-access-key); let users create keys themselves when they need them.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"],
        compliance: &[(CIS_AWS, "1.11")],
        prowler: &["iam_user_no_setup_initial_access_key"],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        let mut hits = Vec::new();
        for user in iam.users.iter().filter(|u| u.password_enabled) {
            for key in user.access_keys.iter().filter(|k| k.active && k.last_used.is_none()) {
                hits.push(
                    Hit::new(USER, &user.arn, format!("console user `{}` has access key {} that was never used", user.name, key.id))
                        .evidence(format!("{}: active, never used", key.id))
                        .discriminator(&key.id),
                );
            }
        }
        hits
    },
};

pub(crate) const ACCESS_KEY_UNUSED: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.access-key-unused",
        title: "Active access key unused for 45 days or more",
        severity: Severity::Medium,
        description: "An access key nobody uses is still a working credential for whoever finds it. CIS asks that credentials unused for 45 days be disabled.",
        remediation: "Deactivate the key (aws iam update-access-key --status Inactive), then delete it once nothing breaks.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_finding-unused.html"],
        compliance: &[(CIS_AWS, "1.12"), (SOC2, "CC6.2"), (ISO, "A.5.18")],
        prowler: &["iam_user_accesskey_unused"],
    },
    run: |inv, ctx| {
        let Some(iam) = iam(inv) else { return vec![] };
        let mut hits = Vec::new();
        for user in &iam.users {
            for key in user.access_keys.iter().filter(|k| k.active) {
                let idle = days_since(key.last_used.unwrap_or(key.created), ctx.now);
                if idle >= UNUSED_DAYS {
                    let used = key.last_used.map_or("never used".to_string(), |t| format!("last used {}", t.format("%Y-%m-%d")));
                    hits.push(
                        Hit::new(USER, &user.arn, format!("access key {} of `{}` has not been used for {idle} days", key.id, user.name))
                            .evidence(format!("{}: active, {used}", key.id))
                            .discriminator(&key.id),
                    );
                }
            }
        }
        hits
    },
};

pub(crate) const CONSOLE_UNUSED: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.console-unused",
        title: "Console password unused for 45 days or more",
        severity: Severity::Medium,
        description: "A console password nobody uses (a leaver, a forgotten test user) is a standing way in. CIS asks that credentials unused for 45 days be disabled.",
        remediation: "Remove the login profile (aws iam delete-login-profile --user-name USER).",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_finding-unused.html"],
        compliance: &[(CIS_AWS, "1.12"), (SOC2, "CC6.2"), (ISO, "A.5.18")],
        prowler: &["iam_user_console_access_unused"],
    },
    run: |inv, ctx| {
        let Some(iam) = iam(inv) else { return vec![] };
        iam.users
            .iter()
            .filter(|u| u.password_enabled)
            .filter_map(|u| {
                let idle = days_since(u.password_last_used.unwrap_or(u.created), ctx.now);
                (idle >= UNUSED_DAYS).then(|| {
                    let used = u.password_last_used.map_or("never signed in".to_string(), |t| format!("last sign-in {}", t.format("%Y-%m-%d")));
                    Hit::new(USER, &u.arn, format!("the console password of `{}` has not been used for {idle} days", u.name)).evidence(used)
                })
            })
            .collect()
    },
};

pub(crate) const TWO_ACTIVE_KEYS: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.multiple-active-keys",
        title: "IAM user has two active access keys",
        severity: Severity::Low,
        description: "Two active keys are needed only for the minutes of a rotation; left in place, the old one stays valid and in use somewhere nobody tracks.",
        remediation: "Finish the rotation: move every client to one key, then deactivate and delete the other.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html#Using_RotateAccessKey"],
        compliance: &[(CIS_AWS, "1.13")],
        prowler: &["iam_user_two_active_access_key"],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        iam.users
            .iter()
            .filter(|u| u.access_keys.iter().filter(|k| k.active).count() > 1)
            .map(|u| {
                let ids: Vec<&str> = u.access_keys.iter().filter(|k| k.active).map(|k| k.id.as_str()).collect();
                Hit::new(USER, &u.arn, format!("user `{}` has {} active access keys", u.name, ids.len())).evidence(ids.join(", "))
            })
            .collect()
    },
};

pub(crate) const ACCESS_KEY_ROTATION: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.access-key-rotation",
        title: "Active access key older than 90 days",
        severity: Severity::Medium,
        description: "Long-lived keys accumulate in laptops, CI variables and old backups. Rotating every 90 days bounds how long a leaked key works.",
        remediation: "Create a second key, move clients to it, deactivate and delete the old one; better, replace the user's keys with role-based, short-lived credentials.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html#Using_RotateAccessKey"],
        compliance: &[(CIS_AWS, "1.14"), (SOC2, "CC6.1"), (ISO, "A.5.17")],
        prowler: &["iam_rotate_access_key_90_days"],
    },
    run: |inv, ctx| {
        let Some(iam) = iam(inv) else { return vec![] };
        let mut hits = Vec::new();
        for user in &iam.users {
            for key in user.access_keys.iter().filter(|k| k.active) {
                let age = days_since(key.created, ctx.now);
                if age > ROTATION_DAYS {
                    hits.push(
                        Hit::new(USER, &user.arn, format!("access key {} of `{}` is {age} days old", key.id, user.name))
                            .evidence(format!("{}: created {}", key.id, key.created.format("%Y-%m-%d")))
                            .discriminator(&key.id),
                    );
                }
            }
        }
        hits
    },
};

pub(crate) const USER_ATTACHED_POLICY: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.user-attached-policy",
        title: "IAM user has policies attached directly",
        severity: Severity::Low,
        description: "Permissions granted to individual users, rather than to groups or roles, drift apart and are hard to review. CIS asks users to receive permissions only through groups.",
        remediation: "Create a group per job function, attach the policies there, add the user to it and detach the user's own policies.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups_manage_attach-policy.html"],
        compliance: &[(CIS_AWS, "1.15"), (SOC2, "CC6.3"), (ISO, "A.5.15")],
        prowler: &["iam_policy_attached_only_to_group_or_roles"],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        iam.users
            .iter()
            .filter(|u| !u.attached_policies.is_empty() || !u.inline_policies.is_empty())
            .map(|u| {
                let names: Vec<&str> = u
                    .attached_policies
                    .iter()
                    .map(|p| p.name.as_str())
                    .chain(u.inline_policies.iter().map(|p| p.name.as_str()))
                    .collect();
                Hit::new(USER, &u.arn, format!("user `{}` has policies of its own", u.name)).evidence(names.join(", "))
            })
            .collect()
    },
};

/// A user, group or (not service-linked) role, with its policies.
struct Principal<'a> {
    kind: &'static str,
    arn: &'a str,
    name: &'a str,
    inline: &'a [InlinePolicy],
    attached: &'a [AttachedPolicy],
}

impl Principal<'_> {
    fn has_attached(&self, policy_name: &str) -> bool {
        self.attached
            .iter()
            .any(|p| p.arn.ends_with(&format!(":policy/{policy_name}")))
    }
}

/// Every principal of the account that holds policies.
fn principals(iam: &Iam) -> Vec<Principal<'_>> {
    let mut out = Vec::new();
    for u in &iam.users {
        out.push(Principal {
            kind: USER,
            arn: &u.arn,
            name: &u.name,
            inline: &u.inline_policies,
            attached: &u.attached_policies,
        });
    }
    for g in &iam.groups {
        out.push(Principal {
            kind: GROUP,
            arn: &g.arn,
            name: &g.name,
            inline: &g.inline_policies,
            attached: &g.attached_policies,
        });
    }
    for r in iam.roles.iter().filter(|r| !r.is_service_linked()) {
        out.push(Principal {
            kind: ROLE,
            arn: &r.arn,
            name: &r.name,
            inline: &r.inline_policies,
            attached: &r.attached_policies,
        });
    }
    out
}

/// Each customer managed policy and each inline policy with its document, as
/// `(kind, id, label, document)`, the place a finding about the document belongs.
fn documents(iam: &Iam) -> Vec<(&'static str, String, String, &Value)> {
    let mut out = Vec::new();
    for p in &iam.policies {
        if let Some(doc) = &p.document {
            let label = if p.attachment_count > 0 {
                format!(
                    "managed policy `{}` (attached {} times)",
                    p.name, p.attachment_count
                )
            } else {
                format!("managed policy `{}` (not attached)", p.name)
            };
            out.push((POLICY, p.arn.clone(), label, doc));
        }
    }
    for Principal {
        kind,
        arn,
        name,
        inline,
        ..
    } in principals(iam)
    {
        for p in inline {
            out.push((
                kind,
                arn.to_string(),
                format!("inline policy `{}` of `{name}`", p.name),
                &p.document,
            ));
        }
    }
    out
}

pub(crate) const ADMIN_POLICY: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.admin-policy",
        title: "IAM policy grants full administrative privileges",
        severity: Severity::High,
        description: "A customer managed or inline policy allowing Action \"*\" on Resource \"*\" gives its holder every permission in the account, including creating users and keys and disabling logging.",
        remediation: "Replace the statement with the actions and resources the workload needs (IAM Access Analyzer can generate a policy from CloudTrail activity). Keep administrator access for a few break-glass roles.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"],
        compliance: &[(CIS_AWS, "1.16"), (SOC2, "CC6.3"), (ISO, "A.8.2"), (ISO, "A.5.15")],
        prowler: &[
            "iam_customer_attached_policy_no_administrative_privileges",
            "iam_customer_unattached_policy_no_administrative_privileges",
            "iam_inline_policy_no_administrative_privileges",
        ],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        documents(iam)
            .into_iter()
            .filter_map(|(kind, id, label, doc)| {
                let evidence = policy::admin_statement(doc)?;
                Some(
                    Hit::new(kind, id, format!("{label} allows \"*\" actions on \"*\" resources"))
                        .evidence(evidence)
                        .discriminator(label),
                )
            })
            .collect()
    },
};

pub(crate) const ADMINISTRATOR_ACCESS: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.administrator-access-attached",
        title: "AdministratorAccess is attached to a user, group or role",
        severity: Severity::Medium,
        description: "The AWS managed AdministratorAccess policy grants every action on every resource. Each principal holding it is a path to full account takeover; there should be very few, and they should be reviewed.",
        remediation: "Detach AdministratorAccess where it is not needed and grant job-function policies instead; keep it for a break-glass role that requires MFA to assume.",
        references: &["https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html"],
        compliance: &[(CIS_AWS, "1.16"), (SOC2, "CC6.3"), (ISO, "A.8.2")],
        prowler: &[
            "iam_aws_attached_policy_no_administrative_privileges",
            "iam_user_administrator_access_policy",
            "iam_group_administrator_access_policy",
            "iam_role_administratoraccess_policy",
        ],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        principals(iam)
            .into_iter()
            .filter(|p| p.has_attached("AdministratorAccess"))
            .map(|Principal { kind, arn, name, .. }| {
                Hit::new(kind, arn, format!("`{name}` has the AdministratorAccess policy attached"))
                    .evidence("arn:aws:iam::aws:policy/AdministratorAccess")
            })
            .collect()
    },
};

/// Action sets that let their holder grant themselves more than they have
/// (after Rhino Security Labs' list): each set is reported when all its actions are allowed.
const ESCALATIONS: &[&[&str]] = &[
    &["iam:CreatePolicyVersion"],
    &["iam:SetDefaultPolicyVersion"],
    &["iam:CreateAccessKey"],
    &["iam:CreateLoginProfile"],
    &["iam:UpdateLoginProfile"],
    &["iam:AttachUserPolicy"],
    &["iam:AttachGroupPolicy"],
    &["iam:AttachRolePolicy", "sts:AssumeRole"],
    &["iam:PutUserPolicy"],
    &["iam:PutGroupPolicy"],
    &["iam:PutRolePolicy", "sts:AssumeRole"],
    &["iam:AddUserToGroup"],
    &["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"],
    &["iam:PassRole", "ec2:RunInstances"],
    &[
        "iam:PassRole",
        "lambda:CreateFunction",
        "lambda:InvokeFunction",
    ],
    &[
        "iam:PassRole",
        "lambda:CreateFunction",
        "lambda:CreateEventSourceMapping",
    ],
    &["iam:PassRole", "cloudformation:CreateStack"],
    &["iam:PassRole", "glue:CreateDevEndpoint"],
    &[
        "iam:PassRole",
        "datapipeline:CreatePipeline",
        "datapipeline:PutPipelineDefinition",
    ],
    &["lambda:UpdateFunctionCode"],
    &["glue:UpdateDevEndpoint"],
];

/// The escalation combinations a document allows, as `a + b` strings.
pub(crate) fn escalations(document: &Value) -> Vec<String> {
    ESCALATIONS
        .iter()
        .filter(|set| {
            set.iter()
                .all(|action| policy::allows_action(document, action))
        })
        .map(|set| set.join(" + "))
        .collect()
}

pub(crate) const PRIVILEGE_ESCALATION: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.privilege-escalation",
        title: "IAM policy allows privilege escalation",
        severity: Severity::High,
        description: "Some permissions let their holder grant themselves any other: creating a new version of a policy, attaching policies, creating keys or login profiles for other users, or passing a privileged role to a new EC2 instance, Lambda function or CloudFormation stack. A policy with any of these is effectively administrative. Policies that already allow \"*\" are reported by aws.iam.admin-policy instead.",
        remediation: "Remove the listed actions, or restrict them to specific resources with conditions (iam:PassedToService, resource ARNs of the roles that may be passed); use permission boundaries for delegated IAM administration.",
        references: &[
            "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html",
        ],
        compliance: &[(SOC2, "CC6.3"), (ISO, "A.8.2")],
        prowler: &["iam_policy_allows_privilege_escalation", "iam_inline_policy_allows_privilege_escalation"],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        documents(iam)
            .into_iter()
            .filter(|(_, _, _, doc)| policy::admin_statement(doc).is_none())
            .filter_map(|(kind, id, label, doc)| {
                let found = escalations(doc);
                (!found.is_empty()).then(|| {
                    Hit::new(kind, id, format!("{label} allows privilege escalation"))
                        .evidence(found.join("; "))
                        .discriminator(label)
                })
            })
            .collect()
    },
};

pub(crate) const SUPPORT_ROLE: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.support-role",
        title: "No role or group can manage AWS Support cases",
        severity: Severity::Low,
        description: "During an incident someone has to open and follow AWS Support cases; without a principal holding AWSSupportAccess, that falls to the root user or an administrator.",
        remediation: "Create a role (or group) for incident handlers and attach arn:aws:iam::aws:policy/AWSSupportAccess.",
        references: &["https://docs.aws.amazon.com/awssupport/latest/user/accessing-support.html"],
        compliance: &[(CIS_AWS, "1.17")],
        prowler: &["iam_support_role_created"],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        let has = principals(iam)
            .iter()
            .any(|p| p.has_attached("AWSSupportAccess"));
        if has {
            return vec![];
        }
        vec![Hit::new(ACCOUNT, format!("arn:{}:iam::{}:root", partition(inv), inv.account_id), "no user, group or role has the AWSSupportAccess policy")
            .evidence("AWSSupportAccess attached to nothing")]
    },
};

pub(crate) const CLOUDSHELL_FULL_ACCESS: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.cloudshell-full-access",
        title: "AWSCloudShellFullAccess is attached",
        severity: Severity::Medium,
        description: "AWSCloudShellFullAccess lets its holder upload and download files to and from CloudShell, an easy path to move data out of the account past other controls.",
        remediation: "Detach AWSCloudShellFullAccess; grant the narrower CloudShell permissions needed, without file transfer.",
        references: &["https://docs.aws.amazon.com/cloudshell/latest/userguide/sec-auth-with-identities.html"],
        compliance: &[(CIS_AWS, "1.22")],
        prowler: &["iam_policy_cloudshell_admin_not_attached"],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        principals(iam)
            .into_iter()
            .filter(|p| p.has_attached("AWSCloudShellFullAccess"))
            .map(|Principal { kind, arn, name, .. }| {
                Hit::new(kind, arn, format!("`{name}` has AWSCloudShellFullAccess attached")).evidence("arn:aws:iam::aws:policy/AWSCloudShellFullAccess")
            })
            .collect()
    },
};

/// The allowed `sts:AssumeRole*` statements of a trust policy.
fn assume_statements(trust: &Value) -> Vec<&Value> {
    policy::statements(trust)
        .into_iter()
        .filter(|s| {
            policy::allows(s)
                && policy::list(s, "Action")
                    .iter()
                    .any(|a| policy::action_matches(a, "sts:AssumeRole"))
        })
        .collect()
}

pub(crate) const ROLE_TRUST_PUBLIC: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.role-trust-public",
        title: "IAM role can be assumed by any AWS account",
        severity: Severity::Critical,
        description: "A trust policy with Principal \"*\" (or {\"AWS\": \"*\"}) and no condition naming the caller lets any AWS customer assume the role and use its permissions.",
        remediation: "Name the accounts or roles that may assume it in Principal, and add a condition (sts:ExternalId, aws:PrincipalOrgID) where third parties are involved.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-trust-policy"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.15")],
        prowler: &[],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        iam.roles
            .iter()
            .filter(|r| {
                assume_statements(&r.trust_policy)
                    .iter()
                    .any(|s| policy::public_principal(s) && !policy::restricting_condition(s))
            })
            .map(|r| Hit::new(ROLE, &r.arn, format!("role `{}` trusts every AWS principal", r.name)).evidence("Principal: {\"AWS\": \"*\"}"))
            .collect()
    },
};

pub(crate) const CROSS_ACCOUNT_NO_EXTERNAL_ID: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.cross-account-no-external-id",
        title: "IAM role trusts another account without an ExternalId condition",
        severity: Severity::Medium,
        description: "A role that another account (typically a vendor) may assume without an sts:ExternalId condition is open to the confused-deputy problem: any customer of that vendor can make the vendor assume your role. Trust limited to your AWS Organization (aws:PrincipalOrgID) is not reported.",
        remediation: "Add Condition: {\"StringEquals\": {\"sts:ExternalId\": \"<unique id the vendor gave you>\"}} to the trust statement, or restrict it with aws:PrincipalOrgID for your own accounts.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.19")],
        prowler: &[],
    },
    run: |inv, _| {
        let Some(iam) = iam(inv) else { return vec![] };
        let mut hits = Vec::new();
        for role in &iam.roles {
            let mut foreign: Vec<&str> = Vec::new();
            for s in assume_statements(&role.trust_policy) {
                if policy::has_condition_key(s, "sts:ExternalId") || policy::has_condition_key(s, "aws:PrincipalOrgID") {
                    continue;
                }
                for principal in policy::aws_principals(s) {
                    if let Some(account) = policy::principal_account(principal) {
                        if account != inv.account_id && !foreign.contains(&account) {
                            foreign.push(account);
                        }
                    }
                }
            }
            if !foreign.is_empty() {
                hits.push(
                    Hit::new(ROLE, &role.arn, format!("role `{}` can be assumed from account {} without an ExternalId", role.name, foreign.join(", ")))
                        .evidence(format!("Principal AWS: {}; no sts:ExternalId condition", foreign.join(", "))),
                );
            }
        }
        hits
    },
};

pub(crate) const EXPIRED_CERTIFICATE: Check = Check {
    rule: RuleSpec {
        id: "aws.iam.expired-server-certificate",
        title: "Expired SSL/TLS certificate stored in IAM",
        severity: Severity::Low,
        description: "An expired server certificate still in IAM can be deployed by mistake to a load balancer or CloudFront, breaking clients or teaching them to accept errors.",
        remediation: "aws iam delete-server-certificate --server-certificate-name NAME; prefer ACM, which renews certificates itself.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_server-certs.html"],
        compliance: &[(CIS_AWS, "1.19")],
        prowler: &["iam_no_expired_server_certificates_stored"],
    },
    run: |inv, ctx| {
        let Some(iam) = iam(inv) else { return vec![] };
        iam.server_certificates
            .iter()
            .filter(|c| c.expiration < ctx.now)
            .map(|c| {
                Hit::new(CERTIFICATE, &c.arn, format!("server certificate `{}` expired on {}", c.name, c.expiration.format("%Y-%m-%d")))
                    .evidence(format!("Expiration: {}", c.expiration.to_rfc3339()))
            })
            .collect()
    },
};
