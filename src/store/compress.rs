//! How the store packs its large payloads: zstd frames (content size in the
//! frame header, so sizes are known without decompressing), made and read with
//! zstd contexts reused from a small pool (creating one per page showed in
//! profiles; keeping one per thread cost a megabyte or more a thread).
//!
//! A version record is its JSON, compressed whole. A raw snapshot (the page as
//! it was served) is `u32 big-endian header length ‖ header JSON ‖ zstd(body)`:
//! the header (URL, content type, language, fetch time, body size, base) reads
//! without touching the body. The page of a later version is compressed with the
//! page of the article's first version as a zstd dictionary (its `base`): the
//! two are mostly the same, which makes later snapshots about a fifth the size.

use std::sync::Mutex;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zstd::bulk::{Compressor, Decompressor};

use super::StoreError;

/// The compression level of records (versions): small, so the level costs little.
const RECORD_LEVEL: i32 = 3;
/// The compression level of raw pages, the largest thing redline writes: level 1
/// compresses real news pages (174 KB on average) about a third faster than level
/// 3 for 14% more bytes, and took the whole per-article pipeline from 2.67-2.71
/// to 2.23-2.30 ms CPU (`cargo bench --bench pipeline`, alternating).
const PAGE_LEVEL: i32 = 1;

/// Contexts kept for reuse, of each kind. A compression context holds a
/// megabyte or more; kept one per thread, as before, they added up over tokio's
/// blocking pool. Compression happens mostly in the group commit's one writer.
const POOLED: usize = 2;

static COMPRESSORS: Mutex<Vec<Compressor<'static>>> = Mutex::new(Vec::new());
static DECOMPRESSORS: Mutex<Vec<Decompressor<'static>>> = Mutex::new(Vec::new());

/// Runs `work` with a context from `pool` (a new one if none is free), then
/// keeps the context if the pool has room.
fn with_context<C: Default, T>(pool: &Mutex<Vec<C>>, work: impl FnOnce(&mut C) -> T) -> T {
    let taken = pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut context = taken.unwrap_or_default();
    let result = work(&mut context);
    let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() < POOLED {
        pool.push(context);
    }
    result
}

/// The page behind a version, as it was served (after transfer decoding, before
/// charset decoding), kept so that extraction can be run again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSnapshot {
    /// The URL it was served from (after redirects).
    pub url: String,
    pub content_type: Option<String>,
    pub content_language: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub body: Bytes,
}

/// The part of a stored snapshot that reads without decompressing.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SnapshotHeader {
    url: String,
    content_type: Option<String>,
    content_language: Option<String>,
    fetched_at: DateTime<Utc>,
    /// Bytes of the body before compression.
    len: u64,
    /// The version whose page is the dictionary the body was compressed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base: Option<u32>,
}

/// Compresses `bytes` into one zstd frame.
pub(super) fn pack(bytes: &[u8]) -> Vec<u8> {
    compress(bytes, &[], RECORD_LEVEL)
}

/// Compresses `bytes` against `dictionary` (raw content; may be empty).
fn compress(bytes: &[u8], dictionary: &[u8], level: i32) -> Vec<u8> {
    with_context(&COMPRESSORS, |c| {
        c.set_dictionary(level, dictionary)?;
        c.compress(bytes)
    })
    .expect("zstd compresses into a growing buffer")
}

/// Decompresses a frame written by [`pack`]; `key` names it in errors.
pub(super) fn unpack(key: &[u8], frame: &[u8]) -> Result<Vec<u8>, StoreError> {
    let len = unpacked_len(frame).unwrap_or_default();
    decompress(key, frame, &[], len)
}

/// Decompresses a frame of `len` bytes compressed against `dictionary`.
fn decompress(
    key: &[u8],
    frame: &[u8],
    dictionary: &[u8],
    len: u64,
) -> Result<Vec<u8>, StoreError> {
    with_context(&DECOMPRESSORS, |d| {
        d.set_dictionary(dictionary)?;
        d.decompress(frame, len as usize)
    })
    .map_err(|source| StoreError::Compressed {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

/// The size of a frame's content, from its header.
pub(super) fn unpacked_len(frame: &[u8]) -> Option<u64> {
    zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
}

/// A snapshot as stored; `base` is the version number and page to compress
/// against, if any.
pub(super) fn encode_snapshot(snapshot: &RawSnapshot, base: Option<(u32, &[u8])>) -> Vec<u8> {
    let header = SnapshotHeader {
        url: snapshot.url.clone(),
        content_type: snapshot.content_type.clone(),
        content_language: snapshot.content_language.clone(),
        fetched_at: snapshot.fetched_at,
        len: snapshot.body.len() as u64,
        base: base.map(|(number, _)| number),
    };
    let header = serde_json::to_vec(&header).expect("headers serialise to JSON");
    let mut value = (header.len() as u32).to_be_bytes().to_vec();
    value.extend_from_slice(&header);
    let dictionary = base.map_or(&[][..], |(_, page)| page);
    let body = compress(&snapshot.body, dictionary, PAGE_LEVEL);
    value.extend_from_slice(&body);
    value
}

/// Splits a stored snapshot into its header and its compressed body.
fn split_snapshot<'a>(
    key: &[u8],
    value: &'a [u8],
) -> Result<(SnapshotHeader, &'a [u8]), StoreError> {
    let corrupt = |what: &str| StoreError::Damaged {
        key: String::from_utf8_lossy(key).into_owned(),
        problem: what.to_string(),
    };
    let len_bytes: [u8; 4] = value
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("snapshot shorter than its header length"))?;
    let end = 4 + u32::from_be_bytes(len_bytes) as usize;
    let header = value
        .get(4..end)
        .ok_or_else(|| corrupt("snapshot shorter than its header"))?;
    let header = serde_json::from_slice(header).map_err(|source| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })?;
    Ok((header, &value[end..]))
}

