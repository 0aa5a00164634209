//! Built-in AWS checks: every check fails on a misconfigured resource and
//! passes on a fixed one, in Terraform shape and (where the check covers it)
//! CloudFormation shape. Resources are built directly in the documented
//! attribute shapes (see `palisade_iac::model`).

use std::collections::{BTreeMap, BTreeSet};

use palisade_iac::checks::{all_checks, CheckKind, Context, Violation};
use palisade_iac::{Framework, IacResource};
use serde_json::{json, Value};

fn resource(framework: Framework, kind: &str, name: &str, attributes: Value) -> IacResource {
    let address = if framework == Framework::CloudFormation {
        name.to_string()
    } else {
        format!("{kind}.{name}")
    };
    IacResource {
        framework,
        kind: kind.to_string(),
        address,
        name: name.to_string(),
        file: "main.tf".to_string(),
        start_line: 1,
        end_line: 10,
        attributes,
    }
}

/// A Terraform resource; address `kind.name`.
fn tf(kind: &str, name: &str, attributes: Value) -> IacResource {
    resource(Framework::Terraform, kind, name, attributes)
}

/// A CloudFormation resource; address = logical id.
fn cfn(kind: &str, logical_id: &str, properties: Value) -> IacResource {
    resource(Framework::CloudFormation, kind, logical_id, properties)
}

/// Runs one check over a set of resources and returns its violations.
fn run(id: &str, resources: &[IacResource]) -> Vec<Violation> {
    let check = all_checks()
        .find(|c| c.rule.id == id)
        .unwrap_or_else(|| panic!("no check {id}"));
    let ctx = Context::new(resources);
    match &check.kind {
        CheckKind::PerResource { kinds, run } => resources
            .iter()
            .filter(|r| kinds.contains(&r.kind.as_str()))
            .flat_map(|r| run(r, &ctx))
            .collect(),
        CheckKind::Set(run) => run(&ctx).into_iter().map(|(_, v)| v).collect(),
    }
}

struct Case {
    id: &'static str,
    resources: Vec<IacResource>,
    expected: usize,
}

fn case(id: &'static str, resources: Vec<IacResource>, expected: usize) -> Case {
    Case {
        id,
        resources,
        expected,
    }
}

