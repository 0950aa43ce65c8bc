//! Stories: clusters of articles that are copies of one another, updated
//! incrementally as articles arrive and change.
//!
//! An article joins the cluster holding most of its confirmed copies; after its
//! text changes it stays while any member still confirms it under the looser
//! [`is_still_copy`] rule, and otherwise leaves (for another story or its own). Clusters never
//! merge, so sibling stories cannot be chained together by one ambiguous article.
//! Persistence: one [`StoredFingerprint`] per article, rebuilt with [`Clusters::load`].
//!
//! Memory: only the fingerprints of the articles that changed most recently stay
//! resident (a set number of them); wire copies appear within hours of one
//! another, so older articles are matched no more. The caller
//! [`Clusters::restore`]s an article from its stored record when it changes again.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::confirm::{is_copy, is_still_copy};
use super::fingerprint::{FINGERPRINT_VERSION, Fingerprint, Sample};
use super::index::Index;

/// Errors of the dedup records.
#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    /// A stored record could not be decoded.
    #[error("undecodable dedup record: {0}")]
    Decode(#[from] serde_json::Error),
    /// A stored binary record is damaged.
    #[error("undecodable dedup record: {0}")]
    Malformed(&'static str),
    /// More articles than the index can number.
    #[error("too many articles for the dedup index")]
    Full,
}

/// The record to persist per article after every [`Clusters::assign`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFingerprint {
    /// The fingerprint of the article's current version.
    pub fingerprint: Fingerprint,
    /// The article's cluster id.
    pub cluster: String,
    /// When the article's text last changed (Unix seconds): the most recent stay resident.
    #[serde(default)]
    pub changed: i64,
}

/// The first byte of a record in the binary encoding (a JSON record starts with `{`).
const BINARY_TAG: u8 = 1;

impl StoredFingerprint {
    /// Encode for storage: a tag byte (1), then the fields little-endian in
    /// their order (fingerprint version, SimHash, shingle count, MinHash,
    /// numbers, paragraphs, change time, cluster id), each list as a `u16`
    /// length and its items, each sample with its set size first. About 400
    /// bytes where the JSON of earlier releases took about 860.
    pub fn to_bytes(&self) -> Vec<u8> {
        let fp = &self.fingerprint;
        let mut out = Vec::with_capacity(
            40 + 4 * (fp.minhash.len() + fp.numbers.hashes.len() + fp.paragraphs.hashes.len())
                + self.cluster.len(),
        );
        out.push(BINARY_TAG);
        out.extend_from_slice(&fp.version.to_le_bytes());
        out.extend_from_slice(&fp.simhash.to_le_bytes());
        out.extend_from_slice(&fp.shingles.to_le_bytes());
        put_hashes(&mut out, &fp.minhash);
        for sample in [&fp.numbers, &fp.paragraphs] {
            out.extend_from_slice(&sample.count.to_le_bytes());
            put_hashes(&mut out, &sample.hashes);
        }
        out.extend_from_slice(&self.changed.to_le_bytes());
        put_len(&mut out, self.cluster.len());
        out.extend_from_slice(self.cluster.as_bytes());
        out
    }

    /// Decode a stored record: the binary encoding, or the JSON of earlier releases.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DedupError> {
        match bytes.split_first() {
            Some((&BINARY_TAG, rest)) => Self::from_binary(&mut Reader(rest)),
            _ => Ok(serde_json::from_slice(bytes)?),
        }
    }

    fn from_binary(r: &mut Reader<'_>) -> Result<Self, DedupError> {
        let version = u32::from_le_bytes(r.take()?);
        let simhash = u64::from_le_bytes(r.take()?);
        let shingles = u32::from_le_bytes(r.take()?);
        let minhash = r.hashes()?;
        let mut sample = || -> Result<Sample, DedupError> {
            let count = u32::from_le_bytes(r.take()?);
            Ok(Sample {
                hashes: r.hashes()?,
                count,
            })
        };
        let (numbers, paragraphs) = (sample()?, sample()?);
        let changed = i64::from_le_bytes(r.take()?);
        let len = u16::from_le_bytes(r.take()?) as usize;
        let cluster = std::str::from_utf8(r.bytes(len)?)
            .map_err(|_| DedupError::Malformed("cluster id is not UTF-8"))?
            .to_string();
        if !r.0.is_empty() {
            return Err(DedupError::Malformed("bytes after the record"));
        }
        Ok(StoredFingerprint {
            fingerprint: Fingerprint {
                version,
                simhash,
                minhash,
                shingles,
                numbers,
                paragraphs,
            },
            cluster,
            changed,
        })
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    let len = u16::try_from(len).expect("fingerprint lists and cluster ids are short");
    out.extend_from_slice(&len.to_le_bytes());
}

