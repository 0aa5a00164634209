//! Load balancer checks: Application/Network Load Balancers (ELBv2) and
//! Classic Load Balancers.

use std::sync::LazyLock;

use palisade_core::Severity;
use regex::Regex;
use serde_json::Value;

use super::{attr, fail_if, is_off, known_str, require_on, shown, unknown, GDPR, ISO, SOC2};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{blocks, lookup, IacResource};

const LISTENER_KINDS: &[&str] = &[
    "aws_lb_listener",
    "aws_alb_listener",
    "AWS::ElasticLoadBalancingV2::Listener",
];
const LB_KINDS: &[&str] = &[
    "aws_lb",
    "aws_alb",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
];

/// The listener's protocol; `None` when unknown. Missing means HTTP (the ALB default).
fn listener_protocol(r: &IacResource) -> Option<String> {
    match attr(r, "protocol", "Protocol") {
        None => Some("HTTP".to_string()),
        Some(v) if unknown(v) => None,
        Some(v) => v.as_str().map(str::to_ascii_uppercase),
    }
}

fn redirects_to_https(r: &IacResource) -> bool {
    let actions = if r.framework.is_terraform() {
        blocks(r.get("default_action"))
    } else {
        blocks(r.get("DefaultActions"))
    };
    actions.into_iter().any(|a| {
        if unknown(a) {
            return true;
        }
        let (type_key, protocol) = if r.framework.is_terraform() {
            (
                "type",
                a.get("redirect")
                    .and_then(crate::model::first_block)
                    .and_then(|b| b.get("protocol")),
            )
        } else {
            ("Type", lookup(a, "RedirectConfig.Protocol"))
        };
        let redirect = a.get(type_key).and_then(Value::as_str) == Some("redirect");
        redirect
            && protocol.is_some_and(|p| {
                unknown(p) || p.as_str().is_some_and(|s| s.eq_ignore_ascii_case("HTTPS"))
            })
    })
}

pub(crate) const LISTENER_HTTPS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.elb-listener-https",
        title: "Load balancer listener serves plain HTTP",
        severity: Severity::Medium,
        description: "An HTTP listener that forwards traffic (rather than redirecting to HTTPS) carries requests, cookies and credentials in clear text between clients and the load balancer.",
        remediation: "Use protocol = \"HTTPS\" with a certificate_arn, or make the HTTP listener's default_action a redirect { protocol = \"HTTPS\", port = \"443\", status_code = \"HTTP_301\" }.",
        references: &["https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html#redirect-actions"],
        compliance: &[(SOC2, "CC6.7"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_2"],
    },
    kind: CheckKind::PerResource {
        kinds: LISTENER_KINDS,
        run: listener_https,
    },
};

fn listener_https(r: &IacResource, _: &Context) -> Vec<Violation> {
    let Some(protocol) = listener_protocol(r) else {
        return Vec::new();
    };
    fail_if(protocol == "HTTP" && !redirects_to_https(r), || {
        Violation::new(format!(
            "listener `{}` serves HTTP without redirecting to HTTPS",
            r.name
        ))
        .evidence(shown(
            r,
            "protocol",
            "Protocol",
            attr(r, "protocol", "Protocol"),
            "\"HTTP\"",
        ))
    })
}

static TLS12_POLICY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^ELBSecurityPolicy-(TLS13|TLS|FS)-1-[23]-").expect("valid regex")
});

pub(crate) const LISTENER_TLS12: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.elb-listener-tls12",
        title: "Load balancer listener allows TLS versions older than 1.2",
        severity: Severity::Medium,
        description: "The listener's security policy (the default ELBSecurityPolicy-2016-08 included) still negotiates TLS 1.0 and 1.1, which have known weaknesses and are no longer accepted by PCI DSS and most compliance baselines.",
        remediation: "Set ssl_policy to a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06 (CloudFormation: SslPolicy).",
        references: &["https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html"],
        compliance: &[(SOC2, "CC6.7"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_103"],
    },
    kind: CheckKind::PerResource {
        kinds: LISTENER_KINDS,
        run: listener_tls12,
    },
};

fn listener_tls12(r: &IacResource, _: &Context) -> Vec<Violation> {
    if !matches!(listener_protocol(r).as_deref(), Some("HTTPS" | "TLS")) {
        return Vec::new();
    }
    let policy = attr(r, "ssl_policy", "SslPolicy");
    if policy.is_some_and(unknown) {
        return Vec::new();
    }
    let name = known_str(policy).unwrap_or("ELBSecurityPolicy-2016-08");
    fail_if(!TLS12_POLICY.is_match(name), || {
        Violation::new(format!("listener `{}` allows TLS older than 1.2", r.name)).evidence(shown(
            r,
            "ssl_policy",
            "SslPolicy",
            policy,
            "\"ELBSecurityPolicy-2016-08\"",
        ))
    })
}

