//! EC2 and VPC checks: security groups, the default security group, flow
//! logs, instance metadata, public IPs and EBS encryption.

use palisade_core::Severity;
use serde_json::Value;

use super::network::{open_ingress, OpenIngress, INGRESS_KINDS};
use super::{
    attr, fail_if, has_companion, is_off, is_on, known_str, shown, unknown, CIS_AWS, GDPR, ISO,
    SOC2,
};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{blocks, IacResource};

/// One violation per open ingress rule that reaches any of `ports`.
fn open_ports(resource: &IacResource, ports: &[i64], service: &str) -> Vec<Violation> {
    open_ingress(resource)
        .into_iter()
        .filter_map(|rule| {
            let hit: Vec<String> = ports
                .iter()
                .filter(|p| rule.covers(**p))
                .map(i64::to_string)
                .collect();
            if hit.is_empty() {
                return None;
            }
            Some(violation(
                resource,
                &rule,
                &format!("{service} (port {})", hit.join(", ")),
            ))
        })
        .collect()
}

fn violation(resource: &IacResource, rule: &OpenIngress, what: &str) -> Violation {
    Violation::new(format!(
        "security group `{}` allows {what} from {}",
        resource.name,
        rule.cidrs.join(" and ")
    ))
    .evidence(rule.evidence.clone())
    .discriminator(rule.label())
}

pub(crate) const SG_SSH: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ec2-sg-public-ssh",
        title: "Security group allows SSH from the internet",
        severity: Severity::High,
        description: "An ingress rule from 0.0.0.0/0 or ::/0 that includes port 22 exposes SSH to the whole internet, where it is brute-forced and scanned for vulnerabilities continuously.",
        remediation: "Restrict the rule's cidr_blocks to known administrative networks, or remove it and use AWS Systems Manager Session Manager or a bastion reached over VPN.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html", "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager.html"],
        compliance: &[(CIS_AWS, "5.2"), (CIS_AWS, "5.3"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        checkov: &["CKV_AWS_24"],
    },
    kind: CheckKind::PerResource {
        kinds: INGRESS_KINDS,
        run: |r, _| open_ports(r, &[22], "SSH"),
    },
};

pub(crate) const SG_RDP: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ec2-sg-public-rdp",
        title: "Security group allows RDP from the internet",
        severity: Severity::High,
        description: "An ingress rule from 0.0.0.0/0 or ::/0 that includes port 3389 exposes Remote Desktop to the internet, a favourite entry point for ransomware operators.",
        remediation: "Restrict the rule to known administrative networks, or remove it and use Session Manager port forwarding or Fleet Manager.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"],
        compliance: &[(CIS_AWS, "5.2"), (CIS_AWS, "5.3"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        checkov: &["CKV_AWS_25"],
    },
    kind: CheckKind::PerResource {
        kinds: INGRESS_KINDS,
        run: |r, _| open_ports(r, &[3389], "RDP"),
    },
};

pub(crate) const SG_HTTP: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ec2-sg-public-http",
        title: "Security group allows plain HTTP from the internet",
        severity: Severity::Low,
        description: "An ingress rule from 0.0.0.0/0 or ::/0 that includes port 80 serves unencrypted HTTP to the internet. It is expected on a load balancer that only redirects to HTTPS, and a finding anywhere else.",
        remediation: "Serve HTTPS on 443 and either remove port 80 or keep it only on a load balancer whose listener redirects to HTTPS.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20")],
        checkov: &["CKV_AWS_260"],
    },
    kind: CheckKind::PerResource {
        kinds: INGRESS_KINDS,
        run: |r, _| open_ports(r, &[80], "HTTP"),
    },
};

/// Database, cache and search engine ports that must never face the internet.
const DATABASE_PORTS: &[i64] = &[
    1433,  // SQL Server
    1521,  // Oracle
    2379,  // etcd
    3306,  // MySQL / MariaDB / Aurora
    5432,  // PostgreSQL
    5439,  // Redshift
    5984,  // CouchDB
    6379,  // Redis
    7000,  // Cassandra
    9042,  // Cassandra CQL
    9200,  // Elasticsearch / OpenSearch
    9300,  // Elasticsearch transport
    11211, // Memcached
    27017, // MongoDB
];

