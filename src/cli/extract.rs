//! `redline extract`: run the extractor on saved HTML files.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::ValueEnum;
use serde::Serialize;
use url::Url;

use crate::extract;
use crate::fetch::charset::{self, DocKind};

#[derive(Debug, clap::Args)]
pub(super) struct ExtractArgs {
    /// HTML files, or directories of .html files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write `<stem>.txt` (text) or `<stem>.json` per page into this directory
    /// instead of printing to stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ExtractFormat::Text)]
    format: ExtractFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExtractFormat {
    /// The body, one paragraph per line.
    Text,
    /// Title, body and metadata as JSON.
    Json,
}

#[derive(Serialize)]
struct JsonPage<'a> {
    file: String,
    title: Option<&'a str>,
    canonical: Option<&'a str>,
    language: Option<&'a str>,
    byline: Option<&'a str>,
    published: Option<&'a str>,
    modified: Option<&'a str>,
    lead_image: Option<&'a str>,
    body: String,
}

/// The .html files named by `paths`, directories expanded (sorted, not recursive).
fn html_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "html" || x == "htm"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        bail!("no .html files found");
    }
    Ok(files)
}

pub(super) fn run(args: &ExtractArgs) -> anyhow::Result<()> {
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    for file in html_files(&args.paths)? {
        let bytes =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let text = charset::decode(&bytes, None, DocKind::Html, None).text;
        let base = file_url(&file);
        let page = extract::extract(&text, &base);
        let rendered = match args.format {
            ExtractFormat::Text => page.body() + "\n",
            ExtractFormat::Json => {
                let json = JsonPage {
                    file: file.display().to_string(),
                    title: page.title.as_deref(),
                    canonical: page.canonical.as_ref().map(Url::as_str),
                    language: page.language.as_deref(),
                    byline: page.byline.as_deref(),
                    published: page.published.as_deref(),
                    modified: page.modified.as_deref(),
                    lead_image: page.lead_image.as_ref().map(Url::as_str),
                    body: page.body(),
                };
                serde_json::to_string(&json)? + "\n"
            }
        };
        match &args.out {
            Some(dir) => {
                let ext = if args.format == ExtractFormat::Text {
                    "txt"
                } else {
                    "json"
                };
                let stem = file.file_stem().unwrap_or_default();
                let target = dir.join(Path::new(stem).with_extension(ext));
                std::fs::write(&target, rendered)
                    .with_context(|| format!("cannot write {}", target.display()))?;
            }
            None => stdout.write_all(rendered.as_bytes())?,
        }
    }
    Ok(())
}

/// A stand-in page URL for a local file, so relative links resolve.
fn file_url(file: &Path) -> Url {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Url::parse("http://localhost/")
        .and_then(|base| base.join(&name))
        .unwrap_or_else(|_| Url::parse("http://localhost/").expect("a valid URL"))
}
