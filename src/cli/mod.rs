//! The command line: argument parsing, logging set-up and one function per
//! command. This is the binary's edge, where errors become `anyhow` reports with
//! the file, feed or URL they concern.

mod alerts;
mod daemon;
mod db;
mod extract;
mod feeds;
mod inspect;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use crate::alerts::OutputFormat;
use crate::alerts::stdout_has_colour;
use crate::config::Config;
use crate::store::{SledStore, Store};
use crate::topology::{DaemonHandles, FeedControl};

/// The configuration bundled into the binary, used when `--config` is not given.
const BUNDLED_CONFIG: &str = include_str!("../../config/redline.toml");

/// redline: watch how news stories change.
#[derive(Debug, Parser)]
#[command(name = "redline", version, about)]
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
        /// Also list every stored version (number, title, hash, first seen) as `history`.
        #[arg(long)]
        history: bool,
    },
    /// Follow alerts live from the running daemon.
    Tail,
    /// Extract article text from saved HTML files.
    Extract(extract::ExtractArgs),
    /// Alerts waiting for delivery or failed for good.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Manage feeds.
    #[command(subcommand)]
    Feeds(feeds::FeedsCommand),
    /// Store statistics and integrity checks.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Extract stored versions again from their raw snapshots (after an
    /// extractor upgrade or new site rules) and rewrite the text that changed.
    Reextract(db::ReextractArgs),
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

/// Writes a command's output to stdout; a closed pipe (`| head`) is an error
/// for the caller to recognise, not a panic.
fn print_output(output: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(output.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

async fn dispatch(args: Args) -> anyhow::Result<()> {
    match &args.command {
        Command::Run(run) => daemon::run(&load_config(&args)?, &args, run).await,
        Command::Demo { format } => daemon::demo(*format, args.data_dir.as_deref()).await,
        Command::Extract(a) => extract::run(a),
        Command::CheckConfig { file } => check_config(file.as_deref().or(args.config.as_deref())),
        Command::Tail => daemon::tail(&args, &load_config(&args)?).await,
        _ => {
            let config = load_config(&args)?;
            if let Some(output) = daemon::via_api(&args, &config).await? {
                return print_output(&output);
            }
            let store = open_store(&args, &config)?;
            let mut out = std::io::stdout();
            run_on_store(
                &args.command,
                &config,
                &store,
                None,
                &mut out,
                stdout_has_colour(),
            )
            .await
        }
    }
}

impl Command {
    /// Whether the command works on the store, so that a running daemon can run
    /// it on the client's behalf.
    fn uses_store(&self) -> bool {
        !matches!(
            self,
            Command::Run(_)
                | Command::Demo { .. }
                | Command::Extract(_)
                | Command::CheckConfig { .. }
                | Command::Tail
        )
    }
}

/// Runs a store command given as its arguments (what `redline` would be given),
/// for a client of the daemon's API; returns what it printed, and its error if
/// it failed.
pub(crate) async fn run_for_client(
    argv: &[String],
    config: &Config,
    daemon: &DaemonHandles,
    color: bool,
) -> (Vec<u8>, Option<String>) {
    let args = match Args::try_parse_from(
        std::iter::once("redline".to_string()).chain(argv.iter().cloned()),
    ) {
        Ok(args) => args,
        Err(e) => return (Vec::new(), Some(e.to_string())),
    };
    if !args.command.uses_store() {
        let refused = "only commands that read or change the store run through the daemon";
        return (Vec::new(), Some(refused.to_string()));
    }
    let mut out = Vec::new();
    let store = daemon.store.as_ref();
    let result = run_on_store(
        &args.command,
        config,
        store,
        Some(&daemon.feeds),
        &mut out,
        color,
    )
    .await;
    (out, result.err().map(|e| format!("{e:#}")))
}

/// Runs a command that works on the store (reading it, or writing feeds and
/// alert queues), writing what it prints to `out`.
async fn run_on_store(
    command: &Command,
    config: &Config,
    store: &dyn Store,
    daemon: Option<&FeedControl>,
    out: &mut (dyn Write + Send),
    color: bool,
) -> anyhow::Result<()> {
    match command {
        Command::Stories(a) => inspect::stories(store, a, out),
        Command::Versions { article } => inspect::versions(store, article, out),
        Command::Show { article, version } => inspect::show(store, article, *version, out),
        Command::Diff(a) => inspect::diff(store, a, out, color),
        Command::Export {
            format: ExportFormat::Jsonl,
            with_text,
            history,
        } => {
            let options = crate::store::ExportOptions {
                with_text: *with_text,
                history: *history,
            };
            inspect::export(store, options, out)
        }
        Command::Alerts(command) => alerts::run(store, command, out),
        Command::Db(command) => db::run(store, command, out),
        Command::Reextract(a) => db::reextract(store, config, a, out),
        Command::Feeds(command) => feeds::run(command, config, store, daemon, out).await,
        Command::Run(_)
        | Command::Demo { .. }
        | Command::Extract(_)
        | Command::CheckConfig { .. }
        | Command::Tail => {
            anyhow::bail!("this command does not work on the store")
        }
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("redline={default_level},html5ever=error,warn"))
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

pub(crate) fn data_dir(args: &Args, config: &Config) -> PathBuf {
    args.data_dir
        .clone()
        .unwrap_or_else(|| config.storage.data_dir.clone())
}

fn open_store(args: &Args, config: &Config) -> anyhow::Result<SledStore> {
    let dir = data_dir(args, config);
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
