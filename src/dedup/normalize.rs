//! Text normalisation for fingerprints: NFKC, case folding, Arabic and digit folding,
//! datelines and agency credits removed, then words.
//!
//! Everything here feeds persisted fingerprints: a change in behaviour must bump
//! [`super::fingerprint::FINGERPRINT_VERSION`].

use std::borrow::Cow;
use std::sync::LazyLock;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};
use unicode_segmentation::UnicodeSegmentation;

/// News agencies whose credit marks a dateline prefix (folded on first use).
const AGENCIES: &[&str] = &[
    "reuters",
    "ap",
    "associated press",
    "afp",
    "france presse",
    "bloomberg",
    "dpa",
    "efe",
    "ansa",
    "xinhua",
    "kyodo",
    "yonhap",
    "pti",
    "tass",
    "тасс",
    "риа",
    "риа новости",
    "interfax",
    "интерфакс",
    "інтерфакс",
    "ukrinform",
    "укрінформ",
    "укринформ",
    "unian",
    "уніан",
    "униан",
    "anadolu",
    "aa",
    "الأناضول",
    "رويترز",
    "فرانس برس",
    "أ ف ب",
    "د ب أ",
    "أ ب",
    "شينخوا",
    "واس",
    "قنا",
    "وام",
    "سانا",
];

/// Longest dateline prefix considered, in characters.
const MAX_PREFIX_CHARS: usize = 80;
/// Most words a dateline prefix may have.
const MAX_PREFIX_WORDS: usize = 6;
/// How many leading paragraphs may carry a dateline (a local intro can precede it).
const DATELINE_PARAGRAPHS: usize = 3;
/// Separators that end a dateline prefix.
const SEPARATORS: &[&str] = &[" - ", " — ", " – ", ": ", "/. ", ". ", " -- "];

static FOLDED_AGENCIES: LazyLock<Vec<String>> = LazyLock::new(|| {
    AGENCIES
        .iter()
        .map(|a| format!(" {} ", words(&fold(a)).join(" ")))
        .collect()
});

/// Calls `each` with the normalised words of each body paragraph that has any,
/// datelines and credit lines removed; returns how many it called it for.
pub fn for_each_paragraph(paragraphs: &[&str], mut each: impl FnMut(&[Cow<'_, str>])) -> usize {
    let mut called = 0;
    for (i, p) in paragraphs.iter().enumerate() {
        let p = nfkc(p);
        let p = if i < DATELINE_PARAGRAPHS {
            strip_dateline(&p)
        } else {
            &p
        };
        if is_credit_line(p) {
            continue;
        }
        let folded = fold(p);
        let words: Vec<Cow<'_, str>> = word_iter(&folded).collect();
        if !words.is_empty() {
            each(&words);
            called += 1;
        }
    }
    called
}

fn nfkc(text: &str) -> Cow<'_, str> {
    match is_nfkc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        _ => Cow::Owned(text.nfkc().collect()),
    }
}

/// Lowercase, Arabic normalisation, ё → е, typographic apostrophes → ', Eastern Arabic
/// digits → ASCII.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase().replace('`', "'");
    }
    let mut out = String::with_capacity(text.len());
    out.extend(
        text.chars()
            .flat_map(char::to_lowercase)
            .filter_map(fold_char),
    );
    out
}

