//! Confirmation of candidate pairs: Jaccard and containment estimated from the
//! MinHash signatures, with the number tokens as a second, fact-bearing signal.
//!
//! Distinct stories on one topic share phrasebook wording but not their facts
//! (counts, sums, dates), so shingle overlap alone never makes a copy when the
//! numbers disagree.

use super::fingerprint::{Fingerprint, MAX_NUMBERS};

/// Jaccard at or above which two texts are copies whatever their numbers say.
const JACCARD_SURE: f64 = 0.9;
/// Containment needed when the numbers agree.
const CONTAINMENT_WITH_NUMBERS: f64 = 0.5;
/// Share of the smaller number sample that must be found in the other.
const NUMBERS_AGREE: f64 = 0.75;
/// Containment needed when there are too few numbers to compare.
const CONTAINMENT_WITHOUT_NUMBERS: f64 = 0.7;
/// Fewest sampled numbers on each side for the number signal to count.
const MIN_NUMBERS: usize = 2;

/// How alike two fingerprints are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Estimated Jaccard similarity of the shingle sets.
    pub jaccard: f64,
    /// Estimated share of the smaller shingle set contained in the larger.
    pub containment: f64,
    /// Share of the smaller number sample found in the other (None: too few numbers).
    pub numbers: Option<f64>,
}

/// Estimate the similarity of two fingerprints of the same version.
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> Similarity {
    let jaccard = jaccard(a, b);
    Similarity { jaccard, containment: containment(a, b, jaccard), numbers: numbers(a, b) }
}

/// Whether `b` is a copy of `a` (or `a` of `b`): the same story republished.
pub fn is_copy(a: &Fingerprint, b: &Fingerprint) -> bool {
    a.version == b.version && decide(&similarity(a, b))
}

/// The decision rule over a [`Similarity`].
pub fn decide(s: &Similarity) -> bool {
    if s.jaccard >= JACCARD_SURE {
        return true;
    }
    match s.numbers {
        Some(n) => s.containment >= CONTAINMENT_WITH_NUMBERS && n >= NUMBERS_AGREE,
        None => s.containment >= CONTAINMENT_WITHOUT_NUMBERS,
    }
}

fn jaccard(a: &Fingerprint, b: &Fingerprint) -> f64 {
    if a.minhash.is_empty() || a.minhash.len() != b.minhash.len() {
        return 0.0;
    }
    let equal = a.minhash.iter().zip(&b.minhash).filter(|(x, y)| x == y).count();
    equal as f64 / a.minhash.len() as f64
}

/// |A∩B| = J(|A|+|B|)/(1+J), divided by the smaller set's size.
fn containment(a: &Fingerprint, b: &Fingerprint, jaccard: f64) -> f64 {
    let smaller = a.shingles.min(b.shingles);
    if smaller == 0 {
        return 0.0;
    }
    let common = jaccard * f64::from(a.shingles) + jaccard * f64::from(b.shingles);
    (common / (1.0 + jaccard) / f64::from(smaller)).min(1.0)
}

/// Agreement of the number samples, compared below the smaller full sample's maximum
/// so that both sides are the same random sample of the number universe.
fn numbers(a: &Fingerprint, b: &Fingerprint) -> Option<f64> {
    let cut = sample_cut(a).min(sample_cut(b));
    let sa: Vec<u32> = a.numbers.iter().copied().filter(|&x| x <= cut).collect();
    let sb: Vec<u32> = b.numbers.iter().copied().filter(|&x| x <= cut).collect();
    let smaller = sa.len().min(sb.len());
    if smaller < MIN_NUMBERS {
        return None;
    }
    let common = sa.iter().filter(|x| sb.binary_search(x).is_ok()).count();
    Some(common as f64 / smaller as f64)
}

fn sample_cut(fp: &Fingerprint) -> u32 {
    match fp.numbers.last() {
        Some(&max) if fp.numbers.len() >= MAX_NUMBERS => max,
        _ => u32::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(jaccard: f64, containment: f64, numbers: Option<f64>) -> Similarity {
        Similarity { jaccard, containment, numbers }
    }

    #[test]
    fn rule_needs_numbers_to_agree() {
        assert!(decide(&sim(0.5, 0.8, Some(1.0))));
        assert!(!decide(&sim(0.6, 0.8, Some(0.3))));
        assert!(decide(&sim(0.95, 1.0, Some(0.0))));
        assert!(!decide(&sim(0.4, 0.6, None)));
        assert!(decide(&sim(0.6, 0.8, None)));
    }

    #[test]
    fn containment_of_a_trimmed_copy() {
        let fp = |shingles| Fingerprint {
            version: 1,
            simhash: 0,
            minhash: vec![0; 4],
            shingles,
            numbers: vec![],
            number_count: 0,
        };
        // 100 shingles all inside 200: J = 0.5, containment 1.
        assert!((containment(&fp(100), &fp(200), 0.5) - 1.0).abs() < 1e-9);
        assert_eq!(containment(&fp(0), &fp(200), 0.5), 0.0);
    }
}
