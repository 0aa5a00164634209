//! The command line, as clap parses it. Nothing here does any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use palisade_core::Severity;

#[derive(Debug, Parser)]
#[command(
    name = "palisade",
    version,
    about = "A security program in one binary: scan, keep one list of findings, report.",
    long_about = None,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Database URL or path (default: $PALISADE_HOME/palisade.db, home ~/.local/share/palisade).
    #[arg(long, global = true, env = "PALISADE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Configuration file (default: the nearest .palisade.toml above the scanned path).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// More logging (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr, no progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan code or infrastructure for problems.
    #[command(subcommand)]
    Scan(ScanCommand),
    /// The findings kept in the store: list, inspect, suppress, export.
    #[command(subcommand)]
    Findings(FindingsCommand),
    /// The built-in rules and their metadata.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Git hooks that run palisade.
    #[command(subcommand)]
    Hook(HookCommand),
    /// The cloud inventory kept by `scan aws`: list, show, diff collections.
    #[command(subcommand)]
    Assets(AssetsCommand),
    /// The local advisory database (OSV exports, CISA KEV, EPSS) that `scan deps` matches against.
    #[command(subcommand)]
    Vulndb(VulndbCommand),
    /// Write a CycloneDX SBOM of the packages under PATH, or in a container image.
    Sbom(SbomArgs),
    /// The log lake: ingest logs to Parquet, query them with SQL.
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Run the web console over the store.
    Serve(crate::commands::serve::ServeArgs),
    /// Console accounts: create, list, change roles, disable.
    #[command(subcommand)]
    Users(crate::commands::users::UsersCommand),
    /// The hash-chained audit log: verify it, list it.
    #[command(subcommand)]
    Audit(crate::commands::audit::AuditCommand),
    /// API tokens for CI and `scan --upload`: create (shown once), list, revoke.
    #[command(subcommand)]
    Tokens(crate::commands::tokens::TokensCommand),
    /// A populated console in one command: scans the bundled examples into a
    /// fresh data directory, creates a demo administrator and serves it.
    Demo(crate::commands::demo::DemoArgs),
    /// Detections over the lake: Sigma rules, correlations, SQL detections.
    #[command(subcommand)]
    Detect(DetectCommand),
    /// The alerts detections raised: list, acknowledge, failed webhook deliveries.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// The master key that wraps the data keys of secrets at rest: rotate it.
    #[command(subcommand)]
    Keys(crate::commands::keys::KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Assets seen by the latest collection of their account.
    List(AssetsListArgs),
    /// One asset (by ARN or id) with its latest snapshot.
    Show(AssetShowArgs),
    /// What appeared, vanished or changed between two collections
    /// (default: the last two of the account).
    Diff(AssetsDiffArgs),
    /// The recorded collections, newest first.
    Collections(AssetsCollectionsArgs),
}

#[derive(Debug, Subcommand)]
pub enum VulndbCommand {
    /// Import OSV records: an OSV `all.zip` export, a directory of OSV JSON
    /// files, or one JSON file. Incremental: records whose id and modified
    /// time are already stored are skipped.
    Import(VulndbImportArgs),
    /// Import CISA's Known Exploited Vulnerabilities catalogue (JSON), replacing the previous one.
    ImportKev(VulndbFileArgs),
    /// Import FIRST EPSS scores (the daily CSV, decompressed), replacing the previous ones.
    ImportEpss(VulndbFileArgs),
    /// Record counts per ecosystem and the age of the database.
    Status(VulndbStatusArgs),
}

