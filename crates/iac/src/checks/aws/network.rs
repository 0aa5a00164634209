//! Security group ingress rules, whichever resource holds them.
//!
//! Terraform: inline `ingress` blocks of `aws_security_group`,
//! `aws_security_group_rule` (`type = "ingress"`) and
//! `aws_vpc_security_group_ingress_rule`. CloudFormation:
//! `SecurityGroupIngress` of `AWS::EC2::SecurityGroup` and
//! `AWS::EC2::SecurityGroupIngress`.

use serde_json::Value;

use super::{int, known_str, present, strings, unknown};
use crate::model::{blocks, IacResource};

/// Every resource kind that can hold an ingress rule.
pub(crate) const INGRESS_KINDS: &[&str] = &[
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
];

/// The CIDRs meaning "the whole internet".
pub(crate) const OPEN_CIDRS: &[&str] = &["0.0.0.0/0", "::/0"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    All,
    Tcp,
    Udp,
    /// ICMP and other port-less protocols.
    Other,
}

/// One ingress rule open to the internet.
#[derive(Debug, Clone)]
pub(crate) struct OpenIngress {
    pub protocol: Protocol,
    /// Protocol as written (`tcp`, `-1`).
    pub protocol_text: String,
    pub from: i64,
    pub to: i64,
    /// The open CIDRs of the rule (`0.0.0.0/0`, `::/0`).
    pub cidrs: Vec<String>,
    /// Terraform or CloudFormation rendering of the rule, for evidence.
    pub evidence: String,
}

impl OpenIngress {
    /// Whether the rule lets traffic reach `port` (TCP or UDP).
    pub fn covers(&self, port: i64) -> bool {
        match self.protocol {
            Protocol::All => true,
            Protocol::Tcp | Protocol::Udp => self.from <= port && port <= self.to,
            Protocol::Other => false,
        }
    }

    /// Whether the rule opens every port: protocol `-1`, or a TCP/UDP range 0/1-65535.
    pub fn all_ports(&self) -> bool {
        match self.protocol {
            Protocol::All => true,
            Protocol::Tcp | Protocol::Udp => self.from <= 1 && self.to >= 65535,
            Protocol::Other => false,
        }
    }

    /// A stable identity for the rule within its resource (the discriminator).
    pub fn label(&self) -> String {
        let ports = if self.protocol == Protocol::All {
            "all".to_string()
        } else if self.from == self.to {
            self.from.to_string()
        } else {
            format!("{}-{}", self.from, self.to)
        };
        format!(
            "{}/{} from {}",
            self.protocol_text,
            ports,
            self.cidrs.join(",")
        )
    }
}

fn protocol(text: &str) -> Protocol {
    match text.to_ascii_lowercase().as_str() {
        "-1" | "all" => Protocol::All,
        "tcp" | "6" => Protocol::Tcp,
        "udp" | "17" => Protocol::Udp,
        _ => Protocol::Other,
    }
}

fn protocol_text(value: Option<&Value>) -> Option<String> {
    match present(value)? {
        Value::Number(n) => Some(n.to_string()),
        v if unknown(v) => None,
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The open ingress rules of one resource. Rules with unknown protocol, ports
/// or sources are left out: the check cannot know them.
pub(crate) fn open_ingress(resource: &IacResource) -> Vec<OpenIngress> {
    let terraform = resource.framework.is_terraform();
    let rules: Vec<&Value> = match resource.kind.as_str() {
        "aws_security_group" => blocks(resource.get("ingress")),
        "aws_security_group_rule" => {
            if known_str(resource.get("type")) == Some("ingress") {
                vec![&resource.attributes]
            } else {
                Vec::new()
            }
        }
        "aws_vpc_security_group_ingress_rule" | "AWS::EC2::SecurityGroupIngress" => {
            vec![&resource.attributes]
        }
        "AWS::EC2::SecurityGroup" => blocks(resource.get("SecurityGroupIngress")),
        _ => Vec::new(),
    };
    rules
        .into_iter()
        .filter_map(|rule| {
            let (proto_key, from_key, to_key) = if !terraform {
                ("IpProtocol", "FromPort", "ToPort")
            } else if resource.kind == "aws_vpc_security_group_ingress_rule" {
                ("ip_protocol", "from_port", "to_port")
            } else {
                ("protocol", "from_port", "to_port")
            };
            let text = protocol_text(rule.get(proto_key))?;
            let proto = protocol(&text);
            let (from, to) = match proto {
                Protocol::All => (0, 65535),
                _ => {
                    let from = int(rule.get(from_key));
                    let to = int(rule.get(to_key));
                    match (from, to) {
                        // CloudFormation: -1 on TCP/UDP means every port.
                        (Some(-1), _) | (_, Some(-1)) => (0, 65535),
                        (Some(f), Some(t)) => (f, t),
                        _ => return None,
                    }
                }
            };
            let mut cidrs: Vec<String> = if terraform {
                let mut found = strings(rule.get("cidr_blocks"));
                found.extend(strings(rule.get("ipv6_cidr_blocks")));
                found.extend(strings(rule.get("cidr_ipv4")));
                found.extend(strings(rule.get("cidr_ipv6")));
                found.into_iter().map(str::to_string).collect()
            } else {
                let mut found = strings(rule.get("CidrIp"));
                found.extend(strings(rule.get("CidrIpv6")));
                found.into_iter().map(str::to_string).collect()
            };
            cidrs.retain(|c| OPEN_CIDRS.contains(&c.trim()));
            cidrs.dedup();
            if cidrs.is_empty() {
                return None;
            }
            let evidence =
                if terraform {
                    format!(
                    "{proto_key} = \"{text}\", {from_key} = {from}, {to_key} = {to}, source = {}",
                    cidrs.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
                )
                } else {
                    format!(
                        "IpProtocol: {text}, FromPort: {from}, ToPort: {to}, Cidr: {}",
                        cidrs.join(", ")
                    )
                };
            Some(OpenIngress {
                protocol: proto,
                protocol_text: text,
                from,
                to,
                cidrs,
                evidence,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Framework;
    use serde_json::json;

    fn sg(attributes: Value) -> IacResource {
        IacResource {
            framework: Framework::Terraform,
            kind: "aws_security_group".into(),
            address: "aws_security_group.x".into(),
            name: "x".into(),
            file: "main.tf".into(),
            start_line: 1,
            end_line: 1,
            attributes,
        }
    }

    #[test]
    fn ranges_include_ports_and_protocol_all_opens_everything() {
        let r = sg(json!({"ingress": [
            {"protocol": "tcp", "from_port": 20, "to_port": 30, "cidr_blocks": ["0.0.0.0/0"]},
            {"protocol": "-1", "from_port": 0, "to_port": 0, "ipv6_cidr_blocks": ["::/0"]},
            {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.0.0.0/8"]},
            {"protocol": "tcp", "from_port": "${var.p}", "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}
        ]}));
        let rules = open_ingress(&r);
        assert_eq!(rules.len(), 2);
        assert!(rules[0].covers(22) && !rules[0].covers(80));
        assert!(rules[1].covers(3389) && rules[1].all_ports());
    }
}
