//! ELBv2 checks: plain-HTTP listeners, outdated TLS policies, internet
//! exposure of load balancers.

use palisade_core::Severity;

use super::{each, Check, Hit, RuleSpec, ISO, SOC2};
use crate::exposure;
use crate::inventory::{Inventory, LoadBalancer};

const LB: &str = "AWS::ElasticLoadBalancingV2::LoadBalancer";

fn load_balancers(inv: &Inventory) -> impl Iterator<Item = (&str, &LoadBalancer)> {
    each(inv, |r| r.load_balancers.as_deref())
}

/// Predefined ELB security policies that still accept TLS 1.0 or 1.1.
pub(crate) fn outdated_tls_policy(name: &str) -> bool {
    [
        "ELBSecurityPolicy-2016-08",
        "ELBSecurityPolicy-2015-05",
        "ELBSecurityPolicy-TLS-1-0-2015-04",
        "ELBSecurityPolicy-TLS-1-1-2017-01",
        "ELBSecurityPolicy-FS-2018-06",
        "ELBSecurityPolicy-FS-1-1-2019-08",
        "ELBSecurityPolicy-TLS13-1-0-2021-06",
        "ELBSecurityPolicy-TLS13-1-1-2021-06",
        "ELBSecurityPolicy-TLS13-1-0-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-1-PQ-2025-09",
    ]
    .contains(&name)
}

pub(crate) const HTTP_LISTENER: Check = Check {
    rule: RuleSpec {
        id: "aws.elbv2.http-listener",
        title: "Application load balancer serves plain HTTP",
        severity: Severity::Medium,
        description: "An HTTP listener whose default action is not a redirect to HTTPS serves the application, cookies and credentials included, unencrypted.",
        remediation: "Change the HTTP listener's default action to a redirect to HTTPS (port 443, status 301), and serve the application from an HTTPS listener.",
        references: &["https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html#redirect-actions"],
        compliance: &[(SOC2, "CC6.7"), (ISO, "A.8.24")],
        prowler: &["elbv2_ssl_listeners"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, lb) in load_balancers(inv) {
            for l in lb.listeners.iter().filter(|l| l.protocol == "HTTP" && !l.redirects_to_https) {
                hits.push(
                    Hit::new(LB, &lb.arn, format!("load balancer `{}` serves HTTP on port {} without redirecting to HTTPS", lb.name, l.port))
                        .region(region)
                        .evidence(format!("listener HTTP:{}", l.port))
                        .discriminator(l.port.to_string()),
                );
            }
        }
        hits
    },
};

pub(crate) const TLS_POLICY: Check = Check {
    rule: RuleSpec {
        id: "aws.elbv2.tls-policy",
        title: "Load balancer listener accepts TLS 1.0 or 1.1",
        severity: Severity::Medium,
        description: "The listener's security policy still negotiates TLS 1.0/1.1 and their weak ciphers (the old default ELBSecurityPolicy-2016-08 does). PCI DSS and most baselines require TLS 1.2 or later.",
        remediation: "aws elbv2 modify-listener --listener-arn ARN --ssl-policy ELBSecurityPolicy-TLS13-1-2-2021-06.",
        references: &["https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html"],
        compliance: &[(SOC2, "CC6.7"), (ISO, "A.8.24")],
        prowler: &["elbv2_insecure_ssl_ciphers"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, lb) in load_balancers(inv) {
            // Only TLS listeners negotiate TLS (an emulator may report a policy on HTTP ones).
            for l in lb.listeners.iter().filter(|l| l.protocol == "HTTPS" || l.protocol == "TLS") {
                let Some(policy) = l.ssl_policy.as_deref().filter(|p| outdated_tls_policy(p)) else { continue };
                hits.push(
                    Hit::new(LB, &lb.arn, format!("load balancer `{}` accepts TLS 1.0/1.1 on port {}", lb.name, l.port))
                        .region(region)
                        .evidence(format!("{}:{} SslPolicy {policy}", l.protocol, l.port))
                        .discriminator(l.port.to_string()),
                );
            }
        }
        hits
    },
};

pub(crate) const INTERNET_EXPOSED: Check = Check {
    rule: RuleSpec {
        id: "aws.elbv2.internet-exposed",
        title: "Load balancer is reachable from the internet",
        severity: Severity::Info,
        description: "An internet-facing load balancer whose security groups admit 0.0.0.0/0 or ::/0 on its listener ports (or that has no security groups) is an entry point from the internet. Often intended; listed so the exposure inventory is complete and each entry point is reviewed.",
        remediation: "Make load balancers that serve only internal clients `internal`, restrict their security groups to known sources, and put a WAF in front of public ones.",
        references: &["https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-update-security-groups.html"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &["elbv2_internet_facing"],
    },
    run: |inv, _| {
        exposure::exposures(inv)
            .into_iter()
            .filter(|e| e.kind == LB)
            .map(|e| {
                Hit::new(LB, &e.id, format!("load balancer {} is reachable from the internet on {}", e.address, e.ports.join(", ")))
                    .region(&e.region)
                    .evidence(format!("internet-facing; {}", if e.security_groups.is_empty() { "no security group".to_string() } else { format!("security groups {}", e.security_groups.join(", ")) }))
            })
            .collect()
    },
};
