//! The TOML shape of a topics file (see `config/topics.toml` for a documented example).

use std::collections::BTreeMap;

use serde::Deserialize;

/// A whole topics file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicsFile {
    /// Named concepts, each a list of terms per language.
    #[serde(default)]
    pub concepts: BTreeMap<String, ConceptDef>,
    /// The topics, each an expression over concepts.
    #[serde(default, rename = "topic")]
    pub topics: Vec<TopicDef>,
}

/// One topic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicDef {
    /// The id reported on matches, e.g. `russia-ukraine-talks`.
    pub id: String,
    /// Free text for people reading the file.
    #[serde(default)]
    pub description: String,
    /// How many body paragraphs a mention in the headline is worth.
    #[serde(default = "default_headline_weight")]
    pub headline_weight: u32,
    /// The boolean expression over concepts (see `topics::expr`).
    #[serde(rename = "match")]
    pub expression: String,
}

fn default_headline_weight() -> u32 {
    2
}

/// One concept: its terms in each language.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptDef {
    #[serde(default)]
    pub ar: Vec<String>,
    #[serde(default)]
    pub en: Vec<String>,
    #[serde(default)]
    pub ru: Vec<String>,
    #[serde(default)]
    pub uk: Vec<String>,
    #[serde(default)]
    pub fr: Vec<String>,
    #[serde(default)]
    pub de: Vec<String>,
}

impl ConceptDef {
    /// The terms of each language code.
    pub fn by_language(&self) -> [(&'static str, &[String]); 6] {
        [
            ("ar", &self.ar),
            ("en", &self.en),
            ("ru", &self.ru),
            ("uk", &self.uk),
            ("fr", &self.fr),
            ("de", &self.de),
        ]
    }
}
