//! The command line: argument parsing, logging set-up and one function per
//! command. This is the binary's edge, where errors become `anyhow` reports with
//! the file, feed or URL they concern.

mod alerts;
mod daemon;
mod extract;
mod feeds;
mod inspect;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use crate::alerts::OutputFormat;
use crate::config::Config;
use crate::store::SledStore;

/// The configuration bundled into the binary, used when `--config` is not given.
const BUNDLED_CONFIG: &str = include_str!("../../config/redline.toml");

/// redline: watch how news stories change.
#[derive(Debug, Parser)]
#[command(name = "redline", version, about, propagate_version = true)]
pub struct Args {
    /// Configuration file (default: the bundled config/redline.toml).
    #[arg(long, global = true, env = "REDLINE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (default: storage.data_dir from the config).
    #[arg(long, global = true, env = "REDLINE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Log format on stderr; RUST_LOG filters (default: info for run and demo, warn otherwise).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: poll feeds, store versions, print alerts on stdout.
    Run(daemon::RunArgs),
    /// Offline demo: ingest a bundled news site on loopback, edit two stories, show the alerts.
    Demo {
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// List stored articles, newest first.
    Stories(inspect::StoriesArgs),
    /// List the versions of an article.
    Versions { article: String },
    /// Print one version of an article (the latest by default).
    Show {
        article: String,
        #[arg(long)]
        version: Option<u32>,
    },
    /// Diff two versions of an article (by default the last two).
    Diff(inspect::DiffArgs),
    /// Export every stored article, one JSON object per line.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Also write each article's latest text (title, then body) as `text`.
        #[arg(long)]
        with_text: bool,
    },
    /// Extract article text from saved HTML files.
    Extract(extract::ExtractArgs),
    /// Alerts waiting for delivery or failed for good.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Manage feeds.
    #[command(subcommand)]
    Feeds(feeds::FeedsCommand),
    /// Validate a configuration file.
    CheckConfig {
        /// The file to check (default: --config, else the bundled config).
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Jsonl,
}

/// Parses the command line and runs the command.
pub fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let noisy = matches!(args.command, Command::Run(_) | Command::Demo { .. });
    init_logging(args.log_format, if noisy { "info" } else { "warn" });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(args))
}

async fn dispatch(args: Args) -> anyhow::Result<()> {
    match &args.command {
        Command::Run(run) => daemon::run(&load_config(&args)?, &args, run).await,
        Command::Demo { format } => daemon::demo(*format, args.data_dir.as_deref()).await,
        Command::Stories(a) => inspect::stories(&open_store(&args)?, a),
        Command::Versions { article } => inspect::versions(&open_store(&args)?, article),
        Command::Show { article, version } => inspect::show(&open_store(&args)?, article, *version),
        Command::Diff(a) => inspect::diff(&open_store(&args)?, a),
        Command::Export {
            format: ExportFormat::Jsonl,
            with_text,
        } => inspect::export(&open_store(&args)?, *with_text),
        Command::Extract(a) => extract::run(a),
        Command::Alerts(command) => alerts::run(&open_store(&args)?, command),
        Command::Feeds(command) => feeds::run(command, &args).await,
        Command::CheckConfig { file } => check_config(file.as_deref().or(args.config.as_deref())),
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("redline={default_level},warn"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The config from `--config`, else the bundled one.
fn load_config(args: &Args) -> anyhow::Result<Config> {
    match &args.config {
        Some(path) => Ok(Config::load(path)?),
        None => Ok(Config::parse(
            BUNDLED_CONFIG,
            Path::new("<bundled config/redline.toml>"),
        )?),
    }
}

fn data_dir(args: &Args, config: &Config) -> PathBuf {
    args.data_dir
        .clone()
        .unwrap_or_else(|| config.storage.data_dir.clone())
}

fn open_store(args: &Args) -> anyhow::Result<SledStore> {
    let config = load_config(args)?;
    let dir = data_dir(args, &config);
    Ok(SledStore::open(&dir, config.storage.cache_capacity_mb)?)
}

fn check_config(file: Option<&Path>) -> anyhow::Result<()> {
    let config = match file {
        Some(path) => Config::load(path)?,
        None => Config::parse(BUNDLED_CONFIG, Path::new("<bundled config/redline.toml>"))?,
    };
    let name = file.map_or("<bundled config/redline.toml>".to_string(), |p| {
        p.display().to_string()
    });
    println!(
        "{name}: ok ({} feeds, {} imports)",
        config.feeds.len(),
        config.imports.len()
    );
    Ok(())
}
