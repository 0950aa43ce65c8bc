//! Precompiled concept terms of one language, and the scan that finds them in text.
//!
//! A term is one or more words; a word ending in `*` matches by prefix (on the
//! normalised, unstemmed form), any other word by stem. Words of a term must be
//! adjacent and in order, except across a `~N` marker: `обмен* ~3 пленн*`
//! matches when the two sides stand within N words of each other, in either order.

use std::collections::HashMap;

use super::normalize::{Analyzer, Lang, words};

/// Leading letters of a word checked against the terms' before stemming it or
/// looking up its prefixes (wildcards have at least this many letters).
const PREFIX_FILTER_CHARS: usize = 3;
/// Shortest wildcard prefix accepted, in letters.
const MIN_WILDCARD: usize = PREFIX_FILTER_CHARS;
/// Longest proximity window accepted, in words.
const MAX_WINDOW: u32 = 50;

/// Why a term could not be compiled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TermError {
    #[error("the term has no words")]
    Empty,
    #[error("wildcard `{0}` needs at least {MIN_WILDCARD} letters before the `*`")]
    ShortWildcard(String),
    #[error(
        "`~` must be followed by a window of 1 to {MAX_WINDOW} words and stand between words, once"
    )]
    BadWindow,
}

/// Plain-word stems and wildcard prefixes that share their first letters.
#[derive(Default)]
struct HeadGroup {
    exact: Vec<(String, usize)>,
    prefixes: Vec<(String, usize)>,
}

/// Whether a term word matches by stem or by prefix.
enum Kind {
    Exact,
    Prefix,
}

/// One compiled term.
struct Term {
    concept: usize,
    /// Pattern ids of the words before the `~N` marker (or all of them).
    first: Vec<usize>,
    /// Pattern ids after the marker, and the window.
    near: Option<(Vec<usize>, u32)>,
}

/// The compiled terms of one language.
pub struct Lexicon {
    analyzer: Analyzer,
    /// Patterns grouped by their first letters, so a word costs one lookup.
    groups: HashMap<String, HeadGroup>,
    /// Plain-word stems shorter than a head ("рф", "ес").
    short_stems: Vec<(String, usize)>,
    /// How many distinct patterns there are (the next pattern id).
    patterns: usize,
    terms: Vec<Term>,
    /// Pattern id → terms whose first word it is.
    starts: HashMap<usize, Vec<usize>>,
}

/// Where concepts were found in one section (headline or paragraph):
/// (concept, word index), ordered by word index.
pub type SectionHits = Vec<(usize, u32)>;

impl Lexicon {
    /// An empty lexicon for `lang`.
    pub fn new(lang: Lang) -> Lexicon {
        Lexicon {
            analyzer: Analyzer::new(lang),
            groups: HashMap::new(),
            short_stems: Vec::new(),
            patterns: 0,
            terms: Vec::new(),
            starts: HashMap::new(),
        }
    }

    /// Compiles `term` as a term of `concept`.
    pub fn add(&mut self, concept: usize, term: &str) -> Result<(), TermError> {
        let (before, after) = split_window(term)?;
        let first = self.compile_words(&before)?;
        let near = match after {
            Some((words, window)) => Some((self.compile_words(&words)?, window)),
            None => None,
        };
        let id = self.terms.len();
        if let Some(&head) = first.first() {
            self.starts.entry(head).or_default().push(id);
        }
        self.terms.push(Term {
            concept,
            first,
            near,
        });
        Ok(())
    }

    /// Compiles whitespace-separated term words; each is cut like text is
    /// ("cease-fire" is two words), a trailing `*` applying to the last piece.
    fn compile_words(&mut self, raw: &[&str]) -> Result<Vec<usize>, TermError> {
        let mut ids = Vec::new();
        for part in raw {
            let wildcard = part.ends_with('*');
            let pieces: Vec<&str> = words(part.trim_end_matches('*')).collect();
            for (i, piece) in pieces.iter().enumerate() {
                let last = i + 1 == pieces.len();
                ids.push(self.pattern(piece, wildcard && last)?);
            }
        }
        if ids.is_empty() {
            return Err(TermError::Empty);
        }
        Ok(ids)
    }

