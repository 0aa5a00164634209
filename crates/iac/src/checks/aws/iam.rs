//! IAM checks: identity policies (managed, inline, embedded in roles, users
//! and groups), role trust policies, long-lived credentials and the account
//! password policy.
//!
//! Terraform `data "aws_iam_policy_document"` blocks are not resources in the
//! model; a policy that references one is unknown and never reported.

use palisade_core::Severity;
use serde_json::Value;

use super::{fail_if, int, is_set, known_str, policy, shown, CIS_AWS, ISO, SOC2};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{blocks, IacResource};

/// Resource kinds that carry identity-based policy documents.
const POLICY_KINDS: &[&str] = &[
    "aws_iam_policy",
    "aws_iam_role_policy",
    "aws_iam_user_policy",
    "aws_iam_group_policy",
    "aws_iam_role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::Group",
];

/// The identity policy documents of a resource, each with a label (the inline
/// policy's name, or `policy`).
fn documents(resource: &IacResource) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    match resource.kind.as_str() {
        "aws_iam_role" => {
            for inline in blocks(resource.get("inline_policy")) {
                let name = known_str(inline.get("name")).unwrap_or("inline_policy");
                out.extend(policy::parse(inline.get("policy")).map(|d| (name.to_string(), d)));
            }
        }
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
            out.extend(
                policy::parse(resource.get("PolicyDocument"))
                    .map(|d| ("PolicyDocument".to_string(), d)),
            );
        }
        "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => {
            for inline in blocks(resource.get("Policies")) {
                let name = known_str(inline.get("PolicyName")).unwrap_or("Policies");
                out.extend(
                    policy::parse(inline.get("PolicyDocument")).map(|d| (name.to_string(), d)),
                );
            }
        }
        _ => {
            out.extend(policy::parse(resource.get("policy")).map(|d| ("policy".to_string(), d)));
        }
    }
    out
}

/// One violation per document where `finding` returns evidence.
fn per_document(
    resource: &IacResource,
    what: &str,
    finding: impl Fn(&Value) -> Option<String>,
) -> Vec<Violation> {
    let docs = documents(resource);
    let several = docs.len() > 1;
    docs.into_iter()
        .filter_map(|(label, doc)| {
            let evidence = finding(&doc)?;
            let mut v = Violation::new(if several {
                format!("policy `{label}` of `{}` {what}", resource.name)
            } else {
                format!("`{}` {what}", resource.name)
            })
            .evidence(evidence);
            if several {
                v = v.discriminator(label);
            }
            Some(v)
        })
        .collect()
}

fn is_star(action: &str) -> bool {
    action == "*" || action == "*:*"
}

pub(crate) const ADMIN_POLICY: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-admin-policy",
        title: "IAM policy grants full administrative privileges",
        severity: Severity::High,
        description: "A statement allowing Action \"*\" on Resource \"*\" gives its holder every permission in the account, including creating users and keys and disabling logging. Least privilege starts with never writing one.",
        remediation: "Replace the statement with the specific actions and resources the workload needs (IAM Access Analyzer can generate a policy from CloudTrail activity). Grant administrator access only to a few break-glass roles, through the AWS managed AdministratorAccess policy.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html"],
        compliance: &[(CIS_AWS, "1.16"), (SOC2, "CC6.3"), (ISO, "A.8.2"), (ISO, "A.5.15")],
        checkov: &["CKV_AWS_62"],
    },
    kind: CheckKind::PerResource {
        kinds: POLICY_KINDS,
        run: |r, _| {
            per_document(r, "allows \"*\" actions on \"*\" resources", |doc| {
                policy::statements(doc).into_iter().find_map(|s| {
                    let admin = policy::allows(s)
                        && policy::list(s, "Action").into_iter().any(is_star)
                        && policy::list(s, "Resource").contains(&"*");
                    admin.then(|| "Effect: Allow, Action: \"*\", Resource: \"*\"".to_string())
                })
            })
        },
    },
};