pub(crate) const SG_DATABASE: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ec2-sg-public-database",
        title: "Security group allows database ports from the internet",
        severity: Severity::High,
        description: "An ingress rule from 0.0.0.0/0 or ::/0 reaches a database, cache or search port (MySQL 3306, PostgreSQL 5432, SQL Server 1433, Oracle 1521, MongoDB 27017, Redis 6379, Elasticsearch 9200, ...). Exposed data stores are found by internet scanners within hours and are a leading cause of data breaches.",
        remediation: "Allow the port only from the application's security group (source_security_group_id / referenced_security_group_id) or private CIDRs; reach the database from outside through a VPN or bastion.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.Scenarios.html", "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20"), (ISO, "A.8.22"), (GDPR, "Art. 32")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: INGRESS_KINDS,
        run: |r, _| open_ports(r, DATABASE_PORTS, "database traffic"),
    },
};

pub(crate) const SG_ALL_PORTS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ec2-sg-public-all-ports",
        title: "Security group allows all traffic from the internet",
        severity: Severity::Critical,
        description: "An ingress rule with protocol -1 (all traffic) or a 0-65535 port range from 0.0.0.0/0 or ::/0 exposes every service on the attached resources to the internet.",
        remediation: "Replace the rule with rules for the specific ports the service needs, from the narrowest sources possible.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"],
        compliance: &[(CIS_AWS, "5.2"), (CIS_AWS, "5.3"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        checkov: &["CKV_AWS_277"],
    },
    kind: CheckKind::PerResource {
        kinds: INGRESS_KINDS,
        run: sg_all_ports,
    },
};

fn sg_all_ports(resource: &IacResource, _: &Context) -> Vec<Violation> {
    open_ingress(resource)
        .into_iter()
        .filter(OpenIngress::all_ports)
        .map(|rule| violation(resource, &rule, "all ports"))
        .collect()
}

pub(crate) const DEFAULT_SG: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.vpc-default-sg-restricts-all",
        title: "VPC default security group does not restrict all traffic",
        severity: Severity::Medium,
        description: "Every VPC's default security group allows all traffic between its members and all egress. Resources launched without an explicit group land in it. Managing it with aws_default_security_group and no rules removes that implicit trust.",
        remediation: "Add an aws_default_security_group for the VPC (vpc_id = aws_vpc.x.id) with no ingress and no egress blocks.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html", "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/default_security_group"],
        compliance: &[(CIS_AWS, "5.4"), (SOC2, "CC6.6"), (ISO, "A.8.22")],
        checkov: &["CKV2_AWS_12"],
    },
    kind: CheckKind::Set(default_sg),
};

fn default_sg(ctx: &Context) -> Vec<(usize, Violation)> {
    ctx.of_kind("aws_vpc")
        .filter_map(|(index, vpc)| {
            let groups: Vec<&IacResource> = ctx
                .companions("aws_default_security_group", "vpc_id", vpc)
                .collect();
            let evidence = if groups.is_empty() {
                "no aws_default_security_group manages this VPC's default group".to_string()
            } else {
                let open = groups.iter().find_map(|g| {
                    ["ingress", "egress"]
                        .into_iter()
                        .find(|k| super::is_set(g.get(k)))
                        .map(|k| format!("{}: {k} rules defined", g.address))
                })?;
                open
            };
            Some((
                index,
                Violation::new(format!(
                    "default security group of VPC `{}` does not restrict all traffic",
                    vpc.name
                ))
                .evidence(evidence),
            ))
        })
        .collect()
}