fn put_hashes(out: &mut Vec<u8>, hashes: &[u32]) {
    put_len(out, hashes.len());
    for hash in hashes {
        out.extend_from_slice(&hash.to_le_bytes());
    }
}

/// The unread rest of a binary record.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DedupError> {
        if self.0.len() < n {
            return Err(DedupError::Malformed("record cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], DedupError> {
        Ok(self.bytes(N)?.try_into().expect("N bytes"))
    }

    fn hashes(&mut self) -> Result<Vec<u32>, DedupError> {
        let len = u16::from_le_bytes(self.take()?) as usize;
        let bytes = self.bytes(4 * len)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }
}

/// Where [`Clusters::assign`] put an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAssignment {
    /// The article's cluster id ("s" + 12 hex digits).
    pub cluster: String,
    /// The other members of the cluster, sorted.
    pub copies_of: Vec<String>,
    /// Whether the article is new or moved to another cluster.
    pub changed: bool,
}

/// Clusters rebuilt from storage, and the articles whose fingerprints are from
/// another [`FINGERPRINT_VERSION`]: fingerprint their stored text again and
/// [`Clusters::assign`] them.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The rebuilt clusters.
    pub clusters: Clusters,
    /// Article ids to fingerprint again.
    pub stale: Vec<String>,
}

/// Rebuilds [`Clusters`] from records read one by one, holding no more than the
/// resident ones at any time.
#[derive(Debug)]
pub struct Loader {
    resident: usize,
    newest: BinaryHeap<Reverse<Resident>>,
    stale: Vec<String>,
}

/// A record kept while loading, ordered by when it changed.
#[derive(Debug)]
struct Resident {
    id: String,
    record: StoredFingerprint,
}

impl Ord for Resident {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.record.changed, &self.id).cmp(&(other.record.changed, &other.id))
    }
}

impl PartialOrd for Resident {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Resident {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Resident {}

impl Loader {
    /// Keeps the `resident` most recently changed articles.
    pub fn new(resident: usize) -> Loader {
        Loader {
            resident: resident.max(1),
            newest: BinaryHeap::new(),
            stale: Vec::new(),
        }
    }

    /// One stored record.
    pub fn add(&mut self, id: String, record: StoredFingerprint) {
        if record.fingerprint.version != FINGERPRINT_VERSION {
            self.stale.push(id);
            return;
        }
        self.newest.push(Reverse(Resident { id, record }));
        if self.newest.len() > self.resident {
            self.newest.pop();
        }
    }

    /// The clusters of the resident articles.
    pub fn finish(self) -> Result<Loaded, DedupError> {
        let mut clusters = Clusters::with_resident(self.resident);
        // Oldest first, so that the placement order follows the changes.
        for Reverse(Resident { id, record }) in self.newest.into_sorted_vec().into_iter().rev() {
            clusters.attach(&id, record.fingerprint, record.cluster, record.changed)?;
        }
        Ok(Loaded {
            clusters,
            stale: self.stale,
        })
    }
}

/// Resident articles at most, by default.
pub const DEFAULT_RESIDENT: usize = 20_000;

#[derive(Debug)]
struct Member {
    id: String,
    fingerprint: Fingerprint,
    cluster: String,
    /// When its text last changed, then the order it was placed in.
    recency: (i64, u64),
}

/// Story clusters over the resident articles.
#[derive(Debug)]
pub struct Clusters {
    index: Index,
    slots: HashMap<String, u32>,
    members: Vec<Option<Member>>,
    /// Slots freed by evictions, reused first.
    free: Vec<u32>,
    clusters: HashMap<String, BTreeSet<u32>>,
    resident: usize,
    len: usize,
    placed: u64,
}

impl Default for Clusters {
    fn default() -> Self {
        Self::with_resident(DEFAULT_RESIDENT)
    }
}

impl Clusters {
    /// No articles yet; at most [`DEFAULT_RESIDENT`] kept in memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// No articles yet; at most `resident` kept in memory (at least 1).
    pub fn with_resident(resident: usize) -> Self {
        Self {
            index: Index::new(),
            slots: HashMap::new(),
            members: Vec::new(),
            free: Vec::new(),
            clusters: HashMap::new(),
            resident: resident.max(1),
            len: 0,
            placed: 0,
        }
    }

