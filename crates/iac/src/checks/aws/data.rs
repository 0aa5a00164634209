//! Data store and messaging checks: encryption, backups and exposure of EFS,
//! SNS, SQS, DynamoDB, ElastiCache, Redshift, OpenSearch, Kinesis,
//! CloudWatch Logs and Secrets Manager.

use palisade_core::Severity;

use super::{
    attr, fail_if, is_off, is_on, is_set, known_str, require_on, require_set, shown, unknown,
    CIS_AWS, GDPR, ISO, SOC2,
};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::IacResource;

const AT_REST: &[(&str, &str)] = &[(SOC2, "CC6.1"), (ISO, "A.8.24"), (GDPR, "Art. 32")];

pub(crate) const EFS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.efs-encryption",
        title: "EFS file system is not encrypted",
        severity: Severity::High,
        description: "An unencrypted EFS file system stores its files and metadata in the clear; encryption at rest can only be chosen when the file system is created.",
        remediation: "Set encrypted = true (CloudFormation: Encrypted: true), optionally with kms_key_id.",
        references: &["https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html"],
        compliance: &[(CIS_AWS, "2.4.1"), (SOC2, "CC6.1"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_42"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_efs_file_system", "AWS::EFS::FileSystem"],
        run: |r, _| require_on(r, "encrypted", "Encrypted", false, "is not encrypted at rest"),
    },
};

pub(crate) const SNS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.sns-encryption",
        title: "SNS topic is not encrypted",
        severity: Severity::Medium,
        description: "Without server-side encryption, messages published to the topic are stored unencrypted until delivered. Notifications often carry personal data or secrets.",
        remediation: "Set kms_master_key_id (\"alias/aws/sns\" or a customer managed key; CloudFormation: KmsMasterKeyId).",
        references: &["https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html"],
        compliance: AT_REST,
        checkov: &["CKV_AWS_26"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_sns_topic", "AWS::SNS::Topic"],
        run: |r, _| require_set(r, "kms_master_key_id", "KmsMasterKeyId", "is not encrypted with KMS"),
    },
};

pub(crate) const SQS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.sqs-encryption",
        title: "SQS queue is not encrypted",
        severity: Severity::Medium,
        description: "Without server-side encryption (SSE-SQS or SSE-KMS), messages waiting in the queue are stored unencrypted.",
        remediation: "Set sqs_managed_sse_enabled = true or kms_master_key_id (CloudFormation: SqsManagedSseEnabled: true or KmsMasterKeyId).",
        references: &["https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html"],
        compliance: AT_REST,
        checkov: &["CKV_AWS_27"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_sqs_queue", "AWS::SQS::Queue"],
        run: |r, _| {
            if is_set(attr(r, "kms_master_key_id", "KmsMasterKeyId")) {
                return Vec::new();
            }
            require_on(r, "sqs_managed_sse_enabled", "SqsManagedSseEnabled", false, "is not encrypted at rest")
        },
    },
};

pub(crate) const DYNAMODB_PITR: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.dynamodb-pitr",
        title: "DynamoDB table has no point-in-time recovery",
        severity: Severity::Medium,
        description: "Point-in-time recovery keeps continuous backups for 35 days, so a table can be restored to any second after an accidental write, a bad deployment or a malicious delete.",
        remediation: "Add point_in_time_recovery { enabled = true } (CloudFormation: PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }).",
        references: &["https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery.html"],
        compliance: &[(SOC2, "A1.2"), (ISO, "A.8.13")],
        checkov: &["CKV_AWS_28"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_dynamodb_table", "AWS::DynamoDB::Table"],
        run: |r, _| require_on(r, "point_in_time_recovery.0.enabled", "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled", false, "has no point-in-time recovery"),
    },
};