pub(crate) const STAR_ACTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-star-action",
        title: "IAM policy allows \"*\" as an action",
        severity: Severity::Medium,
        description: "A statement allowing Action \"*\" grants every current and future action of every service on its resources. Even scoped to some resources, it usually includes destructive and permission-changing actions nobody intended.",
        remediation: "List the actions the workload uses (service-prefixed, e.g. s3:GetObject) instead of \"*\".",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"],
        compliance: &[(SOC2, "CC6.3"), (ISO, "A.5.15"), (ISO, "A.8.2")],
        checkov: &["CKV_AWS_63"],
    },
    kind: CheckKind::PerResource {
        kinds: POLICY_KINDS,
        run: |r, _| {
            per_document(r, "allows \"*\" as an action", |doc| {
                policy::statements(doc).into_iter().find_map(|s| {
                    let star = policy::allows(s) && policy::list(s, "Action").into_iter().any(is_star);
                    star.then(|| {
                        format!(
                            "Effect: Allow, Action: \"*\", Resource: {}",
                            policy::list(s, "Resource").join(", ")
                        )
                    })
                })
            })
        },
    },
};

/// Privilege escalation paths (after Rhino Security Labs / Cloudsplaining):
/// each is a set of actions that together let a principal raise its own
/// permissions.
const ESCALATIONS: &[(&str, &[&str])] = &[
    ("CreateNewPolicyVersion", &["iam:CreatePolicyVersion"]),
    (
        "SetExistingDefaultPolicyVersion",
        &["iam:SetDefaultPolicyVersion"],
    ),
    (
        "CreateEC2WithExistingInstanceProfile",
        &["iam:PassRole", "ec2:RunInstances"],
    ),
    ("CreateAccessKey", &["iam:CreateAccessKey"]),
    ("CreateLoginProfile", &["iam:CreateLoginProfile"]),
    ("UpdateLoginProfile", &["iam:UpdateLoginProfile"]),
    ("AttachUserPolicy", &["iam:AttachUserPolicy"]),
    ("AttachGroupPolicy", &["iam:AttachGroupPolicy"]),
    (
        "AttachRolePolicy",
        &["iam:AttachRolePolicy", "sts:AssumeRole"],
    ),
    ("PutUserPolicy", &["iam:PutUserPolicy"]),
    ("PutGroupPolicy", &["iam:PutGroupPolicy"]),
    ("PutRolePolicy", &["iam:PutRolePolicy", "sts:AssumeRole"]),
    ("AddUserToGroup", &["iam:AddUserToGroup"]),
    (
        "UpdateRolePolicyToAssumeIt",
        &["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"],
    ),
    (
        "PassExistingRoleToNewLambdaThenInvoke",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
        ],
    ),
    (
        "PassExistingRoleToNewLambdaThenTrigger",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:CreateEventSourceMapping",
        ],
    ),
    (
        "EditExistingLambdaFunctionWithRole",
        &["lambda:UpdateFunctionCode"],
    ),
    (
        "PassExistingRoleToNewGlueDevEndpoint",
        &["iam:PassRole", "glue:CreateDevEndpoint"],
    ),
    ("UpdateExistingGlueDevEndpoint", &["glue:UpdateDevEndpoint"]),
    (
        "PassExistingRoleToCloudFormation",
        &["iam:PassRole", "cloudformation:CreateStack"],
    ),
    (
        "PassExistingRoleToNewDataPipeline",
        &["iam:PassRole", "datapipeline:CreatePipeline"],
    ),
    (
        "PassExistingRoleToNewCodeStarProject",
        &["iam:PassRole", "codestar:CreateProject"],
    ),
    (
        "CodeStarCreateProjectFromTemplate",
        &["codestar:CreateProjectFromTemplate"],
    ),
    (
        "PassExistingRoleToNewSageMakerNotebook",
        &[
            "iam:PassRole",
            "sagemaker:CreateNotebookInstance",
            "sagemaker:CreatePresignedNotebookInstanceUrl",
        ],
    ),
];

