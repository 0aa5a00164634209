//! EC2 and VPC in one region: instances, security groups, VPCs, subnets,
//! route tables, network ACLs, flow logs, EBS default encryption, volumes,
//! the account's snapshots (with their public flag) and images, Elastic IPs.

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{Filter, IpPermission, SnapshotAttributeName, Tag};
use aws_sdk_ec2::Client;
use palisade_aws::inventory::{
    Address, Ec2, Image, Instance, NaclEntry, NetworkAcl, Route, RouteTable, SecurityGroup, SgRule,
    Snapshot, Subnet, Volume, Vpc,
};
use palisade_aws::Gap;

use crate::{all_items, reason, Gaps, Recorder};

const SERVICE: &str = "ec2";
/// Snapshot attribute calls in flight at once, per region.
const SNAPSHOT_CONCURRENCY: usize = 16;

/// The regions enabled for the account (DescribeRegions); `us-east-1` alone when that fails.
pub(crate) async fn enabled_regions(config: &SdkConfig, gaps: &Gaps) -> Vec<String> {
    let client = Client::new(config);
    match client.describe_regions().send().await {
        Ok(out) => {
            let mut regions: Vec<String> = out
                .regions()
                .iter()
                .filter(|r| r.opt_in_status() != Some("not-opted-in"))
                .filter_map(|r| r.region_name().map(str::to_string))
                .collect();
            regions.sort();
            regions
        }
        Err(e) => {
            let fallback = config
                .region()
                .map_or("us-east-1".to_string(), |r| r.to_string());
            gaps.push(Gap::new(
                SERVICE,
                None,
                "DescribeRegions",
                None,
                format!("{}; collecting {fallback} only", reason(&e)),
            ));
            vec![fallback]
        }
    }
}

fn tags(list: &[Tag]) -> Vec<(String, String)> {
    list.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn rules(list: &[IpPermission]) -> Vec<SgRule> {
    list.iter()
        .map(|p| SgRule {
            protocol: p.ip_protocol().unwrap_or("-1").to_string(),
            from_port: p.from_port(),
            to_port: p.to_port(),
            ipv4_ranges: p
                .ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip().map(str::to_string))
                .collect(),
            ipv6_ranges: p
                .ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6().map(str::to_string))
                .collect(),
            groups: p
                .user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect(),
        })
        .collect()
}

