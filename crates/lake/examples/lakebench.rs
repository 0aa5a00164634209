//! The lake benchmark's driver (`bench/lake.sh` runs it in a release build).
//!
//! - `lakebench generate DIR EVENTS [DAYS]`: writes realistic CloudTrail log
//!   files (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`, one
//!   per account, region and hour) with a fixed seed, in parallel.
//! - `lakebench ingest LAKE DIR`: ingests them as `palisade logs ingest` does
//!   (the same library call) and prints events/s and MB/s.
//! - `lakebench query LAKE RUNS SQL`: runs one query RUNS times in one
//!   session and prints the fastest time in milliseconds and the row count.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use palisade_lake::{discover, InputObject, Lake, ObjectOutcome, Source};
use rayon::prelude::*;

type Failure = Box<dyn std::error::Error>;

// The allocator of the `palisade` binary, set up as `palisade logs ingest`
// sets it up (crates/cli/src/main.rs), so ingest is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

extern "C" {
    // mimalloc's C API, from the library the allocator above links in.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` (`mimalloc.h`): keep freed memory for ten seconds.
fn keep_freed_memory_for_reuse() {
    // SAFETY: `mi_option_set` only stores the value.
    unsafe { mi_option_set(15, 10_000) };
}

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("generate") if args.len() >= 3 => {
            let days = args.get(3).map(|d| d.parse()).transpose()?.unwrap_or(30);
            generate(Path::new(&args[1]), args[2].parse()?, days)
        }
        Some("ingest") if args.len() == 3 => ingest(Path::new(&args[1]), Path::new(&args[2])),
        Some("query") if args.len() == 4 => query(Path::new(&args[1]), args[2].parse()?, &args[3]),
        _ => Err(
            "usage: lakebench generate DIR EVENTS [DAYS] | ingest LAKE DIR | query LAKE RUNS SQL"
                .into(),
        ),
    }
}

fn ingest(lake: &Path, input: &Path) -> Result<(), Failure> {
    keep_freed_memory_for_reuse();
    let lake = Lake::new(lake);
    let paths = discover(Source::CloudTrail, input)?;
    let compressed: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let started = Instant::now();
    let mut batch = lake.begin(Source::CloudTrail);
    let items = paths
        .into_iter()
        .map(|path| (path.display().to_string(), path))
        .collect();
    let reports = batch.add_parallel(
        items,
        |path: PathBuf| InputObject::read(&path),
        &HashSet::new(),
    )?;
    let summary = batch.commit()?;
    let seconds = started.elapsed().as_secs_f64();
    let unreadable = reports
        .iter()
        .filter(|r| matches!(r.outcome, ObjectOutcome::Unreadable(_)))
        .count();
    println!(
        "ingest: {} objects, {} events, {} quarantined, {} unreadable, {} parquet files in {:.2} s: \
         {:.0} events/s, {:.1} MB/s compressed input",
        summary.objects.len(),
        summary.records,
        summary.quarantined,
        unreadable,
        summary.files.len(),
        seconds,
        summary.records as f64 / seconds,
        compressed as f64 / 1e6 / seconds,
    );
    Ok(())
}

fn query(lake: &Path, runs: u32, sql: &str) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let lake = Lake::new(lake);
    runtime.block_on(async {
        // One session for all runs, as DuckDB's side keeps one connection.
        let ctx = lake.session().await?;
        let mut best = f64::MAX;
        let mut rows = 0;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let result = Lake::query_in(&ctx, sql).await?;
            best = best.min(started.elapsed().as_secs_f64());
            rows = result.rows();
        }
        println!("{:.1} {rows}", best * 1000.0);
        Ok::<_, Failure>(())
    })
}

/// xorshift64*: fast, seeded, good enough for synthetic logs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(10_000) < percent * 100
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            let _ = write!(out, "{:016x}", self.next());
        }
        out.truncate(len);
        out
    }
}

const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "us-west-2"];
const USER_AGENTS: [&str; 6] = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/ec2.describe-instances",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8 cfg/retry-mode#legacy Botocore/1.34.69",
    "aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.4",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "terraform-provider-aws/5.40.0 (+https://registry.terraform.io) aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1",
    "console.amazonaws.com",
];

/// (eventSource, eventName, readOnly, weight)
const CALLS: [(&str, &str, bool, u64); 22] = [
    ("sts.amazonaws.com", "AssumeRole", true, 150),
    ("sts.amazonaws.com", "GetCallerIdentity", true, 50),
    ("ec2.amazonaws.com", "DescribeInstances", true, 100),
    ("s3.amazonaws.com", "ListBuckets", true, 50),
    ("s3.amazonaws.com", "GetBucketAcl", true, 50),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", true, 50),
    ("kms.amazonaws.com", "Decrypt", true, 100),
    ("kms.amazonaws.com", "GenerateDataKey", true, 50),
    ("secretsmanager.amazonaws.com", "GetSecretValue", true, 30),
    ("logs.amazonaws.com", "CreateLogStream", false, 80),
    ("rds.amazonaws.com", "DescribeDBInstances", true, 30),
    ("iam.amazonaws.com", "ListRoles", true, 30),
    ("iam.amazonaws.com", "GetRole", true, 30),
    ("signin.amazonaws.com", "ConsoleLogin", false, 20),
    (
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        false,
        10,
    ),
    ("iam.amazonaws.com", "CreateUser", false, 2),
    ("iam.amazonaws.com", "AttachUserPolicy", false, 2),
    ("iam.amazonaws.com", "CreateAccessKey", false, 2),
    ("ec2.amazonaws.com", "RunInstances", false, 10),
    ("ec2.amazonaws.com", "TerminateInstances", false, 5),
    ("cloudtrail.amazonaws.com", "DescribeTrails", true, 10),
    ("lambda.amazonaws.com", "Invoke", false, 40),
];

