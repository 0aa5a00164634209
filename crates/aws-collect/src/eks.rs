//! EKS in one region: each cluster's endpoint access, control plane
//! logging, secrets encryption and version.

use aws_sdk_eks::Client;
use palisade_aws::inventory::EksCluster;

use crate::{all_items, Gaps, Recorder};

pub(crate) async fn collect(client: &Client, region: &str, gaps: &Gaps) -> Option<Vec<EksCluster>> {
    let record = Recorder::new(gaps, "eks", Some(region));
    let names = record
        .call("ListClusters", None, all_items!(client.list_clusters()))
        .await?;
    let mut clusters = Vec::with_capacity(names.len());
    for name in &names {
        let Some(out) = record
            .call(
                "DescribeCluster",
                Some(name),
                client.describe_cluster().name(name).send(),
            )
            .await
        else {
            continue;
        };
        let Some(c) = out.cluster() else { continue };
        let vpc = c.resources_vpc_config();
        let mut logging: Vec<String> = c
            .logging()
            .map(|l| l.cluster_logging())
            .unwrap_or_default()
            .iter()
            .filter(|setup| setup.enabled().unwrap_or(false))
            .flat_map(|setup| setup.types().iter().map(|t| t.as_str().to_string()))
            .collect();
        logging.sort();
        logging.dedup();
        let mut tags: Vec<(String, String)> = c
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        tags.sort();
        clusters.push(EksCluster {
            name: c.name().unwrap_or(name).to_string(),
            arn: c.arn().unwrap_or_default().to_string(),
            version: c.version().unwrap_or_default().to_string(),
            endpoint_public: vpc.is_some_and(|v| v.endpoint_public_access()),
            public_access_cidrs: vpc
                .map(|v| v.public_access_cidrs().to_vec())
                .unwrap_or_default(),
            endpoint_private: vpc.is_some_and(|v| v.endpoint_private_access()),
            logging,
            secrets_encrypted: c
                .encryption_config()
                .iter()
                .any(|e| e.provider().and_then(|p| p.key_arn()).is_some()),
            tags,
        });
    }
    Some(clusters)
}
