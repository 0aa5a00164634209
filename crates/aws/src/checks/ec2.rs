//! EC2 and VPC checks: security groups, network ACLs, instances, EBS,
//! snapshots and images, flow logs, and internet exposure.

use palisade_core::Severity;

use super::{Check, Hit, RuleSpec, CIS_AWS, ISO, SOC2};
use crate::exposure;
use crate::inventory::{Ec2, Inventory, SecurityGroup};

const INSTANCE: &str = "AWS::EC2::Instance";
const SG: &str = "AWS::EC2::SecurityGroup";
const NACL: &str = "AWS::EC2::NetworkAcl";
const VPC: &str = "AWS::EC2::VPC";
const SUBNET: &str = "AWS::EC2::Subnet";
const VOLUME: &str = "AWS::EC2::Volume";
const SNAPSHOT: &str = "AWS::EC2::Snapshot";
const IMAGE: &str = "AWS::EC2::Image";
const EIP: &str = "AWS::EC2::EIP";
const REGION: &str = "AWS::EC2::Region";

/// Each collected region's EC2 state.
fn regions(inv: &Inventory) -> impl Iterator<Item = (&str, &Ec2)> {
    inv.regional
        .iter()
        .filter_map(|r| r.ec2.as_ref().map(|e| (r.region.as_str(), e)))
}

/// Hits for every group whose internet-open ingress covers one of `ports` over TCP.
fn sg_port_check(inv: &Inventory, ports: &[(i32, &str)], what: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (region, ec2) in regions(inv) {
        for group in &ec2.security_groups {
            for (port, service) in ports {
                let open: Vec<&str> = group
                    .ingress
                    .iter()
                    .filter(|r| r.covers_tcp_port(*port) && !r.covers_all_ports())
                    .flat_map(|r| r.open_ranges())
                    .collect();
                if let Some(range) = open.first() {
                    hits.push(
                        Hit::new(
                            SG,
                            &group.id,
                            format!(
                                "security group `{}` ({}) opens {service} (tcp/{port}) {what}",
                                group.name, group.id
                            ),
                        )
                        .region(region)
                        .evidence(format!("ingress tcp/{port} from {range}"))
                        .discriminator(port.to_string()),
                    );
                }
            }
        }
    }
    hits
}

pub(crate) const SG_SSH: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.sg-ssh-open",
        title: "Security group allows SSH from the internet",
        severity: Severity::High,
        description: "Port 22 open to 0.0.0.0/0 or ::/0 exposes SSH to every scanner and password-guessing bot on the internet.",
        remediation: "Remove the rule; reach instances with SSM Session Manager or EC2 Instance Connect Endpoint, or restrict the source to a known range.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"],
        compliance: &[(CIS_AWS, "5.2"), (CIS_AWS, "5.3"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &["ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22"],
    },
    run: |inv, _| sg_port_check(inv, &[(22, "SSH")], "to the internet"),
};

pub(crate) const SG_RDP: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.sg-rdp-open",
        title: "Security group allows RDP from the internet",
        severity: Severity::High,
        description: "Port 3389 open to the internet is one of the most attacked services; exposed RDP is a common ransomware entry point.",
        remediation: "Remove the rule; use Fleet Manager / Session Manager port forwarding, or restrict the source to a known range.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"],
        compliance: &[(CIS_AWS, "5.2"), (CIS_AWS, "5.3"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &["ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389"],
    },
    run: |inv, _| sg_port_check(inv, &[(3389, "RDP")], "to the internet"),
};

pub(crate) const SG_DATABASE: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.sg-database-open",
        title: "Security group allows a database or cache port from the internet",
        severity: Severity::High,
        description: "Databases and caches (MySQL, PostgreSQL, SQL Server, Oracle, MongoDB, Redis, Memcached, Elasticsearch, Cassandra, Kafka) open to the internet are found within hours and brute-forced or dumped.",
        remediation: "Remove the rule; let only the application's security group reach the database port.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &[
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_mysql_3306",
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_postgres_5432",
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_sql_server_1433_1434",
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_oracle_1521_2483",
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_mongodb_27017_27018",
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_redis_6379",
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_memcached_11211",
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_elasticsearch_kibana_9200_9300_5601",
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_cassandra_7199_9160_8888",
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_kafka_9092",
        ],
    },
    run: |inv, _| {
        sg_port_check(
            inv,
            &[
                (3306, "MySQL"),
                (5432, "PostgreSQL"),
                (1433, "SQL Server"),
                (1521, "Oracle"),
                (27017, "MongoDB"),
                (6379, "Redis"),
                (11211, "Memcached"),
                (9200, "Elasticsearch"),
                (9042, "Cassandra"),
                (9092, "Kafka"),
            ],
            "to the internet",
        )
    },
};

