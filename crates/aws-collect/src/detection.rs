//! Whether GuardDuty, AWS Config and Security Hub run in one region.

use aws_config::SdkConfig;
use palisade_aws::Gap;

use crate::{reason, Gaps};

/// A GuardDuty detector with status ENABLED exists.
pub(crate) async fn guardduty(config: &SdkConfig, region: &str, gaps: &Gaps) -> Option<bool> {
    let client = aws_sdk_guardduty::Client::new(config);
    let detectors = match client.list_detectors().send().await {
        Ok(out) => out.detector_ids().to_vec(),
        Err(e) => {
            gaps.push(Gap::new(
                "guardduty",
                Some(region),
                "ListDetectors",
                None,
                reason(&e),
            ));
            return None;
        }
    };
    for id in &detectors {
        match client.get_detector().detector_id(id).send().await {
            Ok(out) if out.status().is_some_and(|s| s.as_str() == "ENABLED") => return Some(true),
            Ok(_) => {}
            Err(e) => {
                gaps.push(Gap::new(
                    "guardduty",
                    Some(region),
                    "GetDetector",
                    Some(id),
                    reason(&e),
                ));
                return None;
            }
        }
    }
    Some(false)
}

/// An AWS Config recorder is recording.
pub(crate) async fn config_recording(
    config: &SdkConfig,
    region: &str,
    gaps: &Gaps,
) -> Option<bool> {
    let client = aws_sdk_config::Client::new(config);
    match client.describe_configuration_recorder_status().send().await {
        Ok(out) => Some(
            out.configuration_recorders_status()
                .iter()
                .any(|s| s.recording()),
        ),
        Err(e) => {
            gaps.push(Gap::new(
                "config",
                Some(region),
                "DescribeConfigurationRecorderStatus",
                None,
                reason(&e),
            ));
            None
        }
    }
}

/// Security Hub is enabled (DescribeHub answers; "not subscribed" means off).
pub(crate) async fn securityhub(config: &SdkConfig, region: &str, gaps: &Gaps) -> Option<bool> {
    use aws_sdk_securityhub::error::ProvideErrorMetadata;
    let client = aws_sdk_securityhub::Client::new(config);
    match client.describe_hub().send().await {
        Ok(_) => Some(true),
        Err(e)
            if matches!(
                e.code(),
                Some("InvalidAccessException" | "ResourceNotFoundException")
            ) =>
        {
            Some(false)
        }
        Err(e) => {
            gaps.push(Gap::new(
                "securityhub",
                Some(region),
                "DescribeHub",
                None,
                reason(&e),
            ));
            None
        }
    }
}
