//! CloudFront and API Gateway checks.

use palisade_core::Severity;
use serde_json::Value;

use super::{fail_if, is_on, is_set, known_str, shown, unknown, GDPR, ISO, SOC2};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{blocks, IacResource};

pub(crate) const CLOUDFRONT_HTTPS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.cloudfront-https",
        title: "CloudFront distribution allows plain HTTP",
        severity: Severity::Medium,
        description: "A cache behavior with viewer_protocol_policy allow-all serves content and accepts requests (cookies, form posts, tokens) over unencrypted HTTP.",
        remediation: "Set viewer_protocol_policy = \"redirect-to-https\" or \"https-only\" on the default and every ordered cache behavior (CloudFormation: ViewerProtocolPolicy).",
        references: &["https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-https-viewers-to-cloudfront.html"],
        compliance: &[(SOC2, "CC6.7"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_34"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_cloudfront_distribution", "AWS::CloudFront::Distribution"],
        run: cloudfront_https,
    },
};

fn cloudfront_https(r: &IacResource, _: &Context) -> Vec<Violation> {
    let behaviors: Vec<(String, &Value)> = if r.framework.is_terraform() {
        let mut all: Vec<(String, &Value)> = blocks(r.get("default_cache_behavior"))
            .into_iter()
            .map(|b| ("default".to_string(), b))
            .collect();
        all.extend(
            blocks(r.get("ordered_cache_behavior"))
                .into_iter()
                .map(|b| {
                    (
                        known_str(b.get("path_pattern"))
                            .unwrap_or("ordered")
                            .to_string(),
                        b,
                    )
                }),
        );
        all
    } else {
        let mut all: Vec<(String, &Value)> =
            blocks(r.get("DistributionConfig.DefaultCacheBehavior"))
                .into_iter()
                .map(|b| ("default".to_string(), b))
                .collect();
        all.extend(
            blocks(r.get("DistributionConfig.CacheBehaviors"))
                .into_iter()
                .map(|b| {
                    (
                        known_str(b.get("PathPattern"))
                            .unwrap_or("ordered")
                            .to_string(),
                        b,
                    )
                }),
        );
        all
    };
    let key = super::key(r, "viewer_protocol_policy", "ViewerProtocolPolicy");
    behaviors
        .into_iter()
        .filter(|(_, b)| known_str(b.get(key)) == Some("allow-all"))
        .map(|(label, b)| {
            Violation::new(format!(
                "CloudFront distribution `{}` allows HTTP for `{label}` behavior",
                r.name
            ))
            .evidence(shown(r, key, key, b.get(key), ""))
            .discriminator(label)
        })
        .collect()
}

pub(crate) const CLOUDFRONT_TLS12: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.cloudfront-tls12",
        title: "CloudFront distribution allows TLS versions older than 1.2",
        severity: Severity::Medium,
        description: "With a custom certificate, the minimum protocol version defaults to TLSv1, so viewers can negotiate TLS 1.0/1.1 with weak cipher suites.",
        remediation: "Set viewer_certificate.minimum_protocol_version = \"TLSv1.2_2021\" (CloudFormation: ViewerCertificate.MinimumProtocolVersion).",
        references: &["https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html"],
        compliance: &[(SOC2, "CC6.7"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_174"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_cloudfront_distribution", "AWS::CloudFront::Distribution"],
        run: cloudfront_tls12,
    },
};

fn cloudfront_tls12(r: &IacResource, _: &Context) -> Vec<Violation> {
    let terraform = r.framework.is_terraform();
    let cert = if terraform {
        r.block("viewer_certificate")
    } else {
        r.get("DistributionConfig.ViewerCertificate")
    };
    let Some(cert) = cert.filter(|c| !unknown(c)) else {
        return Vec::new();
    };
    let (acm, iam, default_cert, version_key) = if terraform {
        (
            "acm_certificate_arn",
            "iam_certificate_id",
            "cloudfront_default_certificate",
            "minimum_protocol_version",
        )
    } else {
        (
            "AcmCertificateArn",
            "IamCertificateId",
            "CloudFrontDefaultCertificate",
            "MinimumProtocolVersion",
        )
    };
    // The default *.cloudfront.net certificate fixes the policy; nothing to configure.
    let custom = is_set(cert.get(acm)) || is_set(cert.get(iam));
    if !custom || is_on(cert.get(default_cert), false) {
        return Vec::new();
    }
    let version = cert.get(version_key);
    if version.is_some_and(unknown) {
        return Vec::new();
    }
    let modern =
        known_str(version).is_some_and(|v| v.starts_with("TLSv1.2") || v.starts_with("TLSv1.3"));
    fail_if(!modern, || {
        Violation::new(format!(
            "CloudFront distribution `{}` allows TLS older than 1.2",
            r.name
        ))
        .evidence(shown(
            r,
            "viewer_certificate.minimum_protocol_version",
            "ViewerCertificate.MinimumProtocolVersion",
            version,
            "TLSv1",
        ))
    })
}

pub(crate) const APIGW_ACCESS_LOGGING: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.apigateway-access-logging",
        title: "API Gateway stage has no access logging",
        severity: Severity::Low,
        description: "Access logs record who called which API route, from where and with what result. Without them, abuse of the API (credential stuffing, scraping, exploitation attempts) cannot be detected or investigated.",
        remediation: "Add access_log_settings { destination_arn = <log group ARN>, format = ... } (CloudFormation: AccessLogSetting / AccessLogSettings).",
        references: &["https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.15")],
        checkov: &["CKV_AWS_76", "CKV_AWS_95"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_api_gateway_stage", "aws_apigatewayv2_stage", "AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"],
        run: |r, _| {
            let key = match r.kind.as_str() {
                "AWS::ApiGateway::Stage" => "AccessLogSetting",
                "AWS::ApiGatewayV2::Stage" => "AccessLogSettings",
                _ => "access_log_settings",
            };
            fail_if(!is_set(r.get(key)), || {
                Violation::new(format!("API Gateway stage `{}` has no access logging", r.name))
                    .evidence(format!("{key} not set"))
            })
        },
    },
};