pub(crate) const VPC_FLOW_LOGS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.vpc-flow-logs",
        title: "VPC has no flow logs",
        severity: Severity::Medium,
        description: "VPC flow logs record the network connections in and out of the VPC. Without them, detecting exfiltration, scanning or lateral movement and investigating an incident is not possible.",
        remediation: "Add an aws_flow_log with vpc_id = aws_vpc.x.id (CloudFormation: AWS::EC2::FlowLog with ResourceType VPC and ResourceId !Ref the VPC), traffic_type ALL, delivered to CloudWatch Logs or S3.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html"],
        compliance: &[(CIS_AWS, "3.7"), (SOC2, "CC7.2"), (ISO, "A.8.15"), (ISO, "A.8.16")],
        checkov: &["CKV2_AWS_11"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_vpc", "AWS::EC2::VPC"],
        run: vpc_flow_logs,
    },
};

fn vpc_flow_logs(vpc: &IacResource, ctx: &Context) -> Vec<Violation> {
    let logged = if vpc.framework.is_terraform() {
        has_companion(ctx, "aws_flow_log", "vpc_id", vpc)
    } else {
        has_companion(ctx, "AWS::EC2::FlowLog", "ResourceId", vpc)
            || ctx.of_kind("AWS::EC2::FlowLog").any(|(_, f)| {
                f.get("ResourceIds").is_some_and(|ids| {
                    blocks_or_values(ids)
                        .iter()
                        .any(|v| crate::checks::refers_to(v, &vpc.address, None))
                })
            })
    };
    fail_if(!logged, || {
        Violation::new(format!("VPC `{}` has no flow log", vpc.name)).evidence(
            if vpc.framework.is_terraform() {
                "no aws_flow_log refers to this VPC"
            } else {
                "no AWS::EC2::FlowLog refers to this VPC"
            },
        )
    })
}

fn blocks_or_values(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

pub(crate) const IMDSV2: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ec2-imdsv2-required",
        title: "EC2 instance metadata service does not require IMDSv2",
        severity: Severity::High,
        description: "IMDSv1 answers plain GET requests, so a server-side request forgery in any application on the instance can read the instance role's temporary credentials (the Capital One breach). IMDSv2 requires a session token obtained with a PUT, which SSRF cannot normally send.",
        remediation: "Set metadata_options { http_tokens = \"required\" } (CloudFormation launch template: MetadataOptions: { HttpTokens: required }), or disable the endpoint with http_endpoint = \"disabled\".",
        references: &["https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html"],
        compliance: &[(CIS_AWS, "5.6"), (SOC2, "CC6.1"), (ISO, "A.8.9")],
        checkov: &["CKV_AWS_79"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_instance", "aws_launch_template", "aws_launch_configuration", "AWS::EC2::LaunchTemplate"],
        run: imdsv2,
    },
};

fn imdsv2(resource: &IacResource, _: &Context) -> Vec<Violation> {
    let options = if resource.framework.is_terraform() {
        // An instance launched from a template takes its settings from it
        // (checked on the template).
        if resource.kind == "aws_instance"
            && resource.get("metadata_options").is_none()
            && super::is_set(resource.get("launch_template"))
        {
            return Vec::new();
        }
        resource.block("metadata_options")
    } else {
        resource.get("LaunchTemplateData.MetadataOptions")
    };
    let (tokens_key, endpoint_key) = if resource.framework.is_terraform() {
        ("http_tokens", "http_endpoint")
    } else {
        ("HttpTokens", "HttpEndpoint")
    };
    if options.is_some_and(unknown) {
        return Vec::new();
    }
    let tokens = options.and_then(|o| o.get(tokens_key));
    let endpoint = options.and_then(|o| o.get(endpoint_key));
    let required = tokens.is_some_and(|t| unknown(t) || t.as_str() == Some("required"));
    let disabled = endpoint.is_some_and(|e| unknown(e) || e.as_str() == Some("disabled"));
    fail_if(!required && !disabled, || {
        let path = super::key(
            resource,
            "metadata_options.http_tokens",
            "MetadataOptions.HttpTokens",
        );
        let evidence = match super::present(tokens) {
            Some(t) => shown(resource, path, path, Some(t), ""),
            None => format!("{path} not set (defaults to optional)"),
        };
        Violation::new(format!(
            "`{}` allows IMDSv1 (http_tokens not required)",
            resource.name
        ))
        .evidence(evidence)
    })
}