/// A CloudFormation `LoadBalancerAttributes` entry's value.
fn lb_attribute<'a>(r: &'a IacResource, name: &str) -> Option<&'a Value> {
    blocks(r.get("LoadBalancerAttributes"))
        .into_iter()
        .find(|a| a.get("Key").and_then(Value::as_str) == Some(name))
        .and_then(|a| a.get("Value"))
}

fn lb_type(r: &IacResource) -> Option<&str> {
    match attr(r, "load_balancer_type", "Type") {
        None => Some("application"),
        v => known_str(v),
    }
}

pub(crate) const DROP_INVALID_HEADERS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.alb-drop-invalid-headers",
        title: "Application Load Balancer does not drop invalid HTTP headers",
        severity: Severity::Low,
        description: "Forwarding header fields with invalid names lets clients smuggle headers the backend may trust, a building block of HTTP desync and request smuggling attacks.",
        remediation: "Set drop_invalid_header_fields = true (CloudFormation: LoadBalancerAttributes routing.http.drop_invalid_header_fields.enabled = \"true\").",
        references: &["https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-attributes"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20")],
        checkov: &["CKV_AWS_131"],
    },
    kind: CheckKind::PerResource {
        kinds: LB_KINDS,
        run: |r, _| {
            if lb_type(r) != Some("application") {
                return Vec::new();
            }
            if r.framework.is_terraform() {
                return require_on(r, "drop_invalid_header_fields", "", false, "forwards invalid HTTP header fields");
            }
            let v = lb_attribute(r, "routing.http.drop_invalid_header_fields.enabled");
            fail_if(is_off(v, false), || {
                Violation::new(format!("`{}` forwards invalid HTTP header fields", r.name))
                    .evidence("routing.http.drop_invalid_header_fields.enabled not \"true\"")
            })
        },
    },
};

pub(crate) const ALB_ACCESS_LOGS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.elbv2-access-logs",
        title: "Load balancer access logging is not enabled",
        severity: Severity::Low,
        description: "Access logs record every request the load balancer receives (client IP, path, status, TLS details). Without them, investigating attacks on the application is much harder.",
        remediation: "Add access_logs { bucket = <log bucket>, enabled = true } (CloudFormation: LoadBalancerAttributes access_logs.s3.enabled = \"true\" and access_logs.s3.bucket).",
        references: &["https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.15")],
        checkov: &["CKV_AWS_91"],
    },
    kind: CheckKind::PerResource {
        kinds: LB_KINDS,
        run: |r, _| {
            if lb_type(r) == Some("gateway") {
                return Vec::new();
            }
            if r.framework.is_terraform() {
                return require_on(r, "access_logs.0.enabled", "", false, "does not write access logs");
            }
            let v = lb_attribute(r, "access_logs.s3.enabled");
            fail_if(is_off(v, false), || {
                Violation::new(format!("`{}` does not write access logs", r.name))
                    .evidence("access_logs.s3.enabled not \"true\"")
            })
        },
    },
};

pub(crate) const ELB_ACCESS_LOGS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.elb-access-logs",
        title: "Classic Load Balancer access logging is not enabled",
        severity: Severity::Low,
        description: "Access logs record every request the load balancer receives. Without them, investigating attacks on the application is much harder.",
        remediation: "Add access_logs { bucket = <log bucket>, enabled = true } (CloudFormation: AccessLoggingPolicy: { Enabled: true, S3BucketName }).",
        references: &["https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/access-log-collection.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.15")],
        checkov: &["CKV_AWS_92"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_elb", "AWS::ElasticLoadBalancing::LoadBalancer"],
        run: |r, _| {
            let block = if r.framework.is_terraform() { r.block("access_logs") } else { r.get("AccessLoggingPolicy") };
            match block {
                None => vec![Violation::new(format!("`{}` does not write access logs", r.name)).evidence(format!(
                    "{} not set",
                    super::key(r, "access_logs", "AccessLoggingPolicy")
                ))],
                Some(b) if unknown(b) => Vec::new(),
                Some(b) => {
                    let key = super::key(r, "enabled", "Enabled");
                    let v = b.get(key);
                    // Terraform's block defaults enabled to true; CloudFormation requires it.
                    fail_if(is_off(v, r.framework.is_terraform()), || {
                        Violation::new(format!("`{}` does not write access logs", r.name))
                            .evidence(shown(r, "access_logs.enabled", "AccessLoggingPolicy.Enabled", v, "false"))
                    })
                }
            }
        },
    },
};
