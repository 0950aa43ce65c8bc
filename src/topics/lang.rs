//! Language detection for topic matching: the script decides first (Arabic,
//! Cyrillic, Latin), then letters and stopwords pick the language within it.
//!
//! The page's declared language is only a tie-breaker, because it may be
//! missing or wrong.

use super::normalize::{Lang, words};

/// How much text is inspected, in characters.
const SAMPLE_CHARS: usize = 1500;

const EN_STOPWORDS: &[&str] = &[
    "the", "and", "of", "to", "in", "is", "that", "said", "with", "for", "on", "was",
];
const FR_STOPWORDS: &[&str] = &[
    "le", "la", "les", "des", "et", "est", "une", "du", "dans", "que", "pour", "sur",
];
const DE_STOPWORDS: &[&str] = &[
    "der", "die", "und", "das", "den", "nicht", "mit", "ist", "ein", "eine", "von", "sich",
];

/// Counts of letters per script in a sample of the text.
#[derive(Default)]
struct ScriptCounts {
    arabic: usize,
    cyrillic: usize,
    latin: usize,
    ukrainian_letters: usize,
    russian_letters: usize,
}

/// Detects the language of `title` + `body`, using `declared` only where the
/// text leaves the choice open. Returns `None` for text in no supported script.
pub fn detect(title: &str, body: &str, declared: Option<&str>) -> Option<Lang> {
    let declared = declared.and_then(Lang::from_code);
    let sample: String = title
        .chars()
        .chain(['\n'])
        .chain(body.chars())
        .take(SAMPLE_CHARS)
        .collect();
    let counts = count_scripts(&sample);
    let top = counts.arabic.max(counts.cyrillic).max(counts.latin);
    if top == 0 {
        return declared;
    }
    if counts.arabic == top {
        Some(Lang::Ar)
    } else if counts.cyrillic == top {
        Some(cyrillic_language(&counts, declared))
    } else {
        Some(latin_language(&sample, declared))
    }
}

fn count_scripts(sample: &str) -> ScriptCounts {
    let mut counts = ScriptCounts::default();
    for c in sample.chars().flat_map(char::to_lowercase) {
        match c {
            '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' => counts.arabic += 1,
            'і' | 'ї' | 'є' | 'ґ' => {
                counts.cyrillic += 1;
                counts.ukrainian_letters += 1;
            }
            'ы' | 'э' | 'ъ' | 'ё' => {
                counts.cyrillic += 1;
                counts.russian_letters += 1;
            }
            '\u{0400}'..='\u{04FF}' => counts.cyrillic += 1,
            c if c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) => {
                counts.latin += 1
            }
            _ => {}
        }
    }
    counts
}

fn cyrillic_language(counts: &ScriptCounts, declared: Option<Lang>) -> Lang {
    use std::cmp::Ordering::*;
    match counts.ukrainian_letters.cmp(&counts.russian_letters) {
        Greater => Lang::Uk,
        Less => Lang::Ru,
        Equal if declared == Some(Lang::Uk) => Lang::Uk,
        Equal => Lang::Ru,
    }
}

fn latin_language(sample: &str, declared: Option<Lang>) -> Lang {
    let mut scores = [(Lang::En, 0usize), (Lang::Fr, 0), (Lang::De, 0)];
    for word in words(sample) {
        for (lang, list) in [(0, EN_STOPWORDS), (1, FR_STOPWORDS), (2, DE_STOPWORDS)] {
            if list.iter().any(|stop| stop.eq_ignore_ascii_case(word)) {
                scores[lang].1 += 1;
            }
        }
    }
    let best = scores.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let leaders: Vec<Lang> = scores
        .iter()
        .filter(|(_, n)| *n == best)
        .map(|(lang, _)| *lang)
        .collect();
    match declared {
        Some(lang) if leaders.contains(&lang) => lang,
        _ => leaders.first().copied().unwrap_or(Lang::En),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_decide_first() {
        assert_eq!(detect("محادثات السلام", "", Some("en")), Some(Lang::Ar));
        assert_eq!(detect("Peace talks resume", "", Some("ru")), Some(Lang::En));
    }

    #[test]
    fn ukrainian_and_russian_are_told_apart_by_letters() {
        assert_eq!(
            detect("Переговори у Стамбулі", "Україна та росія", None),
            Some(Lang::Uk)
        );
        assert_eq!(
            detect("Переговоры в Стамбуле", "Россия и Украина обсудили", None),
            Some(Lang::Ru)
        );
    }

    #[test]
    fn declared_language_breaks_ties_only() {
        assert_eq!(detect("Мир", "", Some("uk")), Some(Lang::Uk));
        assert_eq!(detect("Мир", "", None), Some(Lang::Ru));
        assert_eq!(detect("Мир", "Россия ждёт", Some("uk")), Some(Lang::Ru));
    }

    #[test]
    fn latin_languages_by_stopwords() {
        assert_eq!(
            detect(
                "Les négociations",
                "La Russie et l'Ukraine sont dans une impasse",
                None
            ),
            Some(Lang::Fr)
        );
        assert_eq!(
            detect(
                "Die Gespräche",
                "Russland und die Ukraine verhandeln nicht mit",
                None
            ),
            Some(Lang::De)
        );
        assert_eq!(
            detect("Talks", "Russia and Ukraine said that the talks", None),
            Some(Lang::En)
        );
    }

    #[test]
    fn no_letters_falls_back_to_declared() {
        assert_eq!(detect("2025", "— 12 —", Some("ar")), Some(Lang::Ar));
        assert_eq!(detect("", "", None), None);
    }
}
