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

/// What a successful command tells the process to exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    /// Findings at or above the `--fail-on` threshold.
    FindingsAtThreshold,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            "{default_level},sqlx=warn,aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,aws_sdk_sts=warn,hyper_util=warn"
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
