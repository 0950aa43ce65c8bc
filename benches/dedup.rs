//! Dedup cost: fingerprinting per article, candidate lookup plus confirmation with
//! 1,000,000 stored fingerprints, and index bytes per article. A baseline in the same
//! run (splitting the text into words) lets the figures be quoted as ratios.
//!
//! `cargo bench --bench dedup` (env DEDUP_BENCH_N: stored articles, default 1,000,000).
//! Texts are synthetic: 8–12 paragraphs of 2–3 sentences drawn from a Zipf-like
//! 30,000-word vocabulary with numbers, about 2,500 characters like a wire story.

use std::hint::black_box;
use std::time::Instant;

use redline::dedup::{Fingerprint, Index, fingerprint, is_copy};
use unicode_segmentation::UnicodeSegmentation;

const QUERIES: usize = 10_000;

/// splitmix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn vocabulary(rng: &mut Rng) -> Vec<String> {
    const SYL: [&str; 24] = [
        "ka", "ro", "mi", "sta", "ne", "vo", "li", "tra", "de", "po", "ur", "en", "al", "si", "ko",
        "ma", "ter", "ban", "gu", "ol", "re", "ti", "za", "on",
    ];
    (0..30_000)
        .map(|_| {
            (0..1 + rng.below(3))
                .map(|_| SYL[rng.below(24) as usize])
                .collect()
        })
        .collect()
}

/// A Zipf-like word: rank ≈ V^u.
fn word<'a>(vocab: &'a [String], rng: &mut Rng) -> &'a str {
    let rank = (vocab.len() as f64).powf(rng.unit()) as usize;
    &vocab[rank.saturating_sub(1).min(vocab.len() - 1)]
}

fn sentence(vocab: &[String], rng: &mut Rng) -> String {
    let n = 12 + rng.below(14);
    let words: Vec<String> = (0..n)
        .map(|_| {
            if rng.below(25) == 0 {
                rng.below(2000).to_string()
            } else {
                word(vocab, rng).to_string()
            }
        })
        .collect();
    let mut s = words.join(" ");
    s.push('.');
    s[..1].to_uppercase() + &s[1..]
}

fn article(vocab: &[String], rng: &mut Rng) -> Vec<String> {
    (0..8 + rng.below(5))
        .map(|_| {
            (0..2 + rng.below(2))
                .map(|_| sentence(vocab, rng))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// A wire copy: dateline prefix, a local intro, the last paragraph cut.
fn copy_of(paragraphs: &[String], vocab: &[String], rng: &mut Rng) -> Vec<String> {
    let mut out = vec![sentence(vocab, rng)];
    out.extend(paragraphs[..paragraphs.len() - 1].iter().cloned());
    out[1] = format!("LONDON (Reuters) - {}", out[1]);
    out
}

fn per_item_micros(start: Instant, n: usize) -> f64 {
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("DEDUP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = Rng(42);
    let vocab = vocabulary(&mut rng);
    let sample: Vec<String> = (0..2_000)
        .map(|_| article(&vocab, &mut rng).join("\n"))
        .collect();
    let chars = sample.iter().map(|t| t.chars().count()).sum::<usize>() / sample.len();

    let start = Instant::now();
    let words: usize = sample
        .iter()
        .map(|t| black_box(t.unicode_words().count()))
        .sum();
    let baseline = per_item_micros(start, sample.len());
    let start = Instant::now();
    sample
        .iter()
        .for_each(|t| drop(black_box(fingerprint("", t, Some("en")))));
    let fp_cost = per_item_micros(start, sample.len());
    println!(
        "texts: {chars} chars, {} words on average",
        words / sample.len()
    );
    println!("baseline (split into words): {baseline:.2} µs/article");
    println!(
        "fingerprint: {fp_cost:.2} µs/article ({:.1}× baseline)",
        fp_cost / baseline
    );

    let (stored, index, originals) = build(n, &vocab, &mut rng);
    let index_bytes = index.heap_bytes() as f64 / n as f64;
    let fp_bytes = serde_json::to_vec(&stored[0]).map_or(0, |v| v.len());
    println!(
        "index: {index_bytes:.1} bytes/article at {n} articles; stored fingerprint {fp_bytes} bytes as JSON"
    );

    let queries = queries(&originals, &vocab, &mut rng);
    let start = Instant::now();
    let (found, candidates) = lookup_all(&index, &stored, &queries);
    let lookup = per_item_micros(start, queries.len());
    println!(
        "lookup + confirmation: {lookup:.2} µs/article ({:.1}× baseline), {:.2} candidates/lookup, \
         planted copies found {found}/{}",
        lookup / baseline,
        candidates as f64 / queries.len() as f64,
        queries.len() / 2
    );
    println!("fingerprint + lookup: {:.2} µs/article", fp_cost + lookup);
}

/// Store `n` fingerprints; keep the text of the first QUERIES/2 to plant copies.
fn build(n: usize, vocab: &[String], rng: &mut Rng) -> (Vec<Fingerprint>, Index, Vec<Vec<String>>) {
    let start = Instant::now();
    let mut index = Index::new();
    let mut stored = Vec::with_capacity(n);
    let mut originals = Vec::new();
    for id in 0..n {
        let text = article(vocab, rng);
        let fp = fingerprint("", &text.join("\n"), None);
        index.insert(id as u32, &fp);
        stored.push(fp);
        if originals.len() < QUERIES / 2 {
            originals.push(text);
        }
    }
    println!(
        "built {n} fingerprints and the index in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    (stored, index, originals)
}

/// Half planted copies of stored articles, half new articles.
fn queries(originals: &[Vec<String>], vocab: &[String], rng: &mut Rng) -> Vec<Fingerprint> {
    let mut out: Vec<Fingerprint> = originals
        .iter()
        .map(|o| fingerprint("", &copy_of(o, vocab, rng).join("\n"), None))
        .collect();
    out.extend((0..QUERIES / 2).map(|_| fingerprint("", &article(vocab, rng).join("\n"), None)));
    out
}

fn lookup_all(index: &Index, stored: &[Fingerprint], queries: &[Fingerprint]) -> (usize, usize) {
    let mut found = 0;
    let mut candidates = 0;
    for (q, fp) in queries.iter().enumerate() {
        let cands = index.candidates(fp);
        candidates += cands.len();
        let hits: Vec<u32> = cands
            .into_iter()
            .filter(|&c| is_copy(fp, &stored[c as usize]))
            .collect();
        found += usize::from(q < QUERIES / 2 && hits.contains(&(q as u32)));
    }
    (found, candidates)
}
