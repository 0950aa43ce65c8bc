//! Topic filtering: which configured topics an article is about.
//!
//! A topics file (`config/topics.toml`) defines *concepts* — lists of terms per
//! language — and *topics*, boolean expressions over concept scores (see
//! [`expr`]). A document's language is detected from its text ([`lang`]); its
//! headline and paragraphs are tokenised once and normalised for that language
//! ([`normalize`]: Arabic clitics, Snowball stems, a light Ukrainian stemmer);
//! the precompiled terms of that language are found in each ([`matcher`]).
//! A concept scores `headline_weight` when the headline mentions it, plus one
//! per body paragraph that does; topics compare those scores.
//!
//! ```no_run
//! use redline::topics::{Document, TopicSet};
//! let text = std::fs::read_to_string("config/topics.toml")?;
//! let topics = TopicSet::from_toml(&text, "config/topics.toml")?;
//! let doc = Document { title: "Peace talks resume", body: "…", language: Some("en") };
//! for m in topics.classify(&doc) {
//!     println!("{} {:?}", m.topic, m.concepts);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
pub mod expr;
pub mod lang;
mod matcher;
pub mod normalize;

use std::collections::HashMap;
use std::path::Path;

use thiserror::Error;

use config::{ConceptDef, TopicDef, TopicsFile};
use expr::{Expr, ExprError, Scores};
pub use matcher::TermError;
use matcher::{Lexicon, SectionHits};
use normalize::Lang;

/// An error in a topics file; every variant names the file.
#[derive(Debug, Error)]
pub enum TopicError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Toml {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("{path}: topic `{topic}`: `match` expression: {source}")]
    Expression {
        path: String,
        topic: String,
        source: ExprError,
    },
    #[error("{path}: concept `{concept}`, language `{language}`, term {term:?}: {source}")]
    Term {
        path: String,
        concept: String,
        language: &'static str,
        term: String,
        source: TermError,
    },
    #[error("{path}: topic `{topic}` is defined more than once")]
    DuplicateTopic { path: String, topic: String },
    #[error("{path}: topic id {topic:?} must be non-empty letters, digits, `-` or `_`")]
    BadTopicId { path: String, topic: String },
}

/// An article to classify.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    pub title: &'a str,
    /// Plain text, one paragraph per line.
    pub body: &'a str,
    /// The page's declared primary language subtag, if any (only a hint).
    pub language: Option<&'a str>,
}

/// A topic the document is about, with the scores that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMatch {
    /// The topic id, e.g. `russia-ukraine-talks`.
    pub topic: String,
    /// The language the document was matched in.
    pub language: &'static str,
    /// The scores of the concepts the topic's expression uses.
    pub concepts: Vec<ConceptScore>,
}

/// One concept's score in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConceptScore {
    pub concept: String,
    /// `headline_weight` if the headline mentions it, plus one per body paragraph that does.
    pub score: i64,
    pub in_headline: bool,
    /// Body paragraphs mentioning it.
    pub paragraphs: u32,
}

/// A verdict on one topic, matched or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicVerdict {
    pub matched: bool,
    pub detail: TopicMatch,
}

/// One compiled topic.
struct Topic {
    id: String,
    description: String,
    headline_weight: i64,
    expr: Expr,
    concepts: Vec<usize>,
}

/// A loaded topics file, ready to classify documents.
pub struct TopicSet {
    concept_names: Vec<String>,
    lexicons: Vec<Lexicon>,
    topics: Vec<Topic>,
}

