//! Network exposure: which resources the internet can reach, on which ports.
//!
//! A resource is reachable when it has a public address, its subnet routes
//! to an internet gateway, and one of its security groups admits
//! `0.0.0.0/0` or `::/0`. "The security group is open" alone is not enough
//! to be listed here: an instance without a public IP, or in a subnet with
//! no route to an internet gateway, is not reachable whatever its groups say.
//! Internet-facing load balancers are listed with the listener ports their
//! security groups admit from the internet (all listeners for one without
//! security groups, such as most network load balancers).
//! Network ACLs are not evaluated yet (they can only narrow the result).

use serde::Serialize;

use crate::inventory::{Ec2, Instance, Inventory, SecurityGroup, SgRule};

/// One internet-reachable resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// `AWS::EC2::Instance` or `AWS::ElasticLoadBalancingV2::LoadBalancer`.
    pub kind: &'static str,
    pub id: String,
    pub region: String,
    /// The public IP, or the load balancer's DNS name.
    pub address: String,
    /// `tcp/22`, `tcp/8000-8100`, `udp/53`, `all`: what the internet can reach.
    pub ports: Vec<String>,
    /// The security groups that admit the internet.
    pub security_groups: Vec<String>,
    /// The internet gateway the subnet routes to (instances).
    pub gateway: String,
}

/// Every internet-reachable resource of the inventory.
pub fn exposures(inv: &Inventory) -> Vec<Exposure> {
    let mut out = Vec::new();
    for regional in &inv.regional {
        let Some(ec2) = &regional.ec2 else { continue };
        for instance in ec2.instances.iter().filter(|i| i.state != "terminated") {
            if let Some(exposure) = instance_exposure(&regional.region, ec2, instance) {
                out.push(exposure);
            }
        }
    }
    for regional in &inv.regional {
        let groups = regional
            .ec2
            .as_ref()
            .map_or(&[][..], |e| e.security_groups.as_slice());
        for lb in regional
            .load_balancers
            .iter()
            .flatten()
            .filter(|lb| lb.internet_facing)
        {
            let mut ports = Vec::new();
            let mut admitting = Vec::new();
            for listener in &lb.listeners {
                let open_groups: Vec<&str> = groups
                    .iter()
                    .filter(|g| lb.security_groups.contains(&g.id))
                    .filter(|g| {
                        g.ingress.iter().any(|rule| {
                            !rule.open_ranges().is_empty()
                                && (rule.covers_tcp_port(listener.port) || rule.covers_all_ports())
                        })
                    })
                    .map(|g| g.id.as_str())
                    .collect();
                if lb.security_groups.is_empty() || !open_groups.is_empty() {
                    ports.push(format!(
                        "{}/{}",
                        listener.protocol.to_ascii_lowercase(),
                        listener.port
                    ));
                    for g in open_groups {
                        if !admitting.iter().any(|a: &String| a == g) {
                            admitting.push(g.to_string());
                        }
                    }
                }
            }
            if !ports.is_empty() {
                out.push(Exposure {
                    kind: "AWS::ElasticLoadBalancingV2::LoadBalancer",
                    id: lb.arn.clone(),
                    region: regional.region.clone(),
                    address: lb.dns_name.clone(),
                    ports,
                    security_groups: admitting,
                    gateway: String::new(),
                });
            }
        }
    }
    out
}

fn instance_exposure(region: &str, ec2: &Ec2, instance: &Instance) -> Option<Exposure> {
    let public_ip = instance.public_ip.clone()?;
    let gateway = internet_gateway(
        ec2,
        instance.subnet_id.as_deref()?,
        instance.vpc_id.as_deref(),
    )?;
    let mut ports = Vec::new();
    let mut groups = Vec::new();
    for group in instance
        .security_groups
        .iter()
        .filter_map(|id| ec2.security_groups.iter().find(|g| &g.id == id))
    {
        let open = open_ports(group);
        if !open.is_empty() {
            groups.push(group.id.clone());
            for port in open {
                if !ports.contains(&port) {
                    ports.push(port);
                }
            }
        }
    }
    if ports.is_empty() {
        return None;
    }
    Some(Exposure {
        kind: "AWS::EC2::Instance",
        id: instance.id.clone(),
        region: region.to_string(),
        address: public_ip,
        ports,
        security_groups: groups,
        gateway,
    })
}

/// The internet gateway the subnet's route table sends `0.0.0.0/0` or `::/0` to.
fn internet_gateway(ec2: &Ec2, subnet_id: &str, vpc_id: Option<&str>) -> Option<String> {
    let explicit = ec2
        .route_tables
        .iter()
        .find(|t| t.subnet_ids.iter().any(|s| s == subnet_id));
    let vpc_id = vpc_id.map(str::to_string).or_else(|| {
        ec2.subnets
            .iter()
            .find(|s| s.id == subnet_id)
            .map(|s| s.vpc_id.clone())
    });
    let table = explicit.or_else(|| {
        ec2.route_tables
            .iter()
            .find(|t| t.main && Some(&t.vpc_id) == vpc_id.as_ref())
    })?;
    table
        .routes
        .iter()
        .filter(|r| r.destination == "0.0.0.0/0" || r.destination == "::/0")
        .find_map(|r| r.target.clone().filter(|t| t.starts_with("igw-")))
}

/// The ports a group opens to the internet, rendered as `tcp/22`.
pub fn open_ports(group: &SecurityGroup) -> Vec<String> {
    group
        .ingress
        .iter()
        .filter(|rule| !rule.open_ranges().is_empty())
        .map(describe)
        .collect()
}

/// `tcp/22`, `tcp/80-90`, `all`, `icmp`.
pub fn describe(rule: &SgRule) -> String {
    let protocol = match rule.protocol.as_str() {
        "-1" | "all" => return "all".to_string(),
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        other => other,
    };
    match (rule.from_port, rule.to_port) {
        (Some(from), Some(to)) if protocol == "icmp" || from == -1 => {
            let _ = (from, to);
            protocol.to_string()
        }
        (Some(from), Some(to)) if from == to => format!("{protocol}/{from}"),
        (Some(0), Some(65535)) | (None, _) | (_, None) => format!("{protocol}/all"),
        (Some(from), Some(to)) => format!("{protocol}/{from}-{to}"),
    }
}
