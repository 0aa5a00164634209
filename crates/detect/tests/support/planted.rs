//! A generated log set with planted attacks: CloudTrail and Kubernetes
//! audit events of one day, mostly ordinary activity, plus the attacks the
//! detection packs must find. `tests/support/planted_alerts.txt` lists the
//! alerts they must raise, exactly. Deterministic: the same files every run.
//!
//! Also used by the benchmark (`examples/detect_bench.rs`) for its
//! ordinary events.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

pub const ACCOUNT: &str = "111122223333";
pub const DAY: &str = "2026-11-20";

/// A tiny deterministic generator (xorshift), so no dependency is needed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// `2026-11-20T<hh:mm:ss>Z` from seconds into the day.
pub fn at(seconds: u64) -> String {
    let seconds = seconds % 86_400;
    format!(
        "{DAY}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

pub fn user(name: &str) -> Value {
    json!({
        "type": "IAMUser",
        "principalId": format!("AIDA{}", name.to_uppercase()),
        "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        "accountId": ACCOUNT,
        "accessKeyId": format!("AKIA{}", name.to_uppercase()),
        "userName": name,
    })
}

pub fn root() -> Value {
    json!({
        "type": "Root",
        "principalId": ACCOUNT,
        "arn": format!("arn:aws:iam::{ACCOUNT}:root"),
        "accountId": ACCOUNT,
    })
}

pub fn role(name: &str, session: &str) -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": format!("AROA{}:{session}", name.to_uppercase()),
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{session}"),
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLE",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "userName": name, "arn": format!("arn:aws:iam::{ACCOUNT}:role/{name}")},
            "attributes": {"mfaAuthenticated": "false", "creationDate": at(0)}
        }
    })
}

/// One CloudTrail record.
pub struct Call {
    pub seconds: u64,
    pub name: &'static str,
    pub source: &'static str,
    pub identity: Value,
    pub ip: &'static str,
    pub request: Value,
    pub response: Value,
    pub additional: Value,
    pub error: Option<&'static str>,
    pub user_agent: &'static str,
}

impl Call {
    pub fn new(
        seconds: u64,
        name: &'static str,
        source: &'static str,
        identity: Value,
        ip: &'static str,
    ) -> Call {
        Call {
            seconds,
            name,
            source,
            identity,
            ip,
            request: Value::Null,
            response: Value::Null,
            additional: Value::Null,
            error: None,
            user_agent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
        }
    }

    pub fn request(mut self, request: Value) -> Call {
        self.request = request;
        self
    }

    pub fn response(mut self, response: Value) -> Call {
        self.response = response;
        self
    }

    pub fn additional(mut self, additional: Value) -> Call {
        self.additional = additional;
        self
    }

    pub fn error(mut self, code: &'static str) -> Call {
        self.error = Some(code);
        self
    }

    pub fn record(&self, id: u64) -> Value {
        let mut record = json!({
            "eventVersion": "1.09",
            "userIdentity": self.identity,
            "eventTime": at(self.seconds),
            "eventSource": self.source,
            "eventName": self.name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": self.ip,
            "userAgent": self.user_agent,
            "requestParameters": self.request,
            "responseElements": self.response,
            "requestID": format!("req-{id:07}"),
            "eventID": format!("evt-{id:07}"),
            "readOnly": self.name.starts_with("Get") || self.name.starts_with("List") || self.name.starts_with("Describe"),
            "eventType": if self.name == "ConsoleLogin" { "AwsConsoleSignIn" } else { "AwsApiCall" },
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
        });
        if !self.additional.is_null() {
            record["additionalEventData"] = self.additional.clone();
        }
        if let Some(code) = self.error {
            record["errorCode"] = json!(code);
            record["errorMessage"] = json!(format!("{code}: not allowed"));
        }
        record
    }
}

fn console_login(
    seconds: u64,
    identity: Value,
    ip: &'static str,
    success: bool,
    mfa: &str,
) -> Call {
    Call::new(
        seconds,
        "ConsoleLogin",
        "signin.amazonaws.com",
        identity,
        ip,
    )
    .response(json!({"ConsoleLogin": if success { "Success" } else { "Failure" }}))
    .additional(json!({"MFAUsed": mfa, "LoginTo": "https://console.aws.amazon.com/"}))
    .error_if(!success, "Failed authentication")
}

