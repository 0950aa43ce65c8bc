//! In-memory candidate index: MinHash-LSH band tables.
//!
//! Each of [`BANDS`] bands hashes [`ROWS`] MinHash values to a 32-bit key. A band
//! table is a sorted array of `key << 32 | id` (8 bytes per article per band) plus a
//! small hash-map delta for recent inserts, merged in when it grows; removals are
//! tombstones until the next merge. Two texts with Jaccard J share at least one band
//! with probability 1 − (1 − J^ROWS)^BANDS. The index is not persisted: it is rebuilt
//! from the stored fingerprints on start.

use std::collections::{HashMap, HashSet};

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::fingerprint::{Fingerprint, MINHASH_LEN};

/// Number of band tables.
pub const BANDS: usize = 9;
/// MinHash values per band.
pub const ROWS: usize = 2;
/// Delta entries (all bands) always allowed before a merge.
const MIN_DELTA: usize = 4096;
/// Merge once the delta exceeds 1/DELTA_SHARE of the sorted entries.
const DELTA_SHARE: usize = 32;

const _: () = assert!(BANDS * ROWS <= MINHASH_LEN);

/// Candidate index over article slots (`u32` ids chosen by the caller).
#[derive(Debug, Default)]
pub struct Index {
    sorted: Vec<Vec<u64>>,
    delta: Vec<HashMap<u32, Vec<u32>>>,
    delta_len: usize,
    removed: HashSet<u32>,
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self {
            sorted: vec![Vec::new(); BANDS],
            delta: vec![HashMap::new(); BANDS],
            ..Self::default()
        }
    }

    /// Add `id` under the bands of `fp` (a fingerprint without text is not indexed).
    pub fn insert(&mut self, id: u32, fp: &Fingerprint) {
        for (band, key) in band_keys(fp).into_iter().enumerate() {
            self.delta[band].entry(key).or_default().push(id);
            self.delta_len += 1;
        }
        if self.delta_len > MIN_DELTA.max(self.sorted_len() / DELTA_SHARE) {
            self.merge();
        }
    }

    /// Remove `id`, which was inserted with `fp`.
    pub fn remove(&mut self, id: u32, fp: &Fingerprint) {
        for (band, key) in band_keys(fp).into_iter().enumerate() {
            if let Some(ids) = self.delta[band].get_mut(&key) {
                let before = ids.len();
                ids.retain(|&x| x != id);
                self.delta_len -= before - ids.len();
            }
        }
        self.removed.insert(id);
    }

    /// Ids sharing at least one band with `fp`, sorted and distinct.
    pub fn candidates(&self, fp: &Fingerprint) -> Vec<u32> {
        let mut out = Vec::new();
        for (band, key) in band_keys(fp).into_iter().enumerate() {
            let table = &self.sorted[band];
            let lo = entry(key, 0);
            let start = table.partition_point(|&e| e < lo);
            let hits = table[start..]
                .iter()
                .take_while(|&&e| e >> 32 == u64::from(key));
            out.extend(
                hits.map(|&e| low32(e))
                    .filter(|id| !self.removed.contains(id)),
            );
            out.extend(self.delta[band].get(&key).into_iter().flatten());
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Approximate heap bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        let sorted: usize = self.sorted.iter().map(|t| t.capacity() * 8).sum();
        let delta: usize = self
            .delta
            .iter()
            .flat_map(|m| m.values())
            .map(|ids| 4 * ids.capacity() + 40)
            .sum();
        sorted + delta + self.removed.capacity() * 5
    }

    fn sorted_len(&self) -> usize {
        self.sorted.iter().map(Vec::len).sum()
    }

    /// Fold the delta into the sorted tables and drop tombstoned entries.
    fn merge(&mut self) {
        let removed = std::mem::take(&mut self.removed);
        for (table, delta) in self.sorted.iter_mut().zip(&mut self.delta) {
            let mut fresh: Vec<u64> = delta
                .drain()
                .flat_map(|(key, ids)| ids.into_iter().map(move |id| entry(key, id)))
                .collect();
            fresh.sort_unstable();
            *table = merge_band(std::mem::take(table), fresh, &removed);
        }
        self.delta_len = 0;
    }
}

/// Linear merge of two sorted tables into one of exact capacity, without `removed` ids.
fn merge_band(old: Vec<u64>, fresh: Vec<u64>, removed: &HashSet<u32>) -> Vec<u64> {
    let live = |e: &u64| removed.is_empty() || !removed.contains(&low32(*e));
    let mut merged = Vec::with_capacity(old.len() + fresh.len());
    let mut fresh = fresh.into_iter().peekable();
    for e in old.into_iter().filter(live) {
        while let Some(f) = fresh.next_if(|&f| f < e) {
            merged.push(f);
        }
        merged.push(e);
    }
    merged.extend(fresh);
    merged.shrink_to_fit();
    merged
}

const fn entry(key: u32, id: u32) -> u64 {
    (key as u64) << 32 | id as u64
}

/// One 32-bit key per band (none for a fingerprint without text).
fn band_keys(fp: &Fingerprint) -> Vec<u32> {
    if fp.minhash.len() < BANDS * ROWS {
        return Vec::new();
    }
    fp.minhash
        .chunks_exact(ROWS)
        .take(BANDS)
        .enumerate()
        .map(|(band, rows)| {
            let bytes: Vec<u8> = rows.iter().flat_map(|r| r.to_le_bytes()).collect();
            low32(xxh3_64_with_seed(&bytes, band as u64))
        })
        .collect()
}

const fn low32(x: u64) -> u32 {
    (x & 0xffff_ffff) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::fingerprint::fingerprint;

    fn fp(text: &str) -> Fingerprint {
        fingerprint("", text, None)
    }

    const TEXT: &str =
        "Delegations met in Riyadh on Monday for a second round of talks on a ceasefire.";

    #[test]
    fn finds_inserted_and_forgets_removed() {
        let mut index = Index::new();
        let a = fp(TEXT);
        index.insert(7, &a);
        index.insert(
            8,
            &fp("Completely different words about football scores and weather."),
        );
        assert_eq!(index.candidates(&a), vec![7]);
        index.remove(7, &a);
        assert!(index.candidates(&a).is_empty());
        index.insert(7, &a);
        assert_eq!(index.candidates(&a), vec![7]);
    }

    #[test]
    fn removal_survives_merges() {
        let mut index = Index::new();
        let fps: Vec<Fingerprint> = (0..600)
            .map(|i| fp(&format!("{TEXT} Item {i} of many.")))
            .collect();
        for (i, f) in fps.iter().enumerate() {
            index.insert(i as u32, f);
        }
        index.remove(3, &fps[3]);
        index.merge();
        assert!(!index.candidates(&fps[3]).contains(&3));
        assert!(index.candidates(&fps[4]).contains(&4));
        assert_eq!(index.heap_bytes(), 599 * BANDS * 8);
    }

    #[test]
    fn empty_fingerprints_have_no_candidates() {
        let mut index = Index::new();
        index.insert(1, &fp(""));
        assert!(index.candidates(&fp("")).is_empty());
    }
}
