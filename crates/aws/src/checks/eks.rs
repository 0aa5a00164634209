//! EKS clusters: a public API endpoint, control plane logging, secrets
//! encryption, an unsupported Kubernetes version.

use palisade_core::Severity;

use super::{each, Check, Hit, RuleSpec, ISO, SOC2};
use crate::inventory::{EksCluster, Inventory};

const CLUSTER: &str = "AWS::EKS::Cluster";
/// CIS Amazon EKS Benchmark, for the controls that are about the cluster's AWS side.
const CIS_EKS: &str = "CIS Amazon EKS v1.5";
/// Control plane log types; all are needed to investigate an intrusion.
pub const LOG_TYPES: [&str; 5] = [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];
/// The oldest `major.minor` still in EKS standard support (as Prowler's default).
pub const OLDEST_SUPPORTED: (u32, u32) = (1, 28);

fn clusters(inv: &Inventory) -> impl Iterator<Item = (&str, &EksCluster)> {
    each(inv, |r| r.eks_clusters.as_deref())
}

pub(crate) const PUBLIC_ENDPOINT: Check = Check {
    rule: RuleSpec {
        id: "aws.eks.public-endpoint",
        title: "EKS cluster API endpoint is open to the internet",
        severity: Severity::High,
        description: "The cluster's Kubernetes API server accepts connections from 0.0.0.0/0. Every credential leak, RBAC mistake or API server vulnerability is then one request away from anyone.",
        remediation: "aws eks update-cluster-config --name CLUSTER --resources-vpc-config endpointPublicAccess=false,endpointPrivateAccess=true (or keep it public and set publicAccessCidrs to your office and CI ranges).",
        references: &["https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html"],
        compliance: &[(CIS_EKS, "5.4.2"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &["eks_cluster_not_publicly_accessible", "eks_endpoints_not_publicly_accessible"],
    },
    run: |inv, _| {
        clusters(inv)
            .filter(|(_, c)| c.endpoint_public && c.public_access_cidrs.iter().any(|r| r == "0.0.0.0/0" || r == "::/0"))
            .map(|(region, c)| {
                Hit::new(CLUSTER, &c.arn, format!("the API endpoint of EKS cluster {} is reachable from anywhere", c.name))
                    .region(region)
                    .evidence(format!("endpointPublicAccess: true, publicAccessCidrs: {}", c.public_access_cidrs.join(", ")))
            })
            .collect()
    },
};

pub(crate) const LOGGING: Check = Check {
    rule: RuleSpec {
        id: "aws.eks.control-plane-logging",
        title: "EKS control plane logging is not enabled for every log type",
        severity: Severity::Medium,
        description: "Without the audit and authenticator logs there is no record of who called the Kubernetes API and with which identity; api, controllerManager and scheduler logs explain what the control plane did.",
        remediation: "aws eks update-cluster-config --name CLUSTER --logging '{\"clusterLogging\":[{\"types\":[\"api\",\"audit\",\"authenticator\",\"controllerManager\",\"scheduler\"],\"enabled\":true}]}'.",
        references: &["https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html"],
        compliance: &[(CIS_EKS, "2.1.1"), (SOC2, "CC7.2"), (ISO, "A.8.15")],
        prowler: &["eks_control_plane_logging_all_types_enabled"],
    },
    run: |inv, _| {
        clusters(inv)
            .filter_map(|(region, c)| {
                let missing: Vec<&str> = LOG_TYPES.iter().copied().filter(|t| !c.logging.iter().any(|l| l == t)).collect();
                if missing.is_empty() {
                    return None;
                }
                Some(
                    Hit::new(CLUSTER, &c.arn, format!("EKS cluster {} does not log {}", c.name, missing.join(", ")))
                        .region(region)
                        .evidence(format!("enabled log types: [{}]", c.logging.join(", "))),
                )
            })
            .collect()
    },
};

pub(crate) const SECRETS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.eks.secrets-encryption",
        title: "EKS cluster does not encrypt Kubernetes secrets with KMS",
        severity: Severity::Medium,
        description: "Without an encryption configuration, Kubernetes Secret objects are encrypted in etcd only with a key AWS owns; envelope encryption with your own KMS key adds a layer you control, audit in CloudTrail and can revoke.",
        remediation: "aws eks associate-encryption-config --cluster-name CLUSTER --encryption-config '[{\"resources\":[\"secrets\"],\"provider\":{\"keyArn\":\"KEY_ARN\"}}]'.",
        references: &["https://docs.aws.amazon.com/eks/latest/userguide/enable-kms.html"],
        compliance: &[(CIS_EKS, "5.3.1"), (SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["eks_cluster_kms_cmk_encryption_in_secrets_enabled"],
    },
    run: |inv, _| {
        clusters(inv)
            .filter(|(_, c)| !c.secrets_encrypted)
            .map(|(region, c)| {
                Hit::new(CLUSTER, &c.arn, format!("EKS cluster {} stores Kubernetes secrets without KMS envelope encryption", c.name))
                    .region(region)
                    .evidence("encryptionConfig: none for resource secrets")
            })
            .collect()
    },
};

/// `1.27` as `(1, 27)`; `None` for anything else.
fn version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.split('.').next()?.parse().ok()?))
}

pub(crate) const UNSUPPORTED_VERSION: Check = Check {
    rule: RuleSpec {
        id: "aws.eks.unsupported-version",
        title: "EKS cluster runs a Kubernetes version out of standard support",
        severity: Severity::High,
        description: "Versions past standard support get no more security fixes from the Kubernetes project (and cost extended-support fees on EKS). The oldest supported version is 1.28, as in Prowler's default.",
        remediation: "Upgrade the control plane one minor version at a time (aws eks update-cluster-version), then the node groups and add-ons.",
        references: &["https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html"],
        compliance: &[(SOC2, "CC7.1"), (ISO, "A.8.8")],
        prowler: &["eks_cluster_uses_a_supported_version"],
    },
    run: |inv, _| {
        clusters(inv)
            .filter(|(_, c)| version(&c.version).is_some_and(|v| v < OLDEST_SUPPORTED))
            .map(|(region, c)| {
                Hit::new(CLUSTER, &c.arn, format!("EKS cluster {} runs Kubernetes {}, out of standard support", c.name, c.version))
                    .region(region)
                    .evidence(format!("version: {} (oldest supported {}.{})", c.version, OLDEST_SUPPORTED.0, OLDEST_SUPPORTED.1))
            })
            .collect()
    },
};
