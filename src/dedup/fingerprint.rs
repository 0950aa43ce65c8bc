//! Frozen, versioned fingerprints of an article version's normalised body: a 64-bit
//! SimHash, a MinHash signature over word 5-shingles and a sample of number tokens.
//!
//! Fingerprints are persisted: any change to normalisation, shingling, hashing or
//! the seeds below must bump [`FINGERPRINT_VERSION`].

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use std::borrow::Cow;

use super::normalize::{for_each_paragraph, is_number};

/// Version of the fingerprint functions; stored with every fingerprint.
pub const FINGERPRINT_VERSION: u32 = 1;
/// Words per shingle.
pub const SHINGLE_WORDS: usize = 5;
/// MinHash signature length (independent hash functions).
pub const MINHASH_LEN: usize = 64;
/// Most hashes a [`Sample`] keeps (the smallest: a consistent random sample).
pub const SAMPLE_LEN: usize = 24;

const SHINGLE_SEED: u64 = 0x7265_646c_696e_6531;
const WORD_SEED: u64 = 0x7265_646c_696e_6534;
const NUMBER_SEED: u64 = 0x7265_646c_696e_6532;
const PARAGRAPH_SEED: u64 = 0x7265_646c_696e_6533;
const MINHASH_SEEDS: [u64; MINHASH_LEN] = minhash_seeds();

/// The fingerprint of one article version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// [`FINGERPRINT_VERSION`] of the functions that made it.
    pub version: u32,
    /// 64-bit SimHash of the shingles.
    pub simhash: u64,
    /// Minimum of each of [`MINHASH_LEN`] hash functions over the shingles (empty for no text).
    pub minhash: Vec<u32>,
    /// Number of distinct shingles.
    pub shingles: u32,
    /// The distinct number tokens (counts, sums, dates: the facts).
    pub numbers: Sample,
    /// The distinct normalised paragraphs (republishers keep paragraphs whole).
    pub paragraphs: Sample,
}

/// A bottom-k sample of a set of 32-bit hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// The smallest distinct hashes, sorted (at most [`SAMPLE_LEN`]).
    pub hashes: Vec<u32>,
    /// Size of the whole set (may exceed `hashes.len()`).
    pub count: u32,
}

impl Sample {
    fn of(hashes: impl Iterator<Item = u64>) -> Self {
        let mut all: Vec<u32> = hashes.map(low32).collect();
        all.sort_unstable();
        all.dedup();
        let count = u32::try_from(all.len()).unwrap_or(u32::MAX);
        all.truncate(SAMPLE_LEN);
        Self { hashes: all, count }
    }
}

/// Fingerprint an article version. The body is split into paragraphs on line breaks;
/// the title is only used when the body has no words (headlines are rewritten by
/// republishers). `language` is accepted for future per-language rules and unused in
/// version 1: every rule applies to every script.
pub fn fingerprint(title: &str, body: &str, language: Option<&str>) -> Fingerprint {
    let _ = language;
    let paragraphs: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut number_hashes = Vec::new();
    let mut word_hashes: Vec<Vec<u64>> = Vec::new();
    let mut add = |words: &[Cow<'_, str>]| {
        let numbers = words.iter().filter(|w| is_number(w));
        number_hashes.extend(numbers.map(|w| hash(w, NUMBER_SEED)));
        word_hashes.push(words.iter().map(|w| hash(w, WORD_SEED)).collect());
    };
    if for_each_paragraph(&paragraphs, &mut add) == 0 {
        for_each_paragraph(&[title], &mut add);
    }
    let numbers = Sample::of(number_hashes.into_iter());
    let paragraphs = Sample::of(word_hashes.iter().map(|p| combine(p) ^ PARAGRAPH_SEED));
    let shingles = shingle_hashes(&word_hashes);
    Fingerprint {
        version: FINGERPRINT_VERSION,
        simhash: simhash(&shingles),
        minhash: minhash(&shingles),
        shingles: u32::try_from(shingles.len()).unwrap_or(u32::MAX),
        numbers,
        paragraphs,
    }
}

/// Distinct, sorted hashes of each paragraph's word 5-shingles (a shorter
/// paragraph is one shingle).
fn shingle_hashes(paragraphs: &[Vec<u64>]) -> Vec<u64> {
    let mut out: Vec<u64> = paragraphs
        .iter()
        .flat_map(|w| w.windows(SHINGLE_WORDS.min(w.len())).map(combine))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Order-sensitive hash of a run of word hashes.
fn combine(words: &[u64]) -> u64 {
    mix(words.iter().fold(SHINGLE_SEED, |h, &w| {
        (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
    }))
}

fn hash(text: &str, seed: u64) -> u64 {
    xxh3_64_with_seed(text.as_bytes(), seed)
}

fn simhash(shingles: &[u64]) -> u64 {
    let mut votes = [0i32; 64];
    for h in shingles {
        for (bit, v) in votes.iter_mut().enumerate() {
            *v += if h >> bit & 1 == 1 { 1 } else { -1 };
        }
    }
    votes
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0)
        .fold(0, |acc, (bit, _)| acc | 1 << bit)
}

fn minhash(shingles: &[u64]) -> Vec<u32> {
    if shingles.is_empty() {
        return Vec::new();
    }
    // Multiply-shift permutations of the (already uniform) shingle hashes.
    let mut mins = [u32::MAX; MINHASH_LEN];
    for &h in shingles {
        for (m, (a, b)) in mins
            .iter_mut()
            .zip(MINHASH_SEEDS.iter().zip(MINHASH_SEEDS.iter().rev()))
        {
            *m = (*m).min(high32((a | 1).wrapping_mul(h).wrapping_add(*b)));
        }
    }
    mins.to_vec()
}

/// The murmur3 64-bit finaliser: a fixed bijective mixer.
const fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

const fn high32(x: u64) -> u32 {
    (x >> 32) as u32
}

const fn low32(x: u64) -> u32 {
    (x & 0xffff_ffff) as u32
}

const fn minhash_seeds() -> [u64; MINHASH_LEN] {
    let mut seeds = [0u64; MINHASH_LEN];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut i = 0;
    while i < MINHASH_LEN {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        seeds[i] = mix(state);
        i += 1;
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_values_do_not_drift() {
        let fp = fingerprint(
            "",
            "KYIV (Reuters) - Talks resumed in Riyadh on Monday after 12 days.",
            None,
        );
        assert_eq!(fp.version, 1);
        assert_eq!(fp.shingles, 5);
        assert_eq!(fp.numbers.count, 1);
        assert_eq!(fp.paragraphs.count, 1);
        assert_eq!(fp.simhash, 0xcf33_6676_4db2_6d99);
        assert_eq!(fp.minhash[..3], [1_137_052_876, 305_197_610, 445_571_756]);
        assert_eq!(fp.numbers.hashes, vec![3_008_919_389]);
        assert_eq!(fp.paragraphs.hashes, vec![986_716_147]);
    }

    #[test]
    fn empty_text_gives_an_empty_signature() {
        let fp = fingerprint("", "", Some("en"));
        assert!(fp.minhash.is_empty());
        assert_eq!(fp.shingles, 0);
    }

    #[test]
    fn title_is_used_only_without_a_body() {
        let a = fingerprint(
            "One headline here",
            "Same body text for both of them.",
            None,
        );
        let b = fingerprint("Other headline", "Same body text for both of them.", None);
        assert_eq!(a, b);
        assert_ne!(
            fingerprint("One headline", "", None),
            fingerprint("Other", "", None)
        );
    }
}