fn fold_char(c: char) -> Option<char> {
    match c {
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' | '\u{06D6}'..='\u{06ED}' => None,
        'أ' | 'إ' | 'آ' | 'ٱ' => Some('ا'),
        'ؤ' => Some('و'),
        'ئ' | 'ى' => Some('ي'),
        'ة' => Some('ه'),
        'ё' => Some('е'),
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' | '`' => Some('\''),
        '\u{0660}'..='\u{0669}' => char::from_digit(c as u32 - 0x0660, 10),
        '\u{06F0}'..='\u{06F9}' => char::from_digit(c as u32 - 0x06F0, 10),
        _ => Some(c),
    }
}

/// Words (UAX #29) of folded text; numbers lose their group separators.
pub fn words(folded: &str) -> Vec<String> {
    word_iter(folded).map(Cow::into_owned).collect()
}

fn word_iter(folded: &str) -> impl Iterator<Item = Cow<'_, str>> {
    folded.unicode_words().map(|w| {
        if w.starts_with(|c: char| c.is_ascii_digit()) {
            Cow::Owned(w.chars().filter(char::is_ascii_digit).collect())
        } else {
            Cow::Borrowed(w)
        }
    })
}

/// Whether a word is a number token.
pub fn is_number(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

/// Drop up to three stacked dateline/credit prefixes ("KYIV (Reuters) - ", "كييف - رويترز: ").
fn strip_dateline(paragraph: &str) -> &str {
    let mut rest = paragraph.trim_start();
    for _ in 0..3 {
        match dateline_end(rest) {
            Some(end) => rest = rest[end..].trim_start(),
            None => break,
        }
    }
    rest
}

/// Byte offset just past the shortest prefix that has a dateline's shape.
fn dateline_end(text: &str) -> Option<usize> {
    let window_end = text
        .char_indices()
        .nth(MAX_PREFIX_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let mut seps: Vec<(usize, &str)> = SEPARATORS
        .iter()
        .flat_map(|s| text[..window_end].match_indices(s))
        .collect();
    seps.sort_unstable();
    seps.into_iter()
        .find(|(at, sep)| is_dateline(&text[..*at], sep))
        .map(|(at, sep)| at + sep.len())
        .filter(|&end| end < text.len())
}

fn is_dateline(prefix: &str, sep: &str) -> bool {
    let prefix = prefix.trim();
    let n_words = prefix.split_whitespace().count();
    if prefix.is_empty() || n_words > MAX_PREFIX_WORDS {
        return false;
    }
    if names_agency(prefix) {
        return true;
    }
    let has_lower = prefix.chars().any(char::is_lowercase);
    let has_upper = prefix.chars().any(char::is_uppercase);
    let dash = sep.contains(['-', '—', '–']);
    let is_place = n_words <= 3 && !has_lower && !prefix.contains(['.', '!', '?', '"']);
    (dash && is_place) || (sep == ". " && is_place && has_upper)
}

fn names_agency(prefix: &str) -> bool {
    let padded = format!(" {} ", words(&fold(prefix)).join(" "));
    FOLDED_AGENCIES.iter().any(|a| padded.contains(a.as_str()))
}

/// A short parenthesised line such as "(Reporting by ...; Editing by ...)".
fn is_credit_line(paragraph: &str) -> bool {
    let p = paragraph.trim();
    p.len() < 300 && p.starts_with('(') && p.ends_with(')')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paragraph_words(paragraphs: &[&str]) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for_each_paragraph(paragraphs, |w| {
            out.push(w.iter().map(|w| w.to_string()).collect())
        });
        out
    }

    fn first_words(p: &str) -> String {
        paragraph_words(&[p]).concat().join(" ")
    }

    #[test]
    fn datelines_are_removed_by_shape() {
        let cases = [
            "KYIV, Feb 12 (Reuters) - Talks resumed",
            "(Reuters) - Talks resumed",
            "KYIV (Reuters) — Talks resumed",
            "Reuters: Talks resumed",
            "LONDON - Talks resumed",
        ];
        for c in cases {
            assert_eq!(first_words(c), "talks resumed", "{c}");
        }
        assert_eq!(
            first_words("МОСКВА, 12 февраля. /ТАСС/. Переговоры"),
            "переговоры"
        );
        assert_eq!(first_words("МОСКВА. Переговоры"), "переговоры");
        assert_eq!(
            first_words("ЭР-РИЯД (Интерфакс) — Переговоры"),
            "переговоры"
        );
        assert_eq!(first_words("كييف - رويترز: استؤنفت"), "استونفت");
        assert_eq!(first_words("كييف - أ ف ب: استؤنفت"), "استونفت");
    }

    #[test]
    fn ordinary_sentences_keep_their_start() {
        let s = "Officials said on Monday - after a long night - that talks resumed.";
        assert!(first_words(s).starts_with("officials said on monday"));
        let s = "The minister said: talks resumed.";
        assert!(first_words(s).starts_with("the minister said"));
    }

    #[test]
    fn arabic_and_digits_fold() {
        assert_eq!(fold("إِلَى الـمدينة ١٢٣ مستشفى"), "الي المدينه 123 مستشفي");
        assert_eq!(words("1,200 people"), vec!["1200", "people"]);
        assert_eq!(fold("Ёлка ПРИВЕТ"), "елка привет");
        assert_eq!(words(&fold("Ukraine’s")), words(&fold("Ukraine's")));
    }

    #[test]
    fn credit_lines_are_dropped() {
        assert!(paragraph_words(&["(Reporting by A; Editing by B)"]).is_empty());
    }
}