    /// Rebuild from stored records (any order), keeping the `resident` most
    /// recently changed.
    pub fn load(
        records: impl IntoIterator<Item = (String, StoredFingerprint)>,
        resident: usize,
    ) -> Result<Loaded, DedupError> {
        let mut loader = Loader::new(resident);
        records.into_iter().for_each(|(id, r)| loader.add(id, r));
        loader.finish()
    }

    /// Put back an article that was not resident, from its stored record, as
    /// the most recent one (it is restored because it is changing).
    pub fn restore(
        &mut self,
        article_id: &str,
        record: StoredFingerprint,
    ) -> Result<(), DedupError> {
        if record.fingerprint.version != FINGERPRINT_VERSION || self.member(article_id).is_some() {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp();
        self.attach(article_id, record.fingerprint, record.cluster, now)
    }

    /// Place an article that arrived or whose text changed.
    pub fn assign(
        &mut self,
        article_id: &str,
        fp: &Fingerprint,
    ) -> Result<ClusterAssignment, DedupError> {
        let previous = self.detach_if_changed(article_id, fp);
        let old = match previous {
            Previous::Same(cluster) => return Ok(self.assignment(article_id, cluster, false)),
            Previous::Left(old) => old,
            Previous::New => None,
        };
        let cluster = self.choose(article_id, fp, old.as_deref());
        let now = chrono::Utc::now().timestamp();
        self.attach(article_id, fp.clone(), cluster.clone(), now)?;
        let changed = old.as_deref() != Some(cluster.as_str());
        Ok(self.assignment(article_id, cluster, changed))
    }

    /// Forget an article; returns the cluster it left.
    pub fn remove(&mut self, article_id: &str) -> Option<String> {
        let slot = *self.slots.get(article_id)?;
        let member = self.members.get_mut(slot as usize)?.take()?;
        self.len -= 1;
        self.index.remove(slot, &member.fingerprint);
        self.leave(slot, &member.cluster);
        Some(member.cluster)
    }

    /// Articles whose current text is nearly this one (an edit of it, by
    /// [`is_still_copy`]), identical ones included.
    pub fn similar(&self, fp: &Fingerprint) -> Vec<String> {
        self.index
            .candidates(fp)
            .into_iter()
            .filter_map(|s| self.members.get(s as usize)?.as_ref())
            .filter(|m| is_still_copy(fp, &m.fingerprint))
            .map(|m| m.id.clone())
            .collect()
    }

    /// The article's cluster id.
    pub fn cluster_of(&self, article_id: &str) -> Option<&str> {
        self.member(article_id).map(|m| m.cluster.as_str())
    }

    /// The record to persist for an article.
    pub fn stored(&self, article_id: &str) -> Option<StoredFingerprint> {
        self.member(article_id).map(|m| StoredFingerprint {
            fingerprint: m.fingerprint.clone(),
            cluster: m.cluster.clone(),
            changed: m.recency.0,
        })
    }

    /// Number of resident articles.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no articles.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate heap bytes of the candidate index alone.
    pub fn index_bytes(&self) -> usize {
        self.index.heap_bytes()
    }

    fn member(&self, article_id: &str) -> Option<&Member> {
        let slot = *self.slots.get(article_id)?;
        self.members.get(slot as usize)?.as_ref()
    }

    fn detach_if_changed(&mut self, article_id: &str, fp: &Fingerprint) -> Previous {
        match self.member(article_id) {
            None => Previous::New,
            Some(m) if m.fingerprint == *fp => Previous::Same(m.cluster.clone()),
            Some(_) => Previous::Left(self.remove(article_id)),
        }
    }

    /// The cluster with the most confirmed copies; the old cluster if it still confirms.
    fn choose(&self, article_id: &str, fp: &Fingerprint, old: Option<&str>) -> String {
        let candidates: Vec<&Member> = self
            .index
            .candidates(fp)
            .into_iter()
            .filter_map(|s| self.members.get(s as usize)?.as_ref())
            .collect();
        let stays = |o: &&str| {
            candidates
                .iter()
                .any(|m| m.cluster == *o && is_still_copy(fp, &m.fingerprint))
        };
        if let Some(old) = old.filter(stays) {
            return old.to_string();
        }
        let mut votes: HashMap<&str, usize> = HashMap::new();
        for m in candidates.iter().filter(|m| is_copy(fp, &m.fingerprint)) {
            *votes.entry(m.cluster.as_str()).or_default() += 1;
        }
        let best = votes
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)));
        match (best, old) {
            (Some((cluster, _)), _) => cluster.to_string(),
            // It was alone in its story: the story keeps its id.
            (None, Some(old)) if !self.clusters.contains_key(old) => old.to_string(),
            (None, _) => self.new_cluster_id(article_id, fp),
        }
    }