pub(crate) const PUBLIC_IP: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ec2-public-ip",
        title: "EC2 instance is given a public IP address",
        severity: Severity::Medium,
        description: "An instance with a public IP is directly reachable from the internet whenever its security group allows it; one permissive rule later exposes it. Instances should sit in private subnets behind a load balancer or NAT.",
        remediation: "Set associate_public_ip_address = false (CloudFormation: AssociatePublicIpAddress: false in NetworkInterfaces) and place the instance in a private subnet.",
        references: &["https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-instance-addressing.html#concepts-public-addresses"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20"), (ISO, "A.8.22")],
        checkov: &["CKV_AWS_88"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_instance", "aws_launch_template", "AWS::EC2::Instance", "AWS::EC2::LaunchTemplate"],
        run: public_ip,
    },
};

fn public_ip(resource: &IacResource, _: &Context) -> Vec<Violation> {
    let candidates: Vec<(String, Option<&Value>)> = match resource.kind.as_str() {
        "aws_instance" => vec![(
            "associate_public_ip_address".to_string(),
            resource.get("associate_public_ip_address"),
        )],
        "aws_launch_template" => blocks(resource.get("network_interfaces"))
            .into_iter()
            .map(|ni| {
                (
                    "network_interfaces.associate_public_ip_address".to_string(),
                    ni.get("associate_public_ip_address"),
                )
            })
            .collect(),
        "AWS::EC2::Instance" => blocks(resource.get("NetworkInterfaces"))
            .into_iter()
            .map(|ni| {
                (
                    "NetworkInterfaces.AssociatePublicIpAddress".to_string(),
                    ni.get("AssociatePublicIpAddress"),
                )
            })
            .collect(),
        _ => blocks(resource.get("LaunchTemplateData.NetworkInterfaces"))
            .into_iter()
            .map(|ni| {
                (
                    "NetworkInterfaces.AssociatePublicIpAddress".to_string(),
                    ni.get("AssociatePublicIpAddress"),
                )
            })
            .collect(),
    };
    candidates
        .into_iter()
        .find(|(_, v)| is_on(*v, false))
        .map(|(path, v)| {
            vec![
                Violation::new(format!("`{}` is given a public IP address", resource.name))
                    .evidence(shown(resource, &path, &path, v, "false")),
            ]
        })
        .unwrap_or_default()
}

pub(crate) const SUBNET_PUBLIC_IP: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.vpc-subnet-public-ip",
        title: "Subnet assigns public IPs on launch",
        severity: Severity::Low,
        description: "With map_public_ip_on_launch, every instance launched in the subnet gets a public IP, whether or not it should be reachable from the internet.",
        remediation: "Set map_public_ip_on_launch = false (CloudFormation: MapPublicIpOnLaunch: false) and assign public addresses explicitly, only to what must be public (usually load balancers and NAT gateways).",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/subnet-public-ip.html"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.22")],
        checkov: &["CKV_AWS_130"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_subnet", "AWS::EC2::Subnet"],
        run: |r, _| {
            let v = attr(r, "map_public_ip_on_launch", "MapPublicIpOnLaunch");
            fail_if(is_on(v, false), || {
                Violation::new(format!("subnet `{}` assigns public IPs on launch", r.name))
                    .evidence(shown(r, "map_public_ip_on_launch", "MapPublicIpOnLaunch", v, "false"))
            })
        },
    },
};