/// The escalation paths a document's allowed actions open (any resource).
pub(crate) fn escalations(document: &Value) -> Vec<&'static str> {
    let allowed: Vec<&str> = policy::statements(document)
        .into_iter()
        .filter(|s| policy::allows(s))
        .flat_map(|s| policy::list(s, "Action"))
        .collect();
    let granted = |action: &str| allowed.iter().any(|p| policy::action_matches(p, action));
    ESCALATIONS
        .iter()
        .filter(|(_, actions)| actions.iter().all(|a| granted(a)))
        .map(|(name, _)| *name)
        .collect()
}

pub(crate) const PRIVILEGE_ESCALATION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-privilege-escalation",
        title: "IAM policy allows privilege escalation",
        severity: Severity::High,
        description: "The policy allows actions that let its holder grant itself more permissions: creating policy versions, attaching or putting policies, creating access keys or login profiles for others, or passing a role to a new compute resource (iam:PassRole with ec2:RunInstances, lambda:CreateFunction, ...). Whoever holds it is effectively an administrator.",
        remediation: "Remove the escalation actions, or scope them to specific resources and add a permissions boundary; restrict iam:PassRole to the roles the workload must pass (Resource = role ARNs, Condition iam:PassedToService).",
        references: &["https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/", "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"],
        compliance: &[(SOC2, "CC6.3"), (ISO, "A.8.2"), (ISO, "A.5.15")],
        checkov: &["CKV_AWS_286", "CKV_AWS_110"],
    },
    kind: CheckKind::PerResource {
        kinds: POLICY_KINDS,
        run: |r, _| {
            per_document(r, "allows privilege escalation", |doc| {
                let paths = escalations(doc);
                (!paths.is_empty()).then(|| format!("escalation paths: {}", paths.join(", ")))
            })
        },
    },
};

pub(crate) const USER_POLICY: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-user-policy",
        title: "IAM policy is attached directly to a user",
        severity: Severity::Low,
        description: "Permissions attached to individual users are hard to review and tend to outlive the person's role. Granting them through groups (or roles assumed via SSO) keeps access consistent and auditable.",
        remediation: "Attach the policy to an IAM group (aws_iam_group_policy_attachment) and add the user to the group, or move the user to IAM Identity Center.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#use-groups-for-permissions"],
        compliance: &[(CIS_AWS, "1.15"), (SOC2, "CC6.2"), (ISO, "A.5.18")],
        checkov: &["CKV_AWS_40"],
    },
    kind: CheckKind::PerResource {
        kinds: &[
            "aws_iam_user_policy",
            "aws_iam_user_policy_attachment",
            "aws_iam_policy_attachment",
            "AWS::IAM::Policy",
            "AWS::IAM::ManagedPolicy",
            "AWS::IAM::User",
        ],
        run: user_policy,
    },
};

fn user_policy(resource: &IacResource, _: &Context) -> Vec<Violation> {
    let evidence = match resource.kind.as_str() {
        "aws_iam_user_policy" => Some(format!(
            "aws_iam_user_policy for user {}",
            user_of(resource, "user")
        )),
        "aws_iam_user_policy_attachment" => Some(format!(
            "aws_iam_user_policy_attachment for user {}",
            user_of(resource, "user")
        )),
        "aws_iam_policy_attachment" => {
            is_set(resource.get("users")).then(|| "users = [...]".to_string())
        }
        "AWS::IAM::User" => {
            if is_set(resource.get("Policies")) {
                Some("Policies: [...]".to_string())
            } else if is_set(resource.get("ManagedPolicyArns")) {
                Some("ManagedPolicyArns: [...]".to_string())
            } else {
                None
            }
        }
        _ => is_set(resource.get("Users")).then(|| "Users: [...]".to_string()),
    };
    evidence
        .map(|e| {
            vec![Violation::new(format!(
                "`{}` attaches a policy directly to IAM users",
                resource.name
            ))
            .evidence(e)]
        })
        .unwrap_or_default()
}

