//! Per-language tokenisation, normalisation and stemming for topic matching.
//!
//! Text and configured terms go through the same functions, so a term matches a
//! word exactly when both reduce to the same key. Each word yields one or more
//! *forms* (Arabic words also yield their clitic-stripped forms); wildcard terms
//! compare against forms by prefix, plain terms compare stemmed forms.
//! Terms are written without Arabic proclitics; [`Analyzer::term_form`] drops a
//! leading ال from them.

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A language the matcher knows: its own normalisation and stemmer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Ar,
    En,
    Ru,
    Uk,
    Fr,
    De,
}

impl Lang {
    /// Every supported language, in the order of [`Lang::index`].
    pub const ALL: [Lang; 6] = [Lang::Ar, Lang::En, Lang::Ru, Lang::Uk, Lang::Fr, Lang::De];

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Uk => "uk",
            Lang::Fr => "fr",
            Lang::De => "de",
        }
    }

    /// Parses a primary language subtag such as `"ar"` or `"RU"`.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|lang| lang.code().eq_ignore_ascii_case(code.trim()))
    }

    /// Position in [`Lang::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Shortest Arabic stem left after stripping clitics, in letters.
const AR_MIN_STEM: usize = 3;
/// Shortest Ukrainian stem left after stripping a suffix, in letters.
const UK_MIN_STEM: usize = 3;

/// Ukrainian inflectional suffixes, longest first.
const UK_SUFFIXES: &[&str] = &[
    "ськими",
    "ського",
    "ському",
    "ською",
    "ських",
    "ським",
    "ській",
    "ський",
    "ська",
    "ське",
    "ські",
    "ами",
    "ями",
    "ові",
    "еві",
    "єві",
    "ого",
    "ому",
    "ими",
    "іми",
    "ій",
    "их",
    "іх",
    "ий",
    "ої",
    "ою",
    "ею",
    "єю",
    "ам",
    "ям",
    "ах",
    "ях",
    "ом",
    "ем",
    "єм",
    "ів",
    "їв",
    "ей",
    "ти",
    "ть",
    "ся",
    "а",
    "я",
    "о",
    "е",
    "є",
    "у",
    "ю",
    "і",
    "ї",
    "и",
    "й",
    "ь",
];

/// The stemmers and normalisers of one language.
pub struct Analyzer {
    lang: Lang,
    stemmer: Option<Stemmer>,
}

impl Analyzer {
    /// Builds the analyzer for `lang`.
    pub fn new(lang: Lang) -> Analyzer {
        let algorithm = match lang {
            Lang::En => Some(Algorithm::English),
            Lang::Ru => Some(Algorithm::Russian),
            Lang::Fr => Some(Algorithm::French),
            Lang::De => Some(Algorithm::German),
            Lang::Ar | Lang::Uk => None,
        };
        Analyzer {
            lang,
            stemmer: algorithm.map(Stemmer::create),
        }
    }

    /// Normalises one raw word (as cut by [`words`]) into its forms: the word
    /// itself, then for Arabic every clitic-stripped variant.
    pub fn forms(&self, word: &str, out: &mut Vec<String>) {
        out.clear();
        let base = match self.lang {
            Lang::Ar => normalize_arabic(word),
            _ => normalize_general(word),
        };
        if base.is_empty() {
            return;
        }
        if self.lang == Lang::Ar {
            arabic_clitic_forms(&base, out);
        }
        out.insert(0, base);
    }

    /// The normalised form of one word of a configured term.
    pub fn term_form(&self, word: &str) -> String {
        let mut forms = Vec::new();
        self.forms(word, &mut forms);
        let form = forms.into_iter().next().unwrap_or_default();
        match form.strip_prefix("ال") {
            Some(rest) if self.lang == Lang::Ar && rest.chars().count() >= AR_MIN_STEM => {
                rest.to_string()
            }
            _ => form,
        }
    }

    /// The stem of a normalised form, used for plain (non-wildcard) terms:
    /// Snowball for en, ru, fr and de, a light suffix stemmer for uk, and the
    /// form itself for ar (whose clitics [`Analyzer::forms`] already strips;
    /// Arabic suffixes are matched with wildcards).
    pub fn stem(&self, form: &str) -> String {
        match (&self.stemmer, self.lang) {
            (_, Lang::Uk) => stem_ukrainian(form).to_string(),
            (Some(stemmer), _) => stemmer.stem(form).into_owned(),
            (None, _) => form.to_string(),
        }
    }
}

/// Splits text into raw words: runs of letters and digits, with apostrophes
/// inside a word kept (Ukrainian п'ять, English Kyiv's) and everything else a separator.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || is_apostrophe(c) || is_arabic_mark(c)))
        .map(|w| w.trim_matches(is_apostrophe))
        .filter(|w| !w.is_empty())
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '‘')
}

/// Tashkeel, Quranic marks, superscript alef and tatweel: dropped from Arabic words.
fn is_arabic_mark(c: char) -> bool {
    matches!(c, '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}' | '\u{0640}')
}

/// Lower-cases, folds Latin diacritics (é → e, ü → u), ё → е, drops apostrophes
/// and the English possessive.
fn normalize_general(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    if word.is_ascii() {
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        fold_into(word, &mut out);
    }
    if out.ends_with("'s") {
        out.truncate(out.len() - 2);
    }
    out.retain(|c| !is_apostrophe(c));
    out
}