pub(crate) const DYNAMODB_CMK: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.dynamodb-kms",
        title: "DynamoDB table is not encrypted with a KMS key",
        severity: Severity::Low,
        description: "By default DynamoDB encrypts with an AWS owned key that the account cannot see, audit or revoke. SSE with KMS puts access to the data under a key policy and logs its use in CloudTrail.",
        remediation: "Add server_side_encryption { enabled = true, kms_key_arn = <key> } (CloudFormation: SSESpecification: { SSEEnabled: true, SSEType: KMS, KMSMasterKeyId }).",
        references: &["https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html"],
        compliance: AT_REST,
        checkov: &["CKV_AWS_119"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_dynamodb_table", "AWS::DynamoDB::Table"],
        run: |r, _| require_on(r, "server_side_encryption.0.enabled", "SSESpecification.SSEEnabled", false, "is not encrypted with a KMS key"),
    },
};

const REPLICATION_GROUP: &[&str] = &[
    "aws_elasticache_replication_group",
    "AWS::ElastiCache::ReplicationGroup",
];

pub(crate) const ELASTICACHE_AT_REST: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.elasticache-encryption-at-rest",
        title: "ElastiCache replication group is not encrypted at rest",
        severity: Severity::Medium,
        description: "Without at-rest encryption, cached data on disk (swap, backups and snapshots) is stored in the clear. Caches commonly hold sessions and personal data.",
        remediation: "Set at_rest_encryption_enabled = true (CloudFormation: AtRestEncryptionEnabled: true), optionally with kms_key_id.",
        references: &["https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/at-rest-encryption.html"],
        compliance: AT_REST,
        checkov: &["CKV_AWS_29"],
    },
    kind: CheckKind::PerResource {
        kinds: REPLICATION_GROUP,
        run: |r, _| require_on(r, "at_rest_encryption_enabled", "AtRestEncryptionEnabled", false, "is not encrypted at rest"),
    },
};

pub(crate) const ELASTICACHE_IN_TRANSIT: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.elasticache-encryption-in-transit",
        title: "ElastiCache replication group is not encrypted in transit",
        severity: Severity::Medium,
        description: "Without in-transit encryption, traffic between clients and the cache, and between nodes, is plain text that anyone on the network path can read or alter.",
        remediation: "Set transit_encryption_enabled = true (CloudFormation: TransitEncryptionEnabled: true) and configure an auth token or RBAC.",
        references: &["https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html"],
        compliance: &[(SOC2, "CC6.7"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_30"],
    },
    kind: CheckKind::PerResource {
        kinds: REPLICATION_GROUP,
        run: |r, _| require_on(r, "transit_encryption_enabled", "TransitEncryptionEnabled", false, "is not encrypted in transit"),
    },
};

pub(crate) const REDSHIFT_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.redshift-encryption",
        title: "Redshift cluster is not encrypted",
        severity: Severity::High,
        description: "An unencrypted Redshift cluster stores its data blocks, system metadata and snapshots in the clear. Data warehouses usually concentrate the most sensitive data.",
        remediation: "Set encrypted = true (CloudFormation: Encrypted: true) with kms_key_id.",
        references: &["https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-db-encryption.html"],
        compliance: AT_REST,
        checkov: &["CKV_AWS_64"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_redshift_cluster", "AWS::Redshift::Cluster"],
        run: |r, _| {
            if is_set(attr(r, "snapshot_identifier", "SnapshotIdentifier")) {
                return Vec::new();
            }
            require_on(r, "encrypted", "Encrypted", false, "is not encrypted at rest")
        },
    },
};

pub(crate) const REDSHIFT_PUBLIC: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.redshift-public",
        title: "Redshift cluster is publicly accessible",
        severity: Severity::High,
        description: "A publicly accessible cluster gets a public endpoint; with a permissive security group, the warehouse is reachable from the internet. The Terraform AWS provider before v6 defaults publicly_accessible to true.",
        remediation: "Set publicly_accessible = false (CloudFormation: PubliclyAccessible: false).",
        references: &["https://docs.aws.amazon.com/redshift/latest/mgmt/managing-clusters-vpc.html"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_87"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_redshift_cluster", "AWS::Redshift::Cluster"],
        run: redshift_public,
    },
};

fn redshift_public(r: &IacResource, _: &Context) -> Vec<Violation> {
    let v = attr(r, "publicly_accessible", "PubliclyAccessible");
    let default_on = r.framework.is_terraform();
    fail_if(is_on(v, default_on), || {
        Violation::new(format!(
            "Redshift cluster `{}` is publicly accessible",
            r.name
        ))
        .evidence(shown(
            r,
            "publicly_accessible",
            "PubliclyAccessible",
            v,
            if default_on { "true" } else { "false" },
        ))
    })
}

