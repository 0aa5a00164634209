//! The typed snapshot of an AWS account that collectors fill and checks read.
//!
//! Every part a collector could not read is absent (`None`, or a list that
//! stays empty) and has a [`Gap`] saying why; checks never treat a missing
//! part as a pass, they simply do not run on it, and the gap is reported as
//! "not checked".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One account's resources, as collected at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Inventory {
    pub account_id: String,
    /// `aws`, `aws-cn`, `aws-us-gov`: the first field of every ARN.
    pub partition: String,
    pub collected_at: DateTime<Utc>,
    /// The regions collected.
    pub regions: Vec<String>,
    /// Global IAM state; `None` when it could not be read at all.
    pub iam: Option<Iam>,
    /// Buckets (a global listing, each bucket with its own region).
    pub s3: Option<S3>,
    /// The account-level S3 public access block (S3 Control); `Some(None)`
    /// when read and none is configured.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read_absent"
    )]
    pub s3_account_public_access_block: Option<Option<PublicAccessBlock>>,
    /// One entry per collected region.
    pub regional: Vec<Regional>,
    /// What could not be read, and why.
    pub gaps: Vec<Gap>,
}

/// A call that failed: the data behind it was not checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// `iam`, `s3`, `ec2` ...
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The API operation, e.g. `GetBucketPolicy`.
    pub operation: String,
    /// The resource the call was about, when it was about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The error code and message AWS returned (AccessDenied ...), or the transport error.
    pub reason: String,
}

impl Gap {
    pub fn new(
        service: &str,
        region: Option<&str>,
        operation: &str,
        resource: Option<&str>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            service: service.to_string(),
            region: region.map(str::to_string),
            operation: operation.to_string(),
            resource: resource.map(str::to_string),
            reason: reason.into(),
        }
    }
}

/// A managed policy attached to a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedPolicy {
    pub name: String,
    pub arn: String,
}

/// A policy embedded in a user, group or role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    /// The decoded JSON document.
    pub document: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Iam {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    /// Customer managed policies (AWS managed ones are known by ARN only).
    pub policies: Vec<ManagedPolicy>,
    pub password_policy: PasswordPolicyState,
    /// `GetAccountSummary`; `None` when it could not be read.
    pub summary: Option<AccountSummary>,
    /// Serial numbers of virtual MFA devices assigned to the root user.
    pub root_virtual_mfa: Vec<String>,
    /// Whether the virtual MFA listing was read (the hardware-MFA check needs it).
    pub virtual_mfa_listed: bool,
    pub server_certificates: Vec<ServerCertificate>,
    /// The root user's row of the credential report; `None` when it could not be read (with a gap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<RootCredentials>,
}

/// The root user as the credential report describes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RootCredentials {
    /// Last console sign-in; `None` when never (or before October 2014).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_last_used: Option<DateTime<Utc>>,
    pub mfa_active: bool,
    pub access_keys_active: bool,
    /// Latest use of either root access key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_last_used: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    pub name: String,
    pub arn: String,
    pub created: DateTime<Utc>,
    /// Whether the user has a console password (a login profile).
    pub password_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_last_used: Option<DateTime<Utc>>,
    /// Serial numbers of the user's MFA devices.
    pub mfa_devices: Vec<String>,
    pub access_keys: Vec<AccessKey>,
    pub attached_policies: Vec<AttachedPolicy>,
    pub inline_policies: Vec<InlinePolicy>,
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub active: bool,
    pub created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Group {
    pub name: String,
    pub arn: String,
    pub attached_policies: Vec<AttachedPolicy>,
    pub inline_policies: Vec<InlinePolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub path: String,
    pub created: DateTime<Utc>,
    /// The decoded trust (assume-role) policy.
    pub trust_policy: Value,
    pub attached_policies: Vec<AttachedPolicy>,
    pub inline_policies: Vec<InlinePolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
}

