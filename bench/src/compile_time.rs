//! The compile-time cost of `#[scheduled]`: generates a crate with N annotated async fns
//! and the same crate without the attribute in a temporary directory, both depending on
//! this workspace's `sentry-schedule` by path, and times `cargo build` of each.
use anyhow::{bail, Context as _};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Timed rebuilds of each crate; the median is reported.
const REBUILDS: usize = 3;

/// Entry point of `bench compile-time [--fns N]`.
pub(crate) fn main(args: &[String]) -> anyhow::Result<()> {
    let fns = match args {
        [] => 500,
        [flag, n] if flag == "--fns" => n
            .parse()
            .with_context(|| format!("--fns `{n}` is not a number"))?,
        _ => bail!("usage: bench compile-time [--fns N]"),
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the bench package has no parent directory")?
        .to_path_buf();
    let dir = tempfile::Builder::new()
        .prefix("sentry-schedule-compile-time-")
        .tempdir()?;
    let target = dir.path().join("target");
    let with = generate(dir.path(), &workspace, "with_attribute", fns, true)?;
    let without = generate(dir.path(), &workspace, "without_attribute", fns, false)?;

    eprintln!(
        "compile-time: building dependencies once (not timed) in {}",
        dir.path().display()
    );
    cargo_build(&with, &target)?;
    cargo_build(&without, &target)?;

    let (mut t_with, mut t_without) = (Vec::new(), Vec::new());
    for round in 1..=REBUILDS {
        eprintln!("compile-time: timed rebuild {round} of {REBUILDS}");
        t_without.push(rebuild(&without, &target)?);
        t_with.push(rebuild(&with, &target)?);
    }
    let (with_s, without_s) = (median(t_with), median(t_without));
    let cost = with_s - without_s;
    println!("Compile-time cost of #[scheduled] ({fns} async fns, `cargo build`, dev profile, non-incremental, median of {REBUILDS} rebuilds of the crate alone):");
    println!("| crate | build time |");
    println!("|---|---:|");
    println!("| {fns} fns without the attribute | {without_s:.2} s |");
    println!("| {fns} fns with `#[scheduled(cron = ...)]` | {with_s:.2} s |");
    println!(
        "| cost of the attribute | {cost:+.2} s ({:+.2} ms per fn) |",
        cost * 1_000.0 / f64::from(fns.max(1))
    );
    Ok(())
}

fn generate(
    root: &Path,
    workspace: &Path,
    name: &str,
    fns: u32,
    attribute: bool,
) -> anyhow::Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("src"))?;
    let runtime = workspace.join("sentry-schedule");
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nsentry-schedule = {{ path = {runtime:?} }}\n\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    // The workspace's lock file pins the same dependency versions and lets cargo work offline.
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock"))
        .context("copying Cargo.lock")?;
    let mut lib = String::from("//! Generated to time the `#[scheduled]` attribute.\n\n");
    for i in 0..fns {
        if attribute {
            let _ = writeln!(
                lib,
                "#[sentry_schedule::scheduled(cron = \"{} {} * * *\")]",
                i % 60,
                (i / 60) % 24
            );
        }
        let _ = writeln!(
            lib,
            "pub async fn job_{i}() -> Result<(), std::io::Error> {{\n    Ok(())\n}}\n"
        );
    }
    std::fs::write(dir.join("src/lib.rs"), lib)?;
    Ok(dir)
}

fn cargo_build(dir: &Path, target: &Path) -> anyhow::Result<Duration> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let start = Instant::now();
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--offline"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_INCREMENTAL", "0")
        .stdin(Stdio::null())
        .status()
        .context("running cargo build")?;
    let took = start.elapsed();
    if !status.success() {
        bail!("cargo build of {} failed with {status}", dir.display());
    }
    Ok(took)
}

/// Rewrites the crate's source (new mtime) so only the crate itself recompiles, and times it.
fn rebuild(dir: &Path, target: &Path) -> anyhow::Result<f64> {
    let lib = dir.join("src/lib.rs");
    let text = std::fs::read(&lib)?;
    std::fs::write(&lib, text)?;
    Ok(cargo_build(dir, target)?.as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