impl TopicSet {
    /// Reads and compiles a topics file.
    pub fn load(path: &Path) -> Result<TopicSet, TopicError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TopicError::Io {
            path: shown.clone(),
            source,
        })?;
        TopicSet::from_toml(&text, &shown)
    }

    /// Compiles a topics file's text; `path` only names it in errors.
    pub fn from_toml(text: &str, path: &str) -> Result<TopicSet, TopicError> {
        let file: TopicsFile = toml::from_str(text).map_err(|source| TopicError::Toml {
            path: path.to_string(),
            source: Box::new(source),
        })?;
        let concept_names: Vec<String> = file.concepts.keys().cloned().collect();
        let lexicons = compile_lexicons(&file.concepts, path)?;
        let index: HashMap<&str, usize> = (0..)
            .zip(&concept_names)
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let mut topics: Vec<Topic> = Vec::new();
        for def in &file.topics {
            let topic = compile_topic(def, &index, path)?;
            if topics.iter().any(|t| t.id == topic.id) {
                return Err(TopicError::DuplicateTopic {
                    path: path.to_string(),
                    topic: topic.id,
                });
            }
            topics.push(topic);
        }
        Ok(TopicSet {
            concept_names,
            lexicons,
            topics,
        })
    }

    /// The configured topics as (id, description), in file order.
    pub fn topics(&self) -> impl Iterator<Item = (&str, &str)> {
        self.topics
            .iter()
            .map(|t| (t.id.as_str(), t.description.as_str()))
    }

    /// The topics `doc` is about.
    pub fn classify(&self, doc: &Document) -> Vec<TopicMatch> {
        self.evaluate(doc)
            .into_iter()
            .filter(|v| v.matched)
            .map(|v| v.detail)
            .collect()
    }

    /// A verdict with its scores for every topic (empty if the text is in no supported language).
    pub fn evaluate(&self, doc: &Document) -> Vec<TopicVerdict> {
        let Some((hits, lang)) = self.scan(doc) else {
            return Vec::new();
        };
        self.topics
            .iter()
            .map(|topic| self.verdict(topic, &hits, lang, topic.headline_weight))
            .collect()
    }

    /// Whether a headline alone, such as a feed item's title before its page is
    /// fetched, suggests one of the topics: some topic's expression holds when
    /// each concept the headline names counts as central to the article (as if
    /// the body dwelt on it) and the others as absent. Only a hint, for what to
    /// fetch first: the article's own verdict comes from its text.
    pub fn headline_suggests(&self, headline: &str, language: Option<&str>) -> bool {
        let doc = Document {
            title: headline,
            body: "",
            language,
        };
        let Some((hits, lang)) = self.scan(&doc) else {
            return false;
        };
        self.topics
            .iter()
            .any(|topic| self.verdict(topic, &hits, lang, HEADLINE_ALONE).matched)
    }

    /// Where the concepts occur in `doc`, in its detected language.
    fn scan(&self, doc: &Document) -> Option<(DocHits, Lang)> {
        let lang = lang::detect(doc.title, doc.body, doc.language)?;
        let lexicon = self.lexicons.get(lang.index())?;
        Some((DocHits::scan(lexicon, doc, self.concept_names.len()), lang))
    }

    fn verdict(
        &self,
        topic: &Topic,
        hits: &DocHits,
        lang: Lang,
        headline_weight: i64,
    ) -> TopicVerdict {
        let scores = Weighted {
            hits,
            headline_weight,
        };
        let concepts = topic
            .concepts
            .iter()
            .map(|&id| ConceptScore {
                concept: self.concept_names.get(id).cloned().unwrap_or_default(),
                score: scores.concept(id),
                in_headline: hits.headline.get(id).copied().unwrap_or(false),
                paragraphs: hits.paragraphs.get(id).copied().unwrap_or(0),
            })
            .collect();
        TopicVerdict {
            matched: topic.expr.eval(&scores),
            detail: TopicMatch {
                topic: topic.id.clone(),
                language: lang.code(),
                concepts,
            },
        }
    }
}

fn compile_lexicons(
    concepts: &std::collections::BTreeMap<String, ConceptDef>,
    path: &str,
) -> Result<Vec<Lexicon>, TopicError> {
    let mut lexicons: Vec<Lexicon> = Lang::ALL.into_iter().map(Lexicon::new).collect();
    for (id, (name, def)) in (0..).zip(concepts) {
        for (code, terms) in def.by_language() {
            let lexicon = Lang::from_code(code).and_then(|l| lexicons.get_mut(l.index()));
            let Some(lexicon) = lexicon else { continue };
            for term in terms {
                lexicon.add(id, term).map_err(|source| TopicError::Term {
                    path: path.to_string(),
                    concept: name.clone(),
                    language: code,
                    term: term.clone(),
                    source,
                })?;
            }
        }
    }
    Ok(lexicons)
}

fn compile_topic(
    def: &TopicDef,
    index: &HashMap<&str, usize>,
    path: &str,
) -> Result<Topic, TopicError> {
    let valid_id = !def.id.is_empty()
        && def
            .id
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if !valid_id {
        return Err(TopicError::BadTopicId {
            path: path.to_string(),
            topic: def.id.clone(),
        });
    }
    let expr =
        Expr::parse(&def.expression, &|name| index.get(name).copied()).map_err(|source| {
            TopicError::Expression {
                path: path.to_string(),
                topic: def.id.clone(),
                source,
            }
        })?;
    let mut concepts = Vec::new();
    expr.concepts(&mut concepts);
    Ok(Topic {
        id: def.id.clone(),
        description: def.description.clone(),
        headline_weight: i64::from(def.headline_weight),
        expr,
        concepts,
    })
}