pub(crate) const EBS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ebs-encryption",
        title: "EBS volume is not encrypted",
        severity: Severity::High,
        description: "An unencrypted EBS volume, its snapshots and any copies hold data in the clear; a shared or leaked snapshot exposes everything on it.",
        remediation: "Set encrypted = true (CloudFormation: Encrypted: true), ideally with kms_key_id, and enable aws_ebs_encryption_by_default in every region.",
        references: &["https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"],
        compliance: &[(CIS_AWS, "2.2.1"), (SOC2, "CC6.1"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_3"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_ebs_volume", "AWS::EC2::Volume"],
        run: |r, _| {
            // A volume restored from a snapshot inherits the snapshot's encryption.
            if super::is_set(attr(r, "snapshot_id", "SnapshotId")) {
                return Vec::new();
            }
            let v = attr(r, "encrypted", "Encrypted");
            fail_if(is_off(v, false), || {
                Violation::new(format!("EBS volume `{}` is not encrypted", r.name))
                    .evidence(shown(r, "encrypted", "Encrypted", v, "false"))
            })
        },
    },
};

pub(crate) const EBS_DEFAULT_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ebs-default-encryption",
        title: "EBS encryption by default is disabled",
        severity: Severity::Medium,
        description: "With encryption by default on, every new EBS volume and snapshot copy in the region is encrypted even when its template forgets to ask. Turning it off lets unencrypted volumes be created.",
        remediation: "Set enabled = true on aws_ebs_encryption_by_default (or remove the argument: it defaults to true).",
        references: &["https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html"],
        compliance: &[(CIS_AWS, "2.2.1"), (SOC2, "CC6.1"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_106"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_ebs_encryption_by_default"],
        run: |r, _| {
            let v = r.get("enabled");
            fail_if(is_off(v, true), || {
                Violation::new("EBS encryption by default is disabled")
                    .evidence(shown(r, "enabled", "", v, "true"))
            })
        },
    },
};

pub(crate) const BLOCK_DEVICE_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ec2-block-device-encryption",
        title: "Instance or launch configuration block device is not encrypted",
        severity: Severity::Medium,
        description: "Root and data volumes declared on an instance or launch configuration without encrypted = true are created unencrypted (unless EBS encryption by default is on in the account).",
        remediation: "Set encrypted = true in every root_block_device and ebs_block_device (CloudFormation: BlockDeviceMappings[].Ebs.Encrypted: true).",
        references: &["https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"],
        compliance: &[(CIS_AWS, "2.2.1"), (SOC2, "CC6.1"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_8"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_instance", "aws_launch_configuration", "AWS::AutoScaling::LaunchConfiguration"],
        run: block_devices,
    },
};

fn block_devices(resource: &IacResource, _: &Context) -> Vec<Violation> {
    let devices: Vec<(String, &Value, Option<&Value>)> = if resource.framework.is_terraform() {
        ["root_block_device", "ebs_block_device"]
            .into_iter()
            .flat_map(|k| {
                blocks(resource.get(k)).into_iter().map(move |d| {
                    let name = known_str(d.get("device_name")).unwrap_or(k).to_string();
                    (name, d, d.get("encrypted"))
                })
            })
            .collect()
    } else {
        blocks(resource.get("BlockDeviceMappings"))
            .into_iter()
            .filter_map(|m| {
                let ebs = m.get("Ebs")?;
                let name = known_str(m.get("DeviceName")).unwrap_or("Ebs").to_string();
                Some((name, ebs, ebs.get("Encrypted")))
            })
            .collect()
    };
    devices
        .into_iter()
        .filter(|(_, device, encrypted)| {
            let from_snapshot = super::is_set(
                device
                    .get("snapshot_id")
                    .or_else(|| device.get("SnapshotId")),
            );
            !from_snapshot && !unknown(device) && is_off(*encrypted, false)
        })
        .map(|(name, _, encrypted)| {
            Violation::new(format!(
                "block device `{name}` of `{}` is not encrypted",
                resource.name
            ))
            .evidence(shown(
                resource,
                "encrypted",
                "Ebs.Encrypted",
                encrypted,
                "false",
            ))
            .discriminator(name)
        })
        .collect()
}