fn policy(statement: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

fn cases() -> Vec<Case> {
    let bucket = || tf("aws_s3_bucket", "data", json!({"bucket": "data-bucket"}));
    let b_ref = "${aws_s3_bucket.data.id}";
    let cfn_bucket = |props: Value| cfn("AWS::S3::Bucket", "Data", props);
    let public_stmt = json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data-bucket/*"});
    let sg = |rule: Value| tf("aws_security_group", "web", json!({"ingress": [rule]}));
    let tcp = |from: i64, to: i64, cidr: &str| json!({"protocol": "tcp", "from_port": from, "to_port": to, "cidr_blocks": [cidr]});
    let cfn_sg = |rule: Value| {
        cfn(
            "AWS::EC2::SecurityGroup",
            "WebSg",
            json!({"SecurityGroupIngress": [rule]}),
        )
    };
    let admin = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
    let pwd = |attrs: Value| tf("aws_iam_account_password_policy", "strict", attrs);
    let strict_pwd = json!({"minimum_password_length": 14, "password_reuse_prevention": 24,
        "require_lowercase_characters": true, "require_uppercase_characters": true,
        "require_numbers": true, "require_symbols": true});
    let db = |attrs: Value| tf("aws_db_instance", "db", attrs);
    let cluster = |attrs: Value| tf("aws_rds_cluster", "db", attrs);
    let trail = |attrs: Value| tf("aws_cloudtrail", "main", attrs);
    let lb = |attrs: Value| tf("aws_lb", "web", attrs);
    let listener = |attrs: Value| tf("aws_lb_listener", "web", attrs);
    let eks = |attrs: Value| tf("aws_eks_cluster", "main", attrs);
    let ecr = |attrs: Value| tf("aws_ecr_repository", "app", attrs);
    let lambda = |vars: Value| {
        tf(
            "aws_lambda_function",
            "api",
            json!({"environment": [{"variables": vars}]}),
        )
    };
    let cf = |attrs: Value| tf("aws_cloudfront_distribution", "cdn", attrs);

    vec![
        // ---------------------------------------------------------------- S3
        case("iac.aws.s3-encryption", vec![bucket()], 1),
        case(
            "iac.aws.s3-encryption",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_server_side_encryption_configuration",
                    "data",
                    json!({"bucket": b_ref}),
                ),
            ],
            0,
        ),
        case("iac.aws.s3-encryption", vec![cfn_bucket(json!({}))], 1),
        case(
            "iac.aws.s3-encryption",
            vec![cfn_bucket(
                json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": []}}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-kms-encryption",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_server_side_encryption_configuration",
                    "data",
                    json!({"bucket": b_ref, "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "AES256"}]}]}),
                ),
            ],
            1,
        ),
        case(
            "iac.aws.s3-kms-encryption",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_server_side_encryption_configuration",
                    "data",
                    json!({"bucket": b_ref, "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}]}]}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.s3-kms-encryption",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_server_side_encryption_configuration",
                    "data",
                    json!({"bucket": b_ref, "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "${var.algo}"}]}]}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.s3-kms-encryption",
            vec![cfn_bucket(
                json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-kms-encryption",
            vec![cfn_bucket(
                json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-public-read-acl",
            vec![tf("aws_s3_bucket", "data", json!({"acl": "public-read"}))],
            1,
        ),
        case(
            "iac.aws.s3-public-read-acl",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_acl",
                    "data",
                    json!({"bucket": b_ref, "acl": "public-read"}),
                ),
            ],
            1,
        ),
        case(
            "iac.aws.s3-public-read-acl",
            vec![tf(
                "aws_s3_bucket_acl",
                "orphan",
                json!({"bucket": "${var.bucket}", "acl": "authenticated-read"}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-public-read-acl",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_acl",
                    "data",
                    json!({"bucket": b_ref, "access_control_policy": [{
            "grant": [{"grantee": [{"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}], "permission": "READ"}]}]}),
                ),
            ],
            1,
        ),
        case(
            "iac.aws.s3-public-read-acl",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_acl",
                    "data",
                    json!({"bucket": b_ref, "acl": "private"}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.s3-public-read-acl",
            vec![tf("aws_s3_bucket", "data", json!({"acl": "${var.acl}"}))],
            0,
        ),
        case(
            "iac.aws.s3-public-read-acl",
            vec![cfn_bucket(json!({"AccessControl": "PublicRead"}))],
            1,
        ),
        case(
            "iac.aws.s3-public-read-acl",
            vec![cfn_bucket(json!({"AccessControl": "Private"}))],
            0,
        ),
        case(
            "iac.aws.s3-public-write-acl",
            vec![tf(
                "aws_s3_bucket",
                "data",
                json!({"acl": "public-read-write"}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-public-write-acl",
            vec![tf("aws_s3_bucket", "data", json!({"acl": "public-read"}))],
            0,
        ),
        case(
            "iac.aws.s3-public-write-acl",
            vec![cfn_bucket(json!({"AccessControl": "PublicReadWrite"}))],
            1,
        ),
        case(
            "iac.aws.s3-public-write-acl",
            vec![cfn_bucket(json!({"AccessControl": "PublicRead"}))],
            0,
        ),
        case(
            "iac.aws.s3-public-policy",
            vec![tf(
                "aws_s3_bucket_policy",
                "data",
                json!({"bucket": b_ref, "policy": policy(public_stmt.clone())}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-public-policy",
            vec![tf(
                "aws_s3_bucket_policy",
                "data",
                json!({"bucket": b_ref, "policy": policy(json!({
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}))}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-public-policy",
            vec![tf(
                "aws_s3_bucket_policy",
                "data",
                json!({"bucket": b_ref, "policy": policy(json!({
            "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4/32"}}}))}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-public-policy",
            vec![tf(
                "aws_s3_bucket_policy",
                "data",
                json!({"bucket": b_ref, "policy": "${data.aws_iam_policy_document.p.json}"}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-public-policy",
            vec![cfn(
                "AWS::S3::BucketPolicy",
                "DataPolicy",
                json!({"Bucket": {"Ref": "Data"}, "PolicyDocument": {"Statement": [public_stmt.clone()]}}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-public-policy",
            vec![cfn(
                "AWS::S3::BucketPolicy",
                "DataPolicy",
                json!({"Bucket": {"Ref": "Data"}, "PolicyDocument": {"Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}}),
            )],
            0,
        ),
        case("iac.aws.s3-public-access-block", vec![bucket()], 1),
        case(
            "iac.aws.s3-public-access-block",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_public_access_block",
                    "data",
                    json!({"bucket": b_ref}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.s3-public-access-block",
            vec![cfn_bucket(json!({}))],
            1,
        ),
        case(
            "iac.aws.s3-public-access-block",
            vec![cfn_bucket(
                json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-block-public-acls",
            vec![tf(
                "aws_s3_bucket_public_access_block",
                "data",
                json!({"bucket": b_ref, "block_public_acls": false}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-block-public-acls",
            vec![tf(
                "aws_s3_bucket_public_access_block",
                "data",
                json!({"bucket": b_ref, "block_public_acls": true}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-block-public-acls",
            vec![tf(
                "aws_s3_bucket_public_access_block",
                "data",
                json!({"bucket": b_ref, "block_public_acls": "${var.block}"}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-block-public-acls",
            vec![cfn_bucket(
                json!({"PublicAccessBlockConfiguration": {"BlockPublicPolicy": true}}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-block-public-acls",
            vec![cfn_bucket(
                json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-block-public-acls",
            vec![cfn_bucket(json!({}))],
            0,
        ),
        case(
            "iac.aws.s3-block-public-policy",
            vec![tf(
                "aws_s3_bucket_public_access_block",
                "data",
                json!({"bucket": b_ref}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-block-public-policy",
            vec![tf(
                "aws_s3_bucket_public_access_block",
                "data",
                json!({"bucket": b_ref, "block_public_policy": true}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-block-public-policy",
            vec![cfn_bucket(
                json!({"PublicAccessBlockConfiguration": {"BlockPublicPolicy": false}}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-block-public-policy",
            vec![cfn_bucket(
                json!({"PublicAccessBlockConfiguration": {"BlockPublicPolicy": true}}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-ignore-public-acls",
            vec![tf(
                "aws_s3_bucket_public_access_block",
                "data",
                json!({"bucket": b_ref, "ignore_public_acls": false}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-ignore-public-acls",
            vec![tf(
                "aws_s3_bucket_public_access_block",
                "data",
                json!({"bucket": b_ref, "ignore_public_acls": true}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-ignore-public-acls",
            vec![cfn_bucket(
                json!({"PublicAccessBlockConfiguration": {"IgnorePublicAcls": "false"}}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-ignore-public-acls",
            vec![cfn_bucket(
                json!({"PublicAccessBlockConfiguration": {"IgnorePublicAcls": "true"}}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-restrict-public-buckets",
            vec![tf(
                "aws_s3_bucket_public_access_block",
                "data",
                json!({"bucket": b_ref}),
            )],
            1,
        ),
        case(
            "iac.aws.s3-restrict-public-buckets",
            vec![tf(
                "aws_s3_bucket_public_access_block",
                "data",
                json!({"bucket": b_ref, "restrict_public_buckets": true}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-restrict-public-buckets",
            vec![cfn_bucket(json!({"PublicAccessBlockConfiguration": {}}))],
            1,
        ),
        case(
            "iac.aws.s3-restrict-public-buckets",
            vec![cfn_bucket(
                json!({"PublicAccessBlockConfiguration": {"RestrictPublicBuckets": true}}),
            )],
            0,
        ),
        case("iac.aws.s3-versioning", vec![bucket()], 1),
        case(
            "iac.aws.s3-versioning",
            vec![tf(
                "aws_s3_bucket",
                "data",
                json!({"versioning": [{"enabled": true}]}),
            )],
            0,
        ),
        case(
            "iac.aws.s3-versioning",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_versioning",
                    "data",
                    json!({"bucket": b_ref, "versioning_configuration": [{"status": "Enabled"}]}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.s3-versioning",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_versioning",
                    "data",
                    json!({"bucket": b_ref, "versioning_configuration": [{"status": "Suspended"}]}),
                ),
            ],
            1,
        ),
        case(
            "iac.aws.s3-versioning",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_versioning",
                    "data",
                    json!({"bucket": b_ref, "versioning_configuration": [{"status": "${var.status}"}]}),
                ),
            ],
            0,
        ),
        case("iac.aws.s3-versioning", vec![cfn_bucket(json!({}))], 1),
        case(
            "iac.aws.s3-versioning",
            vec![cfn_bucket(
                json!({"VersioningConfiguration": {"Status": "Enabled"}}),
            )],
            0,
        ),
        case("iac.aws.s3-access-logging", vec![bucket()], 1),
        case(
            "iac.aws.s3-access-logging",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_logging",
                    "data",
                    json!({"bucket": b_ref, "target_bucket": "logs"}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.s3-access-logging",
            vec![tf(
                "aws_s3_bucket",
                "data",
                json!({"logging": [{"target_bucket": "logs"}]}),
            )],
            0,
        ),
        case("iac.aws.s3-access-logging", vec![cfn_bucket(json!({}))], 1),
        case(
            "iac.aws.s3-access-logging",
            vec![cfn_bucket(
                json!({"LoggingConfiguration": {"DestinationBucketName": "logs"}}),
            )],
            0,
        ),
        case("iac.aws.s3-secure-transport", vec![bucket()], 1),
        case(
            "iac.aws.s3-secure-transport",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_policy",
                    "data",
                    json!({"bucket": b_ref, "policy": policy(json!({
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.s3-secure-transport",
            vec![
                bucket(),
                tf(
                    "aws_s3_bucket_policy",
                    "data",
                    json!({"bucket": b_ref, "policy": "${data.aws_iam_policy_document.tls.json}"}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.s3-secure-transport",
            vec![cfn_bucket(json!({}))],
            1,
        ),
        case(
            "iac.aws.s3-secure-transport",
            vec![
                cfn_bucket(json!({})),
                cfn(
                    "AWS::S3::BucketPolicy",
                    "DataPolicy",
                    json!({"Bucket": {"Ref": "Data"}, "PolicyDocument": {"Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": false}}}]}}),
                ),
            ],
            0,
        ),
        // ------------------------------------------------------- EC2 and VPC
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![sg(tcp(22, 22, "0.0.0.0/0"))],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![sg(tcp(0, 1024, "::/0"))],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![tf(
                "aws_security_group",
                "web",
                json!({"ingress": [
            {"protocol": "tcp", "from_port": 0, "to_port": 1024, "ipv6_cidr_blocks": ["::/0"]},
            {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}]}),
            )],
            2,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![sg(tcp(22, 22, "10.0.0.0/8"))],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![sg(tcp(443, 443, "0.0.0.0/0"))],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![sg(
                json!({"protocol": "tcp", "from_port": "${var.port}", "to_port": "${var.port}", "cidr_blocks": ["0.0.0.0/0"]}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![tf(
                "aws_security_group_rule",
                "ssh",
                json!({"type": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![tf(
                "aws_security_group_rule",
                "ssh",
                json!({"type": "egress", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![tf(
                "aws_vpc_security_group_ingress_rule",
                "ssh",
                json!({"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "0.0.0.0/0"}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![cfn_sg(
                json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![cfn(
                "AWS::EC2::SecurityGroupIngress",
                "Ssh",
                json!({"IpProtocol": "tcp", "FromPort": "22", "ToPort": "22", "CidrIpv6": "::/0"}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-ssh",
            vec![cfn_sg(
                json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "SourceSecurityGroupId": "sg-1"}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-rdp",
            vec![sg(tcp(3000, 4000, "0.0.0.0/0"))],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-rdp",
            vec![sg(
                json!({"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-rdp",
            vec![sg(tcp(22, 22, "0.0.0.0/0"))],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-rdp",
            vec![cfn_sg(
                json!({"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "CidrIp": "0.0.0.0/0"}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-rdp",
            vec![cfn_sg(
                json!({"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "CidrIp": "0.0.0.0/0"}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-http",
            vec![sg(tcp(80, 80, "0.0.0.0/0"))],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-http",
            vec![sg(tcp(443, 443, "0.0.0.0/0"))],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-http",
            vec![cfn_sg(
                json!({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-http",
            vec![cfn_sg(
                json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-database",
            vec![sg(tcp(5432, 5432, "0.0.0.0/0"))],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-database",
            vec![sg(tcp(3000, 7000, "0.0.0.0/0"))],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-database",
            vec![sg(tcp(5432, 5432, "10.0.0.0/16"))],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-database",
            vec![cfn_sg(
                json!({"IpProtocol": "tcp", "FromPort": 27017, "ToPort": 27017, "CidrIp": "0.0.0.0/0"}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-database",
            vec![cfn_sg(
                json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-all-ports",
            vec![sg(
                json!({"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-all-ports",
            vec![sg(tcp(0, 65535, "0.0.0.0/0"))],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-all-ports",
            vec![sg(tcp(22, 22, "0.0.0.0/0"))],
            0,
        ),
        case(
            "iac.aws.ec2-sg-public-all-ports",
            vec![cfn_sg(json!({"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}))],
            1,
        ),
        case(
            "iac.aws.ec2-sg-public-all-ports",
            vec![cfn_sg(json!({"IpProtocol": "-1", "CidrIp": "10.0.0.0/8"}))],
            0,
        ),
        case(
            "iac.aws.vpc-default-sg-restricts-all",
            vec![tf("aws_vpc", "main", json!({"cidr_block": "10.0.0.0/16"}))],
            1,
        ),
        case(
            "iac.aws.vpc-default-sg-restricts-all",
            vec![
                tf("aws_vpc", "main", json!({})),
                tf(
                    "aws_default_security_group",
                    "d",
                    json!({"vpc_id": "${aws_vpc.main.id}"}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.vpc-default-sg-restricts-all",
            vec![
                tf("aws_vpc", "main", json!({})),
                tf(
                    "aws_default_security_group",
                    "d",
                    json!({"vpc_id": "${aws_vpc.main.id}", "ingress": [{"protocol": "-1", "self": true, "from_port": 0, "to_port": 0}]}),
                ),
            ],
            1,
        ),
        case(
            "iac.aws.vpc-flow-logs",
            vec![tf("aws_vpc", "main", json!({}))],
            1,
        ),
        case(
            "iac.aws.vpc-flow-logs",
            vec![
                tf("aws_vpc", "main", json!({})),
                tf(
                    "aws_flow_log",
                    "main",
                    json!({"vpc_id": "${aws_vpc.main.id}", "traffic_type": "ALL"}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.vpc-flow-logs",
            vec![cfn("AWS::EC2::VPC", "Vpc", json!({}))],
            1,
        ),
        case(
            "iac.aws.vpc-flow-logs",
            vec![
                cfn("AWS::EC2::VPC", "Vpc", json!({})),
                cfn(
                    "AWS::EC2::FlowLog",
                    "Flow",
                    json!({"ResourceId": "${Vpc}", "ResourceType": "VPC"}),
                ),
            ],
            0,
        ),
        case(
            "iac.aws.ec2-imdsv2-required",
            vec![tf("aws_instance", "web", json!({"ami": "ami-1"}))],
            1,
        ),
        case(
            "iac.aws.ec2-imdsv2-required",
            vec![tf(
                "aws_instance",
                "web",
                json!({"metadata_options": [{"http_tokens": "optional"}]}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-imdsv2-required",
            vec![tf(
                "aws_instance",
                "web",
                json!({"metadata_options": [{"http_tokens": "required"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-imdsv2-required",
            vec![tf(
                "aws_launch_template",
                "web",
                json!({"metadata_options": [{"http_endpoint": "disabled"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-imdsv2-required",
            vec![tf(
                "aws_launch_template",
                "web",
                json!({"metadata_options": [{"http_tokens": "${var.tokens}"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-imdsv2-required",
            vec![cfn(
                "AWS::EC2::LaunchTemplate",
                "Lt",
                json!({"LaunchTemplateData": {"ImageId": "ami-1"}}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-imdsv2-required",
            vec![cfn(
                "AWS::EC2::LaunchTemplate",
                "Lt",
                json!({"LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "required"}}}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-public-ip",
            vec![tf(
                "aws_instance",
                "web",
                json!({"associate_public_ip_address": true}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-public-ip",
            vec![tf("aws_instance", "web", json!({}))],
            0,
        ),
        case(
            "iac.aws.ec2-public-ip",
            vec![tf(
                "aws_launch_template",
                "web",
                json!({"network_interfaces": [{"associate_public_ip_address": "true"}]}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-public-ip",
            vec![cfn(
                "AWS::EC2::Instance",
                "Web",
                json!({"NetworkInterfaces": [{"AssociatePublicIpAddress": true, "DeviceIndex": "0"}]}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-public-ip",
            vec![cfn(
                "AWS::EC2::Instance",
                "Web",
                json!({"NetworkInterfaces": [{"AssociatePublicIpAddress": false}]}),
            )],
            0,
        ),
        case(
            "iac.aws.vpc-subnet-public-ip",
            vec![tf(
                "aws_subnet",
                "public",
                json!({"map_public_ip_on_launch": true}),
            )],
            1,
        ),
        case(
            "iac.aws.vpc-subnet-public-ip",
            vec![tf("aws_subnet", "private", json!({}))],
            0,
        ),
        case(
            "iac.aws.vpc-subnet-public-ip",
            vec![cfn(
                "AWS::EC2::Subnet",
                "Public",
                json!({"MapPublicIpOnLaunch": true}),
            )],
            1,
        ),
        case(
            "iac.aws.vpc-subnet-public-ip",
            vec![cfn(
                "AWS::EC2::Subnet",
                "Public",
                json!({"MapPublicIpOnLaunch": false}),
            )],
            0,
        ),
        case(
            "iac.aws.ebs-encryption",
            vec![tf("aws_ebs_volume", "data", json!({"size": 10}))],
            1,
        ),
        case(
            "iac.aws.ebs-encryption",
            vec![tf("aws_ebs_volume", "data", json!({"encrypted": true}))],
            0,
        ),
        case(
            "iac.aws.ebs-encryption",
            vec![tf(
                "aws_ebs_volume",
                "data",
                json!({"encrypted": "${var.encrypted}"}),
            )],
            0,
        ),
        case(
            "iac.aws.ebs-encryption",
            vec![cfn("AWS::EC2::Volume", "Data", json!({"Encrypted": false}))],
            1,
        ),
        case(
            "iac.aws.ebs-encryption",
            vec![cfn("AWS::EC2::Volume", "Data", json!({"Encrypted": true}))],
            0,
        ),
        case(
            "iac.aws.ebs-default-encryption",
            vec![tf(
                "aws_ebs_encryption_by_default",
                "this",
                json!({"enabled": false}),
            )],
            1,
        ),
        case(
            "iac.aws.ebs-default-encryption",
            vec![tf("aws_ebs_encryption_by_default", "this", json!({}))],
            0,
        ),
        case(
            "iac.aws.ec2-block-device-encryption",
            vec![tf(
                "aws_instance",
                "web",
                json!({"root_block_device": [{"volume_size": 20}], "ebs_block_device": [{"device_name": "/dev/sdb", "encrypted": true}]}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-block-device-encryption",
            vec![tf(
                "aws_launch_configuration",
                "web",
                json!({"root_block_device": [{"encrypted": true}]}),
            )],
            0,
        ),
        case(
            "iac.aws.ec2-block-device-encryption",
            vec![cfn(
                "AWS::AutoScaling::LaunchConfiguration",
                "Lc",
                json!({"BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20}}]}),
            )],
            1,
        ),
        case(
            "iac.aws.ec2-block-device-encryption",
            vec![cfn(
                "AWS::AutoScaling::LaunchConfiguration",
                "Lc",
                json!({"BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": true}}]}),
            )],
            0,
        ),
        // ---------------------------------------------------------------- IAM
        case(
            "iac.aws.iam-admin-policy",
            vec![tf(
                "aws_iam_policy",
                "admin",
                json!({"policy": policy(admin.clone())}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-admin-policy",
            vec![tf(
                "aws_iam_policy",
                "read",
                json!({"policy": policy(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-admin-policy",
            vec![tf(
                "aws_iam_policy",
                "deny",
                json!({"policy": policy(json!({"Effect": "Deny", "Action": "*", "Resource": "*"}))}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-admin-policy",
            vec![tf(
                "aws_iam_policy",
                "data",
                json!({"policy": "${data.aws_iam_policy_document.admin.json}"}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-admin-policy",
            vec![tf(
                "aws_iam_role",
                "r",
                json!({"inline_policy": [{"name": "a", "policy": policy(admin.clone())}, {"name": "b", "policy": policy(admin.clone())}]}),
            )],
            2,
        ),
        case(
            "iac.aws.iam-admin-policy",
            vec![cfn(
                "AWS::IAM::Role",
                "Role",
                json!({"Policies": [{"PolicyName": "root", "PolicyDocument": {"Statement": [admin.clone()]}}]}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-admin-policy",
            vec![cfn(
                "AWS::IAM::ManagedPolicy",
                "P",
                json!({"PolicyDocument": {"Statement": {"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}}}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-star-action",
            vec![tf(
                "aws_iam_role_policy",
                "p",
                json!({"policy": policy(json!({"Effect": "Allow", "Action": ["*"], "Resource": "arn:aws:s3:::b"}))}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-star-action",
            vec![tf(
                "aws_iam_role_policy",
                "p",
                json!({"policy": policy(json!({"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}))}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-star-action",
            vec![cfn(
                "AWS::IAM::Policy",
                "P",
                json!({"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-star-action",
            vec![cfn(
                "AWS::IAM::Policy",
                "P",
                json!({"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-privilege-escalation",
            vec![tf(
                "aws_iam_policy",
                "p",
                json!({"policy": policy(json!({"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}))}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-privilege-escalation",
            vec![tf(
                "aws_iam_policy",
                "p",
                json!({"policy": policy(json!({"Effect": "Allow", "Action": "iam:Create*", "Resource": "*"}))}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-privilege-escalation",
            vec![tf(
                "aws_iam_policy",
                "p",
                json!({"policy": policy(json!({"Effect": "Allow", "Action": ["iam:PassRole", "s3:GetObject"], "Resource": "*"}))}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-privilege-escalation",
            vec![cfn(
                "AWS::IAM::User",
                "U",
                json!({"Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*"}]}}]}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-privilege-escalation",
            vec![cfn(
                "AWS::IAM::User",
                "U",
                json!({"Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}}]}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-user-policy",
            vec![tf(
                "aws_iam_user_policy",
                "p",
                json!({"user": "alice", "policy": "{}"}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-user-policy",
            vec![tf(
                "aws_iam_user_policy_attachment",
                "p",
                json!({"user": "alice", "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-user-policy",
            vec![tf(
                "aws_iam_policy_attachment",
                "p",
                json!({"roles": ["r"], "users": []}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-user-policy",
            vec![cfn(
                "AWS::IAM::Policy",
                "P",
                json!({"Users": [{"Ref": "Alice"}]}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-user-policy",
            vec![cfn(
                "AWS::IAM::Policy",
                "P",
                json!({"Groups": [{"Ref": "Admins"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-user-policy",
            vec![cfn(
                "AWS::IAM::User",
                "Alice",
                json!({"ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-access-key",
            vec![tf("aws_iam_access_key", "ci", json!({"user": "ci"}))],
            1,
        ),
        case(
            "iac.aws.iam-access-key",
            vec![tf(
                "aws_iam_access_key",
                "ci",
                json!({"user": "ci", "status": "Inactive"}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-access-key",
            vec![cfn("AWS::IAM::AccessKey", "Key", json!({"UserName": "ci"}))],
            1,
        ),
        case(
            "iac.aws.iam-access-key",
            vec![cfn(
                "AWS::IAM::AccessKey",
                "Key",
                json!({"UserName": "ci", "Status": "Inactive"}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-role-trust-any-principal",
            vec![tf(
                "aws_iam_role",
                "r",
                json!({"assume_role_policy": policy(json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}))}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-role-trust-any-principal",
            vec![tf(
                "aws_iam_role",
                "r",
                json!({"assume_role_policy": policy(json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-role-trust-any-principal",
            vec![tf(
                "aws_iam_role",
                "r",
                json!({"assume_role_policy": policy(json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "abc123"}}}))}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-role-trust-any-principal",
            vec![cfn(
                "AWS::IAM::Role",
                "R",
                json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}}),
            )],
            1,
        ),
        case(
            "iac.aws.iam-role-trust-any-principal",
            vec![cfn(
                "AWS::IAM::Role",
                "R",
                json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}}),
            )],
            0,
        ),
        case(
            "iac.aws.iam-password-min-length",
            vec![pwd(json!({"minimum_password_length": 8}))],
            1,
        ),
        case("iac.aws.iam-password-min-length", vec![pwd(json!({}))], 1),
        case(
            "iac.aws.iam-password-min-length",
            vec![pwd(strict_pwd.clone())],
            0,
        ),
        case(
            "iac.aws.iam-password-min-length",
            vec![pwd(json!({"minimum_password_length": "${var.len}"}))],
            0,
        ),
        case(
            "iac.aws.iam-password-reuse",
            vec![pwd(json!({"password_reuse_prevention": 5}))],
            1,
        ),
        case(
            "iac.aws.iam-password-reuse",
            vec![pwd(strict_pwd.clone())],
            0,
        ),
        case("iac.aws.iam-password-lowercase", vec![pwd(json!({}))], 1),
        case(
            "iac.aws.iam-password-lowercase",
            vec![pwd(strict_pwd.clone())],
            0,
        ),
        case(
            "iac.aws.iam-password-uppercase",
            vec![pwd(json!({"require_uppercase_characters": false}))],
            1,
        ),
        case(
            "iac.aws.iam-password-uppercase",
            vec![pwd(strict_pwd.clone())],
            0,
        ),
        case("iac.aws.iam-password-numbers", vec![pwd(json!({}))], 1),
        case(
            "iac.aws.iam-password-numbers",
            vec![pwd(strict_pwd.clone())],
            0,
        ),
        case("iac.aws.iam-password-symbols", vec![pwd(json!({}))], 1),
        case(
            "iac.aws.iam-password-symbols",
            vec![pwd(strict_pwd.clone())],
            0,
        ),
        // ---------------------------------------------------------------- RDS
        case(
            "iac.aws.rds-public",
            vec![db(json!({"publicly_accessible": true}))],
            1,
        ),
        case("iac.aws.rds-public", vec![db(json!({}))], 0),
        case(
            "iac.aws.rds-public",
            vec![db(json!({"publicly_accessible": "${var.public}"}))],
            0,
        ),
        case(
            "iac.aws.rds-public",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"PubliclyAccessible": "true"}),
            )],
            1,
        ),
        case(
            "iac.aws.rds-public",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"PubliclyAccessible": false}),
            )],
            0,
        ),
        case(
            "iac.aws.rds-encryption",
            vec![db(json!({"engine": "postgres"}))],
            1,
        ),
        case(
            "iac.aws.rds-encryption",
            vec![db(json!({"storage_encrypted": true}))],
            0,
        ),
        case(
            "iac.aws.rds-encryption",
            vec![db(
                json!({"replicate_source_db": "${aws_db_instance.primary.identifier}"}),
            )],
            0,
        ),
        case(
            "iac.aws.rds-encryption",
            vec![cluster(json!({"engine": "aurora-postgresql"}))],
            1,
        ),
        case(
            "iac.aws.rds-encryption",
            vec![cluster(json!({"storage_encrypted": "${var.encrypted}"}))],
            0,
        ),
        case(
            "iac.aws.rds-encryption",
            vec![cfn(
                "AWS::RDS::DBCluster",
                "Db",
                json!({"Engine": "aurora-mysql"}),
            )],
            1,
        ),
        case(
            "iac.aws.rds-encryption",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"StorageEncrypted": true}),
            )],
            0,
        ),
        case(
            "iac.aws.rds-encryption",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"DBClusterIdentifier": {"Ref": "Cluster"}}),
            )],
            0,
        ),
        case(
            "iac.aws.rds-backup-disabled",
            vec![db(json!({"backup_retention_period": 0}))],
            1,
        ),
        case("iac.aws.rds-backup-disabled", vec![db(json!({}))], 0),
        case(
            "iac.aws.rds-backup-disabled",
            vec![cluster(json!({"backup_retention_period": 7}))],
            0,
        ),
        case(
            "iac.aws.rds-backup-disabled",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"BackupRetentionPeriod": "0"}),
            )],
            1,
        ),
        case(
            "iac.aws.rds-backup-disabled",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"BackupRetentionPeriod": 14}),
            )],
            0,
        ),
        case(
            "iac.aws.rds-instance-deletion-protection",
            vec![db(json!({}))],
            1,
        ),
        case(
            "iac.aws.rds-instance-deletion-protection",
            vec![db(json!({"deletion_protection": true}))],
            0,
        ),
        case(
            "iac.aws.rds-instance-deletion-protection",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"DeletionProtection": false}),
            )],
            1,
        ),
        case(
            "iac.aws.rds-instance-deletion-protection",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"DeletionProtection": true}),
            )],
            0,
        ),
        case(
            "iac.aws.rds-cluster-deletion-protection",
            vec![cluster(json!({}))],
            1,
        ),
        case(
            "iac.aws.rds-cluster-deletion-protection",
            vec![cluster(json!({"deletion_protection": true}))],
            0,
        ),
        case(
            "iac.aws.rds-cluster-deletion-protection",
            vec![cfn("AWS::RDS::DBCluster", "Db", json!({}))],
            1,
        ),
        case(
            "iac.aws.rds-cluster-deletion-protection",
            vec![cfn(
                "AWS::RDS::DBCluster",
                "Db",
                json!({"DeletionProtection": true}),
            )],
            0,
        ),
        case(
            "iac.aws.rds-instance-iam-auth",
            vec![db(json!({"engine": "mysql"}))],
            1,
        ),
        case(
            "iac.aws.rds-instance-iam-auth",
            vec![db(json!({"engine": "oracle-ee"}))],
            0,
        ),
        case(
            "iac.aws.rds-instance-iam-auth",
            vec![db(
                json!({"engine": "postgres", "iam_database_authentication_enabled": true}),
            )],
            0,
        ),
        case(
            "iac.aws.rds-instance-iam-auth",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"Engine": "postgres"}),
            )],
            1,
        ),
        case(
            "iac.aws.rds-instance-iam-auth",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"Engine": "postgres", "EnableIAMDatabaseAuthentication": true}),
            )],
            0,
        ),
        case("iac.aws.rds-cluster-iam-auth", vec![cluster(json!({}))], 1),
        case(
            "iac.aws.rds-cluster-iam-auth",
            vec![cluster(
                json!({"iam_database_authentication_enabled": true}),
            )],
            0,
        ),
        case(
            "iac.aws.rds-cluster-iam-auth",
            vec![cfn(
                "AWS::RDS::DBCluster",
                "Db",
                json!({"Engine": "aurora-postgresql"}),
            )],
            1,
        ),
        case(
            "iac.aws.rds-cluster-iam-auth",
            vec![cfn(
                "AWS::RDS::DBCluster",
                "Db",
                json!({"Engine": "aurora-postgresql", "EnableIAMDatabaseAuthentication": true}),
            )],
            0,
        ),
        case("iac.aws.rds-multi-az", vec![db(json!({}))], 1),
        case(
            "iac.aws.rds-multi-az",
            vec![db(json!({"multi_az": true}))],
            0,
        ),
        case(
            "iac.aws.rds-multi-az",
            vec![cfn("AWS::RDS::DBInstance", "Db", json!({"MultiAZ": false}))],
            1,
        ),
        case(
            "iac.aws.rds-multi-az",
            vec![cfn("AWS::RDS::DBInstance", "Db", json!({"MultiAZ": true}))],
            0,
        ),
        case(
            "iac.aws.rds-auto-minor-upgrade",
            vec![db(json!({"auto_minor_version_upgrade": false}))],
            1,
        ),
        case("iac.aws.rds-auto-minor-upgrade", vec![db(json!({}))], 0),
        case(
            "iac.aws.rds-auto-minor-upgrade",
            vec![cfn(
                "AWS::RDS::DBInstance",
                "Db",
                json!({"AutoMinorVersionUpgrade": false}),
            )],
            1,
        ),
        case(
            "iac.aws.rds-auto-minor-upgrade",
            vec![cfn("AWS::RDS::DBInstance", "Db", json!({}))],
            0,
        ),
        // --------------------------------------------------------- CloudTrail
        case("iac.aws.cloudtrail-multi-region", vec![trail(json!({}))], 1),
        case(
            "iac.aws.cloudtrail-multi-region",
            vec![trail(json!({"is_multi_region_trail": true}))],
            0,
        ),
        case(
            "iac.aws.cloudtrail-multi-region",
            vec![cfn(
                "AWS::CloudTrail::Trail",
                "T",
                json!({"IsMultiRegionTrail": false}),
            )],
            1,
        ),
        case(
            "iac.aws.cloudtrail-multi-region",
            vec![cfn(
                "AWS::CloudTrail::Trail",
                "T",
                json!({"IsMultiRegionTrail": true}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudtrail-log-validation",
            vec![trail(json!({}))],
            1,
        ),
        case(
            "iac.aws.cloudtrail-log-validation",
            vec![trail(json!({"enable_log_file_validation": true}))],
            0,
        ),
        case(
            "iac.aws.cloudtrail-log-validation",
            vec![cfn("AWS::CloudTrail::Trail", "T", json!({}))],
            1,
        ),
        case(
            "iac.aws.cloudtrail-log-validation",
            vec![cfn(
                "AWS::CloudTrail::Trail",
                "T",
                json!({"EnableLogFileValidation": true}),
            )],
            0,
        ),
        case("iac.aws.cloudtrail-kms", vec![trail(json!({}))], 1),
        case(
            "iac.aws.cloudtrail-kms",
            vec![trail(json!({"kms_key_id": "${aws_kms_key.trail.arn}"}))],
            0,
        ),
        case(
            "iac.aws.cloudtrail-kms",
            vec![cfn("AWS::CloudTrail::Trail", "T", json!({}))],
            1,
        ),
        case(
            "iac.aws.cloudtrail-kms",
            vec![cfn(
                "AWS::CloudTrail::Trail",
                "T",
                json!({"KMSKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudtrail-logging-enabled",
            vec![trail(json!({"enable_logging": false}))],
            1,
        ),
        case(
            "iac.aws.cloudtrail-logging-enabled",
            vec![trail(json!({}))],
            0,
        ),
        case(
            "iac.aws.cloudtrail-logging-enabled",
            vec![cfn(
                "AWS::CloudTrail::Trail",
                "T",
                json!({"IsLogging": false}),
            )],
            1,
        ),
        case(
            "iac.aws.cloudtrail-logging-enabled",
            vec![cfn(
                "AWS::CloudTrail::Trail",
                "T",
                json!({"IsLogging": true}),
            )],
            0,
        ),
        case("iac.aws.cloudtrail-cloudwatch", vec![trail(json!({}))], 1),
        case(
            "iac.aws.cloudtrail-cloudwatch",
            vec![trail(
                json!({"cloud_watch_logs_group_arn": "${aws_cloudwatch_log_group.t.arn}:*"}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudtrail-cloudwatch",
            vec![cfn("AWS::CloudTrail::Trail", "T", json!({}))],
            1,
        ),
        case(
            "iac.aws.cloudtrail-cloudwatch",
            vec![cfn(
                "AWS::CloudTrail::Trail",
                "T",
                json!({"CloudWatchLogsLogGroupArn": "arn:aws:logs:eu-west-1:1:log-group:t:*"}),
            )],
            0,
        ),
        // ---------------------------------------------------------------- KMS
        case(
            "iac.aws.kms-rotation",
            vec![tf("aws_kms_key", "k", json!({}))],
            1,
        ),
        case(
            "iac.aws.kms-rotation",
            vec![tf("aws_kms_key", "k", json!({"enable_key_rotation": true}))],
            0,
        ),
        case(
            "iac.aws.kms-rotation",
            vec![tf(
                "aws_kms_key",
                "k",
                json!({"customer_master_key_spec": "RSA_2048"}),
            )],
            0,
        ),
        case(
            "iac.aws.kms-rotation",
            vec![cfn(
                "AWS::KMS::Key",
                "K",
                json!({"EnableKeyRotation": false}),
            )],
            1,
        ),
        case(
            "iac.aws.kms-rotation",
            vec![cfn(
                "AWS::KMS::Key",
                "K",
                json!({"EnableKeyRotation": true}),
            )],
            0,
        ),
        case(
            "iac.aws.kms-wildcard-principal",
            vec![tf(
                "aws_kms_key",
                "k",
                json!({"policy": policy(json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}))}),
            )],
            1,
        ),
        case(
            "iac.aws.kms-wildcard-principal",
            vec![tf(
                "aws_kms_key",
                "k",
                json!({"policy": policy(json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": "123456789012", "kms:ViaService": "ec2.eu-west-1.amazonaws.com"}}}))}),
            )],
            0,
        ),
        case(
            "iac.aws.kms-wildcard-principal",
            vec![cfn(
                "AWS::KMS::Key",
                "K",
                json!({"KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}}),
            )],
            1,
        ),
        case(
            "iac.aws.kms-wildcard-principal",
            vec![cfn(
                "AWS::KMS::Key",
                "K",
                json!({"KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}}, "Action": "kms:*", "Resource": "*"}]}}),
            )],
            0,
        ),
        // ------------------------------------------------- Data and messaging
        case(
            "iac.aws.efs-encryption",
            vec![tf("aws_efs_file_system", "fs", json!({}))],
            1,
        ),
        case(
            "iac.aws.efs-encryption",
            vec![tf("aws_efs_file_system", "fs", json!({"encrypted": true}))],
            0,
        ),
        case(
            "iac.aws.efs-encryption",
            vec![cfn("AWS::EFS::FileSystem", "Fs", json!({}))],
            1,
        ),
        case(
            "iac.aws.efs-encryption",
            vec![cfn(
                "AWS::EFS::FileSystem",
                "Fs",
                json!({"Encrypted": true}),
            )],
            0,
        ),
        case(
            "iac.aws.sns-encryption",
            vec![tf("aws_sns_topic", "t", json!({}))],
            1,
        ),
        case(
            "iac.aws.sns-encryption",
            vec![tf(
                "aws_sns_topic",
                "t",
                json!({"kms_master_key_id": "alias/aws/sns"}),
            )],
            0,
        ),
        case(
            "iac.aws.sns-encryption",
            vec![cfn("AWS::SNS::Topic", "T", json!({}))],
            1,
        ),
        case(
            "iac.aws.sns-encryption",
            vec![cfn(
                "AWS::SNS::Topic",
                "T",
                json!({"KmsMasterKeyId": {"Ref": "Key"}}),
            )],
            0,
        ),
        case(
            "iac.aws.sqs-encryption",
            vec![tf("aws_sqs_queue", "q", json!({}))],
            1,
        ),
        case(
            "iac.aws.sqs-encryption",
            vec![tf(
                "aws_sqs_queue",
                "q",
                json!({"sqs_managed_sse_enabled": false}),
            )],
            1,
        ),
        case(
            "iac.aws.sqs-encryption",
            vec![tf(
                "aws_sqs_queue",
                "q",
                json!({"sqs_managed_sse_enabled": true}),
            )],
            0,
        ),
        case(
            "iac.aws.sqs-encryption",
            vec![tf(
                "aws_sqs_queue",
                "q",
                json!({"kms_master_key_id": "${aws_kms_key.q.id}"}),
            )],
            0,
        ),
        case(
            "iac.aws.sqs-encryption",
            vec![cfn("AWS::SQS::Queue", "Q", json!({}))],
            1,
        ),
        case(
            "iac.aws.sqs-encryption",
            vec![cfn(
                "AWS::SQS::Queue",
                "Q",
                json!({"SqsManagedSseEnabled": true}),
            )],
            0,
        ),
        case(
            "iac.aws.dynamodb-pitr",
            vec![tf("aws_dynamodb_table", "t", json!({}))],
            1,
        ),
        case(
            "iac.aws.dynamodb-pitr",
            vec![tf(
                "aws_dynamodb_table",
                "t",
                json!({"point_in_time_recovery": [{"enabled": true}]}),
            )],
            0,
        ),
        case(
            "iac.aws.dynamodb-pitr",
            vec![cfn("AWS::DynamoDB::Table", "T", json!({}))],
            1,
        ),
        case(
            "iac.aws.dynamodb-pitr",
            vec![cfn(
                "AWS::DynamoDB::Table",
                "T",
                json!({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
            )],
            0,
        ),
        case(
            "iac.aws.dynamodb-kms",
            vec![tf("aws_dynamodb_table", "t", json!({}))],
            1,
        ),
        case(
            "iac.aws.dynamodb-kms",
            vec![tf(
                "aws_dynamodb_table",
                "t",
                json!({"server_side_encryption": [{"enabled": true, "kms_key_arn": "${aws_kms_key.t.arn}"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.dynamodb-kms",
            vec![cfn(
                "AWS::DynamoDB::Table",
                "T",
                json!({"SSESpecification": {"SSEEnabled": false}}),
            )],
            1,
        ),
        case(
            "iac.aws.dynamodb-kms",
            vec![cfn(
                "AWS::DynamoDB::Table",
                "T",
                json!({"SSESpecification": {"SSEEnabled": true}}),
            )],
            0,
        ),
        case(
            "iac.aws.elasticache-encryption-at-rest",
            vec![tf("aws_elasticache_replication_group", "r", json!({}))],
            1,
        ),
        case(
            "iac.aws.elasticache-encryption-at-rest",
            vec![tf(
                "aws_elasticache_replication_group",
                "r",
                json!({"at_rest_encryption_enabled": true}),
            )],
            0,
        ),
        case(
            "iac.aws.elasticache-encryption-at-rest",
            vec![cfn("AWS::ElastiCache::ReplicationGroup", "R", json!({}))],
            1,
        ),
        case(
            "iac.aws.elasticache-encryption-at-rest",
            vec![cfn(
                "AWS::ElastiCache::ReplicationGroup",
                "R",
                json!({"AtRestEncryptionEnabled": true}),
            )],
            0,
        ),
        case(
            "iac.aws.elasticache-encryption-in-transit",
            vec![tf(
                "aws_elasticache_replication_group",
                "r",
                json!({"transit_encryption_enabled": false}),
            )],
            1,
        ),
        case(
            "iac.aws.elasticache-encryption-in-transit",
            vec![tf(
                "aws_elasticache_replication_group",
                "r",
                json!({"transit_encryption_enabled": true}),
            )],
            0,
        ),
        case(
            "iac.aws.elasticache-encryption-in-transit",
            vec![cfn("AWS::ElastiCache::ReplicationGroup", "R", json!({}))],
            1,
        ),
        case(
            "iac.aws.elasticache-encryption-in-transit",
            vec![cfn(
                "AWS::ElastiCache::ReplicationGroup",
                "R",
                json!({"TransitEncryptionEnabled": true}),
            )],
            0,
        ),
        case(
            "iac.aws.redshift-encryption",
            vec![tf("aws_redshift_cluster", "r", json!({}))],
            1,
        ),
        case(
            "iac.aws.redshift-encryption",
            vec![tf("aws_redshift_cluster", "r", json!({"encrypted": true}))],
            0,
        ),
        case(
            "iac.aws.redshift-encryption",
            vec![cfn("AWS::Redshift::Cluster", "R", json!({}))],
            1,
        ),
        case(
            "iac.aws.redshift-encryption",
            vec![cfn(
                "AWS::Redshift::Cluster",
                "R",
                json!({"Encrypted": true}),
            )],
            0,
        ),
        case(
            "iac.aws.redshift-public",
            vec![tf("aws_redshift_cluster", "r", json!({}))],
            1,
        ),
        case(
            "iac.aws.redshift-public",
            vec![tf(
                "aws_redshift_cluster",
                "r",
                json!({"publicly_accessible": false}),
            )],
            0,
        ),
        case(
            "iac.aws.redshift-public",
            vec![cfn(
                "AWS::Redshift::Cluster",
                "R",
                json!({"PubliclyAccessible": true}),
            )],
            1,
        ),
        case(
            "iac.aws.redshift-public",
            vec![cfn("AWS::Redshift::Cluster", "R", json!({}))],
            0,
        ),
        case(
            "iac.aws.opensearch-encryption-at-rest",
            vec![tf("aws_opensearch_domain", "d", json!({}))],
            1,
        ),
        case(
            "iac.aws.opensearch-encryption-at-rest",
            vec![tf(
                "aws_elasticsearch_domain",
                "d",
                json!({"encrypt_at_rest": [{"enabled": true}]}),
            )],
            0,
        ),
        case(
            "iac.aws.opensearch-encryption-at-rest",
            vec![cfn("AWS::OpenSearchService::Domain", "D", json!({}))],
            1,
        ),
        case(
            "iac.aws.opensearch-encryption-at-rest",
            vec![cfn(
                "AWS::Elasticsearch::Domain",
                "D",
                json!({"EncryptionAtRestOptions": {"Enabled": true}}),
            )],
            0,
        ),
        case(
            "iac.aws.opensearch-node-to-node-encryption",
            vec![tf("aws_opensearch_domain", "d", json!({}))],
            1,
        ),
        case(
            "iac.aws.opensearch-node-to-node-encryption",
            vec![tf(
                "aws_opensearch_domain",
                "d",
                json!({"node_to_node_encryption": [{"enabled": true}]}),
            )],
            0,
        ),
        case(
            "iac.aws.opensearch-node-to-node-encryption",
            vec![cfn("AWS::OpenSearchService::Domain", "D", json!({}))],
            1,
        ),
        case(
            "iac.aws.opensearch-node-to-node-encryption",
            vec![cfn(
                "AWS::OpenSearchService::Domain",
                "D",
                json!({"NodeToNodeEncryptionOptions": {"Enabled": true}}),
            )],
            0,
        ),
        case(
            "iac.aws.opensearch-enforce-https",
            vec![tf("aws_opensearch_domain", "d", json!({}))],
            1,
        ),
        case(
            "iac.aws.opensearch-enforce-https",
            vec![tf(
                "aws_opensearch_domain",
                "d",
                json!({"domain_endpoint_options": [{"enforce_https": false}]}),
            )],
            1,
        ),
        case(
            "iac.aws.opensearch-enforce-https",
            vec![tf(
                "aws_opensearch_domain",
                "d",
                json!({"domain_endpoint_options": [{"tls_security_policy": "Policy-Min-TLS-1-2-2019-07"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.opensearch-enforce-https",
            vec![cfn(
                "AWS::OpenSearchService::Domain",
                "D",
                json!({"DomainEndpointOptions": {}}),
            )],
            1,
        ),
        case(
            "iac.aws.opensearch-enforce-https",
            vec![cfn(
                "AWS::OpenSearchService::Domain",
                "D",
                json!({"DomainEndpointOptions": {"EnforceHTTPS": true}}),
            )],
            0,
        ),
        case(
            "iac.aws.kinesis-encryption",
            vec![tf("aws_kinesis_stream", "s", json!({}))],
            1,
        ),
        case(
            "iac.aws.kinesis-encryption",
            vec![tf(
                "aws_kinesis_stream",
                "s",
                json!({"encryption_type": "KMS", "kms_key_id": "alias/aws/kinesis"}),
            )],
            0,
        ),
        case(
            "iac.aws.kinesis-encryption",
            vec![cfn("AWS::Kinesis::Stream", "S", json!({}))],
            1,
        ),
        case(
            "iac.aws.kinesis-encryption",
            vec![cfn(
                "AWS::Kinesis::Stream",
                "S",
                json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudwatch-log-group-retention",
            vec![tf("aws_cloudwatch_log_group", "g", json!({}))],
            1,
        ),
        case(
            "iac.aws.cloudwatch-log-group-retention",
            vec![tf(
                "aws_cloudwatch_log_group",
                "g",
                json!({"retention_in_days": 0}),
            )],
            1,
        ),
        case(
            "iac.aws.cloudwatch-log-group-retention",
            vec![tf(
                "aws_cloudwatch_log_group",
                "g",
                json!({"retention_in_days": 365}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudwatch-log-group-retention",
            vec![cfn("AWS::Logs::LogGroup", "G", json!({}))],
            1,
        ),
        case(
            "iac.aws.cloudwatch-log-group-retention",
            vec![cfn(
                "AWS::Logs::LogGroup",
                "G",
                json!({"RetentionInDays": 90}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudwatch-log-group-kms",
            vec![tf("aws_cloudwatch_log_group", "g", json!({}))],
            1,
        ),
        case(
            "iac.aws.cloudwatch-log-group-kms",
            vec![tf(
                "aws_cloudwatch_log_group",
                "g",
                json!({"kms_key_id": "${aws_kms_key.logs.arn}"}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudwatch-log-group-kms",
            vec![cfn("AWS::Logs::LogGroup", "G", json!({}))],
            1,
        ),
        case(
            "iac.aws.cloudwatch-log-group-kms",
            vec![cfn(
                "AWS::Logs::LogGroup",
                "G",
                json!({"KmsKeyId": "arn:aws:kms:eu-west-1:1:key/x"}),
            )],
            0,
        ),
        case(
            "iac.aws.secretsmanager-kms",
            vec![tf("aws_secretsmanager_secret", "s", json!({}))],
            1,
        ),
        case(
            "iac.aws.secretsmanager-kms",
            vec![tf(
                "aws_secretsmanager_secret",
                "s",
                json!({"kms_key_id": "${aws_kms_key.s.id}"}),
            )],
            0,
        ),
        case(
            "iac.aws.secretsmanager-kms",
            vec![cfn("AWS::SecretsManager::Secret", "S", json!({}))],
            1,
        ),
        case(
            "iac.aws.secretsmanager-kms",
            vec![cfn(
                "AWS::SecretsManager::Secret",
                "S",
                json!({"KmsKeyId": {"Ref": "Key"}}),
            )],
            0,
        ),
        // ----------------------------------------------------- Load balancers
        case(
            "iac.aws.elb-listener-https",
            vec![listener(
                json!({"port": 80, "protocol": "HTTP", "default_action": [{"type": "forward"}]}),
            )],
            1,
        ),
        case(
            "iac.aws.elb-listener-https",
            vec![listener(
                json!({"port": 80, "protocol": "HTTP", "default_action": [{"type": "redirect", "redirect": [{"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}]}]}),
            )],
            0,
        ),
        case(
            "iac.aws.elb-listener-https",
            vec![listener(json!({"port": 443, "protocol": "HTTPS"}))],
            0,
        ),
        case(
            "iac.aws.elb-listener-https",
            vec![listener(json!({"port": 80, "protocol": "${var.protocol}"}))],
            0,
        ),
        case(
            "iac.aws.elb-listener-https",
            vec![cfn(
                "AWS::ElasticLoadBalancingV2::Listener",
                "L",
                json!({"Protocol": "HTTP", "DefaultActions": [{"Type": "forward"}]}),
            )],
            1,
        ),
        case(
            "iac.aws.elb-listener-https",
            vec![cfn(
                "AWS::ElasticLoadBalancingV2::Listener",
                "L",
                json!({"Protocol": "HTTP", "DefaultActions": [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]}),
            )],
            0,
        ),
        case(
            "iac.aws.elb-listener-tls12",
            vec![listener(json!({"protocol": "HTTPS"}))],
            1,
        ),
        case(
            "iac.aws.elb-listener-tls12",
            vec![listener(
                json!({"protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-TLS-1-1-2017-01"}),
            )],
            1,
        ),
        case(
            "iac.aws.elb-listener-tls12",
            vec![listener(
                json!({"protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}),
            )],
            0,
        ),
        case(
            "iac.aws.elb-listener-tls12",
            vec![listener(json!({"protocol": "HTTP"}))],
            0,
        ),
        case(
            "iac.aws.elb-listener-tls12",
            vec![cfn(
                "AWS::ElasticLoadBalancingV2::Listener",
                "L",
                json!({"Protocol": "TLS", "SslPolicy": "ELBSecurityPolicy-2016-08"}),
            )],
            1,
        ),
        case(
            "iac.aws.elb-listener-tls12",
            vec![cfn(
                "AWS::ElasticLoadBalancingV2::Listener",
                "L",
                json!({"Protocol": "HTTPS", "SslPolicy": "ELBSecurityPolicy-FS-1-2-Res-2020-10"}),
            )],
            0,
        ),
        case("iac.aws.alb-drop-invalid-headers", vec![lb(json!({}))], 1),
        case(
            "iac.aws.alb-drop-invalid-headers",
            vec![lb(json!({"drop_invalid_header_fields": true}))],
            0,
        ),
        case(
            "iac.aws.alb-drop-invalid-headers",
            vec![lb(json!({"load_balancer_type": "network"}))],
            0,
        ),
        case(
            "iac.aws.alb-drop-invalid-headers",
            vec![cfn(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Lb",
                json!({"Type": "application"}),
            )],
            1,
        ),
        case(
            "iac.aws.alb-drop-invalid-headers",
            vec![cfn(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Lb",
                json!({"LoadBalancerAttributes": [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}]}),
            )],
            0,
        ),
        case("iac.aws.elbv2-access-logs", vec![lb(json!({}))], 1),
        case(
            "iac.aws.elbv2-access-logs",
            vec![lb(
                json!({"access_logs": [{"bucket": "logs", "enabled": true}]}),
            )],
            0,
        ),
        case(
            "iac.aws.elbv2-access-logs",
            vec![cfn(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Lb",
                json!({}),
            )],
            1,
        ),
        case(
            "iac.aws.elbv2-access-logs",
            vec![cfn(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Lb",
                json!({"LoadBalancerAttributes": [{"Key": "access_logs.s3.enabled", "Value": "true"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.elb-access-logs",
            vec![tf("aws_elb", "classic", json!({}))],
            1,
        ),
        case(
            "iac.aws.elb-access-logs",
            vec![tf(
                "aws_elb",
                "classic",
                json!({"access_logs": [{"bucket": "logs"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.elb-access-logs",
            vec![tf(
                "aws_elb",
                "classic",
                json!({"access_logs": [{"bucket": "logs", "enabled": false}]}),
            )],
            1,
        ),
        case(
            "iac.aws.elb-access-logs",
            vec![cfn(
                "AWS::ElasticLoadBalancing::LoadBalancer",
                "Lb",
                json!({}),
            )],
            1,
        ),
        case(
            "iac.aws.elb-access-logs",
            vec![cfn(
                "AWS::ElasticLoadBalancing::LoadBalancer",
                "Lb",
                json!({"AccessLoggingPolicy": {"Enabled": true, "S3BucketName": "logs"}}),
            )],
            0,
        ),
        // ---------------------------------------------------------------- EKS
        case(
            "iac.aws.eks-public-endpoint",
            vec![eks(json!({"vpc_config": [{"subnet_ids": ["a"]}]}))],
            1,
        ),
        case(
            "iac.aws.eks-public-endpoint",
            vec![eks(
                json!({"vpc_config": [{"endpoint_public_access": false}]}),
            )],
            0,
        ),
        case(
            "iac.aws.eks-public-endpoint",
            vec![cfn(
                "AWS::EKS::Cluster",
                "C",
                json!({"ResourcesVpcConfig": {"EndpointPublicAccess": true}}),
            )],
            1,
        ),
        case(
            "iac.aws.eks-public-endpoint",
            vec![cfn(
                "AWS::EKS::Cluster",
                "C",
                json!({"ResourcesVpcConfig": {"EndpointPublicAccess": false}}),
            )],
            0,
        ),
        case(
            "iac.aws.eks-public-endpoint-open",
            vec![eks(json!({"vpc_config": [{}]}))],
            1,
        ),
        case(
            "iac.aws.eks-public-endpoint-open",
            vec![eks(
                json!({"vpc_config": [{"public_access_cidrs": ["203.0.113.0/24"]}]}),
            )],
            0,
        ),
        case(
            "iac.aws.eks-public-endpoint-open",
            vec![eks(
                json!({"vpc_config": [{"public_access_cidrs": "${var.cidrs}"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.eks-public-endpoint-open",
            vec![cfn(
                "AWS::EKS::Cluster",
                "C",
                json!({"ResourcesVpcConfig": {"PublicAccessCidrs": ["0.0.0.0/0"]}}),
            )],
            1,
        ),
        case(
            "iac.aws.eks-public-endpoint-open",
            vec![cfn(
                "AWS::EKS::Cluster",
                "C",
                json!({"ResourcesVpcConfig": {"EndpointPublicAccess": false}}),
            )],
            0,
        ),
        case("iac.aws.eks-secrets-encryption", vec![eks(json!({}))], 1),
        case(
            "iac.aws.eks-secrets-encryption",
            vec![eks(
                json!({"encryption_config": [{"resources": ["secrets"], "provider": [{"key_arn": "${aws_kms_key.eks.arn}"}]}]}),
            )],
            0,
        ),
        case(
            "iac.aws.eks-secrets-encryption",
            vec![cfn("AWS::EKS::Cluster", "C", json!({}))],
            1,
        ),
        case(
            "iac.aws.eks-secrets-encryption",
            vec![cfn(
                "AWS::EKS::Cluster",
                "C",
                json!({"EncryptionConfig": [{"Resources": ["secrets"], "Provider": {"KeyArn": "arn"}}]}),
            )],
            0,
        ),
        case(
            "iac.aws.eks-control-plane-logging",
            vec![eks(json!({"enabled_cluster_log_types": ["api", "audit"]}))],
            1,
        ),
        case(
            "iac.aws.eks-control-plane-logging",
            vec![eks(
                json!({"enabled_cluster_log_types": ["api", "audit", "authenticator", "controllerManager", "scheduler"]}),
            )],
            0,
        ),
        case(
            "iac.aws.eks-control-plane-logging",
            vec![cfn("AWS::EKS::Cluster", "C", json!({}))],
            1,
        ),
        case(
            "iac.aws.eks-control-plane-logging",
            vec![cfn(
                "AWS::EKS::Cluster",
                "C",
                json!({"Logging": {"ClusterLogging": {"EnabledTypes": [
            {"Type": "api"}, {"Type": "audit"}, {"Type": "authenticator"}, {"Type": "controllerManager"}, {"Type": "scheduler"}]}}}),
            )],
            0,
        ),
        case(
            "iac.aws.eks-node-group-ssh",
            vec![tf(
                "aws_eks_node_group",
                "n",
                json!({"remote_access": [{"ec2_ssh_key": "ops"}]}),
            )],
            1,
        ),
        case(
            "iac.aws.eks-node-group-ssh",
            vec![tf(
                "aws_eks_node_group",
                "n",
                json!({"remote_access": [{"ec2_ssh_key": "ops", "source_security_group_ids": ["sg-1"]}]}),
            )],
            0,
        ),
        case(
            "iac.aws.eks-node-group-ssh",
            vec![cfn(
                "AWS::EKS::Nodegroup",
                "N",
                json!({"RemoteAccess": {"Ec2SshKey": "ops"}}),
            )],
            1,
        ),
        case(
            "iac.aws.eks-node-group-ssh",
            vec![cfn("AWS::EKS::Nodegroup", "N", json!({}))],
            0,
        ),
        // ---------------------------------------------------------------- ECR
        case("iac.aws.ecr-scan-on-push", vec![ecr(json!({}))], 1),
        case(
            "iac.aws.ecr-scan-on-push",
            vec![ecr(
                json!({"image_scanning_configuration": [{"scan_on_push": true}]}),
            )],
            0,
        ),
        case(
            "iac.aws.ecr-scan-on-push",
            vec![cfn("AWS::ECR::Repository", "R", json!({}))],
            1,
        ),
        case(
            "iac.aws.ecr-scan-on-push",
            vec![cfn(
                "AWS::ECR::Repository",
                "R",
                json!({"ImageScanningConfiguration": {"ScanOnPush": true}}),
            )],
            0,
        ),
        case("iac.aws.ecr-immutable-tags", vec![ecr(json!({}))], 1),
        case(
            "iac.aws.ecr-immutable-tags",
            vec![ecr(json!({"image_tag_mutability": "IMMUTABLE"}))],
            0,
        ),
        case(
            "iac.aws.ecr-immutable-tags",
            vec![cfn(
                "AWS::ECR::Repository",
                "R",
                json!({"ImageTagMutability": "MUTABLE"}),
            )],
            1,
        ),
        case(
            "iac.aws.ecr-immutable-tags",
            vec![cfn(
                "AWS::ECR::Repository",
                "R",
                json!({"ImageTagMutability": "IMMUTABLE"}),
            )],
            0,
        ),
        case("iac.aws.ecr-kms", vec![ecr(json!({}))], 1),
        case(
            "iac.aws.ecr-kms",
            vec![ecr(
                json!({"encryption_configuration": [{"encryption_type": "KMS"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.ecr-kms",
            vec![cfn(
                "AWS::ECR::Repository",
                "R",
                json!({"EncryptionConfiguration": {"EncryptionType": "AES256"}}),
            )],
            1,
        ),
        case(
            "iac.aws.ecr-kms",
            vec![cfn(
                "AWS::ECR::Repository",
                "R",
                json!({"EncryptionConfiguration": {"EncryptionType": "KMS"}}),
            )],
            0,
        ),
        case(
            "iac.aws.ecr-public-policy",
            vec![tf(
                "aws_ecr_repository_policy",
                "p",
                json!({"repository": "app", "policy": policy(json!({"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}))}),
            )],
            1,
        ),
        case(
            "iac.aws.ecr-public-policy",
            vec![tf(
                "aws_ecr_repository_policy",
                "p",
                json!({"repository": "app", "policy": policy(json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "ecr:BatchGetImage"}))}),
            )],
            0,
        ),
        case(
            "iac.aws.ecr-public-policy",
            vec![cfn(
                "AWS::ECR::Repository",
                "R",
                json!({"RepositoryPolicyText": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}]}}),
            )],
            1,
        ),
        case(
            "iac.aws.ecr-public-policy",
            vec![cfn("AWS::ECR::Repository", "R", json!({}))],
            0,
        ),
        // ------------------------------------------------------------- Lambda
        case(
            "iac.aws.lambda-env-secrets",
            vec![lambda(
                json!({"DB_PASSWORD": "s3cr3t-passw0rd", "API_TOKEN": "abcdef123456", "LOG_LEVEL": "info"}),
            )],
            2,
        ),
        case(
            "iac.aws.lambda-env-secrets",
            vec![lambda(json!({"AWS_KEY": "AKIAIOSFODNN7EXAMPLE"}))],
            1,
        ),
        case(
            "iac.aws.lambda-env-secrets",
            vec![lambda(
                json!({"DB_PASSWORD": "${var.db_password}", "DB_PASSWORD_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:db", "TOKEN_TTL": "3600"}),
            )],
            0,
        ),
        case(
            "iac.aws.lambda-env-secrets",
            vec![cfn(
                "AWS::Lambda::Function",
                "Fn",
                json!({"Environment": {"Variables": {"STRIPE_SECRET_KEY": "sk_test_51Habcdefghijklmnop"}}}),
            )],
            1,
        ),
        case(
            "iac.aws.lambda-env-secrets",
            vec![cfn(
                "AWS::Serverless::Function",
                "Fn",
                json!({"Environment": {"Variables": {"DB_PASSWORD": "{{resolve:secretsmanager:db:SecretString:password}}", "TABLE": {"Ref": "Table"}}}}),
            )],
            0,
        ),
        case(
            "iac.aws.lambda-url-no-auth",
            vec![tf(
                "aws_lambda_function_url",
                "u",
                json!({"function_name": "api", "authorization_type": "NONE"}),
            )],
            1,
        ),
        case(
            "iac.aws.lambda-url-no-auth",
            vec![tf(
                "aws_lambda_function_url",
                "u",
                json!({"function_name": "api", "authorization_type": "AWS_IAM"}),
            )],
            0,
        ),
        case(
            "iac.aws.lambda-url-no-auth",
            vec![cfn("AWS::Lambda::Url", "U", json!({"AuthType": "NONE"}))],
            1,
        ),
        case(
            "iac.aws.lambda-url-no-auth",
            vec![cfn("AWS::Lambda::Url", "U", json!({"AuthType": "AWS_IAM"}))],
            0,
        ),
        // -------------------------------------------- CloudFront, API Gateway
        case(
            "iac.aws.cloudfront-https",
            vec![cf(
                json!({"default_cache_behavior": [{"viewer_protocol_policy": "allow-all"}], "ordered_cache_behavior": [{"path_pattern": "/img/*", "viewer_protocol_policy": "allow-all"}]}),
            )],
            2,
        ),
        case(
            "iac.aws.cloudfront-https",
            vec![cf(
                json!({"default_cache_behavior": [{"viewer_protocol_policy": "redirect-to-https"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudfront-https",
            vec![cfn(
                "AWS::CloudFront::Distribution",
                "D",
                json!({"DistributionConfig": {"DefaultCacheBehavior": {"ViewerProtocolPolicy": "allow-all"}}}),
            )],
            1,
        ),
        case(
            "iac.aws.cloudfront-https",
            vec![cfn(
                "AWS::CloudFront::Distribution",
                "D",
                json!({"DistributionConfig": {"DefaultCacheBehavior": {"ViewerProtocolPolicy": "https-only"}}}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudfront-tls12",
            vec![cf(
                json!({"viewer_certificate": [{"acm_certificate_arn": "arn:aws:acm:us-east-1:1:certificate/x", "minimum_protocol_version": "TLSv1"}]}),
            )],
            1,
        ),
        case(
            "iac.aws.cloudfront-tls12",
            vec![cf(
                json!({"viewer_certificate": [{"acm_certificate_arn": "arn:aws:acm:us-east-1:1:certificate/x", "minimum_protocol_version": "TLSv1.2_2021"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudfront-tls12",
            vec![cf(
                json!({"viewer_certificate": [{"cloudfront_default_certificate": true}]}),
            )],
            0,
        ),
        case(
            "iac.aws.cloudfront-tls12",
            vec![cfn(
                "AWS::CloudFront::Distribution",
                "D",
                json!({"DistributionConfig": {"ViewerCertificate": {"AcmCertificateArn": "arn"}}}),
            )],
            1,
        ),
        case(
            "iac.aws.cloudfront-tls12",
            vec![cfn(
                "AWS::CloudFront::Distribution",
                "D",
                json!({"DistributionConfig": {"ViewerCertificate": {"AcmCertificateArn": "arn", "MinimumProtocolVersion": "TLSv1.2_2021"}}}),
            )],
            0,
        ),
        case(
            "iac.aws.apigateway-access-logging",
            vec![tf("aws_api_gateway_stage", "prod", json!({}))],
            1,
        ),
        case(
            "iac.aws.apigateway-access-logging",
            vec![tf(
                "aws_apigatewayv2_stage",
                "prod",
                json!({"access_log_settings": [{"destination_arn": "${aws_cloudwatch_log_group.api.arn}", "format": "$context.requestId"}]}),
            )],
            0,
        ),
        case(
            "iac.aws.apigateway-access-logging",
            vec![cfn("AWS::ApiGateway::Stage", "Prod", json!({}))],
            1,
        ),
        case(
            "iac.aws.apigateway-access-logging",
            vec![cfn(
                "AWS::ApiGatewayV2::Stage",
                "Prod",
                json!({"AccessLogSettings": {"DestinationArn": "arn"}}),
            )],
            0,
        ),
    ]
}

#[test]
fn every_case_gives_the_expected_violations() {
    let mut failures = Vec::new();
    for (i, c) in cases().iter().enumerate() {
        let violations = run(c.id, &c.resources);
        if violations.len() != c.expected {
            failures.push(format!(
                "case {i} {}: expected {} violation(s), got {}: {:?}",
                c.id,
                c.expected,
                violations.len(),
                violations
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_aws_check_has_a_failing_and_a_passing_case_per_framework() {
    let cases = cases();
    // id -> framework -> (has failing, has passing)
    let mut seen: BTreeMap<&str, BTreeMap<&str, (bool, bool)>> = BTreeMap::new();
    for c in &cases {
        let framework = if c.resources[0].framework == Framework::CloudFormation {
            "cfn"
        } else {
            "tf"
        };
        let entry = seen.entry(c.id).or_default().entry(framework).or_default();
        if c.expected > 0 {
            entry.0 = true;
        } else {
            entry.1 = true;
        }
    }
    let mut missing = Vec::new();
    for check in all_checks().filter(|c| c.rule.id.starts_with("iac.aws.")) {
        let kinds: Vec<&str> = match &check.kind {
            CheckKind::PerResource { kinds, .. } => kinds.to_vec(),
            CheckKind::Set(_) => vec!["aws_vpc"],
        };
        let frameworks: BTreeSet<&str> = kinds
            .iter()
            .map(|k| if k.starts_with("AWS::") { "cfn" } else { "tf" })
            .collect();
        for framework in frameworks {
            let (fail, pass) = seen
                .get(check.rule.id)
                .and_then(|m| m.get(framework))
                .copied()
                .unwrap_or_default();
            if !fail || !pass {
                missing.push(format!(
                    "{} ({framework}): failing={fail} passing={pass}",
                    check.rule.id
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "checks without cases:\n{}",
        missing.join("\n")
    );
}

#[test]
fn aws_checks_have_complete_metadata() {
    let mut count = 0;
    for check in all_checks().filter(|c| c.rule.id.starts_with("iac.aws.")) {
        count += 1;
        let r = &check.rule;
        let slug = r.id.trim_start_matches("iac.aws.");
        assert!(
            slug.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} is not kebab-case",
            r.id
        );
        assert!(
            !r.title.is_empty() && !r.description.is_empty() && !r.remediation.is_empty(),
            "{}",
            r.id
        );
        assert!(
            !r.references.is_empty() && r.references.iter().all(|u| u.starts_with("https://")),
            "{}",
            r.id
        );
        assert!(
            r.compliance.iter().any(|(f, _)| *f == "SOC 2"),
            "{} has no SOC 2 mapping",
            r.id
        );
        assert!(
            r.compliance.iter().any(|(f, _)| *f == "ISO 27001:2022"),
            "{} has no ISO mapping",
            r.id
        );
        assert!(
            r.checkov
                .iter()
                .all(|id| id.starts_with("CKV_AWS_") || id.starts_with("CKV2_AWS_")),
            "{}",
            r.id
        );
    }
    assert!(count >= 58, "only {count} AWS checks");
}

#[test]
fn secrets_never_appear_in_findings() {
    let resources = vec![tf(
        "aws_lambda_function",
        "api",
        json!({"environment": [{"variables": {"DB_PASSWORD": "s3cr3t-passw0rd", "AWS_KEY": "AKIAIOSFODNN7EXAMPLE"}}]}),
    )];
    let violations = run("iac.aws.lambda-env-secrets", &resources);
    assert_eq!(violations.len(), 2);
    for v in &violations {
        let text = format!("{} {:?}", v.message, v.evidence);
        assert!(
            !text.contains("s3cr3t") && !text.contains("AKIAIOSFODNN7"),
            "{text}"
        );
    }
    assert_eq!(
        violations[1].evidence.as_deref(),
        Some("DB_PASSWORD = \"****\"")
    );
}

#[test]
fn evidence_and_discriminators_name_the_attribute_and_rule() {
    let db = tf(
        "aws_db_instance",
        "main",
        json!({"publicly_accessible": true}),
    );
    let v = run("iac.aws.rds-public", &[db]);
    assert_eq!(v[0].evidence.as_deref(), Some("publicly_accessible = true"));
    assert!(v[0].message.contains("main"));

    let db = cfn(
        "AWS::RDS::DBInstance",
        "Db",
        json!({"PubliclyAccessible": true}),
    );
    let v = run("iac.aws.rds-public", &[db]);
    assert_eq!(v[0].evidence.as_deref(), Some("PubliclyAccessible: true"));

    let sg = tf(
        "aws_security_group",
        "web",
        json!({"ingress": [
            {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]},
            {"protocol": "tcp", "from_port": 3306, "to_port": 3306, "cidr_blocks": ["0.0.0.0/0"]},
            {"protocol": "tcp", "from_port": 5432, "to_port": 5432, "ipv6_cidr_blocks": ["::/0"]}
        ]}),
    );
    let v = run("iac.aws.ec2-sg-public-database", &[sg]);
    let discriminators: Vec<_> = v.iter().filter_map(|v| v.discriminator.clone()).collect();
    assert_eq!(
        discriminators,
        vec!["tcp/3306 from 0.0.0.0/0", "tcp/5432 from ::/0"]
    );
}
