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
//!
//! Network ACLs narrow the result: they are stateless, so a port is
//! reachable only when the subnet's ACL lets it in from any address
//! (`0.0.0.0/0` or `::/0`, entries in rule-number order, the first match
//! deciding, allow or deny) *and* lets the replies out to any address on
//! the ephemeral ports (1024-65535). Entries for narrower ranges decide
//! nothing for "the internet as a whole" and are skipped, as they are for
//! security groups. A subnet whose ACL was not collected is not narrowed.

use serde::Serialize;

use crate::inventory::{Ec2, Instance, Inventory, NaclEntry, NetworkAcl, SgRule};

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
    /// The network ACLs that were applied (empty when none was collected).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network_acls: Vec<String>,
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
        let acls = regional
            .ec2
            .as_ref()
            .map_or(&[][..], |e| e.network_acls.as_slice());
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
                // A load balancer node in any of its subnets can take the connection.
                let lb_acls: Vec<&NetworkAcl> = lb
                    .subnets
                    .iter()
                    .filter_map(|s| subnet_acl(acls, s))
                    .collect();
                let nacl_admits = lb_acls.is_empty()
                    || lb_acls.iter().any(|acl| {
                        !admitted(acl, &listener_rule(&listener.protocol, listener.port)).is_empty()
                    });
                if nacl_admits && (lb.security_groups.is_empty() || !open_groups.is_empty()) {
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
                    network_acls: lb_acls_ids(acls, &lb.subnets),
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
    let acl = instance
        .subnet_id
        .as_deref()
        .and_then(|s| subnet_acl(&ec2.network_acls, s));
    let mut ports = Vec::new();
    let mut groups = Vec::new();
    for group in instance
        .security_groups
        .iter()
        .filter_map(|id| ec2.security_groups.iter().find(|g| &g.id == id))
    {
        let mut group_admits = false;
        for rule in group.ingress.iter().filter(|r| !r.open_ranges().is_empty()) {
            let reachable = match acl {
                Some(acl) => admitted(acl, rule),
                None => vec![describe(rule)],
            };
            group_admits |= !reachable.is_empty();
            for port in reachable {
                if !ports.contains(&port) {
                    ports.push(port);
                }
            }
        }
        if group_admits {
            groups.push(group.id.clone());
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
        network_acls: acl.map(|a| vec![a.id.clone()]).unwrap_or_default(),
    })
}

/// The network ACL a subnet is associated with (every subnet has exactly one).
fn subnet_acl<'a>(acls: &'a [NetworkAcl], subnet_id: &str) -> Option<&'a NetworkAcl> {
    acls.iter()
        .find(|a| a.subnet_ids.iter().any(|s| s == subnet_id))
}

