//! CloudTrail in one region: the trails whose home region it is, with their
//! logging status and event selectors.

use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
use aws_sdk_cloudtrail::Client;
use palisade_aws::inventory::{Trail, TrailSelectors};

use crate::{reason, Gaps, Recorder};

const SERVICE: &str = "cloudtrail";

pub(crate) async fn collect(client: &Client, region: &str, gaps: &Gaps) -> Option<Vec<Trail>> {
    let record = Recorder::new(gaps, SERVICE, Some(region));
    let listed = record
        .call(
            "DescribeTrails",
            None,
            client.describe_trails().include_shadow_trails(false).send(),
        )
        .await?;
    let mut trails = Vec::new();
    for t in listed.trail_list() {
        let arn = t.trail_arn().unwrap_or_default().to_string();
        let home = t.home_region().unwrap_or(region);
        if home != region {
            continue;
        }
        let is_logging = match client.get_trail_status().name(&arn).send().await {
            Ok(status) => Some(status.is_logging().unwrap_or(false)),
            Err(e) => {
                record.gap("GetTrailStatus", Some(&arn), reason(&e));
                None
            }
        };
        let selectors = match client.get_event_selectors().trail_name(&arn).send().await {
            Ok(out) => Some(selectors(&out)),
            Err(e) => {
                record.gap("GetEventSelectors", Some(&arn), reason(&e));
                None
            }
        };
        trails.push(Trail {
            name: t.name().unwrap_or_default().to_string(),
            arn,
            home_region: home.to_string(),
            multi_region: t.is_multi_region_trail().unwrap_or(false),
            log_file_validation: t.log_file_validation_enabled().unwrap_or(false),
            kms_key_id: t.kms_key_id().map(str::to_string),
            s3_bucket: t.s3_bucket_name().map(str::to_string),
            cloudwatch_log_group: t.cloud_watch_logs_log_group_arn().map(str::to_string),
            is_logging,
            selectors,
        });
    }
    Some(trails)
}

/// Whether `values` of an S3 data resource cover every bucket.
fn all_buckets(values: &[String]) -> bool {
    values.iter().any(|v| {
        v == "arn:aws:s3"
            || v == "arn:aws:s3:::"
            || v == "arn:aws-us-gov:s3"
            || v == "arn:aws-cn:s3"
    })
}

/// Basic or advanced selectors reduced to what the checks ask.
fn selectors(out: &GetEventSelectorsOutput) -> TrailSelectors {
    let mut result = TrailSelectors::default();
    for s in out.event_selectors() {
        let rw = s.read_write_type().map_or("All", |t| t.as_str());
        if s.include_management_events().unwrap_or(true) && rw == "All" {
            result.management_all = true;
        }
        let s3_all = s
            .data_resources()
            .iter()
            .any(|d| d.r#type() == Some("AWS::S3::Object") && all_buckets(d.values()));
        if s3_all {
            result.s3_data_write |= rw == "All" || rw == "WriteOnly";
            result.s3_data_read |= rw == "All" || rw == "ReadOnly";
        }
    }
    for s in out.advanced_event_selectors() {
        let field = |name: &str| s.field_selectors().iter().find(|f| f.field() == name);
        let category = field("eventCategory")
            .map(|f| f.equals().to_vec())
            .unwrap_or_default();
        let read_only = field("readOnly").map(|f| f.equals().to_vec());
        let reads = read_only
            .as_ref()
            .is_none_or(|v| v.iter().any(|x| x == "true"));
        let writes = read_only
            .as_ref()
            .is_none_or(|v| v.iter().any(|x| x == "false"));
        if category.iter().any(|c| c == "Management") && reads && writes {
            result.management_all = true;
        }
        let s3 = field("resources.type")
            .is_some_and(|f| f.equals().iter().any(|t| t == "AWS::S3::Object"));
        let narrowed = field("resources.ARN").is_some();
        if category.iter().any(|c| c == "Data") && s3 && !narrowed {
            result.s3_data_write |= writes;
            result.s3_data_read |= reads;
        }
    }
    // A trail without custom selectors logs all management events.
    if out.event_selectors().is_empty() && out.advanced_event_selectors().is_empty() {
        result.management_all = true;
    }
    result
}
