//! The shipped `config/topics.toml` on hand-written news articles per language
//! (`tests/fixtures/topics/LANG/on_*.txt` must match `russia-ukraine-talks`,
//! `off_*.txt` are hard negatives that must not), the seed article, and how
//! topics files with mistakes are reported.

use std::path::{Path, PathBuf};

use redline::topics::{Document, TopicError, TopicSet};

const TARGET: &str = "russia-ukraine-talks";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> TopicSet {
    TopicSet::load(&root().join("config/topics.toml")).expect("config/topics.toml loads")
}

/// An article fixture: first line the headline, the rest the body.
fn read_article(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).expect("fixture is readable UTF-8");
    let (title, body) = text.split_once('\n').unwrap_or((&text, ""));
    (title.to_string(), body.to_string())
}

fn on_topic(topics: &TopicSet, title: &str, body: &str, language: Option<&str>) -> bool {
    let doc = Document {
        title,
        body,
        language,
    };
    topics.classify(&doc).iter().any(|m| m.topic == TARGET)
}

/// Classifies every fixture of `lang` and returns (positives, negatives) seen,
/// failing with the scores of every misclassified article.
fn check_language(lang: &str) -> (usize, usize) {
    let topics = shipped();
    let dir = root().join("tests/fixtures/topics").join(lang);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    let (mut positives, mut negatives, mut wrong) = (0, 0, Vec::new());
    for path in &paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let expected = name.starts_with("on_");
        let (title, body) = read_article(path);
        if on_topic(&topics, &title, &body, Some(lang)) != expected {
            let doc = Document {
                title: &title,
                body: &body,
                language: Some(lang),
            };
            wrong.push(format!("{name}: {:?}", topics.evaluate(&doc)));
        }
        if expected {
            positives += 1;
        } else {
            negatives += 1;
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
    (positives, negatives)
}

#[test]
fn arabic_articles() {
    let (on, off) = check_language("ar");
    assert!(on >= 4 && off >= 5, "{on} positives, {off} negatives");
}

#[test]
fn english_articles() {
    let (on, off) = check_language("en");
    assert!(on >= 5 && off >= 7, "{on} positives, {off} negatives");
}

#[test]
fn russian_articles() {
    let (on, off) = check_language("ru");
    assert!(on >= 3 && off >= 5, "{on} positives, {off} negatives");
}

#[test]
fn ukrainian_articles() {
    let (on, off) = check_language("uk");
    assert!(on >= 3 && off >= 5, "{on} positives, {off} negatives");
}

#[test]
fn french_and_german_articles() {
    for lang in ["fr", "de"] {
        let (on, off) = check_language(lang);
        assert!(
            on >= 1 && off >= 1,
            "{lang}: {on} positives, {off} negatives"
        );
    }
}

#[test]
fn seed_article_is_on_topic_with_or_without_declared_language() {
    let topics = shipped();
    let (title, body) =
        read_article(&root().join("tests/fixtures/topics/ar/on_seed_trump_calls.txt"));
    for declared in [Some("ar"), None, Some("en")] {
        assert!(
            on_topic(&topics, &title, &body, declared),
            "declared {declared:?}"
        );
    }
    let doc = Document {
        title: &title,
        body: &body,
        language: None,
    };
    let matched = topics.classify(&doc);
    assert_eq!(matched.len(), 1);
    assert_eq!(matched[0].language, "ar");
    let talks = matched[0].concepts.iter().find(|c| c.concept == "talks");
    assert!(talks.is_some_and(|c| c.paragraphs >= 5), "{matched:?}");
}

#[test]
fn wrongly_declared_language_is_corrected_from_the_text() {
    let topics = shipped();
    let (title, body) = read_article(&root().join("tests/fixtures/topics/uk/on_geneva_talks.txt"));
    assert!(on_topic(&topics, &title, &body, Some("ru")));
    let doc = Document {
        title: &title,
        body: &body,
        language: Some("ru"),
    };
    assert_eq!(topics.classify(&doc)[0].language, "uk");
}

#[test]
fn a_headline_mention_alone_does_not_make_talks_central() {
    let topics = shipped();
    let body = "Russian drones struck Kharkiv overnight, killing two people.\n\
                Ukraine's air force said it shot down 40 of 60 drones.";
    assert!(!on_topic(
        &topics,
        "Russia strikes Ukraine ahead of talks",
        body,
        Some("en")
    ));
    let body = format!(
        "{body}\nThe Kremlin said the delegations would resume negotiations on a ceasefire in Istanbul."
    );
    assert!(on_topic(
        &topics,
        "Russia strikes Ukraine ahead of talks",
        &body,
        Some("en")
    ));
}

#[test]
fn user_topics_load_and_match() {
    let toml = r#"
        [[topic]]
        id = "storms"
        headline_weight = 3
        match = "storm >= 3 AND NOT near(storm, sport, 3)"

        [concepts.storm]
        en = ["storm*", "gale*", "heavy rain"]
        de = ["sturm*", "unwetter*"]

        [concepts.sport]
        en = ["football", "rugby"]
    "#;
    let topics = TopicSet::from_toml(toml, "user.toml").expect("valid file");
    assert_eq!(
        topics.topics().map(|(id, _)| id).collect::<Vec<_>>(),
        vec!["storms"]
    );
    let hit = Document {
        title: "Storm Amy brings gales to Scotland",
        body: "Forecasters warned of heavy rain.",
        language: None,
    };
    assert_eq!(topics.classify(&hit)[0].topic, "storms");
    let miss = Document {
        title: "Storm Amy postpones football match",
        body: "The game will be replayed.",
        language: None,
    };
    assert!(topics.classify(&miss).is_empty());
}

fn load_error(toml: &str) -> String {
    match TopicSet::from_toml(toml, "bad.toml") {
        Ok(_) => panic!("expected an error for {toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn mistakes_in_topics_files_are_named() {
    let unknown_key = load_error("[[topic]]\nid = \"a\"\nmatch = \"x\"\nweight = 2\n");
    assert!(
        unknown_key.contains("bad.toml") && unknown_key.contains("weight"),
        "{unknown_key}"
    );

    let unknown_concept = load_error(
        "[[topic]]\nid = \"peace\"\nmatch = \"talks AND gaza\"\n[concepts.talks]\nen = [\"talks\"]\n",
    );
    assert!(
        unknown_concept.contains("`peace`") && unknown_concept.contains("`gaza`"),
        "{unknown_concept}"
    );

    let bad_term = load_error("[concepts.talks]\nuk = [\"пе*\"]\n");
    assert!(
        bad_term.contains("`talks`") && bad_term.contains("`uk`") && bad_term.contains("пе*"),
        "{bad_term}"
    );

    let unknown_language = load_error("[concepts.talks]\nes = [\"paz\"]\n");
    assert!(unknown_language.contains("es"), "{unknown_language}");

    let twice =
        load_error("[[topic]]\nid = \"a\"\nmatch = \"1\"\n[[topic]]\nid = \"a\"\nmatch = \"1\"\n");
    assert!(twice.contains("more than once"), "{twice}");

    let bad_id = load_error("[[topic]]\nid = \"a b\"\nmatch = \"1\"\n");
    assert!(bad_id.contains("\"a b\""), "{bad_id}");

    assert!(matches!(
        TopicSet::from_toml("[[topic]\n", "bad.toml"),
        Err(TopicError::Toml { .. })
    ));
    assert!(matches!(
        TopicSet::load(Path::new("/nonexistent/topics.toml")),
        Err(TopicError::Io { .. })
    ));
}

#[test]
fn hostile_text_gives_no_topics_and_no_panic() {
    let topics = shipped();
    let long = "Россия обменялась пленными с Украиной на переговорах ".repeat(4_000);
    let binary: String = (0u32..5000).filter_map(char::from_u32).collect();
    for (title, body) in [
        ("", ""),
        ("\u{0}\u{fffd}", "\u{202e}\u{200d}\n\n\n"),
        ("ـــ", "ّّّ وو لل"),
        (binary.as_str(), binary.as_str()),
        ("Россия", long.as_str()),
    ] {
        let doc = Document {
            title,
            body,
            language: Some("xx-invalid"),
        };
        assert!(topics.classify(&doc).is_empty(), "{:?}", title.get(..20));
    }
}

/// A feed item's title, all there is before its page is fetched, is scored as
/// if the article dwelt on each concept it names: a headline that names the
/// talks and both sides suggests the topic; war news, other talks and Russian
/// economy headlines do not.
#[test]
fn a_headline_alone_suggests_the_topic_when_it_names_the_talks_and_both_sides() {
    let topics = shipped();
    let suggested = [
        (
            "en",
            "Zelenskyy says Ukraine ready for direct talks with Russia in Istanbul",
        ),
        (
            "ar",
            "وفدان أمريكي وروسي يبدآن محادثات في الرياض لبحث إنهاء الحرب في أوكرانيا",
        ),
        (
            "ru",
            "В Стамбуле завершился второй раунд переговоров России и Украины",
        ),
        (
            "de",
            "Putin und Trump telefonieren: Gespräche über Waffenruhe in der Ukraine vereinbart",
        ),
    ];
    for (lang, headline) in suggested {
        assert!(topics.headline_suggests(headline, Some(lang)), "{headline}");
    }
    let not_suggested = [
        (
            "en",
            "Russian forces claim capture of village near Pokrovsk as pressure mounts in Donetsk",
        ),
        (
            "ar",
            "ويتكوف يصل إلى الدوحة لاستئناف مفاوضات وقف إطلاق النار في غزة",
        ),
        (
            "ar",
            "البنك المركزي الروسي يبقي سعر الفائدة عند 21% وسط تضخم مرتفع",
        ),
        (
            "uk",
            "Україна готова відкрити всі переговорні кластери про вступ до ЄС цього року",
        ),
    ];
    for (lang, headline) in not_suggested {
        assert!(
            !topics.headline_suggests(headline, Some(lang)),
            "{headline}"
        );
    }
}