fn lb_acls_ids(acls: &[NetworkAcl], subnets: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = subnets
        .iter()
        .filter_map(|s| subnet_acl(acls, s))
        .map(|a| a.id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A listener as the security-group rule it needs: its port over TCP (UDP for `UDP` listeners).
fn listener_rule(protocol: &str, port: i32) -> SgRule {
    SgRule {
        protocol: if protocol.eq_ignore_ascii_case("udp") {
            "udp"
        } else {
            "tcp"
        }
        .to_string(),
        from_port: Some(port),
        to_port: Some(port),
        ipv4_ranges: vec!["0.0.0.0/0".to_string()],
        ..SgRule::default()
    }
}

/// First and last port of the ephemeral range replies go to (Linux, ELB and Windows clients all fall in it).
const EPHEMERAL: (i32, i32) = (1024, 65535);

/// What of an internet-open security-group rule the ACL lets through, in
/// the rule's own notation (`tcp/22`, `tcp/1024-2047`, `all` when nothing is narrowed).
pub fn admitted(acl: &NetworkAcl, rule: &SgRule) -> Vec<String> {
    let protocols: &[&str] = match protocol_number(&rule.protocol) {
        "-1" => &["6", "17"],
        "6" => &["6"],
        "17" => &["17"],
        // ICMP and other protocols have no ports: in when the ACL admits the protocol.
        other => {
            let proto = other.to_string();
            let open = !allowed(&acl.entries, false, &proto, (0, 65535)).is_empty();
            return if open {
                vec![describe(rule)]
            } else {
                Vec::new()
            };
        }
    };
    let range = match (rule.from_port, rule.to_port) {
        (Some(from), Some(to)) if from >= 0 && protocol_number(&rule.protocol) != "-1" => {
            (from, to)
        }
        _ => (0, 65535),
    };
    let mut out = Vec::new();
    let mut whole = true;
    for proto in protocols {
        let replies = !allowed(&acl.entries, true, proto, EPHEMERAL).is_empty();
        let inbound = if replies {
            allowed(&acl.entries, false, proto, range)
        } else {
            Vec::new()
        };
        whole &= inbound == [range];
        let name = if *proto == "6" { "tcp" } else { "udp" };
        out.extend(inbound.into_iter().map(|(from, to)| match (from, to) {
            (from, to) if from == to => format!("{name}/{from}"),
            (0, 65535) => format!("{name}/all"),
            (from, to) => format!("{name}/{from}-{to}"),
        }));
    }
    if whole {
        vec![describe(rule)]
    } else {
        out
    }
}

fn protocol_number(protocol: &str) -> &str {
    match protocol {
        "tcp" => "6",
        "udp" => "17",
        "icmp" => "1",
        "icmpv6" => "58",
        "all" => "-1",
        other => other,
    }
}

/// The port intervals within `range` that the entries of one direction let
/// through for `protocol` from or to any address, in rule-number order.
fn allowed(
    entries: &[NaclEntry],
    egress: bool,
    protocol: &str,
    range: (i32, i32),
) -> Vec<(i32, i32)> {
    let mut rules: Vec<&NaclEntry> = entries
        .iter()
        .filter(|e| e.egress == egress)
        .filter(|e| matches!(e.cidr.as_deref(), Some("0.0.0.0/0" | "::/0")))
        .filter(|e| e.protocol == "-1" || protocol_number(&e.protocol) == protocol)
        .collect();
    rules.sort_by_key(|e| e.rule_number);
    let mut undecided = vec![range];
    let mut allowed = Vec::new();
    for entry in rules {
        let (low, high) = match entry.port_range {
            Some(ports) if entry.protocol != "-1" => ports,
            _ => (0, 65535),
        };
        let mut next = Vec::new();
        for (from, to) in undecided {
            let (lo, hi) = (from.max(low), to.min(high));
            if lo > hi {
                next.push((from, to));
                continue;
            }
            if entry.allow {
                allowed.push((lo, hi));
            }
            if from < lo {
                next.push((from, lo - 1));
            }
            if hi < to {
                next.push((hi + 1, to));
            }
        }
        undecided = next;
        if undecided.is_empty() {
            break;
        }
    }
    // What no entry decided is denied (the `*` rule).
    allowed.sort_unstable();
    let mut merged: Vec<(i32, i32)> = Vec::with_capacity(allowed.len());
    for (from, to) in allowed {
        match merged.last_mut() {
            Some(last) if from <= last.1 + 1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        number: i32,
        egress: bool,
        protocol: &str,
        allow: bool,
        cidr: &str,
        ports: Option<(i32, i32)>,
    ) -> NaclEntry {
        NaclEntry {
            rule_number: number,
            egress,
            protocol: protocol.to_string(),
            allow,
            cidr: Some(cidr.to_string()),
            port_range: ports,
        }
    }

    fn acl(entries: Vec<NaclEntry>) -> NetworkAcl {
        NetworkAcl {
            id: "acl-test".to_string(),
            vpc_id: "vpc-1".to_string(),
            subnet_ids: vec!["subnet-1".to_string()],
            entries,
        }
    }

    fn open(protocol: &str, from: Option<i32>, to: Option<i32>) -> SgRule {
        SgRule {
            protocol: protocol.to_string(),
            from_port: from,
            to_port: to,
            ipv4_ranges: vec!["0.0.0.0/0".to_string()],
            ..SgRule::default()
        }
    }

    /// The default ACL of a VPC: everything in, everything out.
    fn default_acl() -> NetworkAcl {
        acl(vec![
            entry(100, false, "-1", true, "0.0.0.0/0", None),
            entry(32767, false, "-1", false, "0.0.0.0/0", None),
            entry(100, true, "-1", true, "0.0.0.0/0", None),
            entry(32767, true, "-1", false, "0.0.0.0/0", None),
        ])
    }

    #[test]
    fn an_allow_all_acl_narrows_nothing() {
        let acl = default_acl();
        assert_eq!(admitted(&acl, &open("tcp", Some(22), Some(22))), ["tcp/22"]);
        assert_eq!(admitted(&acl, &open("-1", None, None)), ["all"]);
        assert_eq!(
            admitted(&acl, &open("tcp", Some(0), Some(65535))),
            ["tcp/all"]
        );
    }

    #[test]
    fn the_lowest_numbered_matching_entry_decides() {
        // Deny 22 at 90 wins over allow-all at 100; allow 3389 at 80 wins over deny at 90.
        let mut entries = default_acl().entries;
        entries.push(entry(90, false, "6", false, "0.0.0.0/0", Some((22, 22))));
        entries.push(entry(80, false, "6", true, "0.0.0.0/0", Some((3389, 3389))));
        entries.push(entry(
            90,
            false,
            "6",
            false,
            "0.0.0.0/0",
            Some((3380, 3399)),
        ));
        let acl = acl(entries);
        assert!(admitted(&acl, &open("tcp", Some(22), Some(22))).is_empty());
        assert_eq!(
            admitted(&acl, &open("tcp", Some(3389), Some(3389))),
            ["tcp/3389"]
        );
        assert_eq!(
            admitted(&acl, &open("tcp", Some(20), Some(25))),
            ["tcp/20-21", "tcp/23-25"]
        );
        // The rule opened everything; the ACL keeps TCP 22 and 3380-3399 (but 3389) out.
        assert_eq!(
            admitted(&acl, &open("-1", None, None)),
            [
                "tcp/0-21",
                "tcp/23-3379",
                "tcp/3389",
                "tcp/3400-65535",
                "udp/all"
            ]
        );
    }

    #[test]
    fn entries_for_narrower_sources_do_not_decide_for_the_internet() {
        let acl = acl(vec![
            entry(50, false, "6", true, "10.0.0.0/8", Some((22, 22))),
            entry(60, false, "6", true, "0.0.0.0/0", Some((443, 443))),
            entry(100, true, "-1", true, "0.0.0.0/0", None),
        ]);
        assert!(admitted(&acl, &open("tcp", Some(22), Some(22))).is_empty());
        assert_eq!(
            admitted(&acl, &open("tcp", Some(443), Some(443))),
            ["tcp/443"]
        );
        // Only the last (implicit) deny covers UDP.
        assert!(admitted(&acl, &open("udp", Some(53), Some(53))).is_empty());
    }

    #[test]
    fn replies_must_be_let_out_on_ephemeral_ports() {
        // Stateless: in on 443 but nothing out means no connection completes.
        let no_replies = acl(vec![
            entry(100, false, "-1", true, "0.0.0.0/0", None),
            entry(100, true, "6", true, "0.0.0.0/0", Some((443, 443))),
        ]);
        assert!(admitted(&no_replies, &open("tcp", Some(443), Some(443))).is_empty());
        let replies = acl(vec![
            entry(100, false, "-1", true, "0.0.0.0/0", None),
            entry(100, true, "6", true, "0.0.0.0/0", Some((32768, 60999))),
        ]);
        assert_eq!(
            admitted(&replies, &open("tcp", Some(443), Some(443))),
            ["tcp/443"]
        );
        // UDP replies are not allowed out, so only TCP is reachable.
        assert_eq!(admitted(&replies, &open("-1", None, None)), ["tcp/all"]);
    }

    #[test]
    fn ipv6_entries_count_for_the_internet_too() {
        let acl = acl(vec![
            entry(100, false, "6", true, "::/0", Some((80, 80))),
            entry(100, true, "-1", true, "::/0", None),
        ]);
        assert_eq!(admitted(&acl, &open("tcp", Some(80), Some(80))), ["tcp/80"]);
        assert!(admitted(&acl, &open("icmp", Some(-1), Some(-1))).is_empty());
    }
}
