//! The inventory flattened into assets: one record per resource, with a
//! JSON snapshot, for the store's asset table and `palisade assets diff`.

use serde::Serialize;
use serde_json::Value;

use crate::inventory::Inventory;

/// One resource as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asset {
    /// CloudFormation-style type: `AWS::S3::Bucket`.
    pub kind: String,
    /// ARN where the resource has one, else its id.
    pub id: String,
    pub account: String,
    /// `global` for IAM and other account-wide resources.
    pub region: String,
    pub tags: Vec<(String, String)>,
    pub snapshot: Value,
}

fn snapshot<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Every resource of the inventory, in a stable order.
pub fn assets(inv: &Inventory) -> Vec<Asset> {
    let account = inv.account_id.clone();
    let partition = if inv.partition.is_empty() {
        "aws"
    } else {
        &inv.partition
    };
    let mut out = Vec::new();
    let mut push =
        |kind: &str, id: String, region: &str, tags: Vec<(String, String)>, snapshot: Value| {
            out.push(Asset {
                kind: kind.to_string(),
                id,
                account: account.clone(),
                region: region.to_string(),
                tags,
                snapshot,
            });
        };
    if let Some(iam) = &inv.iam {
        for u in &iam.users {
            push(
                "AWS::IAM::User",
                u.arn.clone(),
                "global",
                u.tags.clone(),
                snapshot(u),
            );
        }
        for g in &iam.groups {
            push(
                "AWS::IAM::Group",
                g.arn.clone(),
                "global",
                vec![],
                snapshot(g),
            );
        }
        for r in &iam.roles {
            push(
                "AWS::IAM::Role",
                r.arn.clone(),
                "global",
                r.tags.clone(),
                snapshot(r),
            );
        }
        for p in &iam.policies {
            push(
                "AWS::IAM::ManagedPolicy",
                p.arn.clone(),
                "global",
                vec![],
                snapshot(p),
            );
        }
        for c in &iam.server_certificates {
            push(
                "AWS::IAM::ServerCertificate",
                c.arn.clone(),
                "global",
                vec![],
                snapshot(c),
            );
        }
    }
    if let Some(s3) = &inv.s3 {
        for b in &s3.buckets {
            push(
                "AWS::S3::Bucket",
                b.arn(partition),
                &b.region,
                vec![],
                snapshot(b),
            );
        }
    }
    for regional in &inv.regional {
        let region = regional.region.as_str();
        if let Some(ec2) = &regional.ec2 {
            for i in &ec2.instances {
                push(
                    "AWS::EC2::Instance",
                    i.id.clone(),
                    region,
                    i.tags.clone(),
                    snapshot(i),
                );
            }
            for g in &ec2.security_groups {
                push(
                    "AWS::EC2::SecurityGroup",
                    g.id.clone(),
                    region,
                    vec![],
                    snapshot(g),
                );
            }
            for v in &ec2.vpcs {
                push("AWS::EC2::VPC", v.id.clone(), region, vec![], snapshot(v));
            }
            for s in &ec2.subnets {
                push(
                    "AWS::EC2::Subnet",
                    s.id.clone(),
                    region,
                    vec![],
                    snapshot(s),
                );
            }
            for t in &ec2.route_tables {
                push(
                    "AWS::EC2::RouteTable",
                    t.id.clone(),
                    region,
                    vec![],
                    snapshot(t),
                );
            }
            for a in &ec2.network_acls {
                push(
                    "AWS::EC2::NetworkAcl",
                    a.id.clone(),
                    region,
                    vec![],
                    snapshot(a),
                );
            }
            for v in &ec2.volumes {
                push(
                    "AWS::EC2::Volume",
                    v.id.clone(),
                    region,
                    vec![],
                    snapshot(v),
                );
            }
            for s in &ec2.snapshots {
                push(
                    "AWS::EC2::Snapshot",
                    s.id.clone(),
                    region,
                    vec![],
                    snapshot(s),
                );
            }
            for i in &ec2.images {
                push("AWS::EC2::Image", i.id.clone(), region, vec![], snapshot(i));
            }
            for a in &ec2.addresses {
                let id = a
                    .allocation_id
                    .clone()
                    .unwrap_or_else(|| a.public_ip.clone());
                push("AWS::EC2::EIP", id, region, vec![], snapshot(a));
            }
        }
        for t in regional.trails.iter().flatten() {
            push(
                "AWS::CloudTrail::Trail",
                t.arn.clone(),
                region,
                vec![],
                snapshot(t),
            );
        }
        for k in regional.kms_keys.iter().flatten() {
            push("AWS::KMS::Key", k.arn.clone(), region, vec![], snapshot(k));
        }
        if let Some(rds) = &regional.rds {
            for i in &rds.instances {
                push(
                    "AWS::RDS::DBInstance",
                    i.arn.clone(),
                    region,
                    vec![],
                    snapshot(i),
                );
            }
            for s in &rds.snapshots {
                push(
                    "AWS::RDS::DBSnapshot",
                    s.arn.clone(),
                    region,
                    vec![],
                    snapshot(s),
                );
            }
        }
        for lb in regional.load_balancers.iter().flatten() {
            push(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                lb.arn.clone(),
                region,
                vec![],
                snapshot(lb),
            );
        }
        for f in regional.lambda_functions.iter().flatten() {
            push(
                "AWS::Lambda::Function",
                f.arn.clone(),
                region,
                vec![],
                snapshot(f),
            );
        }
        for c in regional.eks_clusters.iter().flatten() {
            push(
                "AWS::EKS::Cluster",
                c.arn.clone(),
                region,
                c.tags.clone(),
                snapshot(c),
            );
        }
        for s in regional.secrets.iter().flatten() {
            push(
                "AWS::SecretsManager::Secret",
                s.arn.clone(),
                region,
                s.tags.clone(),
                snapshot(s),
            );
        }
        for t in regional.sns_topics.iter().flatten() {
            push(
                "AWS::SNS::Topic",
                t.arn.clone(),
                region,
                vec![],
                snapshot(t),
            );
        }
        for q in regional.sqs_queues.iter().flatten() {
            push(
                "AWS::SQS::Queue",
                q.arn.clone(),
                region,
                vec![],
                snapshot(q),
            );
        }
    }
    out
}
