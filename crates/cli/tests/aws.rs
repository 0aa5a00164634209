//! End-to-end tests of `palisade scan aws` and `palisade assets` against a
//! moto server seeded through boto3 (`scripts/aws-seed.py`): the exact
//! findings on the planted problems and on their clean counterparts, the
//! inventory kept in the store and its diff, denied calls reported as not
//! checked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

mod support;
use support::{start_moto, Moto};

fn seed_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/aws-seed.py")
}

/// Runs Python (with boto3) from moto's venv.
fn python(moto: &Moto, args: &[&str]) -> String {
    let out = Process::new(&moto.python)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// boto3 calls against moto, as one Python snippet.
fn boto(moto: &Moto, code: &str) {
    let program = format!(
        "import boto3\n\
         def c(s): return boto3.client(s, endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         {code}\n",
        moto.endpoint()
    );
    python(moto, &["-c", &program]);
}

fn palisade(home: &Path, moto: &Moto) -> Command {
    let mut cmd = Command::cargo_bin("palisade").expect("binary is built");
    cmd.env("PALISADE_HOME", home)
        .env_remove("PALISADE_DATABASE_URL")
        .env_remove("PALISADE_LOG")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `scan aws` of us-east-1 as JSON, with `extra` arguments; it must exit 0.
fn scan_json(mut palisade: Command, extra: &[&str]) -> Value {
    let out = palisade
        .args([
            "scan",
            "aws",
            "--regions",
            "us-east-1",
            "--format",
            "json",
            "-q",
        ])
        .args(extra)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(&out)
}

/// `rule-id resource-id` of every finding about a seeded resource or the account itself.
fn planted(report: &Value, seeded: &Value) -> BTreeSet<String> {
    let ids: Vec<&str> = seeded
        .as_object()
        .expect("seed output")
        .iter()
        .filter(|(k, _)| k.starts_with("bad_") || k.starts_with("good_"))
        .filter_map(|(_, v)| v.as_str())
        .collect();
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| {
            let id = f["resource"]["id"].as_str()?;
            let ours = id.contains("bad-")
                || id.contains("good-")
                || ids.iter().any(|s| id.ends_with(s))
                || id.ends_with(":root")
                || id.ends_with(":account")
                || id.ends_with(":account-password-policy")
                || id.ends_with(":ebs-default-encryption");
            ours.then(|| format!("{} {}", f["rule_id"].as_str().unwrap_or(""), id))
        })
        .collect()
}

#[test]
fn scan_aws_finds_the_planted_problems_and_keeps_the_inventory() {
    let Some(moto) = start_moto(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]) else {
        return;
    };
    let seeded: Value = serde_json::from_str(&python(
        &moto,
        &[seed_script().to_str().expect("path"), &moto.endpoint()],
    ))
    .expect("seed JSON");
    let s = |key: &str| seeded[key].as_str().expect("seeded id").to_string();
    let home = TempDir::new().expect("home");

    let report = scan_json(palisade(home.path(), &moto), &[]);

    let account = "arn:aws:iam::123456789012";
    let trail = "arn:aws:cloudtrail:us-east-1:123456789012:trail/bad-single-region";
    let expected: BTreeSet<String> = [
        // IAM
        format!("aws.iam.root-mfa {account}:root"),
        format!("aws.iam.password-min-length {account}:account-password-policy"),
        format!("aws.iam.password-reuse {account}:account-password-policy"),
        format!("aws.iam.password-uppercase {account}:account-password-policy"),
        format!("aws.iam.password-numbers {account}:account-password-policy"),
        format!("aws.iam.password-symbols {account}:account-password-policy"),
        format!("aws.iam.password-expiry {account}:account-password-policy"),
        format!("aws.iam.user-console-mfa {account}:user/bad-console-user"),
        format!("aws.iam.user-initial-access-key {account}:user/bad-console-user"),
        format!("aws.iam.user-attached-policy {account}:user/bad-console-user"),
        format!("aws.iam.multiple-active-keys {account}:user/bad-console-user"),
        format!("aws.iam.administrator-access-attached {account}:user/bad-console-user"),
        format!("aws.iam.admin-policy {account}:policy/bad-full-admin"),
        format!("aws.iam.privilege-escalation {account}:policy/bad-escalation"),
        format!("aws.iam.cross-account-no-external-id {account}:role/bad-vendor-role"),
        format!("aws.iam.role-trust-public {account}:role/bad-public-role"),
        // S3
        "aws.s3.public-read-acl arn:aws:s3:::bad-public-bucket".into(),
        "aws.s3.public-policy arn:aws:s3:::bad-public-bucket".into(),
        "aws.s3.public-access-block arn:aws:s3:::bad-public-bucket".into(),
        "aws.s3.secure-transport arn:aws:s3:::bad-public-bucket".into(),
        "aws.s3.encryption arn:aws:s3:::bad-public-bucket".into(),
        "aws.s3.access-logging arn:aws:s3:::bad-public-bucket".into(),
        "aws.s3.acls-enabled arn:aws:s3:::bad-public-bucket".into(),
        "aws.s3.public-access-block arn:aws:s3:::bad-trail-logs".into(),
        "aws.s3.secure-transport arn:aws:s3:::bad-trail-logs".into(),
        "aws.s3.encryption arn:aws:s3:::bad-trail-logs".into(),
        "aws.s3.access-logging arn:aws:s3:::bad-trail-logs".into(),
        "aws.s3.acls-enabled arn:aws:s3:::bad-trail-logs".into(),
        "aws.s3.versioning arn:aws:s3:::bad-public-bucket".into(),
        "aws.s3.versioning arn:aws:s3:::bad-trail-logs".into(),
        // Versioning without MFA delete (which needs the root user's MFA device to turn on).
        "aws.s3.mfa-delete arn:aws:s3:::bad-public-bucket".into(),
        "aws.s3.mfa-delete arn:aws:s3:::bad-trail-logs".into(),
        "aws.s3.mfa-delete arn:aws:s3:::good-private-bucket".into(),
        // EC2 and VPC
        format!("aws.ec2.sg-ssh-open {}", s("bad_sg")),
        format!("aws.ec2.sg-database-open {}", s("bad_sg")),
        format!("aws.ec2.sg-rdp-open {}", s("bad_sg")),
        format!("aws.ec2.sg-all-ports-open {}", s("bad_wide_sg")),
        format!("aws.ec2.ami-public {}", s("bad_ami")),
        format!("aws.ec2.internet-exposed {}", s("bad_instance")),
        format!("aws.ec2.imdsv2 {}", s("bad_instance")),
        format!("aws.ec2.instance-public-ip {}", s("bad_instance")),
        format!("aws.ec2.instance-profile {}", s("bad_instance")),
        // The good instance sits in a public default subnet too; it is not exposed.
        format!("aws.ec2.instance-public-ip {}", s("good_instance")),
        format!("aws.ec2.instance-profile {}", s("good_instance")),
        // A wide-open group behind a network ACL that lets in 443 only; and
        // behind one that lets nothing in (not exposed, but still public IPs).
        format!("aws.ec2.internet-exposed {}", s("bad_nacl_instance")),
        format!("aws.ec2.instance-public-ip {}", s("bad_nacl_instance")),
        format!("aws.ec2.instance-profile {}", s("bad_nacl_instance")),
        format!("aws.ec2.instance-public-ip {}", s("good_nacl_instance")),
        format!("aws.ec2.instance-profile {}", s("good_nacl_instance")),
        format!("aws.ec2.ebs-volume-encryption {}", s("bad_volume")),
        format!("aws.ec2.snapshot-public {}", s("bad_snapshot")),
        format!("aws.ec2.snapshot-encryption {}", s("bad_snapshot")),
        format!("aws.ec2.eip-unassigned {}", s("bad_eip")),
        "aws.ec2.ebs-default-encryption arn:aws:ec2:us-east-1:123456789012:ebs-default-encryption"
            .into(),
        // KMS
        format!(
            "aws.kms.rotation arn:aws:kms:us-east-1:123456789012:key/{}",
            s("bad_key_id")
        ),
        format!(
            "aws.kms.public-key-policy arn:aws:kms:us-east-1:123456789012:key/{}",
            s("bad_public_key_id")
        ),
        format!(
            "aws.kms.pending-deletion arn:aws:kms:us-east-1:123456789012:key/{}",
            s("bad_doomed_key_id")
        ),
        "aws.s3.account-public-access-block arn:aws:s3::123456789012:account".into(),
        // ELBv2: the public ALB serves plain HTTP to the internet.
        format!("aws.elbv2.http-listener {}", s("bad_lb")),
        format!("aws.elbv2.internet-exposed {}", s("bad_lb")),
        // Detection: GuardDuty is on, AWS Config and Security Hub are not.
        "aws.config.enabled arn:aws:config:us-east-1:123456789012:account".into(),
        "aws.securityhub.enabled arn:aws:securityhub:us-east-1:123456789012:account".into(),
        // RDS
        "aws.rds.public arn:aws:rds:us-east-1:123456789012:db:bad-db".into(),
        "aws.rds.encryption arn:aws:rds:us-east-1:123456789012:db:bad-db".into(),
        "aws.rds.backup arn:aws:rds:us-east-1:123456789012:db:bad-db".into(),
        "aws.rds.minor-upgrade arn:aws:rds:us-east-1:123456789012:db:bad-db".into(),
        "aws.rds.multi-az arn:aws:rds:us-east-1:123456789012:db:bad-db".into(),
        "aws.rds.deletion-protection arn:aws:rds:us-east-1:123456789012:db:bad-db".into(),
        "aws.rds.snapshot-public arn:aws:rds:us-east-1:123456789012:snapshot:bad-db-snapshot"
            .into(),
        "aws.rds.snapshot-encryption arn:aws:rds:us-east-1:123456789012:snapshot:bad-db-snapshot"
            .into(),
        // Lambda
        "aws.lambda.url-no-auth arn:aws:lambda:us-east-1:123456789012:function:bad-function".into(),
        "aws.lambda.public-policy arn:aws:lambda:us-east-1:123456789012:function:bad-function"
            .into(),
        "aws.lambda.env-secrets arn:aws:lambda:us-east-1:123456789012:function:bad-function".into(),
        "aws.lambda.deprecated-runtime arn:aws:lambda:us-east-1:123456789012:function:bad-function"
            .into(),
        // EKS
        "aws.eks.public-endpoint arn:aws:eks:us-east-1:123456789012:cluster/bad-cluster".into(),
        "aws.eks.control-plane-logging arn:aws:eks:us-east-1:123456789012:cluster/bad-cluster"
            .into(),
        "aws.eks.secrets-encryption arn:aws:eks:us-east-1:123456789012:cluster/bad-cluster".into(),
        "aws.eks.unsupported-version arn:aws:eks:us-east-1:123456789012:cluster/bad-cluster".into(),
        // Secrets Manager, SNS, SQS
        format!("aws.secretsmanager.public-policy {}", s("bad_secret")),
        format!("aws.secretsmanager.rotation {}", s("bad_secret")),
        "aws.sns.public-policy arn:aws:sns:us-east-1:123456789012:bad-topic".into(),
        "aws.sns.encryption arn:aws:sns:us-east-1:123456789012:bad-topic".into(),
        "aws.sqs.public-policy arn:aws:sqs:us-east-1:123456789012:bad-queue".into(),
        "aws.sqs.encryption arn:aws:sqs:us-east-1:123456789012:bad-queue".into(),
        // CloudTrail
        format!("aws.cloudtrail.logging {trail}"),
        format!("aws.cloudtrail.kms {trail}"),
        format!("aws.cloudtrail.log-validation {trail}"),
        format!("aws.cloudtrail.cloudwatch-logs {trail}"),
        format!("aws.cloudtrail.bucket-access-logging {trail}"),
        "aws.cloudtrail.multi-region arn:aws:cloudtrail::123456789012:account".into(),
        "aws.cloudtrail.s3-data-events-read arn:aws:cloudtrail::123456789012:account".into(),
        "aws.cloudtrail.s3-data-events-write arn:aws:cloudtrail::123456789012:account".into(),
    ]
    .into_iter()
    .collect();
    let got = planted(&report, &seeded);
    let missing: Vec<_> = expected.difference(&got).collect();
    let unexpected: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );

    // Everything the collectors ask moto could be read (GetBucketVersioning
    // included, whose answer moto names differently from S3: see s3.rs),
    // except the root user's row of the credential report, which moto leaves
    // out (crates/aws/tests/fixtures/credential-report.csv has AWS's shape).
    assert_eq!(
        report["errors"],
        serde_json::json!([{
            "path": "aws://123456789012/global/iam:GetCredentialReport",
            "message": "not checked: the credential report has no <root_account> row"
        }])
    );
    let message = |rule: &str, id: &str| -> String {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["rule_id"] == rule && f["resource"]["id"] == id)
            .and_then(|f| f["message"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    // The network ACL narrows "every port" to the one it lets in.
    assert!(
        message("aws.ec2.internet-exposed", &s("bad_nacl_instance")).ends_with("on tcp/443"),
        "{}",
        message("aws.ec2.internet-exposed", &s("bad_nacl_instance"))
    );
    assert!(
        message("aws.ec2.internet-exposed", &s("bad_instance"))
            .ends_with("on tcp/22, tcp/5432, tcp/3389"),
        "{}",
        message("aws.ec2.internet-exposed", &s("bad_instance"))
    );

    // The inventory is in the store.
    let listed = palisade(home.path(), &moto)
        .args(["assets", "list", "--format", "json"])
        .output()
        .expect("runs");
    let listed = json_of(&listed);
    let ids: BTreeSet<&str> = listed
        .as_array()
        .expect("assets")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    for id in [
        "arn:aws:s3:::bad-public-bucket".to_string(),
        s("bad_instance"),
        s("bad_sg"),
        format!("{account}:role/bad-vendor-role"),
    ] {
        assert!(ids.contains(id.as_str()), "{id} not in the assets");
    }
    let shown = palisade(home.path(), &moto)
        .args(["assets", "show", &s("bad_sg"), "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(json_of(&shown)[0]["snapshot"]["name"], "bad-ssh-open");

    // Change the account, collect again, diff the two collections.
    boto(
        &moto,
        &format!(
            "e = c('ec2')\n\
             e.revoke_security_group_ingress(GroupId='{}', IpPermissions=[{{'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22, 'IpRanges': [{{'CidrIp': '0.0.0.0/0'}}]}}])\n\
             e.delete_volume(VolumeId='{}')\n\
             c('s3').create_bucket(Bucket='new-bucket')",
            s("bad_sg"),
            s("good_volume")
        ),
    );
    let again = scan_json(palisade(home.path(), &moto), &[]);
    assert!(!planted(&again, &seeded).contains(&format!("aws.ec2.sg-ssh-open {}", s("bad_sg"))));
    // A collection whose only gap is the root row resolves what is gone
    // (only aws.iam.root-usage is held back).
    let resolved = palisade(home.path(), &moto)
        .args([
            "findings",
            "list",
            "--status",
            "resolved",
            "--rule",
            "aws.ec2.sg-ssh-open",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    let resolved = json_of(&resolved);
    let resolved: Vec<&str> = resolved["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["resource"]["id"].as_str())
        .collect();
    assert_eq!(resolved, [s("bad_sg")]);
    let diff = palisade(home.path(), &moto)
        .args(["assets", "diff", "--format", "json"])
        .output()
        .expect("runs");
    let diff = json_of(&diff);
    let names = |key: &str| -> BTreeSet<String> {
        diff[key]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        names("appeared"),
        BTreeSet::from(["arn:aws:s3:::new-bucket".to_string()])
    );
    assert_eq!(names("vanished"), BTreeSet::from([s("good_volume")]));
    let changed = diff["changed"].as_array().expect("changed");
    let sg = changed
        .iter()
        .find(|c| c["id"] == s("bad_sg").as_str())
        .expect("the security group changed");
    assert_eq!(sg["fields"], serde_json::json!(["ingress"]));

    // --fail-on gates CI on the critical findings (public bucket policy, public snapshot).
    palisade(home.path(), &moto)
        .args([
            "scan",
            "aws",
            "--regions",
            "us-east-1",
            "--no-store",
            "--fail-on",
            "critical",
            "-q",
        ])
        .assert()
        .code(1);
}

#[test]
fn denied_calls_are_reported_as_not_checked_and_the_scan_goes_on() {
    // moto enforces IAM permissions after the first four calls: the three
    // below create an auditor that may read IAM, EC2 and STS only: S3, S3
    // Control, CloudTrail, KMS, RDS, Lambda, GuardDuty, Config, Security Hub
    // and ELBv2 are denied.
    let Some(moto) = start_moto(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]) else {
        return;
    };
    let program = format!(
        "import boto3, json\n\
         iam = boto3.client('iam', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\n\
         iam.create_user(UserName='auditor')\n\
         iam.put_user_policy(UserName='auditor', PolicyName='narrow', PolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': ['sts:GetCallerIdentity', 'iam:Get*', 'iam:List*', 'ec2:Describe*', 'ec2:GetEbsEncryptionByDefault'], 'Resource': '*'}}]}}))\n\
         k = iam.create_access_key(UserName='auditor')['AccessKey']\n\
         print(k['AccessKeyId'], k['SecretAccessKey'])",
        moto.endpoint()
    );
    let keys = python(&moto, &["-c", &program]);
    let (key_id, secret) = keys.trim().split_once(' ').expect("two keys");
    let home = TempDir::new().expect("home");
    let mut auditor = palisade(home.path(), &moto);
    auditor
        .env("AWS_ACCESS_KEY_ID", key_id)
        .env("AWS_SECRET_ACCESS_KEY", secret);
    let report = scan_json(auditor, &[]);
    let errors: BTreeSet<String> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| {
            Some(format!(
                "{} {}",
                e["path"].as_str()?,
                e["message"].as_str()?.starts_with("not checked:")
            ))
        })
        .collect();
    assert_eq!(
        errors,
        BTreeSet::from([
            "aws://123456789012/global/s3:ListBuckets true".to_string(),
            "aws://123456789012/global/s3control:GetPublicAccessBlock true".to_string(),
            "aws://123456789012/us-east-1/cloudtrail:DescribeTrails true".to_string(),
            "aws://123456789012/us-east-1/elbv2:DescribeLoadBalancers true".to_string(),
            "aws://123456789012/us-east-1/config:DescribeConfigurationRecorderStatus true"
                .to_string(),
            "aws://123456789012/us-east-1/guardduty:ListDetectors true".to_string(),
            "aws://123456789012/us-east-1/kms:ListKeys true".to_string(),
            "aws://123456789012/us-east-1/securityhub:DescribeHub true".to_string(),
            "aws://123456789012/us-east-1/lambda:ListFunctions true".to_string(),
            "aws://123456789012/us-east-1/rds:DescribeDBInstances true".to_string(),
            "aws://123456789012/us-east-1/eks:ListClusters true".to_string(),
            "aws://123456789012/global/iam:GenerateCredentialReport true".to_string(),
            "aws://123456789012/us-east-1/secretsmanager:ListSecrets true".to_string(),
            "aws://123456789012/us-east-1/sns:ListTopics true".to_string(),
            "aws://123456789012/us-east-1/sqs:ListQueues true".to_string(),
        ])
    );
    let rules: BTreeSet<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    // What could be read was checked; what could not produced no finding and no pass.
    assert!(rules.contains("aws.iam.root-mfa"), "{rules:?}");
    assert!(
        rules.contains("aws.ec2.ebs-default-encryption"),
        "{rules:?}"
    );
    assert!(
        rules.iter().all(|r| {
            [
                "aws.s3.",
                "aws.kms.",
                "aws.cloudtrail.",
                "aws.rds.",
                "aws.lambda.",
                "aws.guardduty.",
                "aws.config.",
                "aws.securityhub.",
                "aws.elbv2.",
                "aws.eks.",
                "aws.secretsmanager.",
                "aws.sns.",
                "aws.sqs.",
            ]
            .iter()
            .all(|denied| !r.starts_with(denied))
        }),
        "{rules:?}"
    );
    let s3_denied = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .find(|e| {
            e["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("s3:ListBuckets"))
        })
        .expect("s3 error");
    assert!(
        s3_denied["message"]
            .as_str()
            .unwrap_or("")
            .contains("AccessDenied"),
        "{s3_denied}"
    );
}

#[test]
fn organization_scans_every_member_account_through_the_role() {
    let Some(moto) = start_moto(&[]) else {
        return;
    };
    // An organization with one member account, and a public bucket in the
    // member, created through the role palisade will assume.
    let program = format!(
        "import boto3\n\
         kw = dict(endpoint_url='{}', region_name='us-east-1')\n\
         org = boto3.client('organizations', aws_access_key_id='testing', aws_secret_access_key='testing', **kw)\n\
         org.create_organization(FeatureSet='ALL')\n\
         member = org.create_account(Email='member@example.org', AccountName='member')['CreateAccountStatus']['AccountId']\n\
         sts = boto3.client('sts', aws_access_key_id='testing', aws_secret_access_key='testing', **kw)\n\
         creds = sts.assume_role(RoleArn=f'arn:aws:iam::{{member}}:role/audit', RoleSessionName='seed')['Credentials']\n\
         s3 = boto3.client('s3', aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'], **kw)\n\
         s3.create_bucket(Bucket='member-public')\n\
         s3.put_bucket_acl(Bucket='member-public', ACL='public-read')\n\
         print(member)",
        moto.endpoint()
    );
    let member = python(&moto, &["-c", &program]).trim().to_string();
    let home = TempDir::new().expect("home");
    let report = scan_json(palisade(home.path(), &moto), &["--organization", "audit"]);
    let accounts: BTreeSet<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["resource"]["account"].as_str())
        .collect();
    assert_eq!(accounts, BTreeSet::from(["123456789012", member.as_str()]));
    let member_bucket = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule_id"] == "aws.s3.public-read-acl")
        .expect("the member's public bucket");
    assert_eq!(
        member_bucket["resource"]["id"],
        "arn:aws:s3:::member-public"
    );
    assert_eq!(member_bucket["resource"]["account"], member.as_str());
    // One collection per account in the store.
    let collections = palisade(home.path(), &moto)
        .args(["assets", "collections", "--format", "json"])
        .output()
        .expect("runs");
    let collections = json_of(&collections);
    let collected: BTreeSet<&str> = collections
        .as_array()
        .expect("collections")
        .iter()
        .filter_map(|c| c["account"].as_str())
        .collect();
    assert_eq!(collected, BTreeSet::from(["123456789012", member.as_str()]));
}

/// An AWS endpoint that answers STS GetCallerIdentity and fails everything
/// else with 503 ServiceUnavailable, counting the requests it gets.
const FAILING_ENDPOINT: &str = r#"
import http.server, sys, threading
count = {"n": 0}
lock = threading.Lock()
IDENTITY = b"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/test</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"""
FAIL = b"""<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>try again</Message></Error><RequestId>1</RequestId></ErrorResponse>"""
class Handler(http.server.BaseHTTPRequestHandler):
    def respond(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            count["n"] += 1
        if b"GetCallerIdentity" in body:
            status, payload = 200, IDENTITY
        else:
            status, payload = 503, FAIL
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
    do_GET = do_POST = do_PUT = do_HEAD = respond
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
print(count["n"], flush=True)
"#;

#[test]
fn transient_errors_are_retried_then_reported_and_the_scan_finishes() {
    let Some(moto) = start_moto(&[]) else {
        return;
    };
    use std::io::BufRead as _;
    let mut server = Process::new(&moto.python)
        .args(["-c", FAILING_ENDPOINT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("endpoint starts");
    let mut lines = std::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let port = lines.next().expect("port line").expect("port");
    let home = TempDir::new().expect("home");
    let started = std::time::Instant::now();
    let out = palisade(home.path(), &moto)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .args([
            "scan",
            "aws",
            "--regions",
            "us-east-1",
            "--format",
            "json",
            "-q",
        ])
        .output()
        .expect("runs");
    let elapsed = started.elapsed();
    // Closing its stdin makes the endpoint print how many requests it got.
    drop(server.stdin.take());
    let requests: u64 = lines
        .next()
        .expect("count line")
        .expect("count")
        .trim()
        .parse()
        .expect("a number");
    let _ = server.wait();

    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));
    let errors: BTreeSet<&str> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    // Every service's first call failed: each is reported, none passes.
    for expected in [
        "aws://123456789012/global/iam:GetAccountAuthorizationDetails",
        "aws://123456789012/global/s3:ListBuckets",
        "aws://123456789012/global/s3control:GetPublicAccessBlock",
        "aws://123456789012/us-east-1/ec2:DescribeInstances",
        "aws://123456789012/us-east-1/cloudtrail:DescribeTrails",
        "aws://123456789012/us-east-1/kms:ListKeys",
        "aws://123456789012/us-east-1/rds:DescribeDBInstances",
        "aws://123456789012/us-east-1/lambda:ListFunctions",
    ] {
        assert!(errors.contains(expected), "{expected} not in {errors:?}");
    }
    // Each of those calls was attempted 5 times (adaptive retry with backoff).
    assert!(requests > 8 * 5, "{requests} requests");
    assert!(elapsed < std::time::Duration::from_secs(120), "{elapsed:?}");
}
