//! EKS cluster and node group checks.

use palisade_core::Severity;
use serde_json::Value;

use super::{attr, fail_if, is_on, is_set, shown, strings, unknown, CIS_AWS, GDPR, ISO, SOC2};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{blocks, lookup, IacResource};

const CLUSTER_KINDS: &[&str] = &["aws_eks_cluster", "AWS::EKS::Cluster"];

fn endpoint_public(r: &IacResource) -> (bool, Option<&Value>) {
    let v = attr(
        r,
        "vpc_config.0.endpoint_public_access",
        "ResourcesVpcConfig.EndpointPublicAccess",
    );
    (is_on(v, true), v)
}

pub(crate) const PUBLIC_ENDPOINT: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.eks-public-endpoint",
        title: "EKS cluster API endpoint is public",
        severity: Severity::Medium,
        description: "A public Kubernetes API endpoint can be reached from the internet by anyone with (or trying) credentials, and is exposed to any API server vulnerability. The endpoint is public unless disabled.",
        remediation: "Set vpc_config { endpoint_private_access = true, endpoint_public_access = false } (CloudFormation: ResourcesVpcConfig.EndpointPublicAccess: false), or at least restrict public_access_cidrs.",
        references: &["https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html"],
        compliance: &[(CIS_AWS, "5.2"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        checkov: &["CKV_AWS_39"],
    },
    kind: CheckKind::PerResource {
        kinds: CLUSTER_KINDS,
        run: |r, _| {
            let (public, v) = endpoint_public(r);
            fail_if(public, || {
                Violation::new(format!("EKS cluster `{}` has a public API endpoint", r.name))
                    .evidence(shown(r, "vpc_config.endpoint_public_access", "ResourcesVpcConfig.EndpointPublicAccess", v, "true"))
            })
        },
    },
};

pub(crate) const PUBLIC_CIDR: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.eks-public-endpoint-open",
        title: "EKS public API endpoint is open to 0.0.0.0/0",
        severity: Severity::High,
        description: "When the public endpoint is enabled, public_access_cidrs defaults to 0.0.0.0/0: the whole internet can reach the Kubernetes API server.",
        remediation: "Disable the public endpoint, or set vpc_config.public_access_cidrs (CloudFormation: ResourcesVpcConfig.PublicAccessCidrs) to your office/VPN ranges.",
        references: &["https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20")],
        checkov: &["CKV_AWS_38"],
    },
    kind: CheckKind::PerResource {
        kinds: CLUSTER_KINDS,
        run: eks_public_cidr,
    },
};

fn eks_public_cidr(r: &IacResource, _: &Context) -> Vec<Violation> {
    if !endpoint_public(r).0 {
        return Vec::new();
    }
    let cidrs = attr(
        r,
        "vpc_config.0.public_access_cidrs",
        "ResourcesVpcConfig.PublicAccessCidrs",
    );
    let open = match cidrs {
        None => true,
        Some(v) if unknown(v) => false,
        Some(Value::Array(items)) if items.iter().any(unknown) => {
            strings(Some(&Value::Array(items.clone()))).contains(&"0.0.0.0/0")
        }
        Some(v) => {
            let list = strings(Some(v));
            list.is_empty() || list.contains(&"0.0.0.0/0")
        }
    };
    fail_if(open, || {
        Violation::new(format!(
            "EKS cluster `{}` API endpoint is open to the internet",
            r.name
        ))
        .evidence(shown(
            r,
            "vpc_config.public_access_cidrs",
            "ResourcesVpcConfig.PublicAccessCidrs",
            cidrs,
            "[\"0.0.0.0/0\"]",
        ))
    })
}

