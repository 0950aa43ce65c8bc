//! Near-duplicate (wire copy) detection: fingerprints of each article version,
//! a candidate index, confirmation, and stories (clusters) that update
//! incrementally as articles arrive and change.
//!
//! [`fingerprint::fingerprint`] → [`index::Index::candidates`] → [`confirm::is_copy`]
//! → [`clusters::Clusters::assign`].

pub mod change_signature;
pub mod clusters;
pub mod confirm;
pub mod fingerprint;
pub mod index;
mod normalize;

pub use change_signature::ChangeSignature;
pub use clusters::{
    ClusterAssignment, Clusters, DEFAULT_RESIDENT, DedupError, Loaded, Loader, StoredFingerprint,
};
pub use confirm::{Similarity, is_copy, is_still_copy, similarity};
pub use fingerprint::{FINGERPRINT_VERSION, Fingerprint, fingerprint};
pub use index::Index;