    /// The pattern id of one term word, created on first use.
    fn pattern(&mut self, word: &str, wildcard: bool) -> Result<usize, TermError> {
        let form = self.analyzer.term_form(word);
        if form.is_empty() {
            return Err(TermError::Empty);
        }
        let next = self.patterns;
        let (key, list) = if wildcard {
            if form.chars().count() < MIN_WILDCARD {
                return Err(TermError::ShortWildcard(format!("{word}*")));
            }
            (form, Kind::Prefix)
        } else {
            (self.analyzer.stem(&form), Kind::Exact)
        };
        let entries = match list {
            Kind::Exact if key.chars().count() < PREFIX_FILTER_CHARS => &mut self.short_stems,
            kind => {
                let group = self.groups.entry(head(&key).to_string()).or_default();
                match kind {
                    Kind::Prefix => &mut group.prefixes,
                    Kind::Exact => &mut group.exact,
                }
            }
        };
        let id = match entries.iter().find(|(k, _)| *k == key) {
            Some((_, id)) => *id,
            None => {
                entries.push((key, next));
                next
            }
        };
        self.patterns += usize::from(id == next);
        Ok(id)
    }

    /// Finds the concepts mentioned in one section of text.
    pub fn scan(&self, text: &str, scratch: &mut Vec<String>) -> SectionHits {
        let mut hits: Vec<(u32, usize)> = Vec::new();
        for (pos, word) in (0u32..).zip(words(text)) {
            self.analyzer.forms(word, scratch);
            for form in scratch.iter() {
                self.word_patterns(form, |pattern| {
                    if !at(&hits, pos).contains(&(pos, pattern)) {
                        hits.push((pos, pattern));
                    }
                });
            }
        }
        self.terms_in(&hits)
    }

    /// Calls `found` with every pattern that matches one form of a word.
    fn word_patterns(&self, form: &str, mut found: impl FnMut(usize)) {
        let group = self.groups.get(head(form));
        for (prefix, id) in group.into_iter().flat_map(|g| &g.prefixes) {
            if form.starts_with(prefix.as_str()) {
                found(*id);
            }
        }
        let mut stem: Option<String> = None;
        for (key, id) in group.into_iter().flat_map(|g| &g.exact) {
            if *stem.get_or_insert_with(|| self.analyzer.stem(form)) == *key {
                found(*id);
            }
        }
        // Stems shorter than a head: a word can only reduce to one it starts with.
        for (key, id) in &self.short_stems {
            if form.starts_with(key.as_str())
                && *stem.get_or_insert_with(|| self.analyzer.stem(form)) == *key
            {
                found(*id);
            }
        }
    }

    /// Turns word-level pattern hits into concept hits.
    fn terms_in(&self, hits: &[(u32, usize)]) -> SectionHits {
        let mut out: SectionHits = Vec::new();
        for &(pos, pattern) in hits {
            for &term_id in self.starts.get(&pattern).into_iter().flatten() {
                let Some(term) = self.terms.get(term_id) else {
                    continue;
                };
                let seen = out.iter().rev().take_while(|(_, p)| *p == pos);
                if !seen.clone().any(|(c, _)| *c == term.concept) && term_matches(term, pos, hits) {
                    out.push((term.concept, pos));
                }
            }
        }
        out
    }
}

fn term_matches(term: &Term, pos: u32, hits: &[(u32, usize)]) -> bool {
    if !phrase_at(&term.first, pos, hits) {
        return false;
    }
    let Some((other, window)) = &term.near else {
        return true;
    };
    let span = u32::try_from(term.first.len()).unwrap_or(u32::MAX);
    let lo = pos.saturating_sub(*window);
    let hi = pos.saturating_add(span).saturating_add(*window);
    let from = hits.partition_point(|(p, _)| *p < lo);
    let to = hits.partition_point(|(p, _)| *p <= hi);
    hits.get(from..to)
        .unwrap_or_default()
        .iter()
        .any(|&(p, pattern)| other.first() == Some(&pattern) && phrase_at(other, p, hits))
}

/// The hits at word `pos`, in a list ordered by position.
fn at(hits: &[(u32, usize)], pos: u32) -> &[(u32, usize)] {
    let from = hits.partition_point(|(p, _)| *p < pos);
    let to = hits.partition_point(|(p, _)| *p <= pos);
    hits.get(from..to).unwrap_or_default()
}