trait ErrorIf {
    fn error_if(self, failed: bool, code: &'static str) -> Self;
}

impl ErrorIf for Call {
    fn error_if(self, failed: bool, code: &'static str) -> Call {
        if failed {
            self.error(code)
        } else {
            self
        }
    }
}

const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const OFFICE_IPS: [&str; 4] = ["10.20.0.11", "10.20.0.12", "10.20.0.13", "10.20.0.14"];

/// Ordinary activity: reads, role sessions, sign-ins with MFA, one IP per user.
pub fn ordinary(rng: &mut Rng, seconds: u64) -> Call {
    let who = rng.below(USERS.len() as u64) as usize;
    let (user_name, ip) = (USERS[who], OFFICE_IPS[who]);
    match rng.below(10) {
        0 => Call::new(seconds, "DescribeInstances", "ec2.amazonaws.com", user(user_name), ip),
        1 => Call::new(seconds, "GetObject", "s3.amazonaws.com", role("app", "i-0abc"), "10.30.1.5")
            .request(json!({"bucketName": "app-assets", "key": format!("img/{}.png", rng.below(1000))})),
        2 => Call::new(seconds, "ListBuckets", "s3.amazonaws.com", user(user_name), ip),
        3 => Call::new(seconds, "AssumeRole", "sts.amazonaws.com", user(user_name), ip)
            .request(json!({"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/deploy"), "roleSessionName": user_name})),
        4 => console_login(seconds, user(user_name), ip, true, "Yes"),
        5 => Call::new(seconds, "GetSecretValue", "secretsmanager.amazonaws.com", role("app", "i-0abc"), "10.30.1.5")
            .request(json!({"secretId": "prod/db-password"})),
        6 => Call::new(seconds, "PutObject", "s3.amazonaws.com", role("app", "i-0abc"), "10.30.1.5")
            .request(json!({"bucketName": "app-uploads", "key": format!("u/{}", rng.below(100_000))})),
        7 => Call::new(seconds, "DescribeSecurityGroups", "ec2.amazonaws.com", user(user_name), ip),
        8 => Call::new(seconds, "Decrypt", "kms.amazonaws.com", role("app", "i-0abc"), "10.30.1.5")
            .request(json!({"keyId": "alias/app"})),
        _ => Call::new(seconds, "GetCallerIdentity", "sts.amazonaws.com", user(user_name), ip),
    }
}