const SEARCH_KINDS: &[&str] = &[
    "aws_elasticsearch_domain",
    "aws_opensearch_domain",
    "AWS::Elasticsearch::Domain",
    "AWS::OpenSearchService::Domain",
];

pub(crate) const OPENSEARCH_AT_REST: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.opensearch-encryption-at-rest",
        title: "OpenSearch domain is not encrypted at rest",
        severity: Severity::High,
        description: "Without encryption at rest, indices, logs, swap files and automated snapshots of the domain are stored in the clear.",
        remediation: "Add encrypt_at_rest { enabled = true } (CloudFormation: EncryptionAtRestOptions: { Enabled: true }).",
        references: &["https://docs.aws.amazon.com/opensearch-service/latest/developerguide/encryption-at-rest.html"],
        compliance: AT_REST,
        checkov: &["CKV_AWS_5"],
    },
    kind: CheckKind::PerResource {
        kinds: SEARCH_KINDS,
        run: |r, _| require_on(r, "encrypt_at_rest.0.enabled", "EncryptionAtRestOptions.Enabled", false, "is not encrypted at rest"),
    },
};

pub(crate) const OPENSEARCH_NODE_TO_NODE: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.opensearch-node-to-node-encryption",
        title: "OpenSearch domain does not encrypt node-to-node traffic",
        severity: Severity::Medium,
        description: "Without node-to-node encryption, data replicated between the domain's nodes crosses the VPC network in plain text.",
        remediation: "Add node_to_node_encryption { enabled = true } (CloudFormation: NodeToNodeEncryptionOptions: { Enabled: true }).",
        references: &["https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ntn.html"],
        compliance: &[(SOC2, "CC6.7"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_6"],
    },
    kind: CheckKind::PerResource {
        kinds: SEARCH_KINDS,
        run: |r, _| require_on(r, "node_to_node_encryption.0.enabled", "NodeToNodeEncryptionOptions.Enabled", false, "does not encrypt node-to-node traffic"),
    },
};

pub(crate) const OPENSEARCH_HTTPS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.opensearch-enforce-https",
        title: "OpenSearch domain does not enforce HTTPS",
        severity: Severity::Medium,
        description: "Unless HTTPS is enforced, clients can send queries, documents and credentials to the domain endpoint over plain HTTP.",
        remediation: "Add domain_endpoint_options { enforce_https = true, tls_security_policy = \"Policy-Min-TLS-1-2-2019-07\" } (CloudFormation: DomainEndpointOptions: { EnforceHTTPS: true }).",
        references: &["https://docs.aws.amazon.com/opensearch-service/latest/developerguide/createupdatedomains.html#createdomain-configure-endpoint"],
        compliance: &[(SOC2, "CC6.7"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_83"],
    },
    kind: CheckKind::PerResource {
        kinds: SEARCH_KINDS,
        run: opensearch_https,
    },
};

fn opensearch_https(r: &IacResource, _: &Context) -> Vec<Violation> {
    let options = if r.framework.is_terraform() {
        r.block("domain_endpoint_options")
    } else {
        r.get("DomainEndpointOptions")
    };
    let enforce_key = super::key(r, "enforce_https", "EnforceHTTPS");
    let value = match options {
        // Without the block the API default applies: HTTPS not enforced.
        None => None,
        Some(o) if unknown(o) => return Vec::new(),
        Some(o) => Some(o.get(enforce_key)),
    };
    let off = match value {
        None => true,
        // Terraform's block defaults enforce_https to true; CloudFormation's to false.
        Some(v) => is_off(v, r.framework.is_terraform()),
    };
    fail_if(off, || {
        let evidence = match value.flatten() {
            Some(v) => shown(
                r,
                "domain_endpoint_options.enforce_https",
                "DomainEndpointOptions.EnforceHTTPS",
                Some(v),
                "",
            ),
            None => format!(
                "{} not set",
                super::key(
                    r,
                    "domain_endpoint_options.enforce_https",
                    "DomainEndpointOptions.EnforceHTTPS"
                )
            ),
        };
        Violation::new(format!("`{}` does not enforce HTTPS", r.name)).evidence(evidence)
    })
}

