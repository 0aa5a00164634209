//! Every check over one hand-written inventory (`fixtures/account.json`),
//! compared with the findings written down in `fixtures/account.expected`:
//! `rule-id resource-id` per line, the failing side of each check. The
//! fixture also holds a clean counterpart for each check, which must not
//! appear there.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use palisade_aws::inventory::{PasswordPolicyState, PublicAccessBlock};
use palisade_aws::{checks::CHECKS, exposure, scan, Inventory};

fn fixture() -> Inventory {
    let text = include_str!("fixtures/account.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn now() -> DateTime<Utc> {
    "2026-12-01T00:00:00Z".parse().expect("time")
}

fn lines(findings: &[palisade_core::Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| format!("{} {}", f.rule_id, f.resource.id))
        .collect()
}

#[test]
fn findings_match_the_expected_list() {
    let output = scan(&fixture(), now(), &[]);
    let got = lines(&output.findings);
    let expected: BTreeSet<String> = include_str!("fixtures/account.expected")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let unexpected: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );
}

/// The fixture with its account-wide settings turned to the failing side:
/// root without MFA, no password policy, nobody with AWSSupportAccess, the
/// only multi-region trail stopped.
fn weak_account() -> Inventory {
    let mut inventory = fixture();
    let iam = inventory.iam.as_mut().expect("iam");
    if let Some(summary) = iam.summary.as_mut() {
        summary.root_mfa_enabled = false;
    }
    iam.password_policy = PasswordPolicyState::NotSet;
    for role in &mut iam.roles {
        role.attached_policies
            .retain(|p| p.name != "AWSSupportAccess");
    }
    for regional in &mut inventory.regional {
        for trail in regional.trails.iter_mut().flatten() {
            trail.is_logging = Some(false);
        }
    }
    inventory
}

#[test]
fn account_wide_checks_fire_on_a_weak_account() {
    let found = lines(&scan(&weak_account(), now(), &[]).findings);
    let account_wide: BTreeSet<&str> = found
        .iter()
        .filter(|l| {
            l.ends_with(":root")
                || l.ends_with(":account")
                || l.ends_with(":account-password-policy")
        })
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "aws.cloudtrail.multi-region arn:aws:cloudtrail::111122223333:account",
        "aws.cloudtrail.s3-data-events-read arn:aws:cloudtrail::111122223333:account",
        "aws.cloudtrail.s3-data-events-write arn:aws:cloudtrail::111122223333:account",
        "aws.iam.password-expiry arn:aws:iam::111122223333:account-password-policy",
        "aws.iam.password-lowercase arn:aws:iam::111122223333:account-password-policy",
        "aws.iam.password-min-length arn:aws:iam::111122223333:account-password-policy",
        "aws.iam.password-numbers arn:aws:iam::111122223333:account-password-policy",
        "aws.iam.password-reuse arn:aws:iam::111122223333:account-password-policy",
        "aws.iam.password-symbols arn:aws:iam::111122223333:account-password-policy",
        "aws.iam.password-uppercase arn:aws:iam::111122223333:account-password-policy",
        "aws.iam.root-access-key arn:aws:iam::111122223333:root",
        "aws.iam.root-mfa arn:aws:iam::111122223333:root",
        "aws.iam.root-usage arn:aws:iam::111122223333:root",
        "aws.iam.support-role arn:aws:iam::111122223333:root",
        "aws.s3.account-public-access-block arn:aws:s3::111122223333:account",
        "aws.config.enabled arn:aws:config:eu-west-1:111122223333:account",
        "aws.guardduty.enabled arn:aws:guardduty:eu-west-1:111122223333:account",
        "aws.securityhub.enabled arn:aws:securityhub:eu-west-1:111122223333:account",
    ]
    .into_iter()
    .collect();
    assert_eq!(account_wide, expected);
    // Virtual root MFA is only a finding while root has MFA at all.
    assert!(!found
        .iter()
        .any(|l| l.starts_with("aws.iam.root-hardware-mfa")));
}

#[test]
fn every_check_fires_on_the_fixture_or_the_weak_account() {
    let mut output = scan(&fixture(), now(), &[]);
    output
        .findings
        .extend(scan(&weak_account(), now(), &[]).findings);
    let fired: BTreeSet<&str> = output.findings.iter().map(|f| f.rule_id.as_str()).collect();
    let silent: Vec<&str> = CHECKS
        .iter()
        .map(|c| c.rule.id)
        .filter(|id| !fired.contains(id))
        .collect();
    assert!(
        silent.is_empty(),
        "checks without a failing case: {silent:?}"
    );
}