/// The planted CloudTrail attacks (and look-alikes that must not alert).
pub fn attacks() -> Vec<Call> {
    let mallory = || user("mallory");
    let attacker_ip = "203.0.113.50";
    let mut calls = vec![
        // Root signs in without MFA and looks around.
        console_login(3600, root(), "198.51.100.200", true, "No"),
        Call::new(3660, "ListUsers", "iam.amazonaws.com", root(), "198.51.100.200"),
        // Trail, GuardDuty, Config and Security Hub turned off.
        Call::new(7200, "StopLogging", "cloudtrail.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"name": "org-trail"})),
        Call::new(7210, "UpdateTrail", "cloudtrail.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"name": "org-trail", "s3BucketName": "elsewhere"})),
        Call::new(7220, "DeleteTrail", "cloudtrail.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"name": "org-trail"})),
        Call::new(7230, "DeleteDetector", "guardduty.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"detectorId": "d-1"})),
        Call::new(7240, "UpdateDetector", "guardduty.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"detectorId": "d-2", "enable": false})),
        // Enabling a detector is fine.
        Call::new(7245, "UpdateDetector", "guardduty.amazonaws.com", user("alice"), "10.20.0.11")
            .request(json!({"detectorId": "d-3", "enable": true})),
        Call::new(7250, "StopConfigurationRecorder", "config.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"configurationRecorderName": "default"})),
        Call::new(7260, "DisableSecurityHub", "securityhub.amazonaws.com", mallory(), attacker_ip),
        // Persistence and privileges.
        Call::new(7300, "CreateAccessKey", "iam.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"userName": "alice"})),
        Call::new(7305, "CreateAccessKey", "iam.amazonaws.com", user("alice"), "10.20.0.11")
            .request(json!({"userName": "alice"})),
        Call::new(7310, "AttachUserPolicy", "iam.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"userName": "mallory", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})),
        Call::new(7315, "AttachUserPolicy", "iam.amazonaws.com", user("alice"), "10.20.0.11")
            .request(json!({"userName": "carol", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})),
        Call::new(7320, "CreateUser", "iam.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"userName": "backup-admin"})),
        Call::new(7325, "CreateLoginProfile", "iam.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"userName": "backup-admin", "passwordResetRequired": false})),
        // Network and data exposure.
        Call::new(7400, "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"groupId": "sg-1", "ipPermissions": {"items": [
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}
            ]}})),
        Call::new(7405, "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", user("bob"), "10.20.0.12")
            .request(json!({"groupId": "sg-2", "ipPermissions": {"items": [
                {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}
            ]}})),
        Call::new(7410, "PutBucketAcl", "s3.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"bucketName": "customer-data", "AccessControlPolicy": {"AccessControlList": {"Grant": [
                {"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}
            ]}}})),
        Call::new(7420, "PutBucketPolicy", "s3.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"bucketName": "customer-data", "bucketPolicy": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::customer-data/*"}
            ]}})),
        Call::new(7430, "DisableKey", "kms.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"keyId": "k-1"})),
        Call::new(7440, "ScheduleKeyDeletion", "kms.amazonaws.com", mallory(), attacker_ip)
            .request(json!({"keyId": "k-2", "pendingWindowInDays": 7})),
        // Bob signs in from two distant networks within half an hour.
        console_login(36_000, user("bob"), "198.51.100.7", true, "Yes"),
        console_login(37_200, user("bob"), "192.0.2.44", true, "Yes"),
    ];
    // Brute force from one address, then a success.
    for n in 0..12 {
        calls.push(console_login(
            10_800 + n * 20,
            json!({"type": "IAMUser", "accountId": ACCOUNT, "principalId": ACCOUNT, "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            "203.0.113.99",
            false,
            "No",
        ));
    }
    calls.push(console_login(
        11_100,
        user("carol"),
        "203.0.113.99",
        true,
        "Yes",
    ));
    // Twelve different secrets read by one session in four minutes.
    for n in 0..12u64 {
        let secret: &'static str = Box::leak(format!("prod/secret-{n}").into_boxed_str());
        calls.push(
            Call::new(
                14_400 + n * 20,
                "GetSecretValue",
                "secretsmanager.amazonaws.com",
                role("ci", "runner-7"),
                "10.40.0.9",
            )
            .request(json!({"secretId": secret})),
        );
    }
    // Enumeration with a leaked key: 25 denied calls in five minutes.
    const DENIED: [&str; 5] = [
        "ListUsers",
        "ListRoles",
        "GetAccountAuthorizationDetails",
        "ListSecrets",
        "DescribeInstances",
    ];
    for n in 0..25u64 {
        let name = DENIED[n as usize % DENIED.len()];
        let source = if name == "DescribeInstances" {
            "ec2.amazonaws.com"
        } else if name == "ListSecrets" {
            "secretsmanager.amazonaws.com"
        } else {
            "iam.amazonaws.com"
        };
        calls.push(
            Call::new(
                18_000 + n * 12,
                name,
                source,
                user("ci-bot"),
                "198.51.100.66",
            )
            .error(if name == "DescribeInstances" {
                "Client.UnauthorizedOperation"
            } else {
                "AccessDenied"
            }),
        );
    }
    calls
}

/// Writes the CloudTrail log set: `ordinary` ordinary events plus the attacks,
/// as one `.json.gz`-less CloudTrail file per 5,000 records. Returns the directory.
pub fn write_cloudtrail(dir: &Path, ordinary_events: u64) -> PathBuf {
    let root = dir.join(format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/20"));
    std::fs::create_dir_all(&root).expect("create the log directory");
    let mut rng = Rng::new(7);
    let mut records = Vec::new();
    let mut id = 0u64;
    for call in attacks() {
        id += 1;
        records.push(call.record(id));
    }
    for n in 0..ordinary_events {
        id += 1;
        // Spread over the day, away from nothing in particular.
        let seconds = n * 86_400 / ordinary_events.max(1);
        records.push(ordinary(&mut rng, seconds).record(id));
    }
    for (n, chunk) in records.chunks(5000).enumerate() {
        let file = root.join(format!(
            "{ACCOUNT}_CloudTrail_us-east-1_20261120T0000Z_{n:04}.json"
        ));
        let body = json!({"Records": chunk});
        std::fs::write(&file, serde_json::to_vec(&body).expect("json"))
            .expect("write the log file");
    }
    dir.join("AWSLogs")
}

fn k8s_event(
    id: u64,
    seconds: u64,
    user: &str,
    verb: &str,
    object: Value,
    code: u16,
    request: Value,
) -> Value {
    let resource = object
        .get("resource")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let namespace = object
        .get("namespace")
        .and_then(Value::as_str)
        .map(String::from);
    let mut uri = match &namespace {
        Some(ns) => format!("/api/v1/namespaces/{ns}/{resource}"),
        None => format!("/api/v1/{resource}"),
    };
    if let Some(name) = object.get("name").and_then(Value::as_str) {
        uri.push('/');
        uri.push_str(name);
    }
    if let Some(sub) = object.get("subresource").and_then(Value::as_str) {
        uri.push('/');
        uri.push_str(sub);
    }
    let mut event = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": format!("audit-{id:06}"),
        "stage": "ResponseComplete",
        "requestURI": uri,
        "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.5.20"],
        "userAgent": "kubectl/v1.30.0",
        "objectRef": object,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": format!("{DAY}T{}.000000Z", &at(seconds)[11..19]),
        "stageTimestamp": format!("{DAY}T{}.100000Z", &at(seconds)[11..19]),
        "annotations": {"authorization.k8s.io/decision": if code == 403 { "forbid" } else { "allow" }}
    });
    if !request.is_null() {
        event["requestObject"] = request;
    }
    event
}