/// Whether the patterns of `phrase` stand at consecutive positions from `pos`.
fn phrase_at(phrase: &[usize], pos: u32, hits: &[(u32, usize)]) -> bool {
    (0u32..).zip(phrase).all(|(offset, pattern)| {
        let p = pos.saturating_add(offset);
        at(hits, p).contains(&(p, *pattern))
    })
}

/// Splits a term at its `~N` marker into words before and (words after, N).
#[allow(clippy::type_complexity)]
fn split_window(term: &str) -> Result<(Vec<&str>, Option<(Vec<&str>, u32)>), TermError> {
    let parts: Vec<&str> = term.split_whitespace().collect();
    let markers: Vec<usize> = (0..parts.len())
        .filter(|&i| parts.get(i).is_some_and(|p| p.starts_with('~')))
        .collect();
    match markers.as_slice() {
        [] => Ok((parts, None)),
        [i] if *i > 0 && *i + 1 < parts.len() => {
            let window = parts
                .get(*i)
                .and_then(|m| m.trim_start_matches('~').parse::<u32>().ok())
                .filter(|w| (1..=MAX_WINDOW).contains(w))
                .ok_or(TermError::BadWindow)?;
            let after = parts.get(*i + 1..).unwrap_or_default().to_vec();
            let before = parts.get(..*i).unwrap_or_default().to_vec();
            Ok((before, Some((after, window))))
        }
        _ => Err(TermError::BadWindow),
    }
}

/// The first [`PREFIX_FILTER_CHARS`] letters of a form (all of a shorter one).
fn head(form: &str) -> &str {
    let end = form
        .char_indices()
        .nth(PREFIX_FILTER_CHARS)
        .map_or(form.len(), |(i, _)| i);
    form.get(..end).unwrap_or(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon(lang: Lang, terms: &[(usize, &str)]) -> Lexicon {
        let mut lex = Lexicon::new(lang);
        for (concept, term) in terms {
            lex.add(*concept, term).unwrap();
        }
        lex
    }

    fn concepts(lex: &Lexicon, text: &str) -> Vec<usize> {
        let mut found: Vec<usize> = lex
            .scan(text, &mut Vec::new())
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    #[test]
    fn stems_and_wildcards_match_inflected_words() {
        let lex = lexicon(Lang::Ru, &[(0, "переговор*"), (1, "Украина")]);
        assert_eq!(
            concepts(&lex, "Переговоры по Украине возобновятся"),
            vec![0, 1]
        );
        assert_eq!(concepts(&lex, "Переговорщики прибыли"), vec![0]);
        assert!(concepts(&lex, "Говорят о погоде").is_empty());
    }

    #[test]
    fn phrases_need_adjacent_words_in_order() {
        let lex = lexicon(Lang::En, &[(0, "peace talks")]);
        assert_eq!(concepts(&lex, "New peace talks begin"), vec![0]);
        assert!(concepts(&lex, "Talks on peace begin").is_empty());
    }

    #[test]
    fn proximity_terms_match_within_the_window_in_either_order() {
        let lex = lexicon(Lang::Ru, &[(0, "обмен* ~3 пленн*")]);
        assert_eq!(
            concepts(&lex, "Пленными стороны обменялись в пятницу"),
            vec![0]
        );
        assert_eq!(concepts(&lex, "обмен телами погибших и пленными"), vec![0]);
        assert!(concepts(&lex, "обмен мнениями о судьбе всех без исключения пленных").is_empty());
    }

    #[test]
    fn arabic_terms_match_through_clitics() {
        let lex = lexicon(Lang::Ar, &[(0, "مفاوضات"), (1, "أوكرانيا"), (2, "السلام")]);
        assert_eq!(concepts(&lex, "بالمفاوضات وأوكرانيا للسلام"), vec![0, 1, 2]);
    }

    #[test]
    fn bad_terms_are_errors() {
        let mut lex = Lexicon::new(Lang::En);
        assert_eq!(
            lex.add(0, "ne*"),
            Err(TermError::ShortWildcard("ne*".into()))
        );
        assert_eq!(lex.add(0, "  "), Err(TermError::Empty));
        assert_eq!(lex.add(0, "a ~0 b"), Err(TermError::BadWindow));
        assert_eq!(lex.add(0, "~3 b"), Err(TermError::BadWindow));
        assert_eq!(lex.add(0, "a ~3 b ~2 c"), Err(TermError::BadWindow));
        assert_eq!(lex.add(0, "!!!"), Err(TermError::Empty));
    }
}
