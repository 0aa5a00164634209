//! `palisade hook install`: a pre-commit hook that scans staged changes for secrets.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::args::{HookCommand, HookInstallArgs};
use crate::Outcome;

const MARKER: &str = "# installed by `palisade hook install`";

pub fn run(command: HookCommand) -> Result<Outcome> {
    match command {
        HookCommand::Install(args) => install(&args),
    }
}

fn install(args: &HookInstallArgs) -> Result<Outcome> {
    let hooks = hooks_dir(&args.repository)?;
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("cannot create {}", hooks.display()))?;
    let hook = hooks.join("pre-commit");
    if let Ok(existing) = std::fs::read_to_string(&hook) {
        if !existing.contains(MARKER) && !args.force {
            bail!(
                "{} exists and was not written by palisade; add `palisade scan secrets --staged --no-store --fail-on low` to it, or pass --force to replace it",
                hook.display()
            );
        }
    }
    // Prefer the `palisade` on PATH at commit time; fall back to this binary.
    let this_binary = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "palisade".to_string());
    let script = format!(
        "#!/bin/sh\n{MARKER}\n# Blocks a commit whose staged changes add a secret. Bypass once with `git commit --no-verify`.\n\
         if command -v palisade >/dev/null 2>&1; then PALISADE=palisade; else PALISADE='{}'; fi\n\
         exec \"$PALISADE\" scan secrets --staged --no-store --fail-on low --quiet .\n",
        this_binary.replace('\'', "'\\''")
    );
    std::fs::write(&hook, script).with_context(|| format!("cannot write {}", hook.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", hook.display()))?;
    }
    eprintln!("installed {}", hook.display());
    Ok(Outcome::Clean)
}

/// The repository's hooks directory, as git resolves it (core.hooksPath, worktrees).
fn hooks_dir(repository: &Path) -> Result<PathBuf> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(["rev-parse", "--git-path", "hooks"])
        .output();
    match output {
        Ok(output) if output.status.success() => {
            let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            Ok(if path.is_absolute() {
                path
            } else {
                repository.join(path)
            })
        }
        Ok(output) => bail!(
            "{}: not a git repository ({})",
            repository.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(_) if repository.join(".git").is_dir() => Ok(repository.join(".git/hooks")),
        Err(e) => bail!("cannot run git to find the hooks directory: {e}"),
    }
}