const USERS: u64 = 60;
const ROLES: [&str; 8] = [
    "app-backend",
    "app-worker",
    "ci-deploy",
    "terraform",
    "data-pipeline",
    "readonly-audit",
    "lambda-exec",
    "eks-node",
];

fn generate(dir: &Path, events: u64, days: u64) -> Result<(), Failure> {
    let start = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .ok_or("bad start date")?;
    let files: Vec<(usize, usize, u64)> = (0..days * 24)
        .flat_map(|hour| {
            (0..ACCOUNTS.len()).flat_map(move |a| (0..REGIONS.len()).map(move |r| (a, r, hour)))
        })
        .collect();
    let per_file = events / files.len() as u64;
    let extra = events % files.len() as u64;
    let started = Instant::now();
    let bytes: u64 = files
        .par_iter()
        .enumerate()
        .map(|(index, &(account, region, hour))| {
            let count = per_file + u64::from((index as u64) < extra);
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
            let hour_start = start + Duration::hours(hour as i64);
            let mut body = String::with_capacity(count as usize * 1400 + 16);
            body.push_str("{\"Records\":[");
            for n in 0..count {
                if n > 0 {
                    body.push(',');
                }
                let offset = rng.below(3600 * 1000);
                let time = hour_start + Duration::milliseconds(offset as i64);
                record(&mut body, &mut rng, ACCOUNTS[account], REGIONS[region], &time.format("%Y-%m-%dT%H:%M:%SZ").to_string(), hour);
            }
            body.push_str("]}");
            let day = hour_start.format("%Y/%m/%d");
            let stamp = hour_start.format("%Y%m%dT%H%MZ");
            let path = dir.join(format!(
                "AWSLogs/{acct}/CloudTrail/{region}/{day}/{acct}_CloudTrail_{region}_{stamp}_{id}.json.gz",
                acct = ACCOUNTS[account],
                region = REGIONS[region],
                id = rng.hex(16),
            ));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(body.as_bytes())?;
            let gz = encoder.finish()?;
            std::fs::write(&path, &gz)?;
            Ok::<u64, std::io::Error>(gz.len() as u64)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    println!(
        "generated {events} events in {} files ({:.1} MB gzip) in {:.1} s",
        files.len(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One CloudTrail record, appended to `out`.
fn record(out: &mut String, rng: &mut Rng, account: &str, region: &str, time: &str, hour: u64) {
    let total: u64 = CALLS.iter().map(|c| c.3).sum();
    let mut roll = rng.below(total);
    let mut call = CALLS[0];
    for candidate in CALLS {
        if roll < candidate.3 {
            call = candidate;
            break;
        }
        roll -= candidate.3;
    }
    let (event_source, mut event_name, read_only, _) = call;
    // Planted: a brute force from one address a few hours a day.
    let brute_force = hour % 24 == 3 && rng.chance(2);
    if brute_force {
        event_name = "ConsoleLogin";
    }
    let console = event_name == "ConsoleLogin";
    let user = rng.below(USERS);
    let ip = if brute_force {
        "203.0.113.66".to_string()
    } else {
        format!(
            "{}.{}.{}.{}",
            [198, 203, 192, 10][rng.below(4) as usize],
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        )
    };
    let as_role = !console && rng.chance(55);
    let (identity, actor_key) = if as_role {
        let role = rng.pick(&ROLES);
        let key = format!("ASIA{}", rng.hex(16).to_uppercase());
        (
            format!(
                r#"{{"type":"AssumedRole","principalId":"AROA{p}:session-{s}","arn":"arn:aws:sts::{account}:assumed-role/{role}/session-{s}","accountId":"{account}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{p}","arn":"arn:aws:iam::{account}:role/{role}","accountId":"{account}","userName":"{role}"}},"webIdFederationData":{{}},"attributes":{{"creationDate":"{time}","mfaAuthenticated":"false"}}}}}}"#,
                p = rng.hex(17).to_uppercase(),
                s = rng.below(100_000),
            ),
            key,
        )
    } else {
        // Access keys are fixed per user, so "all events of one key" has an answer.
        let key = format!("AKIA{:016X}", user.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1);
        (
            format!(
                r#"{{"type":"IAMUser","principalId":"AIDA{user:017}","arn":"arn:aws:iam::{account}:user/user{user}","accountId":"{account}","accessKeyId":"{key}","userName":"user{user}"}}"#
            ),
            key,
        )
    };
    let _ = actor_key;
    let denied = !console && rng.chance(3);
    let failed_login = console && (brute_force || rng.chance(25));
    let parameters = match event_name {
        "AssumeRole" => format!(
            r#"{{"roleArn":"arn:aws:iam::{account}:role/{}","roleSessionName":"session-{}","durationSeconds":3600}}"#,
            rng.pick(&ROLES),
            rng.below(100_000)
        ),
        "GetBucketAcl" => format!(
            r#"{{"bucketName":"data-{}-{}","acl":""}}"#,
            account,
            rng.below(40)
        ),
        "Decrypt" | "GenerateDataKey" => format!(
            r#"{{"keyId":"arn:aws:kms:{region}:{account}:key/{}","encryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#,
            rng.hex(32)
        ),
        "GetSecretValue" => format!(r#"{{"secretId":"prod/app/secret-{}"}}"#, rng.below(30)),
        "CreateLogStream" => format!(
            r#"{{"logGroupName":"/aws/lambda/fn-{}","logStreamName":"2026/11/01/[$LATEST]{}"}}"#,
            rng.below(50),
            rng.hex(32)
        ),
        "AuthorizeSecurityGroupIngress" => {
            let cidr = if rng.chance(20) {
                "0.0.0.0/0".to_string()
            } else {
                format!("10.{}.0.0/16", rng.below(256))
            };
            format!(
                r#"{{"groupId":"sg-{}","ipPermissions":{{"items":[{{"ipProtocol":"tcp","fromPort":{port},"toPort":{port},"groups":{{}},"ipRanges":{{"items":[{{"cidrIp":"{cidr}"}}]}},"ipv6Ranges":{{}},"prefixListIds":{{}}}}]}}}}"#,
                rng.hex(17),
                port = [22, 443, 3389, 5432][rng.below(4) as usize]
            )
        }
        "CreateUser" | "AttachUserPolicy" | "CreateAccessKey" => {
            format!(
                r#"{{"userName":"user{}","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}}"#,
                rng.below(USERS)
            )
        }
        "DescribeInstances" => format!(
            r#"{{"instancesSet":{{"items":[{{"instanceId":"i-{}"}}]}},"filterSet":{{}}}}"#,
            rng.hex(17)
        ),
        "RunInstances" | "TerminateInstances" => format!(
            r#"{{"instancesSet":{{"items":[{{"imageId":"ami-{}","minCount":1,"maxCount":1}}]}},"instanceType":"t3.medium"}}"#,
            rng.hex(17)
        ),
        "Invoke" => format!(
            r#"{{"functionName":"arn:aws:lambda:{region}:{account}:function:fn-{}"}}"#,
            rng.below(50)
        ),
        _ => "null".to_string(),
    };
    let response = if console {
        format!(
            r#"{{"ConsoleLogin":"{}"}}"#,
            if failed_login { "Failure" } else { "Success" }
        )
    } else if denied || read_only {
        "null".to_string()
    } else {
        format!(r#"{{"requestId":"{}"}}"#, rng.hex(32))
    };
    let error = if denied {
        let code = if event_source == "ec2.amazonaws.com" {
            "Client.UnauthorizedOperation"
        } else {
            "AccessDenied"
        };
        format!(
            r#""errorCode":"{code}","errorMessage":"User is not authorized to perform: {}:{event_name}","#,
            event_source.split('.').next().unwrap_or_default()
        )
    } else if failed_login {
        r#""errorMessage":"Failed authentication","#.to_string()
    } else {
        String::new()
    };
    let additional = if console {
        format!(
            r#""additionalEventData":{{"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"{}"}},"#,
            if rng.chance(70) { "Yes" } else { "No" }
        )
    } else {
        String::new()
    };
    let agent = if console {
        USER_AGENTS[3]
    } else {
        rng.pick(&USER_AGENTS[..5])
    };
    let event_type = if console {
        "AwsConsoleSignIn"
    } else {
        "AwsApiCall"
    };
    let _ = write!(
        out,
        r#"{{"eventVersion":"1.09","userIdentity":{identity},"eventTime":"{time}","eventSource":"{event_source}","eventName":"{event_name}","awsRegion":"{region}","sourceIPAddress":"{ip}","userAgent":"{agent}",{error}"requestParameters":{parameters},"responseElements":{response},{additional}"requestID":"{}-{}-{}-{}-{}","eventID":"{}-{}-{}-{}-{}","readOnly":{read_only},"eventType":"{event_type}","managementEvent":true,"recipientAccountId":"{account}","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{host}"}}}}"#,
        rng.hex(8),
        rng.hex(4),
        rng.hex(4),
        rng.hex(4),
        rng.hex(12),
        rng.hex(8),
        rng.hex(4),
        rng.hex(4),
        rng.hex(4),
        rng.hex(12),
        host = event_source.replace(".amazonaws.com", &format!(".{region}.amazonaws.com")),
    );
}