/// The weight of a headline mention in [`TopicSet::headline_suggests`]: more
/// than any threshold a topics file sets on a concept's score, so that a concept
/// the headline names passes every "central to the article" test.
const HEADLINE_ALONE: i64 = 1_000;

/// Where each concept was found in one document.
struct DocHits {
    headline: Vec<bool>,
    paragraphs: Vec<u32>,
    /// Section 0 is the headline, then the non-empty body paragraphs.
    sections: Vec<SectionHits>,
}

impl DocHits {
    fn scan(lexicon: &Lexicon, doc: &Document, concepts: usize) -> DocHits {
        let mut scratch = Vec::new();
        let sections: Vec<SectionHits> = std::iter::once(doc.title)
            .chain(doc.body.lines().filter(|l| !l.trim().is_empty()))
            .map(|text| lexicon.scan(text, &mut scratch))
            .collect();
        let mut headline = vec![false; concepts];
        let mut paragraphs = vec![0u32; concepts];
        for (index, section) in sections.iter().enumerate() {
            let mut seen = vec![false; concepts];
            for &(concept, _) in section {
                if let Some(slot) = seen.get_mut(concept) {
                    *slot = true;
                }
            }
            for concept in (0..concepts).filter(|c| seen.get(*c) == Some(&true)) {
                if index == 0 {
                    if let Some(h) = headline.get_mut(concept) {
                        *h = true;
                    }
                } else if let Some(p) = paragraphs.get_mut(concept) {
                    *p += 1;
                }
            }
        }
        DocHits {
            headline,
            paragraphs,
            sections,
        }
    }
}

/// Concept scores under one topic's headline weight.
struct Weighted<'a> {
    hits: &'a DocHits,
    headline_weight: i64,
}

impl Weighted<'_> {
    fn section_score(&self, index: usize) -> i64 {
        if index == 0 { self.headline_weight } else { 1 }
    }
}

impl Scores for Weighted<'_> {
    fn concept(&self, id: usize) -> i64 {
        let headline = self.hits.headline.get(id).copied().unwrap_or(false);
        let paragraphs = self.hits.paragraphs.get(id).copied().unwrap_or(0);
        i64::from(headline) * self.headline_weight + i64::from(paragraphs)
    }

    fn near(&self, a: usize, b: usize, window: u32) -> i64 {
        self.hits
            .sections
            .iter()
            .enumerate()
            .filter(|(_, hits)| within(hits, a, b, window))
            .map(|(index, _)| self.section_score(index))
            .sum()
    }
}

/// Whether concepts `a` and `b` occur within `window` words in one section's
/// hits (ordered by position): one pass, remembering the last position of each.
fn within(hits: &SectionHits, a: usize, b: usize, window: u32) -> bool {
    let (mut last_a, mut last_b): (Option<u32>, Option<u32>) = (None, None);
    for &(concept, pos) in hits {
        if concept == a {
            last_a = Some(pos);
        }
        if concept == b {
            last_b = Some(pos);
        }
        if let (Some(pa), Some(pb)) = (last_a, last_b)
            && pa.abs_diff(pb) <= window
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
        [[topic]]
        id = "t"
        headline_weight = 3
        match = "a >= 1"

        [concepts.a]
        en = ["alpha"]

        [concepts.b]
        en = ["beta"]
    "#;

    fn scores(title: &str, body: &str) -> (i64, i64, i64) {
        let set = TopicSet::from_toml(TOML, "t.toml").unwrap();
        let lexicon = &set.lexicons[Lang::En.index()];
        let doc = Document {
            title,
            body,
            language: Some("en"),
        };
        let hits = DocHits::scan(lexicon, &doc, set.concept_names.len());
        let weighted = Weighted {
            hits: &hits,
            headline_weight: 3,
        };
        (
            weighted.concept(0),
            weighted.concept(1),
            weighted.near(0, 1, 2),
        )
    }

    #[test]
    fn headline_counts_its_weight_and_paragraphs_count_once_each() {
        assert_eq!(scores("alpha", "alpha alpha\n\nalpha\nbeta").0, 3 + 2);
        assert_eq!(scores("none", "beta\nbeta").1, 2);
    }

    #[test]
    fn near_counts_sections_with_both_within_the_window() {
        assert_eq!(scores("alpha and beta", "").2, 3);
        assert_eq!(scores("x", "alpha x beta\nalpha x y z beta").2, 1);
        assert_eq!(scores("x", "beta alpha\nalpha y beta").2, 2);
    }
}