pub(crate) async fn collect(client: &Client, region: &str, gaps: &Gaps) -> Option<Ec2> {
    let record = Recorder::new(gaps, SERVICE, Some(region));
    let mut ec2 = Ec2::default();

    // Instances first: if EC2 is not reachable at all in the region, say so once.
    match client
        .describe_instances()
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
    {
        Ok(pages) => {
            for instance in pages
                .iter()
                .flat_map(|p| p.reservations())
                .flat_map(|r| r.instances())
            {
                let metadata = instance.metadata_options();
                ec2.instances.push(Instance {
                    id: instance.instance_id().unwrap_or_default().to_string(),
                    state: instance
                        .state()
                        .and_then(|s| s.name())
                        .map_or(String::new(), |n| n.as_str().to_string()),
                    public_ip: instance.public_ip_address().map(str::to_string),
                    subnet_id: instance.subnet_id().map(str::to_string),
                    vpc_id: instance.vpc_id().map(str::to_string),
                    security_groups: instance
                        .security_groups()
                        .iter()
                        .filter_map(|g| g.group_id().map(str::to_string))
                        .collect(),
                    http_tokens: metadata
                        .and_then(|m| m.http_tokens())
                        .map_or("optional".to_string(), |t| t.as_str().to_string()),
                    http_endpoint: metadata
                        .and_then(|m| m.http_endpoint())
                        .map_or("enabled".to_string(), |t| t.as_str().to_string()),
                    instance_profile: instance
                        .iam_instance_profile()
                        .and_then(|p| p.arn())
                        .map(str::to_string),
                    tags: tags(instance.tags()),
                });
            }
        }
        Err(e) => {
            record.gap("DescribeInstances", None, reason(&e));
            return None;
        }
    }
    // The other listings are independent: ask them all at once.
    let (
        security_groups,
        vpcs,
        subnets,
        route_tables,
        network_acls,
        flow_log_resources,
        ebs_default_encryption,
        volumes,
        snapshots,
        images,
        addresses,
    ) = tokio::join!(
        async {
            let mut ec2 = Ec2::default();
            if let Some(groups) = record
                .call(
                    "DescribeSecurityGroups",
                    None,
                    all_items!(client.describe_security_groups()),
                )
                .await
            {
                ec2.security_groups = groups
                    .iter()
                    .map(|g| SecurityGroup {
                        id: g.group_id().unwrap_or_default().to_string(),
                        name: g.group_name().unwrap_or_default().to_string(),
                        vpc_id: g.vpc_id().map(str::to_string),
                        ingress: rules(g.ip_permissions()),
                        egress: rules(g.ip_permissions_egress()),
                    })
                    .collect()
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            if let Some(vpcs) = record
                .call("DescribeVpcs", None, all_items!(client.describe_vpcs()))
                .await
            {
                ec2.vpcs = vpcs
                    .iter()
                    .map(|v| Vpc {
                        id: v.vpc_id().unwrap_or_default().to_string(),
                        is_default: v.is_default().unwrap_or(false),
                        cidr: v.cidr_block().map(str::to_string),
                    })
                    .collect()
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            if let Some(subnets) = record
                .call(
                    "DescribeSubnets",
                    None,
                    all_items!(client.describe_subnets()),
                )
                .await
            {
                ec2.subnets = subnets
                    .iter()
                    .map(|s| Subnet {
                        id: s.subnet_id().unwrap_or_default().to_string(),
                        vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                        map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
                    })
                    .collect()
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            if let Some(tables) = record
                .call(
                    "DescribeRouteTables",
                    None,
                    all_items!(client.describe_route_tables()),
                )
                .await
            {
                ec2.route_tables = tables
                    .iter()
                    .map(|t| RouteTable {
                        id: t.route_table_id().unwrap_or_default().to_string(),
                        vpc_id: t.vpc_id().unwrap_or_default().to_string(),
                        main: t.associations().iter().any(|a| a.main().unwrap_or(false)),
                        subnet_ids: t
                            .associations()
                            .iter()
                            .filter_map(|a| a.subnet_id().map(str::to_string))
                            .collect(),
                        routes: t
                            .routes()
                            .iter()
                            .filter_map(|r| {
                                let destination = r
                                    .destination_cidr_block()
                                    .or(r.destination_ipv6_cidr_block())?;
                                Some(Route {
                                    destination: destination.to_string(),
                                    target: r
                                        .gateway_id()
                                        .or(r.nat_gateway_id())
                                        .or(r.transit_gateway_id())
                                        .or(r.vpc_peering_connection_id())
                                        .or(r.network_interface_id())
                                        .map(str::to_string),
                                })
                            })
                            .collect(),
                    })
                    .collect()
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            if let Some(acls) = record
                .call(
                    "DescribeNetworkAcls",
                    None,
                    all_items!(client.describe_network_acls()),
                )
                .await
            {
                ec2.network_acls = acls
                    .iter()
                    .map(|a| NetworkAcl {
                        id: a.network_acl_id().unwrap_or_default().to_string(),
                        vpc_id: a.vpc_id().unwrap_or_default().to_string(),
                        subnet_ids: a
                            .associations()
                            .iter()
                            .filter_map(|s| s.subnet_id().map(str::to_string))
                            .collect(),
                        entries: a
                            .entries()
                            .iter()
                            .map(|e| NaclEntry {
                                rule_number: e.rule_number().unwrap_or(32767),
                                egress: e.egress().unwrap_or(false),
                                protocol: e.protocol().unwrap_or("-1").to_string(),
                                allow: e.rule_action().is_some_and(|r| r.as_str() == "allow"),
                                cidr: e.cidr_block().or(e.ipv6_cidr_block()).map(str::to_string),
                                port_range: e.port_range().and_then(|p| Some((p.from()?, p.to()?))),
                            })
                            .collect(),
                    })
                    .collect()
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            if let Some(logs) = record
                .call(
                    "DescribeFlowLogs",
                    None,
                    all_items!(client.describe_flow_logs()),
                )
                .await
            {
                ec2.flow_log_resources = Some(
                    logs.iter()
                        .filter_map(|l| l.resource_id().map(str::to_string))
                        .collect(),
                )
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            match client.get_ebs_encryption_by_default().send().await {
                Ok(out) => ec2.ebs_default_encryption = out.ebs_encryption_by_default(),
                Err(e) => record.gap("GetEbsEncryptionByDefault", None, reason(&e)),
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            if let Some(volumes) = record
                .call(
                    "DescribeVolumes",
                    None,
                    all_items!(client.describe_volumes()),
                )
                .await
            {
                ec2.volumes = volumes
                    .iter()
                    .map(|v| Volume {
                        id: v.volume_id().unwrap_or_default().to_string(),
                        encrypted: v.encrypted().unwrap_or(false),
                        attached_to: v
                            .attachments()
                            .iter()
                            .filter_map(|a| a.instance_id().map(str::to_string))
                            .collect(),
                    })
                    .collect()
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            // The snapshots anyone may restore are the candidates (usually
            // none); each is confirmed by its attribute, a few at a time. If
            // the candidate listing fails, every snapshot is confirmed. Both
            // listings are asked at once.
            let (all, restorable) = tokio::join!(
                record.call(
                    "DescribeSnapshots",
                    None,
                    all_items!(client.describe_snapshots().owner_ids("self")),
                ),
                all_items!(client
                    .describe_snapshots()
                    .owner_ids("self")
                    .restorable_by_user_ids("all")),
            );
            if let Some(snapshots) = all {
                let candidates: Option<std::collections::HashSet<String>> =
                    restorable.ok().map(|list| {
                        list.iter()
                            .filter_map(|s| s.snapshot_id().map(str::to_string))
                            .collect()
                    });
                let semaphore =
                    std::sync::Arc::new(tokio::sync::Semaphore::new(SNAPSHOT_CONCURRENCY));
                let mut tasks = tokio::task::JoinSet::new();
                for (index, s) in snapshots.iter().enumerate() {
                    let id = s.snapshot_id().unwrap_or_default().to_string();
                    let encrypted = s.encrypted().unwrap_or(false);
                    let client = client.clone();
                    let semaphore = semaphore.clone();
                    let candidate = candidates.as_ref().is_none_or(|c| c.contains(&id));
                    tasks.spawn(async move {
                        if !candidate {
                            return (index, id, encrypted, Ok(false));
                        }
                        let _permit = semaphore.acquire_owned().await;
                        let public = client
                            .describe_snapshot_attribute()
                            .snapshot_id(&id)
                            .attribute(SnapshotAttributeName::CreateVolumePermission)
                            .send()
                            .await
                            .map(|out| {
                                out.create_volume_permissions()
                                    .iter()
                                    .any(|p| p.group().is_some_and(|g| g.as_str() == "all"))
                            })
                            .map_err(|e| reason(&e));
                        (index, id, encrypted, public)
                    });
                }
                let mut found = Vec::with_capacity(snapshots.len());
                while let Some(Ok(result)) = tasks.join_next().await {
                    found.push(result);
                }
                found.sort_by_key(|(index, ..)| *index);
                for (_, id, encrypted, public) in found {
                    let public = match public {
                        Ok(public) => Some(public),
                        Err(why) => {
                            record.gap("DescribeSnapshotAttribute", Some(&id), why);
                            None
                        }
                    };
                    ec2.snapshots.push(Snapshot {
                        id,
                        encrypted,
                        public,
                    });
                }
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            match client.describe_images().owners("self").send().await {
                Ok(out) => {
                    ec2.images = out
                        .images()
                        .iter()
                        .map(|i| Image {
                            id: i.image_id().unwrap_or_default().to_string(),
                            name: i.name().unwrap_or_default().to_string(),
                            public: i.public().unwrap_or(false),
                        })
                        .collect()
                }
                Err(e) => record.gap("DescribeImages", None, reason(&e)),
            }
            ec2
        },
        async {
            let mut ec2 = Ec2::default();
            match client
                .describe_addresses()
                .filters(
                    Filter::builder()
                        .name("domain")
                        .values("vpc")
                        .values("standard")
                        .build(),
                )
                .send()
                .await
            {
                Ok(out) => {
                    ec2.addresses = out
                        .addresses()
                        .iter()
                        .map(|a| Address {
                            public_ip: a.public_ip().unwrap_or_default().to_string(),
                            allocation_id: a.allocation_id().map(str::to_string),
                            associated_with: a
                                .instance_id()
                                .or(a.network_interface_id())
                                .filter(|s| !s.is_empty())
                                .map(str::to_string),
                        })
                        .collect()
                }
                Err(e) => record.gap("DescribeAddresses", None, reason(&e)),
            }
            ec2
        },
    );
    ec2.security_groups = security_groups.security_groups;
    ec2.vpcs = vpcs.vpcs;
    ec2.subnets = subnets.subnets;
    ec2.route_tables = route_tables.route_tables;
    ec2.network_acls = network_acls.network_acls;
    ec2.flow_log_resources = flow_log_resources.flow_log_resources;
    ec2.ebs_default_encryption = ebs_default_encryption.ebs_default_encryption;
    ec2.volumes = volumes.volumes;
    ec2.snapshots = snapshots.snapshots;
    ec2.images = images.images;
    ec2.addresses = addresses.addresses;
    Some(ec2)
}
