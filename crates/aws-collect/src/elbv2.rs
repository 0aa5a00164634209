//! ELBv2 in one region: application and network load balancers with their
//! scheme, security groups and listeners.

use aws_sdk_elasticloadbalancingv2::Client;
use palisade_aws::inventory::{LbListener, LoadBalancer};

use crate::{all_items, reason, Gaps, Recorder};

const SERVICE: &str = "elbv2";

pub(crate) async fn collect(
    client: &Client,
    region: &str,
    gaps: &Gaps,
) -> Option<Vec<LoadBalancer>> {
    let record = Recorder::new(gaps, SERVICE, Some(region));
    let listed = record
        .call(
            "DescribeLoadBalancers",
            None,
            all_items!(client.describe_load_balancers()),
        )
        .await?;
    let mut out = Vec::with_capacity(listed.len());
    for lb in &listed {
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        let listeners = match client
            .describe_listeners()
            .load_balancer_arn(&arn)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
        {
            Ok(list) => {
                list.iter()
                    .map(|l| LbListener {
                        port: l.port().unwrap_or(0),
                        protocol: l
                            .protocol()
                            .map_or(String::new(), |p| p.as_str().to_string()),
                        ssl_policy: l.ssl_policy().map(str::to_string),
                        redirects_to_https: l.default_actions().iter().any(|a| {
                            a.redirect_config().and_then(|r| r.protocol()) == Some("HTTPS")
                        }),
                    })
                    .collect()
            }
            Err(e) => {
                record.gap("DescribeListeners", Some(&arn), reason(&e));
                Vec::new()
            }
        };
        out.push(LoadBalancer {
            name: lb.load_balancer_name().unwrap_or_default().to_string(),
            arn,
            kind: lb
                .r#type()
                .map_or(String::new(), |t| t.as_str().to_string()),
            internet_facing: lb.scheme().is_some_and(|s| s.as_str() == "internet-facing"),
            dns_name: lb.dns_name().unwrap_or_default().to_string(),
            security_groups: lb.security_groups().to_vec(),
            subnets: lb
                .availability_zones()
                .iter()
                .filter_map(|z| z.subnet_id().map(str::to_string))
                .collect(),
            listeners,
        });
    }
    Some(out)
}
