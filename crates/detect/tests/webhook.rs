//! Webhook delivery against a local HTTP receiver: success, retries with
//! backoff, and a dead letter after the last attempt.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use palisade_core::Severity;
use palisade_detect::webhook::{payload, RetryPolicy, Sender, Webhook, WebhookKind};
use palisade_detect::{Alert, RuleKind};

/// A receiver answering each request with the next status of `statuses`
/// (the last one repeats); records every body it got.
fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        let mut served = 0usize;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            seen.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&body).into_owned());
            let status = statuses[served.min(statuses.len() - 1)];
            served += 1;
            let response =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (format!("http://{address}/hooks/secret-token"), bodies)
}

fn alert() -> Alert {
    Alert {
        rule: "aws_cloudtrail_stop_logging".into(),
        title: "CloudTrail logging stopped".into(),
        severity: Severity::High,
        kind: RuleKind::Sigma,
        source: Some("cloudtrail".into()),
        entity: "arn:aws:iam::111122223333:user/mallory".into(),
        first_time: Utc
            .with_ymd_and_hms(2026, 11, 20, 2, 0, 0)
            .single()
            .expect("time"),
        last_time: Utc
            .with_ymd_and_hms(2026, 11, 20, 2, 0, 0)
            .single()
            .expect("time"),
        count: 1,
        event_ids: vec!["evt-0000003".into()],
    }
}

fn policy(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
        timeout: Duration::from_secs(5),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn json_webhook_is_delivered_after_retries() {
    let (url, bodies) = receiver(vec![500, 503, 200]);
    let hook = Webhook {
        url,
        kind: WebhookKind::Json,
    };
    let body = payload(WebhookKind::Json, &alert(), Some(7));
    let delivery = runtime().block_on(async {
        let sender = Sender::new(policy(5)).expect("sender");
        sender.send(&hook, &body).await
    });
    assert!(delivery.delivered, "{delivery:?}");
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.last_error, None);
    // The secret path of the URL never leaves the sender.
    assert!(
        delivery.target.starts_with("http://127.0.0.1:") && !delivery.target.contains("secret")
    );
    let bodies = bodies.lock().expect("lock");
    assert_eq!(bodies.len(), 3);
    let received: serde_json::Value = serde_json::from_str(&bodies[2]).expect("JSON body");
    assert_eq!(received["rule"], "aws_cloudtrail_stop_logging");
    assert_eq!(received["id"], 7);
    assert_eq!(received["severity"], "high");
    assert_eq!(received["event_ids"][0], "evt-0000003");
}

#[test]
fn slack_webhook_gets_a_text_message() {
    let (url, bodies) = receiver(vec![200]);
    let hook = Webhook {
        url,
        kind: WebhookKind::Slack,
    };
    let body = payload(WebhookKind::Slack, &alert(), Some(7));
    let delivery = runtime().block_on(async {
        Sender::new(policy(3))
            .expect("sender")
            .send(&hook, &body)
            .await
    });
    assert!(delivery.delivered);
    let bodies = bodies.lock().expect("lock");
    let received: serde_json::Value = serde_json::from_str(&bodies[0]).expect("JSON body");
    let text = received["text"].as_str().expect("a text field");
    assert!(
        text.starts_with("*[HIGH] CloudTrail logging stopped*"),
        "{text}"
    );
    assert!(
        text.contains("user/mallory") && text.contains("(alert 7)"),
        "{text}"
    );
}

#[test]
fn failing_webhook_becomes_a_dead_letter_after_every_attempt() {
    let (url, bodies) = receiver(vec![500]);
    let hook = Webhook {
        url,
        kind: WebhookKind::Json,
    };
    let body = payload(WebhookKind::Json, &alert(), Some(1));
    let delivery = runtime().block_on(async {
        Sender::new(policy(4))
            .expect("sender")
            .send(&hook, &body)
            .await
    });
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 4);
    assert_eq!(delivery.last_error.as_deref(), Some("HTTP status 500"));
    assert_eq!(bodies.lock().expect("lock").len(), 4);
    assert_eq!(delivery.payload, body.to_string());
}

#[test]
fn client_errors_are_not_retried_and_unreachable_hosts_are() {
    let (url, bodies) = receiver(vec![404]);
    let hook = Webhook {
        url,
        kind: WebhookKind::Json,
    };
    let body = payload(WebhookKind::Json, &alert(), None);
    let rt = runtime();
    let delivery = rt.block_on(async {
        Sender::new(policy(4))
            .expect("sender")
            .send(&hook, &body)
            .await
    });
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(bodies.lock().expect("lock").len(), 1);

    // Nothing listens on this port (bound then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let hook = Webhook {
        url: format!("http://127.0.0.1:{port}/x"),
        kind: WebhookKind::Json,
    };
    let delivery = rt.block_on(async {
        Sender::new(policy(3))
            .expect("sender")
            .send(&hook, &body)
            .await
    });
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 3);
    assert!(
        delivery
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("request failed"),
        "{delivery:?}"
    );
}