pub(crate) const SG_ALL_PORTS: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.sg-all-ports-open",
        title: "Security group allows all ports from the internet",
        severity: Severity::Critical,
        description: "A rule admitting every port (protocol -1 or 0-65535) from 0.0.0.0/0 or ::/0 exposes every service the instances run, including ones nobody meant to publish.",
        remediation: "Replace the rule with the specific ports the service needs, from the narrowest sources possible.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"],
        compliance: &[(CIS_AWS, "5.2"), (CIS_AWS, "5.3"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &["ec2_securitygroup_allow_ingress_from_internet_to_all_ports"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for group in &ec2.security_groups {
                let open: Vec<String> = group
                    .ingress
                    .iter()
                    .filter(|r| r.covers_all_ports())
                    .flat_map(|r| r.open_ranges().into_iter().map(|range| format!("ingress {} from {range}", exposure::describe(r))))
                    .collect();
                if let Some(first) = open.first() {
                    hits.push(
                        Hit::new(SG, &group.id, format!("security group `{}` ({}) opens every port to the internet", group.name, group.id))
                            .region(region)
                            .evidence(first.clone()),
                    );
                }
            }
        }
        hits
    },
};

/// Whether a default security group has any rule at all.
fn has_rules(group: &SecurityGroup) -> bool {
    !group.ingress.is_empty() || !group.egress.is_empty()
}

pub(crate) const DEFAULT_SG: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.default-sg-traffic",
        title: "Default security group allows traffic",
        severity: Severity::Medium,
        description: "Resources launched without an explicit group land in the VPC's default group. If it has rules, they get connectivity nobody designed. CIS asks the default group to have no inbound and no outbound rules.",
        remediation: "Remove every inbound and outbound rule of each VPC's default security group, and give resources purpose-made groups.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html"],
        compliance: &[(CIS_AWS, "5.4"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &["ec2_securitygroup_default_restrict_traffic"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for group in ec2.security_groups.iter().filter(|g| g.name == "default" && has_rules(g)) {
                hits.push(
                    Hit::new(SG, &group.id, format!("the default security group {} of {} has rules", group.id, group.vpc_id.as_deref().unwrap_or("its VPC")))
                        .region(region)
                        .evidence(format!("{} inbound, {} outbound rules", group.ingress.len(), group.egress.len())),
                );
            }
        }
        hits
    },
};

pub(crate) const NACL_ADMIN_PORTS: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.nacl-admin-ports",
        title: "Network ACL allows SSH or RDP from the internet",
        severity: Severity::Medium,
        description: "A network ACL allowing 0.0.0.0/0 or ::/0 to port 22 or 3389 leaves only security groups between the internet and remote administration. CIS asks ACLs to deny it as a second layer.",
        remediation: "Add a lower-numbered deny entry for tcp/22 and tcp/3389 from 0.0.0.0/0 and ::/0, or narrow the allow entry's source.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html"],
        compliance: &[(CIS_AWS, "5.1"), (SOC2, "CC6.6")],
        prowler: &["ec2_networkacl_allow_ingress_tcp_port_22", "ec2_networkacl_allow_ingress_tcp_port_3389"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for acl in &ec2.network_acls {
                let mut entries: Vec<_> = acl.entries.iter().filter(|e| !e.egress).collect();
                entries.sort_by_key(|e| e.rule_number);
                for port in [22, 3389] {
                    // The first matching entry from the internet decides.
                    let decisive = entries.iter().find(|e| {
                        matches!(e.cidr.as_deref(), Some("0.0.0.0/0" | "::/0"))
                            && (e.protocol == "-1" || (e.protocol == "6" && e.port_range.is_none_or(|(from, to)| from <= port && port <= to)))
                    });
                    if let Some(entry) = decisive.filter(|e| e.allow) {
                        hits.push(
                            Hit::new(NACL, &acl.id, format!("network ACL {} allows tcp/{port} from the internet", acl.id))
                                .region(region)
                                .evidence(format!("rule {} allow from {}", entry.rule_number, entry.cidr.as_deref().unwrap_or("?")))
                                .discriminator(port.to_string()),
                        );
                    }
                }
            }
        }
        hits
    },
};