#[test]
fn a_gap_is_reported_as_not_checked_and_never_as_a_pass() {
    let output = scan(&fixture(), now(), &[]);
    assert_eq!(output.errors.len(), 1);
    assert_eq!(
        output.errors[0].path,
        "aws://111122223333/eu-west-1/ec2:DescribeInstances"
    );
    assert!(output.errors[0]
        .message
        .starts_with("not checked: UnauthorizedOperation"));

    // Nothing collected at all: no findings, whatever the checks would say of empty lists.
    let mut empty = Inventory {
        account_id: "111122223333".into(),
        ..Inventory::default()
    };
    assert!(scan(&empty, now(), &[]).findings.is_empty());
    // IAM read but not the password policy: the password checks stay silent.
    empty.iam = Some(Default::default());
    let rules = lines(&scan(&empty, now(), &[]).findings);
    assert!(rules.iter().all(|l| !l.contains("password")), "{rules:?}");
}

#[test]
fn findings_carry_account_region_and_metadata() {
    let output = scan(&fixture(), now(), &[]);
    let ssh = output
        .findings
        .iter()
        .find(|f| f.rule_id == "aws.ec2.sg-ssh-open")
        .expect("ssh finding");
    assert_eq!(ssh.resource.account.as_deref(), Some("111122223333"));
    assert_eq!(ssh.resource.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        ssh.evidence.as_deref(),
        Some("ingress tcp/22 from 0.0.0.0/0")
    );
    assert!(ssh.compliance.iter().any(|c| c.control == "5.2"));
    let root = output
        .findings
        .iter()
        .find(|f| f.rule_id == "aws.iam.root-access-key")
        .expect("root finding");
    assert_eq!(root.resource.region, None);
}

#[test]
fn disabled_rules_and_families_do_not_run() {
    let disabled = vec!["aws.iam.*".to_string(), "aws.s3.versioning".to_string()];
    let output = scan(&fixture(), now(), &disabled);
    assert!(output
        .findings
        .iter()
        .all(|f| !f.rule_id.starts_with("aws.iam.") && f.rule_id != "aws.s3.versioning"));
    assert!(output
        .findings
        .iter()
        .any(|f| f.rule_id == "aws.s3.mfa-delete"));
}

#[test]
fn an_account_public_access_block_neutralises_public_acls_and_policies() {
    let mut inventory = fixture();
    inventory.s3_account_public_access_block = Some(Some(PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    }));
    let found = lines(&scan(&inventory, now(), &[]).findings);
    for gone in [
        "aws.s3.account-public-access-block arn:aws:s3::111122223333:account",
        "aws.s3.public-read-acl arn:aws:s3:::pub-acl",
        "aws.s3.public-write-acl arn:aws:s3:::pub-write",
        "aws.s3.public-policy arn:aws:s3:::pub-policy",
    ] {
        assert!(!found.contains(gone), "{gone}");
    }
    // The bucket's own block is still reported as missing.
    assert!(found.contains("aws.s3.public-access-block arn:aws:s3:::pub-acl"));
}

#[test]
fn exposure_needs_a_public_ip_a_route_to_an_internet_gateway_and_an_open_group() {
    let inventory = fixture();
    let exposed: Vec<_> = exposure::exposures(&inventory)
        .into_iter()
        .filter(|e| e.kind == "AWS::EC2::Instance")
        .collect();
    assert_eq!(exposed.len(), 1, "{exposed:?}");
    assert_eq!(exposed[0].id, "i-web");
    assert_eq!(exposed[0].ports, ["tcp/443", "tcp/22"]);
    assert_eq!(exposed[0].gateway, "igw-1");
    assert_eq!(exposed[0].security_groups, ["sg-web", "sg-ssh"]);
}

