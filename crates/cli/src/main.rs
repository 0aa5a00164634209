//! The `palisade` binary: parses the command line, calls the engines and the
//! store, presents the results. It holds no scanning or storage logic.
//!
//! Exit codes: 0 clean, 1 findings at or above `--fail-on`, 2 usage or input
//! error (clap's own usage errors exit 2 as well).

mod args;
mod commands;
mod config;
mod output;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use args::{Cli, Command, LogFormat};

// Scans allocate many small values (parsed documents, findings) from every
// worker thread at once; mimalloc's thread-local heaps halve the time glibc's
// allocator spends on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

extern "C" {
    // mimalloc's C API, from the library the allocator above links in
    // (`libmimalloc-sys` binds it only behind its `extended` feature, and
    // has no constant for the option set below).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (`mimalloc.h`, 2.x and 3.x).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Has the allocator hand freed memory back to the OS 10 ms after it is
/// freed (mimalloc 2's default) rather than after one second (mimalloc 3's).
/// A scan frees in bulk: every Terraform syntax tree when the modules are
/// evaluated, every parsed manifest once they are checked; then it builds
/// the report. Memory kept for a second after such a free still counts as
/// resident, and it was up to a third of the peak.
fn return_freed_memory_promptly() {
    // SAFETY: `mi_option_set` only stores the value; `mi_option_purge_delay`
    // takes milliseconds, and mimalloc reads it afresh at each purge.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 10) };
}

/// Has the allocator keep freed memory for ten seconds before handing it
/// back. Log ingest frees and reallocates megabyte buffers for every object
/// on every thread (decompressed files, Arrow batches, Parquet pages);
/// handed back sooner, they are faulted in again at once. On 833,000
/// CloudTrail events a 10 ms delay cost 850,000 page faults and a quarter of
/// the CPU time in the kernel (73,000 faults at one second); on 5,000,000
/// events, one second against ten took ingest from 6-10 s of system time to
/// 3 s, and from ~235,000 to ~280,000 events/s, for the same peak memory.
fn keep_freed_memory_for_reuse() {
    // SAFETY: as in `return_freed_memory_promptly`.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 10_000) };
}

/// What a successful command tells the process to exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    /// Findings at or above the `--fail-on` threshold.
    FindingsAtThreshold,
}

fn main() -> ExitCode {
    return_freed_memory_promptly();
    let cli = Cli::parse();
    if matches!(cli.command, Command::Logs(args::LogsCommand::Ingest(_))) {
        keep_freed_memory_for_reuse();
    }
    init_logging(cli.global.log_format, cli.global.verbose, cli.global.quiet);
    match run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::FindingsAtThreshold) => ExitCode::from(1),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Scan(command) => commands::scan::run(&cli.global, command),
        Command::Findings(command) => commands::findings::run(&cli.global, command),
        Command::Rules(command) => commands::rules::run(&cli.global, command),
        Command::Hook(command) => commands::hook::run(command),
        Command::Assets(command) => commands::assets::run(&cli.global, command),
        Command::Vulndb(command) => commands::vulndb::run(&cli.global, command),
        Command::Sbom(args) => commands::scan_deps::sbom(&cli.global, args),
        Command::Logs(command) => commands::logs::run(&cli.global, command),
        Command::Serve(args) => commands::serve::run(&cli.global, args),
        Command::Users(command) => commands::users::run(&cli.global, command),
        Command::Audit(command) => commands::audit::run(&cli.global, command),
        Command::Tokens(command) => commands::tokens::run(&cli.global, command),
        Command::Demo(args) => commands::demo::run(&cli.global, args),
        Command::Detect(command) => commands::detect::run(&cli.global, command),
        Command::Alerts(command) => commands::alerts::run(&cli.global, command),
        Command::Keys(command) => commands::keys::run(&cli.global, command),
    }
}

/// Logs go to stderr so stdout stays machine-readable.
fn init_logging(format: LogFormat, verbose: u8, quiet: bool) {
    let default_level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("PALISADE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!(
            // The AWS SDK's own tracing (used by --verify) is noise at our levels.
            "{default_level},sqlx=warn,aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,aws_sdk_sts=warn,aws_sdk_iam=warn,aws_sdk_s3=warn,aws_sdk_ec2=warn,aws_sdk_kms=warn,aws_sdk_cloudtrail=warn,aws_runtime=warn,hyper_util=warn"
        )));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    match format {
        LogFormat::Text => builder.without_time().init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<palisade_report::ReportError>()
                .is_some_and(|e| matches!(e, palisade_report::ReportError::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}
