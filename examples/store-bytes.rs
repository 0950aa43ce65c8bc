//! Prints, as JSON, the entries and the key and value bytes of every tree of a
//! redline sled store: what the store holds, to compare with its size on disk
//! (`scripts/bench-e2e.sh` uses it). Open only while no daemon runs.
//!
//! `cargo run --release --example store-bytes -- DATA_DIR`

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: store-bytes DATA_DIR")?;
    let db = sled::Config::new()
        .path(&dir)
        .open()
        .with_context(|| format!("opening {dir}"))?;
    let mut trees = BTreeMap::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name)?;
        let (mut entries, mut key_bytes, mut value_bytes) = (0u64, 0u64, 0u64);
        for entry in tree.iter() {
            let (key, value) = entry?;
            entries += 1;
            key_bytes += key.len() as u64;
            value_bytes += value.len() as u64;
        }
        trees.insert(
            String::from_utf8_lossy(&name).into_owned(),
            json!({"entries": entries, "key_bytes": key_bytes, "value_bytes": value_bytes}),
        );
    }
    println!("{}", serde_json::to_string(&trees)?);
    Ok(())
}