pub(crate) const KINESIS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.kinesis-encryption",
        title: "Kinesis stream is not encrypted",
        severity: Severity::Medium,
        description: "Without server-side encryption, records in the stream are stored unencrypted for the whole retention period.",
        remediation: "Set encryption_type = \"KMS\" with kms_key_id (CloudFormation: StreamEncryption: { EncryptionType: KMS, KeyId }).",
        references: &["https://docs.aws.amazon.com/streams/latest/dev/server-side-encryption.html"],
        compliance: AT_REST,
        checkov: &["CKV_AWS_43"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_kinesis_stream", "AWS::Kinesis::Stream"],
        run: |r, _| {
            if !r.framework.is_terraform() {
                return require_set(r, "", "StreamEncryption", "is not encrypted at rest");
            }
            let v = r.get("encryption_type");
            let encrypted = v.is_some_and(|v| unknown(v) || known_str(Some(v)) == Some("KMS"));
            fail_if(!encrypted, || {
                Violation::new(format!("`{}` is not encrypted at rest", r.name))
                    .evidence(shown(r, "encryption_type", "", v, "\"NONE\""))
            })
        },
    },
};

pub(crate) const LOG_GROUP_RETENTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.cloudwatch-log-group-retention",
        title: "CloudWatch log group has no retention period",
        severity: Severity::Low,
        description: "Without a retention period, logs are kept forever: personal data in them outlives any retention policy (GDPR storage limitation) and costs grow without bound. A deliberate retention also documents how long evidence is available for investigations.",
        remediation: "Set retention_in_days (CloudFormation: RetentionInDays) to the period your logging policy requires, e.g. 365.",
        references: &["https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html#SettingLogRetention"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.15"), (GDPR, "Art. 5(1)(e)")],
        checkov: &["CKV_AWS_66"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_cloudwatch_log_group", "AWS::Logs::LogGroup"],
        run: |r, _| {
            let v = attr(r, "retention_in_days", "RetentionInDays");
            let kept_forever = match v {
                None => true,
                Some(v) if unknown(v) => false,
                Some(v) => super::int(Some(v)).is_none_or(|d| d <= 0),
            };
            fail_if(kept_forever, || {
                Violation::new(format!("log group `{}` keeps logs forever", r.name))
                    .evidence(shown(r, "retention_in_days", "RetentionInDays", v, "0, never expire"))
            })
        },
    },
};

pub(crate) const LOG_GROUP_KMS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.cloudwatch-log-group-kms",
        title: "CloudWatch log group is not encrypted with a KMS key",
        severity: Severity::Low,
        description: "Log groups are always encrypted by CloudWatch, but only a customer managed KMS key puts reading the logs under a key policy you control and audit. Logs often contain tokens and personal data.",
        remediation: "Set kms_key_id to a customer managed key whose policy allows the CloudWatch Logs service (CloudFormation: KmsKeyId).",
        references: &["https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"],
        compliance: AT_REST,
        checkov: &["CKV_AWS_158"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_cloudwatch_log_group", "AWS::Logs::LogGroup"],
        run: |r, _| require_set(r, "kms_key_id", "KmsKeyId", "is not encrypted with a KMS key"),
    },
};

pub(crate) const SECRETS_MANAGER_CMK: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.secretsmanager-kms",
        title: "Secrets Manager secret uses the AWS managed key",
        severity: Severity::Low,
        description: "With the default aws/secretsmanager key, anyone allowed secretsmanager:GetSecretValue in the account can decrypt the secret, and the secret cannot be shared across accounts. A customer managed key adds a key policy as a second gate.",
        remediation: "Set kms_key_id to a customer managed KMS key (CloudFormation: KmsKeyId).",
        references: &["https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html"],
        compliance: AT_REST,
        checkov: &["CKV_AWS_149"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_secretsmanager_secret", "AWS::SecretsManager::Secret"],
        run: |r, _| require_set(r, "kms_key_id", "KmsKeyId", "is encrypted with the AWS managed key"),
    },
};
