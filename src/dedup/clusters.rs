//! Stories: clusters of articles that are copies of one another, updated
//! incrementally as articles arrive and change.
//!
//! An article joins the cluster holding most of its confirmed copies; after its
//! text changes it stays while any member still confirms it under the looser
//! [`is_still_copy`] rule, and otherwise leaves (for another story or its own). Clusters never
//! merge, so sibling stories cannot be chained together by one ambiguous article.
//! Persistence: one [`StoredFingerprint`] per article, rebuilt with [`Clusters::load`].

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::confirm::{is_copy, is_still_copy};
use super::fingerprint::{FINGERPRINT_VERSION, Fingerprint};
use super::index::Index;

/// Errors of the dedup records.
#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    /// A stored record could not be decoded.
    #[error("undecodable dedup record: {0}")]
    Decode(#[from] serde_json::Error),
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
}

impl StoredFingerprint {
    /// Encode for storage (JSON).
    pub fn to_bytes(&self) -> Result<Vec<u8>, DedupError> {
        Ok(serde_json::to_vec(self)?)
    }

    /// Decode a stored record.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DedupError> {
        Ok(serde_json::from_slice(bytes)?)
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

#[derive(Debug)]
struct Member {
    id: String,
    fingerprint: Fingerprint,
    cluster: String,
}

/// Story clusters over all known articles.
#[derive(Debug, Default)]
pub struct Clusters {
    index: Index,
    slots: HashMap<String, u32>,
    members: Vec<Option<Member>>,
    clusters: HashMap<String, BTreeSet<u32>>,
}

impl Clusters {
    /// No articles yet.
    pub fn new() -> Self {
        Self {
            index: Index::new(),
            ..Self::default()
        }
    }

    /// Rebuild from stored records (any order).
    pub fn load(
        records: impl IntoIterator<Item = (String, StoredFingerprint)>,
    ) -> Result<Loaded, DedupError> {
        let mut loaded = Loaded {
            clusters: Self::new(),
            stale: Vec::new(),
        };
        for (id, record) in records {
            if record.fingerprint.version == FINGERPRINT_VERSION {
                loaded
                    .clusters
                    .attach(&id, record.fingerprint, record.cluster)?;
            } else {
                loaded.stale.push(id);
            }
        }
        Ok(loaded)
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
        self.attach(article_id, fp.clone(), cluster.clone())?;
        let changed = old.as_deref() != Some(cluster.as_str());
        Ok(self.assignment(article_id, cluster, changed))
    }

    /// Forget an article; returns the cluster it left.
    pub fn remove(&mut self, article_id: &str) -> Option<String> {
        let slot = *self.slots.get(article_id)?;
        let member = self.members.get_mut(slot as usize)?.take()?;
        self.index.remove(slot, &member.fingerprint);
        self.leave(slot, &member.cluster);
        Some(member.cluster)
    }

    /// Articles whose current text has exactly this fingerprint.
    pub fn identical(&self, fp: &Fingerprint) -> Vec<String> {
        self.index
            .candidates(fp)
            .into_iter()
            .filter_map(|s| self.members.get(s as usize)?.as_ref())
            .filter(|m| m.fingerprint == *fp)
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
        })
    }

    /// Number of articles.
    pub fn len(&self) -> usize {
        self.members.iter().flatten().count()
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
        });
        Ok(())
    }

    fn new_slot(&mut self, article_id: &str) -> Result<u32, DedupError> {
        let slot = u32::try_from(self.members.len()).map_err(|_| DedupError::Full)?;
        self.members.push(None);
        self.slots.insert(article_id.to_string(), slot);
        Ok(slot)
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
