//! Which checks a collection with gaps could not run.
//!
//! A failed call hides only the data of its service: a denied
//! `GetBucketVersioning` says nothing about security groups. So instead of
//! holding back every finding of a run with any gap, only the rules that
//! read a service with a gap stay unresolved; the others resolve as usual.

use crate::checks::CHECKS;
use crate::inventory::Inventory;

/// Services a rule reads besides the one its id names (`aws.<service>.<name>`).
const ALSO_READS: &[(&str, &[&str])] = &[
    ("aws.cloudtrail.bucket-", &["s3"]),
    ("aws.s3.public-", &["s3control"]),
    ("aws.s3.account-public-access-block", &["s3control"]),
    ("aws.elbv2.internet-exposed", &["ec2"]),
];

/// Calls whose failure hides the data of these rules only, not of their whole service.
const ONLY_FOR: &[(&str, &str, &[&str])] = &[
    ("iam", "GetCredentialReport", &["aws.iam.root-usage"]),
    ("iam", "GenerateCredentialReport", &["aws.iam.root-usage"]),
    (
        "iam",
        "ListServerCertificates",
        &["aws.iam.expired-server-certificate"],
    ),
    (
        "s3",
        "GetBucketVersioning",
        &["aws.s3.versioning", "aws.s3.mfa-delete"],
    ),
    (
        "s3",
        "GetBucketLogging",
        &[
            "aws.s3.access-logging",
            "aws.cloudtrail.bucket-access-logging",
        ],
    ),
];

/// Whether a failed call can hide data `rule_id` reads.
fn affects(gap: &crate::inventory::Gap, rule_id: &str) -> bool {
    if let Some((_, _, rules)) = ONLY_FOR
        .iter()
        .find(|(service, operation, _)| gap.service == *service && gap.operation == *operation)
    {
        return rules.contains(&rule_id);
    }
    let read = services_read(rule_id);
    read.contains(&gap.service.as_str()) || read.contains(&"*")
}

/// The services whose data a rule's check reads, as gaps name them.
pub fn services_read(rule_id: &str) -> Vec<&'static str> {
    let own = rule_id.split('.').nth(1).unwrap_or_default();
    let own: &'static str = match own {
        "vpc" => "ec2",
        other => CHECKS
            .iter()
            .filter_map(|c| c.rule.id.split('.').nth(1))
            .find(|s| *s == other)
            .unwrap_or("*"),
    };
    let mut services = vec![own];
    for (prefix, extra) in ALSO_READS {
        if rule_id.starts_with(prefix) {
            services.extend_from_slice(extra);
        }
    }
    services
}

/// Rule ids whose checks could not run in full because a call they depend on failed.
///
/// A gap that is not about one service (the region listing, a collector
/// that failed as a whole, an identity call) makes every rule unchecked.
pub fn unchecked_rules(inventory: &Inventory) -> Vec<String> {
    let everything = inventory.gaps.iter().any(|g| {
        matches!(g.service.as_str(), "palisade" | "sts") || g.operation == "DescribeRegions"
    });
    let mut rules: Vec<String> = CHECKS
        .iter()
        .map(|c| c.rule.id)
        .filter(|id| everything || inventory.gaps.iter().any(|g| affects(g, id)))
        .map(str::to_string)
        .collect();
    rules.sort();
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Gap;

    fn with_gaps(gaps: Vec<Gap>) -> Inventory {
        Inventory {
            account_id: "111122223333".into(),
            gaps,
            ..Inventory::default()
        }
    }

    #[test]
    fn every_rule_reads_a_known_service() {
        for check in CHECKS {
            let read = services_read(check.rule.id);
            assert!(!read.contains(&"*"), "{}", check.rule.id);
        }
        assert_eq!(services_read("aws.vpc.flow-logs"), vec!["ec2"]);
        assert_eq!(
            services_read("aws.cloudtrail.bucket-public"),
            vec!["cloudtrail", "s3"]
        );
    }

    #[test]
    fn a_gap_holds_back_only_the_rules_of_its_service() {
        assert!(unchecked_rules(&with_gaps(vec![])).is_empty());
        let versioning = Gap::new(
            "s3",
            Some("us-east-1"),
            "GetBucketVersioning",
            Some("logs"),
            "AccessDenied",
        );
        // A per-bucket setting hides only the rules reading it.
        assert_eq!(
            unchecked_rules(&with_gaps(vec![versioning])),
            vec!["aws.s3.mfa-delete", "aws.s3.versioning"]
        );
        let report = Gap::new(
            "iam",
            None,
            "GetCredentialReport",
            None,
            "no <root_account> row",
        );
        assert_eq!(
            unchecked_rules(&with_gaps(vec![report])),
            vec!["aws.iam.root-usage"]
        );
        let policy = Gap::new(
            "s3",
            Some("us-east-1"),
            "GetBucketPolicy",
            Some("logs"),
            "AccessDenied",
        );
        let rules = unchecked_rules(&with_gaps(vec![policy]));
        assert!(rules.contains(&"aws.s3.public-policy".to_string()));
        assert!(rules.contains(&"aws.cloudtrail.bucket-public".to_string()));
        assert!(!rules.contains(&"aws.ec2.sg-ssh-open".to_string()));
        assert!(!rules.contains(&"aws.iam.root-mfa".to_string()));
        assert!(rules
            .iter()
            .all(|r| r.starts_with("aws.s3.") || r.starts_with("aws.cloudtrail.bucket-")));

        let elb = Gap::new(
            "elbv2",
            Some("eu-west-1"),
            "*",
            None,
            "timed out after 300 s",
        );
        let rules = unchecked_rules(&with_gaps(vec![elb]));
        assert_eq!(
            rules,
            vec![
                "aws.elbv2.http-listener",
                "aws.elbv2.internet-exposed",
                "aws.elbv2.tls-policy"
            ]
        );
    }

    #[test]
    fn a_gap_of_the_whole_collection_holds_back_everything() {
        let regions = Gap::new("ec2", None, "DescribeRegions", None, "AccessDenied");
        assert_eq!(
            unchecked_rules(&with_gaps(vec![regions])).len(),
            CHECKS.len()
        );
        let failed = Gap::new("palisade", None, "collect region", None, "collector failed");
        assert_eq!(
            unchecked_rules(&with_gaps(vec![failed])).len(),
            CHECKS.len()
        );
    }
}