fn user_of(resource: &IacResource, key: &str) -> String {
    match resource.get(key) {
        Some(Value::String(s)) => s.clone(),
        _ => "(unknown)".to_string(),
    }
}

pub(crate) const ACCESS_KEY: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-access-key",
        title: "IAM user access key is created",
        severity: Severity::Medium,
        description: "Access keys are long-lived credentials: they end up in laptops, CI variables and repositories, and keep working until someone rotates them. The secret also lands in the Terraform state. Workloads should use roles; people should use SSO.",
        remediation: "Remove the aws_iam_access_key / AWS::IAM::AccessKey; use IAM roles (instance profiles, IRSA, OIDC federation for CI) or IAM Identity Center. If a key is unavoidable, create it outside IaC and rotate it at most every 90 days.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#bp-workloads-use-roles", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"],
        compliance: &[(CIS_AWS, "1.14"), (SOC2, "CC6.1"), (ISO, "A.5.17")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_iam_access_key", "AWS::IAM::AccessKey"],
        run: |r, _| {
            let status = super::attr(r, "status", "Status");
            fail_if(known_str(status) != Some("Inactive"), || {
                let user = super::key(r, "user", "UserName");
                Violation::new(format!("`{}` creates a long-lived IAM access key", r.name))
                    .evidence(format!("{} for {user} {}", r.kind, user_of(r, user)))
            })
        },
    },
};

pub(crate) const ROLE_TRUST_ANY: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-role-trust-any-principal",
        title: "IAM role can be assumed by any principal",
        severity: Severity::Critical,
        description: "A trust policy allowing sts:AssumeRole to Principal \"*\" (or {\"AWS\": \"*\"}) without a condition that identifies the caller lets any AWS account in the world assume the role and use its permissions.",
        remediation: "Name the trusted accounts, roles or services in Principal, or add a condition such as aws:PrincipalOrgID or sts:ExternalId.",
        references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-trust-policy", "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"],
        compliance: &[(SOC2, "CC6.1"), (SOC2, "CC6.3"), (ISO, "A.5.15")],
        checkov: &["CKV_AWS_60"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_iam_role", "AWS::IAM::Role"],
        run: |r, _| {
            let Some(doc) = policy::parse(super::attr(r, "assume_role_policy", "AssumeRolePolicyDocument")) else {
                return Vec::new();
            };
            fail_if(!policy::public_statements(&doc).is_empty(), || {
                Violation::new(format!("role `{}` can be assumed by any principal", r.name))
                    .evidence("Effect: Allow, Principal: \"*\" without a restricting condition")
            })
        },
    },
};

/// A numeric password policy setting below `minimum` (missing takes `default`).
fn password_number(
    resource: &IacResource,
    key: &str,
    minimum: i64,
    default: i64,
    what: &str,
) -> Vec<Violation> {
    let value = super::present(resource.get(key));
    if value.is_some_and(super::unknown) {
        return Vec::new();
    }
    let actual = int(value).unwrap_or(default);
    fail_if(actual < minimum, || {
        Violation::new(format!(
            "account password policy {what} is {actual}, below {minimum}"
        ))
        .evidence(shown(resource, key, key, value, &default.to_string()))
    })
}

/// A boolean password policy requirement that is off.
fn password_flag(resource: &IacResource, key: &str, what: &str) -> Vec<Violation> {
    let value = resource.get(key);
    fail_if(super::is_off(value, false), || {
        Violation::new(format!("account password policy does not require {what}"))
            .evidence(shown(resource, key, key, value, "false"))
    })
}

const PASSWORD_KINDS: &[&str] = &["aws_iam_account_password_policy"];
const PASSWORD_REF: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html";