#[test]
fn the_subnet_network_acl_narrows_the_exposure() {
    // acl-1 lets TCP 22 in from anywhere (and nothing else); associate it
    // with the web instance's subnet.
    let mut inventory = fixture();
    let ec2 = inventory.regional[0].ec2.as_mut().expect("ec2");
    let acl = ec2
        .network_acls
        .iter_mut()
        .find(|a| a.id == "acl-1")
        .expect("acl-1");
    acl.subnet_ids.push("subnet-pub".to_string());
    // No egress entry: replies cannot leave the stateless ACL, nothing is reachable.
    let found = lines(&scan(&inventory, now(), &[]).findings);
    assert!(!found.contains("aws.ec2.internet-exposed i-web"));

    let ec2 = inventory.regional[0].ec2.as_mut().expect("ec2");
    let acl = ec2
        .network_acls
        .iter_mut()
        .find(|a| a.id == "acl-1")
        .expect("acl-1");
    acl.entries.push(palisade_aws::inventory::NaclEntry {
        rule_number: 100,
        egress: true,
        protocol: "6".to_string(),
        allow: true,
        cidr: Some("0.0.0.0/0".to_string()),
        port_range: Some((1024, 65535)),
    });
    let exposed: Vec<_> = exposure::exposures(&inventory)
        .into_iter()
        .filter(|e| e.id == "i-web")
        .collect();
    assert_eq!(exposed.len(), 1);
    // sg-web opens 443, but the ACL only lets 22 in.
    assert_eq!(exposed[0].ports, ["tcp/22"]);
    assert_eq!(exposed[0].security_groups, ["sg-ssh"]);
    assert_eq!(exposed[0].network_acls, ["acl-1"]);
    let output = scan(&inventory, now(), &[]);
    let hit = output
        .findings
        .iter()
        .find(|f| f.rule_id == "aws.ec2.internet-exposed")
        .expect("still exposed on 22");
    assert!(hit.message.ends_with("on tcp/22"), "{}", hit.message);
}

#[test]
fn load_balancers_are_exposed_on_the_listener_ports_their_groups_admit() {
    let exposed: Vec<_> = exposure::exposures(&fixture())
        .into_iter()
        .filter(|e| e.kind == "AWS::ElasticLoadBalancingV2::LoadBalancer")
        .map(|e| (e.address, e.ports))
        .collect();
    // sg-web admits 443 only: port 80 and 8443 stay closed; the NLB has no
    // security group; good-alb's sg-db admits 3306 only; internal is internal.
    assert_eq!(
        exposed,
        [
            (
                "public-web-1.us-east-1.elb.amazonaws.com".to_string(),
                vec!["https/443".to_string()]
            ),
            (
                "public-nlb-2.elb.us-east-1.amazonaws.com".to_string(),
                vec!["tcp/5432".to_string()]
            ),
        ]
    );
}

#[test]
fn age_thresholds_are_inclusive_at_45_and_exclusive_at_90_days() {
    let mut inventory = fixture();
    let iam = inventory.iam.as_mut().expect("iam");
    iam.users.truncate(3);
    let carol = &mut iam.users[2];
    carol.access_keys[0].created = "2026-09-02T00:00:00Z".parse().expect("time");
    carol.access_keys[0].last_used = Some("2026-10-17T00:00:00Z".parse().expect("time"));
    let found = lines(&scan(&inventory, now(), &[]).findings);
    assert!(found.contains("aws.iam.access-key-unused arn:aws:iam::111122223333:user/carol"));
    assert!(!found.contains("aws.iam.access-key-rotation arn:aws:iam::111122223333:user/carol"));
}

#[test]
fn the_assets_of_the_fixture_cover_every_collected_resource() {
    let assets = palisade_aws::assets::assets(&fixture());
    let count = |kind: &str| assets.iter().filter(|a| a.kind == kind).count();
    assert_eq!(count("AWS::IAM::User"), 3);
    assert_eq!(count("AWS::S3::Bucket"), 7);
    assert_eq!(count("AWS::EC2::Instance"), 4);
    assert_eq!(count("AWS::KMS::Key"), 6);
    assert_eq!(count("AWS::RDS::DBInstance"), 2);
    assert_eq!(count("AWS::Lambda::Function"), 2);
    assert_eq!(count("AWS::EKS::Cluster"), 2);
    assert_eq!(count("AWS::SecretsManager::Secret"), 3);
    assert_eq!(count("AWS::SNS::Topic"), 3);
    assert_eq!(count("AWS::SQS::Queue"), 2);
    let bucket = assets
        .iter()
        .find(|a| a.id == "arn:aws:s3:::pub-policy")
        .expect("bucket asset");
    assert_eq!(bucket.region, "eu-west-1");
    assert_eq!(bucket.snapshot["name"], "pub-policy");
}
