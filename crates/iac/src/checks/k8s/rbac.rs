//! RBAC: what Roles and ClusterRoles grant, and who is bound to cluster-admin.

use palisade_core::Severity;
use serde_json::Value;

use super::{object_name, strings, CIS_K8S, ISO27001, RBAC, RBAC_GOOD_PRACTICES, SOC2};
use crate::checks::{Check, CheckKind, Context, ResourceCheckFn, RuleSpec, Violation};
use crate::model::IacResource;

const ROLE_KINDS: &[&str] = &["Role", "ClusterRole"];
const BINDING_KINDS: &[&str] = &["RoleBinding", "ClusterRoleBinding"];

/// The rules of a Role or ClusterRole.
fn rules(role: &IacResource) -> impl Iterator<Item = &Value> {
    role.get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.is_object())
}

/// A set of permissions that together allow one operation: a rule allows it
/// when it grants one of the API groups, one of the verbs and one of the
/// resources (each literally or through `*`).
struct Operation {
    api_groups: &'static [&'static str],
    verbs: &'static [&'static str],
    resources: &'static [&'static str],
    /// Whether a rule limited to `resourceNames` still counts (it does for
    /// bind/escalate on one role; it does not for "read all secrets").
    named_resources_count: bool,
}

impl Operation {
    fn allowed_by(&self, rule: &Value) -> bool {
        let any = |key: &str, wanted: &[&str]| {
            strings(rule.get(key))
                .iter()
                .any(|v| *v == "*" || wanted.contains(v))
        };
        let resource_granted = strings(rule.get("resources")).iter().any(|granted| {
            *granted == "*"
                || self.resources.iter().any(|wanted| {
                    *granted == *wanted
                        || wanted
                            .split_once('/')
                            .is_some_and(|(_, sub)| granted.strip_prefix("*/") == Some(sub))
                })
        });
        let unnamed = self.named_resources_count || strings(rule.get("resourceNames")).is_empty();
        any("apiGroups", self.api_groups) && any("verbs", self.verbs) && resource_granted && unnamed
    }
}

/// One violation when the role's rules allow every one of `operations`.
fn grants(role: &IacResource, operations: &[Operation], what: &str) -> Vec<Violation> {
    let mut evidence = Vec::new();
    for operation in operations {
        match rules(role).position(|rule| operation.allowed_by(rule)) {
            Some(index) => evidence.push(describe_rule(role, index)),
            None => return Vec::new(),
        }
    }
    evidence.dedup();
    vec![
        Violation::new(format!("{} `{}` {what}", role.kind, object_name(role)))
            .evidence(evidence.join("; ")),
    ]
}

fn describe_rule(role: &IacResource, index: usize) -> String {
    let rule = rules(role).nth(index).unwrap_or(&Value::Null);
    let list = |key: &str| strings(rule.get(key)).join(", ");
    format!(
        "rules[{index}]: apiGroups [{}], resources [{}], verbs [{}]",
        list("apiGroups"),
        list("resources"),
        list("verbs")
    )
}

const ROLE_REFERENCES: &[&str] = &[RBAC, RBAC_GOOD_PRACTICES];

/// A check over Roles and ClusterRoles.
const fn role_check(rule: RuleSpec, run: ResourceCheckFn) -> Check {
    Check {
        rule,
        kind: CheckKind::PerResource {
            kinds: ROLE_KINDS,
            run,
        },
    }
}