    fn new_cluster_id(&self, article_id: &str, fp: &Fingerprint) -> String {
        (0u64..)
            .map(|salt| {
                let h = xxh3_64_with_seed(article_id.as_bytes(), fp.simhash ^ salt);
                format!("s{:012x}", h >> 16)
            })
            .find(|id| !self.clusters.contains_key(id))
            .unwrap_or_default()
    }

    fn attach(
        &mut self,
        article_id: &str,
        fingerprint: Fingerprint,
        cluster: String,
        changed: i64,
    ) -> Result<(), DedupError> {
        self.remove(article_id);
        let slot = match self.slots.get(article_id) {
            Some(&slot) => slot,
            None => self.new_slot(article_id)?,
        };
        self.index.insert(slot, &fingerprint);
        self.clusters
            .entry(cluster.clone())
            .or_default()
            .insert(slot);
        self.members[slot as usize] = Some(Member {
            id: article_id.to_string(),
            fingerprint,
            cluster,
            recency: (changed, self.placed),
        });
        self.placed += 1;
        self.len += 1;
        if self.len > self.resident + self.resident / 8 {
            self.evict(self.len - self.resident);
        }
        Ok(())
    }

    fn new_slot(&mut self, article_id: &str) -> Result<u32, DedupError> {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(self.members.len()).map_err(|_| DedupError::Full)?;
                self.members.push(None);
                slot
            }
        };
        self.slots.insert(article_id.to_string(), slot);
        Ok(slot)
    }

    /// Drops the `count` least recently changed articles from memory (batched, so
    /// that the scan is paid once per `resident / 8` arrivals).
    fn evict(&mut self, count: usize) {
        let mut ages: Vec<((i64, u64), u32)> = self
            .members
            .iter()
            .enumerate()
            .filter_map(|(slot, m)| Some((m.as_ref()?.recency, slot as u32)))
            .collect();
        if count < ages.len() {
            ages.select_nth_unstable(count);
        }
        for &(_, slot) in ages.iter().take(count) {
            let Some(id) = self.members[slot as usize].as_ref().map(|m| m.id.clone()) else {
                continue;
            };
            self.remove(&id);
            self.slots.remove(&id);
            self.free.push(slot);
        }
    }

    fn leave(&mut self, slot: u32, cluster: &str) {
        if let Some(set) = self.clusters.get_mut(cluster) {
            set.remove(&slot);
            if set.is_empty() {
                self.clusters.remove(cluster);
            }
        }
    }

    fn assignment(&self, article_id: &str, cluster: String, changed: bool) -> ClusterAssignment {
        let copies_of = self
            .clusters
            .get(&cluster)
            .into_iter()
            .flatten()
            .filter_map(|&s| self.members.get(s as usize)?.as_ref())
            .map(|m| m.id.clone())
            .filter(|id| id != article_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        ClusterAssignment {
            cluster,
            copies_of,
            changed,
        }
    }
}

enum Previous {
    New,
    Same(String),
    Left(Option<String>),
}