impl Role {
    /// Roles AWS creates and manages for its services; their policies are not the account's to change.
    pub fn is_service_linked(&self) -> bool {
        self.path.starts_with("/aws-service-role/")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub arn: String,
    pub attachment_count: u32,
    /// The default version's decoded document; `None` when it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
}

/// The account password policy, or the fact that there is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PasswordPolicyState {
    /// Not collected (see the gaps).
    #[default]
    Unknown,
    /// The account has no password policy: AWS defaults apply (8 characters, nothing else).
    NotSet,
    Set(PasswordPolicy),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicy {
    pub minimum_length: u32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    /// Passwords remembered and refused on change; `None` when reuse is not prevented.
    pub reuse_prevention: Option<u32>,
    /// Days a password is valid; `None` when passwords never expire.
    pub max_age_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSummary {
    /// `AccountMFAEnabled`: the root user has an MFA device.
    pub root_mfa_enabled: bool,
    /// `AccountAccessKeysPresent`: the root user has access keys.
    pub root_access_keys_present: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCertificate {
    pub name: String,
    pub arn: String,
    pub expiration: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3 {
    pub buckets: Vec<Bucket>,
}

/// A bucket. Settings that could not be read are `None` with a gap;
/// settings that are absent in AWS have their own "none" value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bucket {
    pub name: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<Vec<Grant>>,
    /// `Some(None)`: read, the bucket has no policy.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read_absent"
    )]
    pub policy: Option<Option<Value>>,
    /// `Some(None)`: read, no public access block is configured on the bucket.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read_absent"
    )]
    pub public_access_block: Option<Option<PublicAccessBlock>>,
    /// Default encryption algorithms (`AES256`, `aws:kms`); `Some(empty)` when none is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<Versioning>,
    /// The target bucket of server access logs; `Some(None)` when logging is off.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read_absent"
    )]
    pub logging_target: Option<Option<String>>,
    /// Object ownership (`BucketOwnerEnforced` disables ACLs); `Some(None)` when unset.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read_absent"
    )]
    pub ownership: Option<Option<String>>,
}

/// `"field": null` is a setting that was read and is absent (`Some(None)`);
/// a missing field was not read (`None`).
fn read_absent<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl Bucket {
    pub fn arn(&self, partition: &str) -> String {
        format!("arn:{partition}:s3:::{}", self.name)
    }
}