pub(crate) const WILDCARD: Check = role_check(
    RuleSpec {
        id: "iac.k8s.rbac-wildcard",
        title: "Role grants wildcard permissions",
        severity: Severity::High,
        description: "A `*` in a rule's apiGroups, resources or verbs grants everything that exists now and every resource type or verb added later (custom resources included), far beyond what the subject was meant to do.",
        remediation: "List the API groups, resources and verbs the subject needs explicitly.",
        references: ROLE_REFERENCES,
        compliance: &[(CIS_K8S, "5.1.3"), (SOC2, "CC6.3"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_49"],
    },
    wildcard,
);

fn wildcard(role: &IacResource, _: &Context) -> Vec<Violation> {
    let Some(index) = rules(role).position(|rule| {
        ["apiGroups", "resources", "verbs"]
            .iter()
            .any(|key| strings(rule.get(key)).iter().any(|v| v.contains('*')))
    }) else {
        return Vec::new();
    };
    vec![Violation::new(format!(
        "{} `{}` grants wildcard permissions",
        role.kind,
        object_name(role)
    ))
    .evidence(describe_rule(role, index))]
}

pub(crate) const SECRETS_READ: Check = role_check(
    RuleSpec {
        id: "iac.k8s.rbac-secrets-read",
        title: "Role can read all secrets",
        severity: Severity::High,
        description: "get, list or watch on secrets (not limited to named ones) lets the subject read every Secret in the namespace, or the cluster for a ClusterRole: service account tokens, TLS keys, database passwords. list and watch return the contents too.",
        remediation: "Grant access to specific secrets through resourceNames, or mount the secrets into the workload that needs them instead of reading them through the API.",
        references: ROLE_REFERENCES,
        compliance: &[(CIS_K8S, "5.1.2"), (SOC2, "CC6.1"), (ISO27001, "A.8.3")],
        checkov: &["CKV2_K8S_5"],
    },
    |role, _| {
        grants(
            role,
            &[Operation {
                api_groups: &[""],
                verbs: &["get", "list", "watch"],
                resources: &["secrets"],
                named_resources_count: false,
            }],
            "can read all secrets",
        )
    },
);

pub(crate) const BIND: Check = role_check(
    RuleSpec {
        id: "iac.k8s.rbac-bind",
        title: "Role can bind roles",
        severity: Severity::High,
        description: "The bind verb on rolebindings or clusterrolebindings lets the subject create bindings to roles with permissions it does not itself hold, including cluster-admin: a direct path to privilege escalation.",
        remediation: "Remove the bind verb; let administrators or a controlled pipeline manage role bindings.",
        references: ROLE_REFERENCES,
        compliance: &[(CIS_K8S, "5.1.8"), (SOC2, "CC6.3"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_157"],
    },
    |role, _| {
        grants(
            role,
            &[Operation {
                api_groups: &["rbac.authorization.k8s.io"],
                verbs: &["bind"],
                resources: &["rolebindings", "clusterrolebindings"],
                named_resources_count: true,
            }],
            "can bind roles",
        )
    },
);

pub(crate) const ESCALATE: Check = role_check(
    RuleSpec {
        id: "iac.k8s.rbac-escalate",
        title: "Role can escalate roles",
        severity: Severity::High,
        description: "The escalate verb on roles or clusterroles lets the subject add to a role permissions it does not hold, bypassing RBAC's escalation prevention.",
        remediation: "Remove the escalate verb from the role.",
        references: ROLE_REFERENCES,
        compliance: &[(CIS_K8S, "5.1.8"), (SOC2, "CC6.3"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_158"],
    },
    |role, _| {
        grants(
            role,
            &[Operation {
                api_groups: &["rbac.authorization.k8s.io"],
                verbs: &["escalate"],
                resources: &["roles", "clusterroles"],
                named_resources_count: true,
            }],
            "can escalate roles",
        )
    },
);

pub(crate) const IMPERSONATE: Check = role_check(
    RuleSpec {
        id: "iac.k8s.rbac-impersonate",
        title: "Role can impersonate users, groups or service accounts",
        severity: Severity::High,
        description: "The impersonate verb lets the subject act as another user, group or service account, with all of its rights; impersonating system:masters is cluster-admin.",
        remediation: "Remove the impersonate verb, or limit it with resourceNames to the identities that are strictly required.",
        references: ROLE_REFERENCES,
        compliance: &[(CIS_K8S, "5.1.8"), (SOC2, "CC6.3"), (ISO27001, "A.8.2")],
        checkov: &["CKV2_K8S_3"],
    },
    |role, _| {
        grants(
            role,
            &[Operation {
                api_groups: &["", "authentication.k8s.io"],
                verbs: &["impersonate"],
                resources: &["users", "groups", "serviceaccounts", "uids", "userextras"],
                named_resources_count: true,
            }],
            "can impersonate other identities",
        )
    },
);

pub(crate) const WEBHOOK_CONTROL: Check = role_check(
    RuleSpec {
        id: "iac.k8s.rbac-webhook-control",
        title: "Role can modify admission webhooks",
        severity: Severity::High,
        description: "Write access to validating or mutating webhook configurations lets the subject disable admission policies or route every object creation through a webhook it controls, which can read or rewrite them (secrets included).",
        remediation: "Remove create, update and patch on mutatingwebhookconfigurations and validatingwebhookconfigurations from the role.",
        references: ROLE_REFERENCES,
        compliance: &[(CIS_K8S, "5.1.12"), (SOC2, "CC6.3"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_155"],
    },
    |role, _| {
        grants(
            role,
            &[Operation {
                api_groups: &["admissionregistration.k8s.io"],
                verbs: &["create", "update", "patch"],
                resources: &["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
                named_resources_count: true,
            }],
            "can modify admission webhooks",
        )
    },
);

pub(crate) const CSR_APPROVE: Check = role_check(
    RuleSpec {
        id: "iac.k8s.rbac-csr-approve",
        title: "Role can approve certificate signing requests",
        severity: Severity::High,
        description: "Approving CertificateSigningRequests (update on certificatesigningrequests/approval plus approve on signers) lets the subject issue client certificates for any identity the signer accepts, such as a node or a system:masters member.",
        remediation: "Remove the approval rights from the role; approve certificates through the controller manager or a dedicated approver.",
        references: ROLE_REFERENCES,
        compliance: &[(CIS_K8S, "5.1.11"), (SOC2, "CC6.3"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_156"],
    },
    |role, _| {
        grants(
            role,
            &[
                Operation {
                    api_groups: &["certificates.k8s.io"],
                    verbs: &["update", "patch"],
                    resources: &["certificatesigningrequests/approval"],
                    named_resources_count: true,
                },
                Operation {
                    api_groups: &["certificates.k8s.io"],
                    verbs: &["approve"],
                    resources: &["signers"],
                    named_resources_count: true,
                },
            ],
            "can approve certificate signing requests",
        )
    },
);

pub(crate) const CLUSTER_ADMIN_BINDING: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.cluster-admin-binding",
        title: "Subject bound to cluster-admin",
        severity: Severity::High,
        description: "The cluster-admin ClusterRole can do anything on any resource. Binding it to a user, group or service account (rather than using narrower roles) makes that subject's compromise a compromise of the whole cluster.",
        remediation: "Bind a role with only the permissions needed; keep cluster-admin for break-glass access.",
        references: &[RBAC, RBAC_GOOD_PRACTICES],
        compliance: &[(CIS_K8S, "5.1.1"), (SOC2, "CC6.3"), (ISO27001, "A.8.2")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: BINDING_KINDS,
        run: cluster_admin_binding,
    },
};

fn cluster_admin_binding(binding: &IacResource, _: &Context) -> Vec<Violation> {
    let role_kind = binding.get("roleRef.kind").and_then(Value::as_str);
    let role_name = binding.get("roleRef.name").and_then(Value::as_str);
    // Bindings Kubernetes creates itself are named system:*.
    if role_kind != Some("ClusterRole")
        || role_name != Some("cluster-admin")
        || object_name(binding).starts_with("system:")
    {
        return Vec::new();
    }
    let subjects: Vec<String> = binding
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            let field = |key| s.get(key).and_then(Value::as_str).unwrap_or("?");
            format!("{} {}", field("kind"), field("name"))
        })
        .collect();
    vec![Violation::new(format!(
        "{} `{}` grants cluster-admin",
        binding.kind,
        object_name(binding)
    ))
    .evidence(format!(
        "roleRef: ClusterRole cluster-admin; subjects: [{}]",
        subjects.join(", ")
    ))]
}
