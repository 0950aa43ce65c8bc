//! Wire-copy detection on hand-written Arabic, Russian and English stories: copies
//! (new headline, another dateline, a local intro, the tail cut, other quotes and
//! Eastern Arabic digits) are found; same-topic stories from the same phrasebook are
//! not; clusters follow edits, survive a reload and keep only the most recently
//! changed articles in memory.

use redline::dedup::{
    Clusters, DEFAULT_RESIDENT, FINGERPRINT_VERSION, Fingerprint, StoredFingerprint, fingerprint,
    is_copy, is_still_copy, similarity,
};

const LANGS: [&str; 3] = ["en", "ru", "ar"];

/// A fixture: first line the headline, the other lines paragraphs.
fn story(name: &str) -> (String, String) {
    let path = format!(
        "{}/tests/fixtures/dedup/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (title, body) = text.split_once('\n').unwrap_or((&text, ""));
    (title.to_string(), body.to_string())
}

fn fp(name: &str, lang: &str) -> Fingerprint {
    let (title, body) = story(name);
    fingerprint(&title, &body, Some(lang))
}

#[test]
fn wire_copies_are_copies_in_every_language() {
    for lang in LANGS {
        let wire = fp(&format!("{lang}_wire"), lang);
        let copy = fp(&format!("{lang}_copy"), lang);
        assert!(
            is_copy(&wire, &copy),
            "{lang}: {:?}",
            similarity(&wire, &copy)
        );
        assert!(is_copy(&copy, &wire), "{lang}: not symmetric");
    }
}

#[test]
fn trimmed_copies_are_caught_by_containment_not_jaccard() {
    for lang in LANGS {
        let s = similarity(
            &fp(&format!("{lang}_wire"), lang),
            &fp(&format!("{lang}_copy"), lang),
        );
        assert!(s.containment >= 0.8, "{lang}: {s:?}");
        assert!(s.jaccard < s.containment, "{lang}: {s:?}");
        assert!(
            s.numbers.is_some_and(|n| n >= 0.9),
            "{lang}: digits differ: {s:?}"
        );
    }
}

#[test]
fn same_topic_stories_from_one_phrasebook_are_not_copies() {
    let mut most = 0.0f64;
    for lang in LANGS {
        let other = fp(&format!("{lang}_other"), lang);
        for base in ["wire", "copy"] {
            let base = fp(&format!("{lang}_{base}"), lang);
            let s = similarity(&base, &other);
            most = most.max(s.containment);
            assert!(
                s.containment > 0.15,
                "{lang}: the test pair should overlap: {s:?}"
            );
            assert!(!is_copy(&base, &other), "{lang}: {s:?}");
            assert!(!is_still_copy(&base, &other), "{lang}: {s:?}");
        }
    }
    // Shingle containment alone would have merged at least one of these pairs.
    assert!(most >= 0.5, "{most}");
}

#[test]
fn copies_join_the_wire_story_and_others_start_their_own() {
    let mut clusters = Clusters::new();
    for lang in LANGS {
        let wire = clusters
            .assign(&format!("{lang}/wire"), &fp(&format!("{lang}_wire"), lang))
            .unwrap();
        assert!(wire.changed && wire.copies_of.is_empty());
        let copy = clusters
            .assign(&format!("{lang}/copy"), &fp(&format!("{lang}_copy"), lang))
            .unwrap();
        assert_eq!(copy.cluster, wire.cluster, "{lang}");
        assert_eq!(copy.copies_of, vec![format!("{lang}/wire")]);
        let other = clusters
            .assign(
                &format!("{lang}/other"),
                &fp(&format!("{lang}_other"), lang),
            )
            .unwrap();
        assert_ne!(other.cluster, wire.cluster, "{lang}");
        assert!(other.copies_of.is_empty());
    }
    assert_eq!(clusters.len(), 9);
}

#[test]
fn a_copy_edited_away_leaves_its_story_and_a_small_edit_does_not() {
    let mut clusters = Clusters::new();
    let wire = clusters.assign("wire", &fp("en_wire", "en")).unwrap();
    clusters.assign("copy", &fp("en_copy", "en")).unwrap();

    let (title, body) = story("en_copy");
    let edited = format!(
        "{body}\nThe exchange is expected to take place at the Belarusian border, officials said."
    );
    let small = clusters
        .assign("copy", &fingerprint(&title, &edited, Some("en")))
        .unwrap();
    assert_eq!(small.cluster, wire.cluster);
    assert!(!small.changed);

    let (title, body) = story("en_other");
    let away = clusters
        .assign("copy", &fingerprint(&title, &body, Some("en")))
        .unwrap();
    assert_ne!(away.cluster, wire.cluster);
    assert!(away.changed && away.copies_of.is_empty());
    assert_eq!(
        clusters
            .assign("wire", &fp("en_wire", "en"))
            .unwrap()
            .copies_of,
        Vec::<String>::new()
    );
}

#[test]
fn a_story_keeps_its_id_when_its_first_member_leaves() {
    let mut clusters = Clusters::new();
    let wire = clusters.assign("wire", &fp("en_wire", "en")).unwrap();
    clusters.assign("copy", &fp("en_copy", "en")).unwrap();
    let left = clusters.assign("wire", &fp("ru_other", "ru")).unwrap();
    assert_ne!(left.cluster, wire.cluster);
    assert_eq!(clusters.cluster_of("copy"), Some(wire.cluster.as_str()));
    assert!(wire.cluster.starts_with('s') && wire.cluster.len() == 13);
}

#[test]
fn unchanged_text_changes_nothing() {
    let mut clusters = Clusters::new();
    let first = clusters.assign("a", &fp("ar_wire", "ar")).unwrap();
    let again = clusters.assign("a", &fp("ar_wire", "ar")).unwrap();
    assert_eq!(again.cluster, first.cluster);
    assert!(!again.changed);
}

#[test]
fn clusters_survive_a_reload_and_stale_fingerprints_are_listed() {
    let mut clusters = Clusters::new();
    for (id, name, lang) in [
        ("w", "ru_wire", "ru"),
        ("c", "ru_copy", "ru"),
        ("o", "ru_other", "ru"),
    ] {
        clusters.assign(id, &fp(name, lang)).unwrap();
    }
    let mut records: Vec<(String, StoredFingerprint)> = ["w", "c", "o"]
        .into_iter()
        .map(|id| {
            let bytes = clusters.stored(id).unwrap().to_bytes();
            (
                id.to_string(),
                StoredFingerprint::from_bytes(&bytes).unwrap(),
            )
        })
        .collect();
    let mut old = records[0].1.clone();
    old.fingerprint.version = FINGERPRINT_VERSION + 1;
    records.push(("old".to_string(), old));

    let loaded = Clusters::load(records, DEFAULT_RESIDENT).unwrap();
    assert_eq!(loaded.stale, vec!["old".to_string()]);
    let mut reloaded = loaded.clusters;
    for id in ["w", "c", "o"] {
        assert_eq!(reloaded.cluster_of(id), clusters.cluster_of(id), "{id}");
    }
    let late = reloaded.assign("late", &fp("ru_copy", "ru")).unwrap();
    assert_eq!(Some(late.cluster.as_str()), clusters.cluster_of("w"));
    assert_eq!(late.copies_of, vec!["c".to_string(), "w".to_string()]);
}

#[test]
fn removed_articles_are_forgotten() {
    let mut clusters = Clusters::new();
    let wire = clusters.assign("w", &fp("en_wire", "en")).unwrap();
    assert_eq!(clusters.remove("w"), Some(wire.cluster));
    assert_eq!(clusters.remove("w"), None);
    assert!(clusters.is_empty());
    assert!(
        clusters
            .assign("c", &fp("en_copy", "en"))
            .unwrap()
            .copies_of
            .is_empty()
    );
}

#[test]
fn undecodable_records_are_errors() {
    assert!(StoredFingerprint::from_bytes(b"{not json").is_err());
    let record = StoredFingerprint {
        fingerprint: fp("en_wire", "en"),
        cluster: "s0123456789ab".into(),
        changed: 1_800_000_000,
    };
    let bytes = record.to_bytes();
    for cut in [1, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            StoredFingerprint::from_bytes(&bytes[..cut]).is_err(),
            "{cut}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(StoredFingerprint::from_bytes(&longer).is_err());
}

#[test]
fn records_are_stored_binary_and_json_records_still_read() {
    let record = StoredFingerprint {
        fingerprint: fp("ru_wire", "ru"),
        cluster: "s0123456789ab".into(),
        changed: 1_800_000_000,
    };
    let binary = record.to_bytes();
    assert_eq!(StoredFingerprint::from_bytes(&binary).unwrap(), record);
    // Stores written by earlier releases hold JSON.
    let json = serde_json::to_vec(&record).unwrap();
    assert_eq!(StoredFingerprint::from_bytes(&json).unwrap(), record);
    assert!(
        binary.len() < json.len() / 2,
        "binary {} vs JSON {} bytes",
        binary.len(),
        json.len()
    );
}

#[test]
fn empty_and_odd_input_is_handled() {
    let empty = fingerprint("", "", None);
    assert!(!is_copy(&empty, &empty));
    let odd = fingerprint(
        "\u{0640}\u{064B}",
        "(Reuters) - \n - \n\u{0000}\u{FFFD}",
        Some("xx"),
    );
    let mut clusters = Clusters::new();
    assert!(clusters.assign("odd", &odd).unwrap().changed);
    assert!(
        clusters
            .assign("empty", &empty)
            .unwrap()
            .copies_of
            .is_empty()
    );
}

/// A stored record of `name`, changed at `changed` (Unix seconds).
fn record(name: &str, lang: &str, cluster: &str, changed: i64) -> StoredFingerprint {
    StoredFingerprint {
        fingerprint: fp(name, lang),
        cluster: cluster.to_string(),
        changed,
    }
}

#[test]
fn only_the_most_recently_changed_articles_stay_resident() {
    let mut clusters = Clusters::with_resident(8);
    let wire = clusters.assign("wire", &fp("en_wire", "en")).unwrap();
    for i in 0..20 {
        let (title, body) = story("ru_other");
        let text = format!("{body}\nParagraph number {i} makes this text its own.");
        clusters
            .assign(
                &format!("filler{i}"),
                &fingerprint(&title, &text, Some("ru")),
            )
            .unwrap();
    }
    assert!(clusters.len() <= 9, "{} resident", clusters.len());
    assert!(clusters.cluster_of("filler19").is_some());
    assert_eq!(
        clusters.cluster_of("wire"),
        None,
        "the oldest is evicted first"
    );

    // The wire, restored from its stored record, keeps its story.
    let stored = StoredFingerprint {
        fingerprint: fp("en_wire", "en"),
        cluster: wire.cluster.clone(),
        changed: 0,
    };
    clusters.restore("wire", stored).unwrap();
    let copy = clusters.assign("copy", &fp("en_copy", "en")).unwrap();
    assert_eq!(copy.cluster, wire.cluster);
    assert_eq!(copy.copies_of, vec!["wire".to_string()]);
}

#[test]
fn a_reload_keeps_the_newest_records_and_restore_puts_back_the_others() {
    let records = vec![
        (
            "old".to_string(),
            record("en_wire", "en", "s000000000001", 100),
        ),
        (
            "new".to_string(),
            record("ru_wire", "ru", "s000000000002", 300),
        ),
        (
            "mid".to_string(),
            record("ar_wire", "ar", "s000000000003", 200),
        ),
    ];
    let mut clusters = Clusters::load(records, 2).unwrap().clusters;
    assert_eq!(clusters.len(), 2);
    assert_eq!(clusters.cluster_of("old"), None);
    assert_eq!(clusters.cluster_of("new"), Some("s000000000002"));
    assert_eq!(clusters.cluster_of("mid"), Some("s000000000003"));

    clusters
        .restore("old", record("en_wire", "en", "s000000000001", 100))
        .unwrap();
    assert_eq!(clusters.cluster_of("old"), Some("s000000000001"));
    let copy = clusters.assign("copy", &fp("en_copy", "en")).unwrap();
    assert_eq!(copy.cluster, "s000000000001");
}