/// Lower-cases `word` into `out`, folding Latin diacritics, ё and apostrophes.
fn fold_into(word: &str, out: &mut String) {
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'ё' => out.push('е'),
            'ß' => out.push_str("ss"),
            c if is_apostrophe(c) => out.push('\''),
            c if c.is_ascii() || !is_latin(c) => out.push(c),
            c => out.extend(c.to_string().nfd().filter(|m| !is_combining_mark(*m))),
        }
    }
}

fn is_latin(c: char) -> bool {
    matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
}

/// Arabic normalisation: marks and tatweel dropped, alef and hamza carriers
/// unified, teh marbuta → heh, alef maksura → yeh, Persian kaf/yeh → Arabic.
fn normalize_arabic(word: &str) -> String {
    word.chars()
        .filter(|c| !is_arabic_mark(*c))
        .map(|c| match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ة' => 'ه',
            'ى' | 'ئ' | 'ی' => 'ي',
            'ؤ' => 'و',
            'ک' => 'ك',
            c => c.to_lowercase().next().unwrap_or(c),
        })
        .collect()
}

/// Appends the forms of an Arabic word with its proclitics stripped: an
/// optional conjunction (و ف), an optional preposition (ب ل ك) and an optional
/// article (ال, or the لل of ل + ال), keeping at least [`AR_MIN_STEM`] letters.
fn arabic_clitic_forms(word: &str, out: &mut Vec<String>) {
    if !word.starts_with(['و', 'ف', 'ب', 'ل', 'ك', 'ا']) {
        return;
    }
    let mut stage: Vec<&str> = vec![word];
    for set in [&["و", "ف"][..], &["ب", "ل", "ك"][..]] {
        let stripped: Vec<&str> = stage.iter().filter_map(|w| strip_one(w, set)).collect();
        stage.extend(stripped);
    }
    let articles: Vec<&str> = stage
        .iter()
        .filter_map(|w| strip_one(w, &["ال", "لل"]))
        .collect();
    stage.extend(articles);
    for form in stage.into_iter().skip(1) {
        if !out.iter().any(|f| f == form) {
            out.push(form.to_string());
        }
    }
}

fn strip_one<'a>(word: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| {
        word.strip_prefix(p)
            .filter(|rest| rest.chars().count() >= AR_MIN_STEM)
    })
}

/// A light Ukrainian stemmer: removes the longest inflectional suffix that
/// leaves at least [`UK_MIN_STEM`] letters.
pub fn stem_ukrainian(word: &str) -> &str {
    let letters = word.chars().count();
    UK_SUFFIXES
        .iter()
        .filter(|s| letters >= s.chars().count() + UK_MIN_STEM)
        .find_map(|s| word.strip_suffix(s))
        .unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(lang: Lang, word: &str) -> Vec<String> {
        let mut out = Vec::new();
        Analyzer::new(lang).forms(word, &mut out);
        out
    }

    #[test]
    fn arabic_clitics_are_stripped() {
        assert!(forms(Lang::Ar, "وأوكرانيا").contains(&"اوكرانيا".to_string()));
        assert!(forms(Lang::Ar, "بالمفاوضات").contains(&"مفاوضات".to_string()));
        assert!(forms(Lang::Ar, "للسلام").contains(&"سلام".to_string()));
        assert!(forms(Lang::Ar, "فالمحادثات").contains(&"محادثات".to_string()));
    }

    #[test]
    fn arabic_short_stems_are_kept_whole() {
        // و + قف would leave two letters: only the whole word is a form.
        assert_eq!(forms(Lang::Ar, "وقف"), vec!["وقف".to_string()]);
    }

    #[test]
    fn arabic_marks_and_letter_variants_are_normalised() {
        assert_eq!(forms(Lang::Ar, "مُفَاوَضَـات")[0], "مفاوضات");
        assert_eq!(forms(Lang::Ar, "إدارة")[0], "اداره");
    }

    #[test]
    fn latin_diacritics_and_case_fold() {
        assert_eq!(forms(Lang::Fr, "Négociations")[0], "negociations");
        assert_eq!(forms(Lang::De, "Gespräche")[0], "gesprache");
        assert_eq!(forms(Lang::En, "Kyiv's")[0], "kyiv");
    }

    #[test]
    fn cyrillic_short_i_survives() {
        assert_eq!(forms(Lang::Ru, "Мирный")[0], "мирный");
        assert_eq!(forms(Lang::Ru, "Ёлка")[0], "елка");
    }

    #[test]
    fn ukrainian_stemmer_unifies_case_forms() {
        let stems: Vec<&str> = ["переговори", "переговорів", "переговорах"]
            .into_iter()
            .map(stem_ukrainian)
            .collect();
        assert!(stems.iter().all(|s| *s == "переговор"), "{stems:?}");
        assert_eq!(stem_ukrainian("мир"), "мир");
    }

    #[test]
    fn russian_stemmer_unifies_case_forms() {
        let analyzer = Analyzer::new(Lang::Ru);
        assert_eq!(analyzer.stem("украины"), analyzer.stem("украине"));
    }

    #[test]
    fn words_split_on_punctuation_and_keep_apostrophes() {
        let got: Vec<&str> = words("Куп'янськ, cease-fire; «мир»").collect();
        assert_eq!(got, vec!["Куп'янськ", "cease", "fire", "мир"]);
    }
}