pub(crate) const SECRETS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.eks-secrets-encryption",
        title: "EKS cluster does not encrypt Kubernetes secrets with KMS",
        severity: Severity::Medium,
        description: "Envelope encryption of Kubernetes secrets with a customer managed KMS key protects them in etcd beyond the default encryption, and lets you audit and revoke access to them.",
        remediation: "Add encryption_config { resources = [\"secrets\"], provider { key_arn = <KMS key ARN> } } (CloudFormation: EncryptionConfig).",
        references: &["https://docs.aws.amazon.com/eks/latest/userguide/envelope-encryption.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_58"],
    },
    kind: CheckKind::PerResource {
        kinds: CLUSTER_KINDS,
        run: |r, _| {
            let configs = if r.framework.is_terraform() { r.get("encryption_config") } else { r.get("EncryptionConfig") };
            if configs.is_some_and(unknown) {
                return Vec::new();
            }
            let key = super::key(r, "resources", "Resources");
            let encrypted = blocks(configs).into_iter().any(|c| {
                c.get(key).is_some_and(|v| unknown(v) || strings(Some(v)).contains(&"secrets") || matches!(v, Value::Array(a) if a.iter().any(unknown)))
            });
            fail_if(!encrypted, || {
                Violation::new(format!("EKS cluster `{}` does not encrypt secrets with KMS", r.name))
                    .evidence(format!("{} with resources [\"secrets\"] not set", super::key(r, "encryption_config", "EncryptionConfig")))
            })
        },
    },
};

const LOG_TYPES: &[&str] = &[
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

pub(crate) const CONTROL_PLANE_LOGGING: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.eks-control-plane-logging",
        title: "EKS control plane logging is incomplete",
        severity: Severity::Low,
        description: "Control plane logs (API server, audit, authenticator, controller manager, scheduler) are the record of who did what in the cluster. Without audit and authenticator logs, a compromise of the cluster cannot be investigated.",
        remediation: "Set enabled_cluster_log_types = [\"api\", \"audit\", \"authenticator\", \"controllerManager\", \"scheduler\"] (CloudFormation: Logging.ClusterLogging.EnabledTypes).",
        references: &["https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.15")],
        checkov: &["CKV_AWS_37"],
    },
    kind: CheckKind::PerResource {
        kinds: CLUSTER_KINDS,
        run: |r, _| {
            let types: Vec<&str> = if r.framework.is_terraform() {
                match r.get("enabled_cluster_log_types") {
                    Some(v) if unknown(v) || matches!(v, Value::Array(a) if a.iter().any(unknown)) => return Vec::new(),
                    v => strings(v),
                }
            } else {
                match r.get("Logging.ClusterLogging.EnabledTypes") {
                    Some(v) if unknown(v) => return Vec::new(),
                    v => blocks(v).into_iter().flat_map(|t| strings(lookup(t, "Type"))).collect(),
                }
            };
            let missing: Vec<&str> = LOG_TYPES.iter().copied().filter(|t| !types.contains(t)).collect();
            fail_if(!missing.is_empty(), || {
                Violation::new(format!("EKS cluster `{}` does not log {}", r.name, missing.join(", ")))
                    .evidence(format!("{} = {:?}", super::key(r, "enabled_cluster_log_types", "Logging.ClusterLogging.EnabledTypes"), types))
            })
        },
    },
};

pub(crate) const NODE_GROUP_SSH: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.eks-node-group-ssh",
        title: "EKS node group allows SSH from anywhere",
        severity: Severity::Medium,
        description: "A node group with remote_access and an SSH key but no source security groups opens port 22 on every node to 0.0.0.0/0.",
        remediation: "Remove remote_access (use Session Manager), or set remote_access.source_security_group_ids (CloudFormation: RemoteAccess.SourceSecurityGroups).",
        references: &["https://docs.aws.amazon.com/eks/latest/APIReference/API_RemoteAccessConfig.html"],
        compliance: &[(CIS_AWS, "5.2"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        checkov: &["CKV_AWS_100"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_eks_node_group", "AWS::EKS::Nodegroup"],
        run: |r, _| {
            let access = if r.framework.is_terraform() { r.block("remote_access") } else { r.get("RemoteAccess") };
            let Some(access) = access.filter(|a| !unknown(a)) else {
                return Vec::new();
            };
            let (key_name, sources) = if r.framework.is_terraform() {
                ("ec2_ssh_key", "source_security_group_ids")
            } else {
                ("Ec2SshKey", "SourceSecurityGroups")
            };
            fail_if(is_set(access.get(key_name)) && !is_set(access.get(sources)), || {
                Violation::new(format!("EKS node group `{}` allows SSH from anywhere", r.name))
                    .evidence(format!("{key_name} set without {sources}"))
            })
        },
    },
};
