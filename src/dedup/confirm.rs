//! Confirmation of candidate pairs: Jaccard and containment estimated from the
//! MinHash signatures, with the number tokens as a second, fact-bearing signal.
//!
//! Distinct stories on one topic share phrasebook wording, even whole sentences,
//! but not their facts (counts, sums, dates) nor most of their paragraphs, so shingle
//! overlap alone never makes a copy: the number and paragraph samples must agree too.

use super::fingerprint::{Fingerprint, SAMPLE_LEN, Sample};

/// Jaccard at or above which two texts are copies whatever else they say.
const JACCARD_SURE: f64 = 0.9;
/// Fewest sampled numbers or paragraphs on each side for that signal to count.
const MIN_SAMPLE: usize = 2;

/// Thresholds of one decision.
struct Rule {
    /// Shingle containment needed.
    containment: f64,
    /// Paragraph containment needed.
    paragraphs: f64,
    /// Number agreement needed.
    numbers: f64,
    /// Shingle containment that stands in for too few paragraphs.
    without_paragraphs: f64,
    /// Shingle or paragraph containment that stands in for too few numbers.
    without_numbers: f64,
}

/// Joining a story: strict (calibrated on newsfarm medium: distinct stories on one
/// topic reach a shingle containment of 0.9 and share whole paragraphs, never
/// most paragraphs and the numbers as well).
const JOIN: Rule = Rule {
    containment: 0.6,
    paragraphs: 0.7,
    numbers: 0.5,
    without_paragraphs: 0.9,
    without_numbers: 0.9,
};
/// Staying in the story an article already belongs to after its text changed:
/// looser, so that a copy's own small updates do not split the story.
const STAY: Rule = Rule {
    containment: 0.5,
    paragraphs: 0.6,
    numbers: 0.3,
    without_paragraphs: 0.8,
    without_numbers: 0.7,
};

/// How alike two fingerprints are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Estimated Jaccard similarity of the shingle sets.
    pub jaccard: f64,
    /// Estimated share of the smaller shingle set contained in the larger.
    pub containment: f64,
    /// Share of the smaller number sample found in the other (None: too few numbers).
    pub numbers: Option<f64>,
    /// Share of the smaller paragraph sample found in the other (None: too few paragraphs).
    pub paragraphs: Option<f64>,
}

/// Estimate the similarity of two fingerprints of the same version.
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> Similarity {
    let jaccard = jaccard(a, b);
    Similarity {
        jaccard,
        containment: containment(a, b, jaccard),
        numbers: agreement(&a.numbers, &b.numbers),
        paragraphs: agreement(&a.paragraphs, &b.paragraphs),
    }
}

/// Whether `b` is a copy of `a` (or `a` of `b`): the same story republished.
pub fn is_copy(a: &Fingerprint, b: &Fingerprint) -> bool {
    a.version == b.version && passes(&similarity(a, b), &JOIN)
}

/// Whether an article whose text changed is still a copy of a member of its story
/// (looser than [`is_copy`]).
pub fn is_still_copy(a: &Fingerprint, b: &Fingerprint) -> bool {
    a.version == b.version && passes(&similarity(a, b), &STAY)
}

fn passes(s: &Similarity, rule: &Rule) -> bool {
    if s.jaccard >= JACCARD_SURE {
        return true;
    }
    let paragraphs = s
        .paragraphs
        .map_or(s.containment >= rule.without_paragraphs, |p| {
            p >= rule.paragraphs
        });
    let numbers = s.numbers.map_or_else(
        || s.containment.max(s.paragraphs.unwrap_or(0.0)) >= rule.without_numbers,
        |n| n >= rule.numbers,
    );
    s.containment >= rule.containment && paragraphs && numbers
}

fn jaccard(a: &Fingerprint, b: &Fingerprint) -> f64 {
    if a.minhash.is_empty() || a.minhash.len() != b.minhash.len() {
        return 0.0;
    }
    let equal = a
        .minhash
        .iter()
        .zip(&b.minhash)
        .filter(|(x, y)| x == y)
        .count();
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

/// Share of the smaller sample found in the other, compared below the smaller full
/// sample's maximum so that both sides are the same random sample of the hash space.
fn agreement(a: &Sample, b: &Sample) -> Option<f64> {
    let cut = sample_cut(a).min(sample_cut(b));
    let sa: Vec<u32> = a.hashes.iter().copied().filter(|&x| x <= cut).collect();
    let sb: Vec<u32> = b.hashes.iter().copied().filter(|&x| x <= cut).collect();
    let smaller = sa.len().min(sb.len());
    if smaller < MIN_SAMPLE {
        return None;
    }
    let common = sa.iter().filter(|x| sb.binary_search(x).is_ok()).count();
    Some(common as f64 / smaller as f64)
}

fn sample_cut(s: &Sample) -> u32 {
    match s.hashes.last() {
        Some(&max) if s.hashes.len() >= SAMPLE_LEN => max,
        _ => u32::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(
        jaccard: f64,
        containment: f64,
        numbers: Option<f64>,
        paragraphs: Option<f64>,
    ) -> Similarity {
        Similarity {
            jaccard,
            containment,
            numbers,
            paragraphs,
        }
    }

    #[test]
    fn join_needs_paragraphs_and_numbers_to_agree() {
        assert!(passes(&sim(0.5, 0.8, Some(1.0), Some(0.8)), &JOIN));
        assert!(!passes(&sim(0.6, 0.8, Some(0.3), Some(0.8)), &JOIN));
        assert!(!passes(&sim(0.6, 0.8, Some(1.0), Some(0.4)), &JOIN));
        assert!(passes(&sim(0.95, 1.0, Some(0.0), Some(0.0)), &JOIN));
        assert!(!passes(&sim(0.5, 0.8, None, Some(0.8)), &JOIN));
        assert!(passes(&sim(0.5, 0.8, None, Some(1.0)), &JOIN));
        assert!(!passes(&sim(0.5, 0.85, Some(1.0), None), &JOIN));
    }

    #[test]
    fn staying_is_looser_than_joining() {
        let s = sim(0.4, 0.55, Some(0.4), Some(0.65));
        assert!(passes(&s, &STAY));
        assert!(!passes(&s, &JOIN));
    }

    #[test]
    fn containment_of_a_trimmed_copy() {
        let fp = |shingles| Fingerprint {
            version: 1,
            simhash: 0,
            minhash: vec![0; 4],
            shingles,
            numbers: Sample::default(),
            paragraphs: Sample::default(),
        };
        // 100 shingles all inside 200: J = 0.5, containment 1.
        assert!((containment(&fp(100), &fp(200), 0.5) - 1.0).abs() < 1e-9);
        assert_eq!(containment(&fp(0), &fp(200), 0.5), 0.0);
    }
}