pub(crate) const IMDSV2: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.imdsv2",
        title: "EC2 instance does not require IMDSv2",
        severity: Severity::Medium,
        description: "With IMDSv1 allowed, a server-side request forgery in any application on the instance can read the instance role's credentials from 169.254.169.254 (the Capital One breach).",
        remediation: "aws ec2 modify-instance-metadata-options --instance-id ID --http-tokens required (and set it in launch templates and account defaults).",
        references: &["https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-existing-instances.html"],
        compliance: &[(CIS_AWS, "5.6"), (SOC2, "CC6.8"), (ISO, "A.8.9")],
        prowler: &["ec2_instance_imdsv2_enabled"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for i in ec2.instances.iter().filter(|i| i.state != "terminated" && i.http_endpoint != "disabled" && i.http_tokens != "required") {
                hits.push(
                    Hit::new(INSTANCE, &i.id, format!("instance {} accepts IMDSv1 requests", i.id))
                        .region(region)
                        .evidence(format!("HttpTokens: {}", i.http_tokens)),
                );
            }
        }
        hits
    },
};

pub(crate) const PUBLIC_IP: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.instance-public-ip",
        title: "EC2 instance has a public IP address",
        severity: Severity::Low,
        description: "An instance with a public address is one security group change away from the internet. Keep instances private behind load balancers, NAT and Session Manager. aws.ec2.internet-exposed reports the ones actually reachable.",
        remediation: "Launch instances in private subnets (no auto-assigned public IP) and publish services through a load balancer.",
        references: &["https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-instance-addressing.html"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &["ec2_instance_public_ip"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for i in ec2.instances.iter().filter(|i| i.state != "terminated") {
                if let Some(ip) = &i.public_ip {
                    hits.push(Hit::new(INSTANCE, &i.id, format!("instance {} has public IP {ip}", i.id)).region(region).evidence(format!("PublicIpAddress: {ip}")));
                }
            }
        }
        hits
    },
};

pub(crate) const INSTANCE_PROFILE: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.instance-profile",
        title: "EC2 instance has no IAM instance profile",
        severity: Severity::Low,
        description: "Without an instance role, software on the instance that needs AWS access ends up with long-lived access keys on disk, and the instance cannot be managed by Systems Manager.",
        remediation: "Attach an instance profile with a least-privilege role (aws ec2 associate-iam-instance-profile) and remove any keys stored on the instance.",
        references: &["https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html"],
        compliance: &[(CIS_AWS, "1.18")],
        prowler: &["ec2_instance_profile_attached"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for i in ec2.instances.iter().filter(|i| i.state != "terminated" && i.instance_profile.is_none()) {
                hits.push(Hit::new(INSTANCE, &i.id, format!("instance {} has no IAM instance profile", i.id)).region(region).evidence("IamInstanceProfile: none"));
            }
        }
        hits
    },
};

pub(crate) const SUBNET_PUBLIC_IP: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.subnet-public-ip",
        title: "Subnet assigns public IPs by default",
        severity: Severity::Low,
        description: "MapPublicIpOnLaunch gives every instance launched in the subnet a public address, whether or not it should have one. Default VPC subnets do this out of the box.",
        remediation: "aws ec2 modify-subnet-attribute --subnet-id ID --no-map-public-ip-on-launch; keep public addressing for load balancers and NAT gateways.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/modify-subnets.html"],
        compliance: &[(SOC2, "CC6.6")],
        prowler: &["vpc_subnet_no_public_ip_by_default"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for s in ec2.subnets.iter().filter(|s| s.map_public_ip_on_launch) {
                hits.push(Hit::new(SUBNET, &s.id, format!("subnet {} of {} gives instances public IPs", s.id, s.vpc_id)).region(region).evidence("MapPublicIpOnLaunch: true"));
            }
        }
        hits
    },
};