/// Writes the Kubernetes audit log set; returns the file.
pub fn write_k8s_audit(dir: &Path, ordinary_events: u64) -> PathBuf {
    std::fs::create_dir_all(dir).expect("create the log directory");
    let mut lines = Vec::new();
    let mut id = 0u64;
    let mut next = || {
        id += 1;
        id
    };
    let dev = "dev@example.com";
    lines.push(k8s_event(next(), 3600, dev, "create", json!({"resource": "pods", "namespace": "shop", "name": "api-0", "subresource": "exec", "apiVersion": "v1"}), 101, Value::Null));
    // Denied exec: no alert.
    lines.push(k8s_event(next(), 3610, "intern@example.com", "create", json!({"resource": "pods", "namespace": "shop", "name": "api-0", "subresource": "exec", "apiVersion": "v1"}), 403, Value::Null));
    lines.push(k8s_event(next(), 3700, dev, "create", json!({"resource": "pods", "namespace": "shop", "name": "debug", "apiVersion": "v1"}), 201,
        json!({"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "alpine", "securityContext": {"privileged": true}}]}})));
    lines.push(k8s_event(
        next(),
        3800,
        dev,
        "create",
        json!({"resource": "pods", "namespace": "shop", "name": "web", "apiVersion": "v1"}),
        201,
        json!({"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    ));
    lines.push(k8s_event(
        next(),
        3900,
        dev,
        "get",
        json!({"resource": "secrets", "namespace": "shop", "name": "db", "apiVersion": "v1"}),
        200,
        Value::Null,
    ));
    lines.push(k8s_event(
        next(),
        3910,
        "system:serviceaccount:kube-system:generic-garbage-collector",
        "get",
        json!({"resource": "secrets", "namespace": "shop", "name": "db", "apiVersion": "v1"}),
        200,
        Value::Null,
    ));
    lines.push(k8s_event(next(), 4000, dev, "create", json!({"resource": "clusterrolebindings", "name": "dev-admin", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"}), 201,
        json!({"kind": "ClusterRoleBinding", "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "User", "name": dev}]})));
    let mut rng = Rng::new(11);
    const VERBS: [&str; 3] = ["get", "list", "watch"];
    const RESOURCES: [&str; 3] = ["pods", "configmaps", "deployments"];
    for n in 0..ordinary_events {
        let seconds = n * 86_400 / ordinary_events.max(1);
        let verb = *rng.pick(&VERBS);
        let resource = *rng.pick(&RESOURCES);
        let event_id = next();
        lines.push(k8s_event(
            event_id,
            seconds,
            "system:kube-controller-manager",
            verb,
            json!({"resource": resource, "namespace": "shop", "apiVersion": "v1"}),
            200,
            Value::Null,
        ));
    }
    let file = dir.join("audit.log");
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(&file, text.join("\n") + "\n").expect("write the audit log");
    file
}