#[derive(Debug, Args)]
pub struct VulndbImportArgs {
    /// `all.zip`, a directory of OSV JSON records, or one record (repeatable).
    #[arg(required = true, value_name = "FILE|DIR")]
    pub sources: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VulndbFileArgs {
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct VulndbStatusArgs {
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'f', value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
}

/// How `vulndb status` prints: the same choice as the assets commands.
pub type StatusFormat = DataFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct AssetsListArgs {
    /// Only assets of this AWS account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only assets of this type (`AWS::S3::Bucket`).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only assets in this region (`global` for IAM).
    #[arg(long)]
    pub region: Option<String>,
    /// Also list assets the latest collection no longer saw.
    #[arg(long)]
    pub all: bool,
    #[arg(long, short = 'f', value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
}

#[derive(Debug, Args)]
pub struct AssetShowArgs {
    /// ARN or resource id.
    pub id: String,
    #[arg(long, short = 'f', value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
}

#[derive(Debug, Args)]
pub struct AssetsDiffArgs {
    /// The earlier collection id (see `assets collections`).
    pub from: Option<i64>,
    /// The later collection id.
    pub to: Option<i64>,
    /// With no ids: the account whose last two collections to compare.
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, short = 'f', value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
}

#[derive(Debug, Args)]
pub struct AssetsCollectionsArgs {
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, short = 'f', value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// A directory (searched for lockfiles and manifests), one lockfile, or
    /// a container image (`docker save` tarball, OCI layout).
    #[arg(value_name = "PATH|IMAGE", default_value = ".")]
    pub path: PathBuf,
    /// CycloneDX specification version.
    #[arg(long, value_enum, default_value_t = CycloneDxVersion::V1_6)]
    pub spec_version: CycloneDxVersion,
    /// Write the SBOM to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Glob of paths to skip, relative to PATH (repeatable).
    #[arg(long = "skip", value_name = "GLOB")]
    pub skip_paths: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CycloneDxVersion {
    #[value(name = "1.5")]
    V1_5,
    #[value(name = "1.6")]
    V1_6,
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Ingest log files into the lake; files ingested before are skipped.
    Ingest(LogsIngestArgs),
    /// Run one read-only SQL query over the lake (tables: cloudtrail, k8s_audit, json, syslog, events).
    Query(LogsQueryArgs),
    /// The latest events of one source, with simple filters.
    Tail(LogsTailArgs),
    /// Merge the small part files of each day partition into one sorted file.
    Compact(LogsCompactArgs),
    /// Delete whole day partitions older than N days (recorded in the store).
    Retention(LogsRetentionArgs),
}

#[derive(Debug, Args)]
pub struct LogsCompactArgs {
    /// Only this source (default: every source).
    #[arg(long, value_enum)]
    pub source: Option<LogSource>,
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Summary format.
    #[arg(long, short = 'f', value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Debug, Args)]
pub struct LogsRetentionArgs {
    /// The source whose partitions expire.
    #[arg(long, value_enum)]
    pub source: LogSource,
    /// Keep this many days before today (UTC); older `dt` partitions are deleted.
    #[arg(long)]
    pub days: u32,
    /// List what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Summary format.
    #[arg(long, short = 'f', value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Debug, Args)]
pub struct LakeArgs {
    /// The lake directory (default: $PALISADE_HOME/lake), or `s3://bucket/prefix` for a lake
    /// on S3 (AWS credentials and region from the environment; AWS_ENDPOINT_URL for
    /// S3-compatible stores).
    #[arg(long, value_name = "DIR|S3_URL", env = "PALISADE_LAKE")]
    pub lake: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogSource {
    /// AWS CloudTrail log files (`*.json.gz`, `*.json`) as delivered to S3.
    Cloudtrail,
    /// Kubernetes API server audit logs: JSON lines (`*.log`, `*.json`, `*.jsonl`, optionally `.gz`).
    K8sAudit,
    /// Application logs as JSON lines (`*.json`, `*.jsonl`, `*.ndjson`, `*.log`, optionally `.gz`), read through `--field`.
    Json,
    /// Syslog files, RFC 5424 and RFC 3164 (`syslog*`, `messages*`, `*.log`, rotations, optionally `.gz`).
    Syslog,
}

impl From<LogSource> for palisade_lake::Source {
    fn from(source: LogSource) -> Self {
        match source {
            LogSource::Cloudtrail => palisade_lake::Source::CloudTrail,
            LogSource::K8sAudit => palisade_lake::Source::K8sAudit,
            LogSource::Json => palisade_lake::Source::Json,
            LogSource::Syslog => palisade_lake::Source::Syslog,
        }
    }
}

#[derive(Debug, Args)]
pub struct LogsIngestArgs {
    /// Which kind of logs the files hold.
    #[arg(long, value_enum)]
    pub source: LogSource,
    /// Files or directories (searched recursively), or `s3://bucket/prefix` URLs (objects
    /// listed under the prefix; credentials, region and endpoint from the AWS default chain).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub lake: LakeArgs,
    /// `--source json`: which keys hold a field, `TARGET=KEY[,KEY...]` (repeatable; targets:
    /// time, level, message, request_id, user_id, actor, action, outcome, src_ip, user_agent,
    /// resource, error_code, service, region; dotted keys look into nested objects).
    #[arg(long = "field", value_name = "TARGET=KEYS")]
    pub fields: Vec<String>,
    /// `--source syslog`: infer RFC 3164 years from this time (RFC 3339) instead of each file's
    /// modification time.
    #[arg(long, value_name = "TIME")]
    pub syslog_year_reference: Option<String>,
    /// Summary format.
    #[arg(long, short = 'f', value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
    /// Run the detections over the files this ingest wrote, and record alerts.
    #[arg(long)]
    pub detect: bool,
    #[command(flatten)]
    pub detection: DetectionArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryOutputFormat {
    Table,
    Json,
    Csv,
}

impl From<QueryOutputFormat> for palisade_lake::QueryFormat {
    fn from(format: QueryOutputFormat) -> Self {
        match format {
            QueryOutputFormat::Table => palisade_lake::QueryFormat::Table,
            QueryOutputFormat::Json => palisade_lake::QueryFormat::Json,
            QueryOutputFormat::Csv => palisade_lake::QueryFormat::Csv,
        }
    }
}

#[derive(Debug, Args)]
pub struct LogsQueryArgs {
    /// The SQL (DataFusion dialect). Filter on `dt` (YYYY-MM-DD) to read only those days.
    pub sql: String,
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = QueryOutputFormat::Table)]
    pub format: QueryOutputFormat,
}

#[derive(Debug, Args)]
pub struct LogsTailArgs {
    /// Which source's table.
    #[arg(long, value_enum, default_value_t = LogSource::Cloudtrail)]
    pub source: LogSource,
    /// Only events whose actor contains this text.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only events with exactly this action (`ConsoleLogin`).
    #[arg(long)]
    pub action: Option<String>,
    /// Only events since then: a duration (30m, 24h, 7d, 2w), a date or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// At most this many events, newest first.
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: u64,
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = QueryOutputFormat::Table)]
    pub format: QueryOutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write a pre-commit hook that blocks commits with secrets in staged changes.
    Install(HookInstallArgs),
}

#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// The repository (default: the current directory).
    #[arg(default_value = ".")]
    pub repository: PathBuf,
    /// Replace an existing pre-commit hook.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Terraform (HCL and plan JSON), CloudFormation and Kubernetes manifests.
    Iac(ScanIacArgs),
    /// Credentials in files, in git history (--history) or in staged changes (--staged).
    Secrets(ScanSecretsArgs),
    /// A live AWS account: inventory and posture checks (read-only API calls).
    Aws(ScanAwsArgs),
    /// Vulnerable packages in lockfiles and manifests (or a CycloneDX SBOM), from the local advisory database.
    Deps(ScanDepsArgs),
    /// Vulnerable OS and language packages in a container image (`docker save` tarball or OCI layout).
    Image(ScanImageArgs),
}

#[derive(Debug, Args)]
pub struct ScanImageArgs {
    /// A `docker save` tarball, or an OCI image layout (directory or tarball).
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    #[command(flatten)]
    pub exploitation: ExploitationArgs,
    #[command(flatten)]
    pub common: ScanCommonArgs,
}

/// Failing on exploitation data (KEV, EPSS) as well as on severity.
#[derive(Debug, Args)]
pub struct ExploitationArgs {
    /// Also exit with status 1 when a finding's vulnerability is in CISA's KEV catalogue.
    #[arg(long)]
    pub fail_on_kev: bool,
    /// Also exit with status 1 when a finding's EPSS probability is at least this (0 to 1).
    #[arg(long, value_name = "PROBABILITY", value_parser = parse_probability)]
    pub fail_on_epss: Option<f64>,
}

#[derive(Debug, Args)]
pub struct ScanDepsArgs {
    /// Directories (searched for lockfiles and manifests) or lockfiles.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Scan the components of a CycloneDX JSON SBOM instead (repeatable).
    #[arg(long, value_name = "FILE.cdx.json")]
    pub sbom: Vec<PathBuf>,
    #[command(flatten)]
    pub exploitation: ExploitationArgs,
    #[command(flatten)]
    pub common: ScanCommonArgs,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Sarif,
    Csv,
    Html,
}

impl From<OutputFormat> for palisade_report::Format {
    fn from(format: OutputFormat) -> Self {
        match format {
            OutputFormat::Table => palisade_report::Format::Table,
            OutputFormat::Json => palisade_report::Format::Json,
            OutputFormat::Sarif => palisade_report::Format::Sarif,
            OutputFormat::Csv => palisade_report::Format::Csv,
            OutputFormat::Html => palisade_report::Format::Html,
        }
    }
}

/// What every `scan` subcommand accepts.
#[derive(Debug, Args)]
pub struct ScanCommonArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// Exit with status 1 when an unsuppressed finding has this severity or higher.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Do not record the run in the store (a pure CI run).
    #[arg(long)]
    pub no_store: bool,
    /// Glob of paths to skip, relative to the scanned path (repeatable).
    #[arg(long = "skip", value_name = "GLOB")]
    pub skip_paths: Vec<String>,
    /// Rule id to disable (repeatable; a trailing `*` disables a family).
    #[arg(long = "disable", value_name = "RULE")]
    pub disabled_rules: Vec<String>,
    /// Files larger than this many bytes are reported, not read.
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    #[command(flatten)]
    pub upload: crate::commands::upload::UploadArgs,
}

#[derive(Debug, Args)]
pub struct ScanIacArgs {
    /// Files or directories to scan.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: ScanCommonArgs,
    /// Directory of custom Rego policies (repeatable; adds to the config's).
    #[arg(long = "policy", value_name = "DIR")]
    pub policy_dirs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScanSecretsArgs {
    /// Files or directories to scan, `-` for standard input; with --history or
    /// --staged, the repository (default: the current directory).
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Scan every commit reachable from any ref, each unique blob once; later
    /// runs read only commits not scanned before.
    #[arg(long, conflicts_with = "staged")]
    pub history: bool,
    /// With --history: only commits after REV (`REV..`), or made on or after DATE (YYYY-MM-DD).
    #[arg(long, value_name = "REV|DATE", requires = "history")]
    pub since: Option<String>,
    /// With --history: rescan every commit, ignoring what earlier runs read.
    #[arg(long, requires = "history")]
    pub full: bool,
    /// Scan the changes staged for the next commit (for a pre-commit hook).
    #[arg(long)]
    pub staged: bool,
    /// Also scan files that .gitignore excludes.
    #[arg(long)]
    pub no_ignore: bool,
    /// Rules in gitleaks' TOML format (default: .gitleaks.toml at the scanned
    /// root or $GITLEAKS_CONFIG, else the built-in rules).
    #[arg(long, value_name = "FILE", env = "GITLEAKS_CONFIG")]
    pub rules: Option<PathBuf>,
    /// Ask AWS whether each found key pair works (STS GetCallerIdentity at the
    /// SDK's endpoint, AWS_ENDPOINT_URL honoured). Off by default: it sends the keys over the network.
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub common: ScanCommonArgs,
}

#[derive(Debug, Args)]
pub struct ScanAwsArgs {
    /// Profile of the AWS config/credentials files (default: the SDK's default chain).
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Regions to collect, comma-separated (default: every region enabled for the account).
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    pub regions: Vec<String>,
    /// Assume this role and scan its account (repeatable: one account each).
    #[arg(long = "role-arn", value_name = "ARN")]
    pub role_arns: Vec<String>,
    /// List the accounts of the AWS Organization (with the caller's credentials, from the
    /// management or a delegated administrator account) and scan each by assuming ROLE_NAME in it.
    #[arg(long, value_name = "ROLE_NAME", conflicts_with = "role_arns")]
    pub organization: Option<String>,
    /// External id to pass when assuming --role-arn or --organization roles.
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Regions collected at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Seconds one API call may take, retries included.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub call_timeout: u64,
    #[command(flatten)]
    pub common: ScanCommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// List findings (open, reopened and suppressed by default).
    List(FindingsListArgs),
    /// Show one finding with its history.
    Show(FindingShowArgs),
    /// Suppress a finding, with a reason and optional expiry.
    Suppress(SuppressArgs),
    /// Lift a manual suppression.
    Unsuppress(UnsuppressArgs),
    /// Export findings as a report (same filters as list).
    Export(FindingsListArgs),
}

#[derive(Debug, Args)]
pub struct FindingsListArgs {
    /// Only findings with this status.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<palisade_store::Status>,
    /// Only findings of this severity or higher.
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<Severity>,
    /// Only findings of this rule.
    #[arg(long)]
    pub rule: Option<String>,
    /// Only findings of this engine (iac, ...).
    #[arg(long)]
    pub engine: Option<String>,
    /// Only open findings past their SLA due date.
    #[arg(long)]
    pub overdue: bool,
    /// Include resolved findings.
    #[arg(long)]
    pub all: bool,
    /// At most this many findings.
    #[arg(long)]
    pub limit: Option<u32>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct FindingShowArgs {
    /// Fingerprint or a unique prefix of it.
    pub fingerprint: String,
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct SuppressArgs {
    /// Fingerprint or a unique prefix of it.
    pub fingerprint: String,
    /// Why this finding is accepted (required).
    #[arg(long)]
    pub reason: String,
    /// When the suppression ends: a date (YYYY-MM-DD) or a duration in days (`30d`).
    #[arg(long)]
    pub expires: Option<String>,
    /// Who accepts the risk (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct UnsuppressArgs {
    /// Fingerprint or a unique prefix of it.
    pub fingerprint: String,
    /// Who lifts the suppression (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Every built-in rule (and custom policies from the config).
    List(RulesListArgs),
    /// One rule's full metadata.
    Show(RuleShowArgs),
}

#[derive(Debug, Args)]
pub struct RulesListArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
    /// The reference page committed as docs/rules.md.
    Markdown,
}

#[derive(Debug, Args)]
pub struct RuleShowArgs {
    pub id: String,
    #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
        .map_err(|e: palisade_core::ParseSeverityError| e.to_string())
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is not a probability between 0 and 1")),
    }
}

fn parse_status(s: &str) -> Result<palisade_store::Status, String> {
    s.parse()
        .map_err(|e: palisade_store::ParseStatusError| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum DetectCommand {
    /// Run the detections over the lake's events of a time range and record alerts.
    Run(DetectRunArgs),
    /// The loaded detection rules, and the rules that could not be loaded with the reason.
    Rules(DetectRulesArgs),
}

/// Which rules to load, and what to do with alerts.
#[derive(Debug, Args)]
pub struct DetectionArgs {
    /// A Sigma rule file or a directory of them, added to the built-in packs (repeatable).
    #[arg(long = "rules", value_name = "FILE|DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in packs.
    #[arg(long)]
    pub no_builtin: bool,
    /// A YAML file of logsource and field mappings (and `expand` placeholders) added to the defaults.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Matches of one rule and entity this close together are one alert (30m, 1h, 1d).
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub dedup_window: String,
    /// POST each new alert as JSON to this URL (repeatable).
    #[arg(
        long = "webhook",
        value_name = "URL",
        env = "PALISADE_WEBHOOK",
        value_delimiter = ','
    )]
    pub webhooks: Vec<String>,
    /// POST each new alert to this Slack-compatible incoming webhook (repeatable).
    #[arg(
        long = "slack-webhook",
        value_name = "URL",
        env = "PALISADE_SLACK_WEBHOOK",
        value_delimiter = ','
    )]
    pub slack_webhooks: Vec<String>,
    /// Attempts per webhook delivery before it becomes a dead letter.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub webhook_attempts: u32,
    /// Wait before the first retry, in milliseconds (doubled after each failure).
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub webhook_backoff_ms: u64,
}