pub(crate) const VPC_FLOW_LOGS: Check = Check {
    rule: RuleSpec {
        id: "aws.vpc.flow-logs",
        title: "VPC has no flow logs",
        severity: Severity::Medium,
        description: "Flow logs record the network connections in a VPC; without them there is no way to tell afterwards what talked to what during an incident.",
        remediation: "aws ec2 create-flow-logs --resource-type VPC --resource-ids ID --traffic-type REJECT (or ALL) to CloudWatch Logs or S3.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html"],
        compliance: &[(CIS_AWS, "3.7"), (SOC2, "CC7.2"), (ISO, "A.8.15")],
        prowler: &["vpc_flow_logs_enabled"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            let Some(logged) = &ec2.flow_log_resources else { continue };
            for vpc in ec2.vpcs.iter().filter(|v| !logged.contains(&v.id)) {
                hits.push(Hit::new(VPC, &vpc.id, format!("VPC {} has no flow log", vpc.id)).region(region).evidence("no flow log for this VPC"));
            }
        }
        hits
    },
};

pub(crate) const EBS_DEFAULT_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.ebs-default-encryption",
        title: "EBS encryption by default is off in the region",
        severity: Severity::Medium,
        description: "With encryption by default on, every new EBS volume and snapshot copy in the region is encrypted, whoever creates it and however.",
        remediation: "aws ec2 enable-ebs-encryption-by-default --region REGION (in every region you use).",
        references: &["https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html"],
        compliance: &[(CIS_AWS, "2.2.1"), (SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["ec2_ebs_default_encryption"],
    },
    run: |inv, _| {
        regions(inv)
            .filter(|(_, ec2)| ec2.ebs_default_encryption == Some(false))
            .map(|(region, _)| {
                Hit::new(REGION, format!("arn:{}:ec2:{region}:{}:ebs-default-encryption", partition(inv), inv.account_id), format!("EBS encryption by default is off in {region}"))
                    .region(region)
                    .evidence("EbsEncryptionByDefault: false")
            })
            .collect()
    },
};

fn partition(inv: &Inventory) -> &str {
    if inv.partition.is_empty() {
        "aws"
    } else {
        &inv.partition
    }
}

pub(crate) const EBS_VOLUME_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.ebs-volume-encryption",
        title: "EBS volume is not encrypted",
        severity: Severity::Medium,
        description: "Unencrypted volumes, and every snapshot taken of them, hold data in clear; a shared or leaked snapshot exposes it.",
        remediation: "Snapshot the volume, copy the snapshot with --encrypted, create a new volume from it and swap it in; turn on EBS encryption by default.",
        references: &["https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["ec2_ebs_volume_encryption"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for v in ec2.volumes.iter().filter(|v| !v.encrypted) {
                let attached = if v.attached_to.is_empty() { "unattached".to_string() } else { format!("attached to {}", v.attached_to.join(", ")) };
                hits.push(Hit::new(VOLUME, &v.id, format!("volume {} ({attached}) is not encrypted", v.id)).region(region).evidence("Encrypted: false"));
            }
        }
        hits
    },
};

pub(crate) const PUBLIC_SNAPSHOT: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.snapshot-public",
        title: "EBS snapshot is public",
        severity: Severity::Critical,
        description: "A snapshot with createVolumePermission for group \"all\" can be copied by any AWS account, with every file of the disk: databases, keys, credentials.",
        remediation: "aws ec2 modify-snapshot-attribute --snapshot-id ID --attribute createVolumePermission --operation-type remove --group-names all; turn on block public access for snapshots.",
        references: &["https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["ec2_ebs_public_snapshot"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for s in ec2.snapshots.iter().filter(|s| s.public == Some(true)) {
                hits.push(Hit::new(SNAPSHOT, &s.id, format!("snapshot {} can be copied by any AWS account", s.id)).region(region).evidence("createVolumePermission: group all"));
            }
        }
        hits
    },
};

