//! Secrets Manager, SNS and SQS in one region: resource policies and
//! encryption settings. Secret values and messages are never read.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::QueueAttributeName;
use palisade_aws::inventory::{Secret, SnsTopic, SqsQueue};
use palisade_aws::policy::decode_document;

use crate::{all_items, time, Gaps, Recorder};

pub(crate) async fn secrets(
    client: &aws_sdk_secretsmanager::Client,
    region: &str,
    gaps: &Gaps,
) -> Option<Vec<Secret>> {
    let record = Recorder::new(gaps, "secretsmanager", Some(region));
    let pages = record
        .call(
            "ListSecrets",
            None,
            client
                .list_secrets()
                .into_paginator()
                .send()
                .collect::<Result<Vec<_>, _>>(),
        )
        .await?;
    let mut secrets = Vec::new();
    for s in pages.iter().flat_map(|p| p.secret_list()) {
        let arn = s.arn().unwrap_or_default().to_string();
        let policy = match client.get_resource_policy().secret_id(&arn).send().await {
            Ok(out) => out.resource_policy().and_then(decode_document),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => {
                record.gap("GetResourcePolicy", Some(&arn), crate::reason(&e));
                None
            }
        };
        secrets.push(Secret {
            name: s.name().unwrap_or_default().to_string(),
            rotation_enabled: s.rotation_enabled().unwrap_or(false),
            rotation_days: s
                .rotation_rules()
                .and_then(|r| r.automatically_after_days()),
            created: s.created_date().map(time),
            last_rotated: s.last_rotated_date().map(time),
            last_accessed: s.last_accessed_date().map(time),
            kms_key_id: s.kms_key_id().map(str::to_string),
            policy,
            tags: s
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            arn,
        });
    }
    Some(secrets)
}

pub(crate) async fn sns_topics(
    client: &aws_sdk_sns::Client,
    region: &str,
    gaps: &Gaps,
) -> Option<Vec<SnsTopic>> {
    let record = Recorder::new(gaps, "sns", Some(region));
    let listed = record
        .call("ListTopics", None, all_items!(client.list_topics()))
        .await?;
    let mut topics = Vec::with_capacity(listed.len());
    for t in &listed {
        let Some(arn) = t.topic_arn() else { continue };
        let mut topic = SnsTopic {
            name: arn.rsplit(':').next().unwrap_or(arn).to_string(),
            arn: arn.to_string(),
            ..SnsTopic::default()
        };
        if let Some(out) = record
            .call(
                "GetTopicAttributes",
                Some(arn),
                client.get_topic_attributes().topic_arn(arn).send(),
            )
            .await
        {
            let attributes = out.attributes();
            let get = |name: &str| {
                attributes
                    .and_then(|a| a.get(name))
                    .filter(|v| !v.is_empty())
            };
            topic.kms_key_id = get("KmsMasterKeyId").cloned();
            topic.policy = get("Policy").and_then(|p| decode_document(p));
            topic.attributes_read = true;
        }
        topics.push(topic);
    }
    Some(topics)
}

pub(crate) async fn sqs_queues(
    client: &aws_sdk_sqs::Client,
    region: &str,
    gaps: &Gaps,
) -> Option<Vec<SqsQueue>> {
    let record = Recorder::new(gaps, "sqs", Some(region));
    let pages = record
        .call(
            "ListQueues",
            None,
            client
                .list_queues()
                .into_paginator()
                .send()
                .collect::<Result<Vec<_>, _>>(),
        )
        .await?;
    let mut queues = Vec::new();
    for url in pages.iter().flat_map(|p| p.queue_urls()) {
        let mut queue = SqsQueue {
            name: url.rsplit('/').next().unwrap_or(url).to_string(),
            url: url.clone(),
            ..SqsQueue::default()
        };
        if let Some(out) = record
            .call(
                "GetQueueAttributes",
                Some(url),
                client
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::All)
                    .send(),
            )
            .await
        {
            let attributes = out.attributes();
            let get = |name: QueueAttributeName| {
                attributes
                    .and_then(|a| a.get(&name))
                    .filter(|v| !v.is_empty())
            };
            queue.arn = get(QueueAttributeName::QueueArn)
                .cloned()
                .unwrap_or_default();
            queue.kms_key_id = get(QueueAttributeName::KmsMasterKeyId).cloned();
            queue.sqs_managed_sse = get(QueueAttributeName::SqsManagedSseEnabled)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            queue.policy = get(QueueAttributeName::Policy).and_then(|p| decode_document(p));
            queue.attributes_read = true;
        }
        if queue.arn.is_empty() {
            queue.arn = queue.url.clone();
        }
        queues.push(queue);
    }
    Some(queues)
}