/// One ACL grant: who (a group URI or a canonical id) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee_id: Option<String>,
    /// `READ`, `WRITE`, `READ_ACP`, `WRITE_ACP`, `FULL_CONTROL`.
    pub permission: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub fn all_on(&self) -> bool {
        self.block_public_acls
            && self.ignore_public_acls
            && self.block_public_policy
            && self.restrict_public_buckets
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Versioning {
    pub enabled: bool,
    pub mfa_delete: bool,
}

/// What one region holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Regional {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2: Option<Ec2>,
    /// Trails whose home region this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trails: Option<Vec<Trail>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_keys: Option<Vec<KmsKey>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rds: Option<Rds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_functions: Option<Vec<LambdaFunction>>,
    /// Whether a GuardDuty detector is enabled in the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardduty_enabled: Option<bool>,
    /// Whether an AWS Config recorder is recording in the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_recording: Option<bool>,
    /// Whether Security Hub is enabled in the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub securityhub_enabled: Option<bool>,
    /// Application and network load balancers (ELBv2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancers: Option<Vec<LoadBalancer>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks_clusters: Option<Vec<EksCluster>>,
    /// Secrets Manager secrets (metadata only: values are never read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<Secret>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns_topics: Option<Vec<SnsTopic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs_queues: Option<Vec<SqsQueue>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EksCluster {
    pub name: String,
    pub arn: String,
    /// Kubernetes `major.minor`.
    pub version: String,
    /// The API server endpoint is reachable from outside the VPC.
    pub endpoint_public: bool,
    /// The sources allowed to the public endpoint (`0.0.0.0/0` when unrestricted).
    pub public_access_cidrs: Vec<String>,
    pub endpoint_private: bool,
    /// Control plane log types enabled (`api`, `audit`, `authenticator`, `controllerManager`, `scheduler`).
    pub logging: Vec<String>,
    /// Kubernetes secrets are envelope-encrypted with a KMS key.
    pub secrets_encrypted: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Secret {
    pub name: String,
    pub arn: String,
    pub rotation_enabled: bool,
    /// Days between automatic rotations, when rotation is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rotated: Option<DateTime<Utc>>,
    /// Day the value was last read (AWS keeps the date only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed: Option<DateTime<Utc>>,
    /// The KMS key; `None` for the AWS managed `aws/secretsmanager` key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// The resource policy; `None` without one (or when unreadable, with a gap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SnsTopic {
    pub name: String,
    pub arn: String,
    /// `KmsMasterKeyId`; `None` when the topic is not encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// The access policy; `None` without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
    /// Whether the attributes were read (encryption is unknown otherwise).
    pub attributes_read: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SqsQueue {
    pub name: String,
    pub arn: String,
    pub url: String,
    /// `KmsMasterKeyId` (SSE-KMS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// `SqsManagedSseEnabled` (SSE-SQS).
    pub sqs_managed_sse: bool,
    /// The access policy; `None` without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
    /// Whether the attributes were read (encryption is unknown otherwise).
    pub attributes_read: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadBalancer {
    pub name: String,
    pub arn: String,
    /// `application`, `network`, `gateway`.
    pub kind: String,
    /// Scheme `internet-facing` rather than `internal`.
    pub internet_facing: bool,
    pub dns_name: String,
    pub security_groups: Vec<String>,
    /// The subnets its nodes are in (their network ACLs apply).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    pub listeners: Vec<LbListener>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LbListener {
    pub port: i32,
    /// `HTTP`, `HTTPS`, `TCP`, `TLS`, `UDP` ...
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_policy: Option<String>,
    /// Whether the default action redirects to HTTPS.
    pub redirects_to_https: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rds {
    pub instances: Vec<DbInstance>,
    /// Manual snapshots owned by the account.
    pub snapshots: Vec<DbSnapshot>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DbInstance {
    pub id: String,
    pub arn: String,
    pub engine: String,
    pub publicly_accessible: bool,
    pub storage_encrypted: bool,
    /// Days automated backups are kept; 0 turns them off.
    pub backup_retention_days: i32,
    pub auto_minor_version_upgrade: bool,
    pub multi_az: bool,
    pub deletion_protection: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DbSnapshot {
    pub id: String,
    pub arn: String,
    pub encrypted: bool,
    /// Whether anyone may restore it (`restore` attribute holds `all`);
    /// `None` when the attribute could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LambdaFunction {
    pub name: String,
    pub arn: String,
    pub runtime: String,
    /// Names (never values) of environment variables whose name and value
    /// look like a credential rather than a reference to a secret store.
    pub secret_env_vars: Vec<String>,
    /// The function URL's auth type (`NONE`, `AWS_IAM`); `None` without a URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_auth_type: Option<String>,
    /// The resource-based policy; `None` without one (or when unreadable, with a gap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ec2 {
    pub instances: Vec<Instance>,
    pub security_groups: Vec<SecurityGroup>,
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub route_tables: Vec<RouteTable>,
    pub network_acls: Vec<NetworkAcl>,
    /// VPC ids that have at least one flow log; `None` when flow logs could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_log_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_default_encryption: Option<bool>,
    pub volumes: Vec<Volume>,
    pub snapshots: Vec<Snapshot>,
    pub images: Vec<Image>,
    pub addresses: Vec<Address>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Instance {
    pub id: String,
    /// `running`, `stopped` ...
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    pub security_groups: Vec<String>,
    /// `required` (IMDSv2 only) or `optional`.
    pub http_tokens: String,
    /// `enabled` or `disabled`.
    pub http_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    pub ingress: Vec<SgRule>,
    pub egress: Vec<SgRule>,
}

/// One permission of a security group. `protocol` is `-1` for all traffic;
/// ports are `None` when the rule covers every port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SgRule {
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    pub ipv4_ranges: Vec<String>,
    pub ipv6_ranges: Vec<String>,
    /// Other security groups allowed (by id).
    pub groups: Vec<String>,
}

impl SgRule {
    /// Whether traffic to `port` over TCP passes this rule.
    pub fn covers_tcp_port(&self, port: i32) -> bool {
        match self.protocol.as_str() {
            "-1" | "all" => true,
            "tcp" | "6" => match (self.from_port, self.to_port) {
                (Some(from), Some(to)) => from <= port && port <= to,
                _ => true,
            },
            _ => false,
        }
    }

    /// Whether every port of every protocol passes.
    pub fn covers_all_ports(&self) -> bool {
        match self.protocol.as_str() {
            "-1" | "all" => true,
            "tcp" | "6" | "udp" | "17" => {
                matches!((self.from_port, self.to_port), (None, _) | (_, None))
                    || (self.from_port == Some(0) && self.to_port == Some(65535))
            }
            _ => false,
        }
    }

    /// The internet ranges this rule admits (`0.0.0.0/0`, `::/0`).
    pub fn open_ranges(&self) -> Vec<&str> {
        self.ipv4_ranges
            .iter()
            .chain(&self.ipv6_ranges)
            .map(String::as_str)
            .filter(|r| *r == "0.0.0.0/0" || *r == "::/0")
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vpc {
    pub id: String,
    pub is_default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub map_public_ip_on_launch: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    /// Whether this is the VPC's main table (used by subnets without an association).
    pub main: bool,
    pub subnet_ids: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Route {
    /// `0.0.0.0/0`, `::/0`, `10.0.0.0/16` ...
    pub destination: String,
    /// `igw-...`, `local`, `nat-...` ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkAcl {
    pub id: String,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub entries: Vec<NaclEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NaclEntry {
    pub rule_number: i32,
    pub egress: bool,
    /// `-1` for all, `6` TCP, `17` UDP.
    pub protocol: String,
    pub allow: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<(i32, i32)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    pub id: String,
    pub encrypted: bool,
    pub attached_to: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub id: String,
    pub encrypted: bool,
    /// Whether anyone can create a volume from it; `None` when the attribute could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub public: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    pub public_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_id: Option<String>,
    /// The instance or network interface it is associated with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_with: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Trail {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub multi_region: bool,
    pub log_file_validation: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch_log_group: Option<String>,
    /// `GetTrailStatus`; `None` when it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_logging: Option<bool>,
    /// Event selectors; `None` when they could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selectors: Option<TrailSelectors>,
}

/// What a trail records, reduced to what the checks ask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrailSelectors {
    /// Management events, both read and write.
    pub management_all: bool,
    /// S3 object-level write events for all buckets.
    pub s3_data_write: bool,
    /// S3 object-level read events for all buckets.
    pub s3_data_read: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KmsKey {
    pub id: String,
    pub arn: String,
    /// Customer managed (`CUSTOMER`) rather than AWS managed (`AWS`).
    pub customer_managed: bool,
    /// `Enabled`, `Disabled`, `PendingDeletion` ...
    pub state: String,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048` ...
    pub spec: String,
    /// `AWS_KMS`, `EXTERNAL` ...
    pub origin: String,
    /// `None` when not applicable or not readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
}

impl KmsKey {
    /// Whether AWS supports automatic rotation for this key.
    pub fn rotatable(&self) -> bool {
        self.customer_managed && self.spec == "SYMMETRIC_DEFAULT" && self.origin == "AWS_KMS"
    }
}