pub(crate) const SNAPSHOT_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.snapshot-encryption",
        title: "EBS snapshot is not encrypted",
        severity: Severity::Low,
        description: "Unencrypted snapshots can be shared outside the account, including publicly; encrypted ones can only be shared with the key.",
        remediation: "Copy the snapshot with --encrypted and delete the original.",
        references: &["https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["ec2_ebs_snapshots_encrypted"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for s in ec2.snapshots.iter().filter(|s| !s.encrypted) {
                hits.push(Hit::new(SNAPSHOT, &s.id, format!("snapshot {} is not encrypted", s.id)).region(region).evidence("Encrypted: false"));
            }
        }
        hits
    },
};

pub(crate) const PUBLIC_AMI: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.ami-public",
        title: "AMI owned by the account is public",
        severity: Severity::High,
        description: "A public machine image can be launched by anyone, with whatever it contains: application code, configuration, sometimes keys baked in at build time.",
        remediation: "aws ec2 modify-image-attribute --image-id ID --launch-permission \"Remove=[{Group=all}]\"; turn on block public access for AMIs.",
        references: &["https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-intro.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["ec2_ami_public"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for image in ec2.images.iter().filter(|i| i.public) {
                hits.push(Hit::new(IMAGE, &image.id, format!("AMI {} (`{}`) is public", image.id, image.name)).region(region).evidence("Public: true"));
            }
        }
        hits
    },
};

pub(crate) const UNASSIGNED_EIP: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.eip-unassigned",
        title: "Elastic IP address is not associated",
        severity: Severity::Low,
        description: "An Elastic IP nobody uses costs money and, if DNS still points at it, can be released and picked up by someone else (subdomain takeover).",
        remediation: "Release the address (aws ec2 release-address) after removing DNS records that point at it.",
        references: &["https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html"],
        compliance: &[],
        prowler: &["ec2_elastic_ip_unassigned"],
    },
    run: |inv, _| {
        let mut hits = Vec::new();
        for (region, ec2) in regions(inv) {
            for a in ec2.addresses.iter().filter(|a| a.associated_with.is_none()) {
                let id = a.allocation_id.clone().unwrap_or_else(|| a.public_ip.clone());
                hits.push(Hit::new(EIP, id, format!("Elastic IP {} is not associated with anything", a.public_ip)).region(region).evidence("no association"));
            }
        }
        hits
    },
};

pub(crate) const INTERNET_EXPOSED: Check = Check {
    rule: RuleSpec {
        id: "aws.ec2.internet-exposed",
        title: "EC2 instance is reachable from the internet",
        severity: Severity::High,
        description: "The instance has a public IP, its subnet routes to an internet gateway, and a security group admits 0.0.0.0/0 or ::/0: the listed ports are reachable from anywhere. This is the path, not just an open group: the subnet's network ACL must also let the port in from anywhere and the replies out (ACLs are stateless).",
        remediation: "Close the ports that need not be public, move the instance to a private subnet behind a load balancer, or narrow the security group sources.",
        references: &["https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html", "https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Internet_Gateway.html"],
        compliance: &[(SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &[
            "ec2_instance_port_ssh_exposed_to_internet",
            "ec2_instance_port_rdp_exposed_to_internet",
            "ec2_instance_port_mysql_exposed_to_internet",
            "ec2_instance_port_postgresql_exposed_to_internet",
            "ec2_instance_port_redis_exposed_to_internet",
        ],
    },
    run: |inv, _| {
        exposure::exposures(inv)
            .into_iter()
            .filter(|e| e.kind == INSTANCE)
            .map(|e| {
                Hit::new(INSTANCE, &e.id, format!("instance {} ({}) is reachable from the internet on {}", e.id, e.address, e.ports.join(", ")))
                    .region(&e.region)
                    .evidence(format!("{} via {}; security groups {}{}", e.ports.join(", "), e.gateway, e.security_groups.join(", "), if e.network_acls.is_empty() { String::new() } else { format!("; network ACL {}", e.network_acls.join(", ")) }))
            })
            .collect()
    },
};