pub(crate) const PASSWORD_LENGTH: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-password-min-length",
        title: "IAM password policy allows passwords shorter than 14 characters",
        severity: Severity::Medium,
        description: "Short passwords fall quickly to guessing and cracking. CIS requires IAM user passwords of at least 14 characters.",
        remediation: "Set minimum_password_length = 14 or more.",
        references: &[PASSWORD_REF],
        compliance: &[(CIS_AWS, "1.8"), (SOC2, "CC6.1"), (ISO, "A.5.17")],
        checkov: &["CKV_AWS_10"],
    },
    kind: CheckKind::PerResource {
        kinds: PASSWORD_KINDS,
        run: |r, _| password_number(r, "minimum_password_length", 14, 6, "minimum length"),
    },
};

pub(crate) const PASSWORD_REUSE: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-password-reuse",
        title: "IAM password policy allows reusing recent passwords",
        severity: Severity::Medium,
        description: "Without reuse prevention, users cycle back to old (possibly leaked) passwords. CIS requires remembering the last 24.",
        remediation: "Set password_reuse_prevention = 24.",
        references: &[PASSWORD_REF],
        compliance: &[(CIS_AWS, "1.9"), (SOC2, "CC6.1"), (ISO, "A.5.17")],
        checkov: &["CKV_AWS_13"],
    },
    kind: CheckKind::PerResource {
        kinds: PASSWORD_KINDS,
        run: |r, _| password_number(r, "password_reuse_prevention", 24, 0, "reuse prevention"),
    },
};

pub(crate) const PASSWORD_LOWERCASE: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-password-lowercase",
        title: "IAM password policy does not require a lowercase letter",
        severity: Severity::Low,
        description: "Character class requirements enlarge the space an attacker has to search when guessing passwords.",
        remediation: "Set require_lowercase_characters = true.",
        references: &[PASSWORD_REF],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.17")],
        checkov: &["CKV_AWS_11"],
    },
    kind: CheckKind::PerResource {
        kinds: PASSWORD_KINDS,
        run: |r, _| password_flag(r, "require_lowercase_characters", "a lowercase letter"),
    },
};

pub(crate) const PASSWORD_UPPERCASE: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-password-uppercase",
        title: "IAM password policy does not require an uppercase letter",
        severity: Severity::Low,
        description: "Character class requirements enlarge the space an attacker has to search when guessing passwords.",
        remediation: "Set require_uppercase_characters = true.",
        references: &[PASSWORD_REF],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.17")],
        checkov: &["CKV_AWS_15"],
    },
    kind: CheckKind::PerResource {
        kinds: PASSWORD_KINDS,
        run: |r, _| password_flag(r, "require_uppercase_characters", "an uppercase letter"),
    },
};

pub(crate) const PASSWORD_NUMBERS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-password-numbers",
        title: "IAM password policy does not require a number",
        severity: Severity::Low,
        description: "Character class requirements enlarge the space an attacker has to search when guessing passwords.",
        remediation: "Set require_numbers = true.",
        references: &[PASSWORD_REF],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.17")],
        checkov: &["CKV_AWS_12"],
    },
    kind: CheckKind::PerResource {
        kinds: PASSWORD_KINDS,
        run: |r, _| password_flag(r, "require_numbers", "a number"),
    },
};

pub(crate) const PASSWORD_SYMBOLS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.iam-password-symbols",
        title: "IAM password policy does not require a symbol",
        severity: Severity::Low,
        description: "Character class requirements enlarge the space an attacker has to search when guessing passwords.",
        remediation: "Set require_symbols = true.",
        references: &[PASSWORD_REF],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.17")],
        checkov: &["CKV_AWS_14"],
    },
    kind: CheckKind::PerResource {
        kinds: PASSWORD_KINDS,
        run: |r, _| password_flag(r, "require_symbols", "a symbol"),
    },
};