/// The version whose page a stored snapshot was compressed against, if any.
pub(super) fn snapshot_base(key: &[u8], value: &[u8]) -> Result<Option<u32>, StoreError> {
    split_snapshot(key, value).map(|(header, _)| header.base)
}

/// Reads a stored snapshot, body included; `base` is the page of the version
/// its header names as base (see [`snapshot_base`]).
pub(super) fn decode_snapshot(
    key: &[u8],
    value: &[u8],
    base: Option<&[u8]>,
) -> Result<RawSnapshot, StoreError> {
    let (header, frame) = split_snapshot(key, value)?;
    let body = match (header.base, base) {
        (None, _) => decompress(key, frame, &[], header.len)?,
        (Some(_), Some(dictionary)) => decompress(key, frame, dictionary, header.len)?,
        (Some(number), None) => {
            return Err(StoreError::Damaged {
                key: String::from_utf8_lossy(key).into_owned(),
                problem: format!("the page of version {number}, its base, is missing"),
            });
        }
    };
    if body.len() as u64 != header.len {
        return Err(StoreError::Damaged {
            key: String::from_utf8_lossy(key).into_owned(),
            problem: format!(
                "snapshot body is {} bytes, its header says {}",
                body.len(),
                header.len
            ),
        });
    }
    Ok(RawSnapshot {
        url: header.url,
        content_type: header.content_type,
        content_language: header.content_language,
        fetched_at: header.fetched_at,
        body: Bytes::from(body),
    })
}

/// The body size a stored snapshot records, read from its header only.
pub(super) fn snapshot_len(key: &[u8], value: &[u8]) -> Result<u64, StoreError> {
    split_snapshot(key, value).map(|(header, _)| header.len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_round_trips_and_its_size_reads_from_the_header() {
        let html = "<html><body><p>Переговоры в Женеве</p></body></html>".repeat(50);
        let snapshot = RawSnapshot {
            url: "http://127.0.0.1/a.html".into(),
            content_type: Some("text/html; charset=utf-8".into()),
            content_language: None,
            fetched_at: Utc::now(),
            body: Bytes::from(html.clone()),
        };
        let stored = encode_snapshot(&snapshot, None);
        assert!(stored.len() < html.len() / 4, "{} bytes", stored.len());
        assert_eq!(snapshot_len(b"k", &stored).unwrap(), html.len() as u64);
        assert_eq!(snapshot_base(b"k", &stored).unwrap(), None);
        assert_eq!(decode_snapshot(b"k", &stored, None).unwrap(), snapshot);
    }

    #[test]
    fn a_later_page_compressed_against_the_first_is_much_smaller() {
        let page = |n: u32| {
            let text: String = (0..200)
                .map(|i| format!("<p>paragraph {i} of the story; {}</p>", i * 7919 % 1013))
                .collect();
            format!("<html><body>{text}<p>edit {n}</p></body></html>")
        };
        let (first, later) = (page(1), page(2));
        let snapshot = RawSnapshot {
            url: "http://127.0.0.1/a.html".into(),
            content_type: None,
            content_language: None,
            fetched_at: Utc::now(),
            body: Bytes::from(later.clone()),
        };
        let alone = encode_snapshot(&snapshot, None);
        let delta = encode_snapshot(&snapshot, Some((1, first.as_bytes())));
        assert!(
            delta.len() * 4 < alone.len(),
            "{} vs {}",
            delta.len(),
            alone.len()
        );
        assert_eq!(snapshot_base(b"k", &delta).unwrap(), Some(1));
        let read = decode_snapshot(b"k", &delta, Some(first.as_bytes())).unwrap();
        assert_eq!(read.body, later.as_bytes());
        assert!(
            decode_snapshot(b"k", &delta, None).is_err(),
            "the base is needed"
        );
    }

    #[test]
    fn damage_is_reported_not_panicked_on() {
        let frame = pack(b"some text");
        assert_eq!(unpacked_len(&frame), Some(9));
        assert!(unpack(b"k", &frame[..frame.len() - 2]).is_err());
        assert!(decode_snapshot(b"k", &[0, 0, 0, 9, b'{'], None).is_err());
    }
}
