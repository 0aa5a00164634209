//! Where reports go: stdout, or a file with `--output`.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use palisade_report::{render, Report};

use crate::args::OutputFormat;

pub fn write_report(report: &Report, format: OutputFormat, output: Option<&Path>) -> Result<()> {
    match output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut writer = BufWriter::new(file);
            render(report, format.into(), &mut writer)
                .with_context(|| format!("cannot write {}", path.display()))?;
            writer
                .flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(path = %path.display(), "report written");
        }
        None => {
            let stdout = std::io::stdout();
            let is_terminal = stdout.is_terminal();
            let mut writer = BufWriter::new(stdout.lock());
            if format == OutputFormat::Table && is_terminal {
                palisade_report::render_table(report, terminal_width(), &mut writer)?;
            } else {
                render(report, format.into(), &mut writer)?;
            }
            writer.flush()?;
        }
    }
    Ok(())
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS").ok()?.parse().ok()
}