#[derive(Debug, Args)]
pub struct DetectRunArgs {
    /// Events since then: a duration (24h, 7d), a date or an RFC 3339 time.
    #[arg(long, value_name = "WHEN", default_value = "24h")]
    pub since: String,
    /// Events before then (default: now).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only this source's events (default: every source with rules).
    #[arg(long, value_enum)]
    pub source: Option<LogSource>,
    #[command(flatten)]
    pub detection: DetectionArgs,
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Print the alerts without recording them (no store, no findings, no webhooks).
    #[arg(long)]
    pub no_store: bool,
    /// Summary format.
    #[arg(long, short = 'f', value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Debug, Args)]
pub struct DetectRulesArgs {
    /// A Sigma rule file or a directory of them, added to the built-in packs (repeatable).
    #[arg(long = "rules", value_name = "FILE|DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in packs.
    #[arg(long)]
    pub no_builtin: bool,
    /// A YAML file of logsource and field mappings added to the defaults.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'f', value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts, latest activity first (open ones by default).
    List(AlertsListArgs),
    /// Acknowledge alerts; their findings are suppressed with the note as reason.
    Ack(AlertsAckArgs),
    /// Webhook deliveries that failed after every retry.
    DeadLetters(AlertsDeadLettersArgs),
}

#[derive(Debug, Args)]
pub struct AlertsListArgs {
    /// Include acknowledged alerts.
    #[arg(long)]
    pub all: bool,
    /// Only alerts of this severity or higher.
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<Severity>,
    /// Only alerts of this rule.
    #[arg(long)]
    pub rule: Option<String>,
    /// At most this many alerts.
    #[arg(long, short = 'n')]
    pub limit: Option<u32>,
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'f', value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
}

#[derive(Debug, Args)]
pub struct AlertsAckArgs {
    /// Alert ids.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i64>,
    /// Why it needs no further action.
    #[arg(long, default_value = "acknowledged")]
    pub note: String,
    /// Who acknowledges (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct AlertsDeadLettersArgs {
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'f', value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
}
