//! Language of a page's text when the markup does not declare one: statistical
//! detection (whatlang) on the extracted body, kept only when confident, as an
//! ISO 639-1 code like the declared ones.

/// Text shorter than this (in characters) is not worth guessing from.
const MIN_CHARS: usize = 40;
/// A guess below this confidence (0–1) is not kept, unless whatlang calls it reliable.
const MIN_CONFIDENCE: f64 = 0.5;
/// At most this much text is looked at.
const MAX_CHARS: usize = 4_000;

/// whatlang's ISO 639-3 codes mapped to ISO 639-1.
const TWO_LETTER: &[(&str, &str)] = &[
    ("epo", "eo"),
    ("eng", "en"),
    ("rus", "ru"),
    ("cmn", "zh"),
    ("spa", "es"),
    ("por", "pt"),
    ("ita", "it"),
    ("ben", "bn"),
    ("fra", "fr"),
    ("deu", "de"),
    ("ukr", "uk"),
    ("kat", "ka"),
    ("ara", "ar"),
    ("hin", "hi"),
    ("jpn", "ja"),
    ("heb", "he"),
    ("yid", "yi"),
    ("pol", "pl"),
    ("amh", "am"),
    ("jav", "jv"),
    ("kor", "ko"),
    ("nob", "nb"),
    ("dan", "da"),
    ("swe", "sv"),
    ("fin", "fi"),
    ("tur", "tr"),
    ("nld", "nl"),
    ("hun", "hu"),
    ("ces", "cs"),
    ("ell", "el"),
    ("bul", "bg"),
    ("bel", "be"),
    ("mar", "mr"),
    ("kan", "kn"),
    ("ron", "ro"),
    ("slv", "sl"),
    ("hrv", "hr"),
    ("srp", "sr"),
    ("mkd", "mk"),
    ("lit", "lt"),
    ("lav", "lv"),
    ("est", "et"),
    ("tam", "ta"),
    ("vie", "vi"),
    ("urd", "ur"),
    ("tha", "th"),
    ("guj", "gu"),
    ("uzb", "uz"),
    ("pan", "pa"),
    ("aze", "az"),
    ("ind", "id"),
    ("tel", "te"),
    ("pes", "fa"),
    ("mal", "ml"),
    ("ori", "or"),
    ("mya", "my"),
    ("nep", "ne"),
    ("sin", "si"),
    ("khm", "km"),
    ("tuk", "tk"),
    ("aka", "ak"),
    ("zul", "zu"),
    ("sna", "sn"),
    ("afr", "af"),
    ("lat", "la"),
    ("slk", "sk"),
    ("cat", "ca"),
    ("tgl", "tl"),
    ("hye", "hy"),
    ("cym", "cy"),
];

/// The language the paragraphs are written in, if that is clear.
pub(super) fn detect(paragraphs: &[String]) -> Option<String> {
    let mut sample = String::new();
    for paragraph in paragraphs {
        if sample.len() >= MAX_CHARS {
            break;
        }
        sample.push_str(paragraph);
        sample.push('\n');
    }
    if sample.chars().count() < MIN_CHARS {
        return None;
    }
    let info = whatlang::detect(&sample)
        .filter(|i| i.is_reliable() || i.confidence() >= MIN_CONFIDENCE)?;
    let code = info.lang().code();
    TWO_LETTER
        .iter()
        .find(|(three, _)| *three == code)
        .map(|(_, two)| (*two).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_russian_and_english() {
        let ru = [
            "Правительство объявило о новых мерах поддержки малого бизнеса в регионах страны."
                .to_string(),
        ];
        assert_eq!(detect(&ru).as_deref(), Some("ru"));
        let en = [
            "The government announced new measures to support small businesses across the country."
                .to_string(),
        ];
        assert_eq!(detect(&en).as_deref(), Some("en"));
    }

    #[test]
    fn short_text_is_not_guessed() {
        assert_eq!(detect(&["Hi".to_string()]), None);
    }
}
