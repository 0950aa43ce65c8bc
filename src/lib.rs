//! redline watches how news stories change.
//!
//! The pipeline runs in stages, one module each:
//! [`feeds`] (poll and parse RSS, Atom and JSON Feed) → [`fetch`] (polite HTTP and
//! charset decoding) → [`extract`] (article title and body from HTML) → [`store`]
//! (every version of every article, sled by default) → [`diff`] (word-level diffs) →
//! [`alerts`] (JSON lines or human-readable output). [`topology`] wires the stages
//! into the long-running daemon; [`cli`] is the command line over all of it.
//! [`priority`] orders the work wherever it queues: urgent first, background last.
//!
//! Module docs link to the private parts they are made of: read them with
//! `cargo doc --document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

pub mod alerts;
pub mod api;

pub mod canonical;
pub mod changes;
pub mod cli;
pub mod config;
pub mod dedup;
pub mod demo;
pub mod diff;
pub mod extract;
pub mod feeds;
pub mod fetch;
pub mod metrics;
pub mod priority;
pub mod schedule;
pub mod store;
pub mod topics;
pub mod topology;
