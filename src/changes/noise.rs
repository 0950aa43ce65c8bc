//! Noise that survives extraction inside an article: lines that change on every
//! fetch without the story changing.
//!
//! Two mechanisms, both general: built-in patterns for relative times, view and
//! share counters, ad labels and "Read more" links in Arabic, English, Russian
//! and Ukrainian (and French and German); and volatile lines learned per site —
//! when the same short line shape (numbers masked, or a "Label:" prefix) is seen
//! changing between consecutive fetches of two different articles of one host,
//! that shape is ignored on the host from then on.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};

use regex::Regex;

use super::normalize::digit_mask;

/// Lines longer than this (in words) are prose, never noise.
const MAX_NOISE_WORDS: usize = 12;
/// Longest line ending like a sentence that may still be learned ("Views: 1,204.").
const MAX_LABEL_WORDS: usize = 4;
/// Articles of one host on which a shape must be seen changing to be learned.
const ARTICLES_TO_LEARN: usize = 2;
/// Shapes tracked per host at most (learned or candidate).
const MAX_SHAPES_PER_HOST: usize = 2000;

/// Whole lines that are relative times, counters, ad labels or read-more links.
static NOISE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    let number = r"[\d\u0660-\u0669\u06F0-\u06F9][\d\u0660-\u0669\u06F0-\u06F9.,\s\u00A0]*";
    let units_en = r"(?:sec(?:ond)?s?|min(?:ute)?s?|hours?|hrs?|days?|weeks?|months?)";
    let units_ru =
        r"(?:секунд[уы]?|минут[уы]?|час(?:а|ов)?|дн(?:я|ей)|день|недел[юиь]|месяц(?:а|ев)?)";
    let units_uk = r"(?:секунд[уи]?|хвилин[уи]?|годин[уи]?|дн(?:і|ів)|день|тижн(?:і|ів)|тиждень|місяц(?:і|ів)|місяць)";
    let units_ar = r"(?:ثانية|ثوان[يٍ]?|ثواني|دقيقة|دقيقتين|دقائق|ساعة|ساعتين|ساعات|يوم|يومين|أيام|أسبوع|أسابيع|شهر|أشهر)";
    let units_fr = r"(?:secondes?|minutes?|heures?|jours?|semaines?|mois)";
    let units_de = r"(?:Sekunden?|Minuten?|Stunden?|Tagen?|Wochen?|Monaten?)";
    let updated = r"(?:updated|published|posted|last updated|обновлено|опубликовано|оновлено|опубліковано|تم التحديث|آخر تحديث|تحديث|نشر|mis à jour|publié|aktualisiert|veröffentlicht)";
    let patterns = [
        format!(r"^(?:{updated}:?\s*)?(?:{number}\s*{units_en}\s+ago|just now)$"),
        format!(r"^(?:{updated}:?\s*)?(?:{number}\s*{units_ru}\s+назад|только что)$"),
        format!(r"^(?:{updated}:?\s*)?(?:{number}\s*{units_uk}\s+тому|щойно)$"),
        format!(r"^(?:{updated}:?\s*)?(?:منذ|قبل)\s+(?:{number}\s*)?{units_ar}$"),
        format!(r"^(?:{updated}:?\s*)?il y a\s+{number}\s*{units_fr}$"),
        format!(r"^(?:{updated}:?\s*)?vor\s+{number}\s*{units_de}$"),
        format!(r"^{number}\s*(?:views?|reads?|shares?|comments?|likes?|просмотр\w*|прочтени\w*|комментари\w*|перегляд\w*|коментар\w*|مشاهدة|مشاهدات|قراءة|تعليق|تعليقات|Aufrufe|vues|commentaires)$"),
        format!(r"^(?:views?|reads?|shares?|comments?|likes?|просмотр\w*|комментари\w*|перегляд\w*|коментар\w*|المشاهدات|مشاهدات|التعليقات|Aufrufe|vues)\s*:?\s*\(?{number}\)?$"),
        r"^(?:advertisement|sponsored|реклама|партнерский материал|إعلان|publicité|anzeige|werbung)(?:\s*[:\-–—].*)?$".to_string(),
        r"^(?:read more|read also|see also|also read|related|more on this|читайте также|читайте также|смотрите также|читайте також|дивіться також|اقرأ أيضا|اقرأ أيضاً|إقرأ أيضا|إقرأ أيضاً|اقرأ المزيد|lire aussi|à lire aussi|lesen sie auch|mehr zum thema)\s*[:\-–—].*$".to_string(),
    ];
    Regex::new(&format!("(?i)(?:{})", patterns.join(")|(?:"))).expect("noise patterns compile")
});

/// Whether a (normalised) line is a built-in noise line.
pub fn is_noise_line(line: &str) -> bool {
    line.split_whitespace().count() <= MAX_NOISE_WORDS && NOISE_LINE.is_match(line)
}

/// The shapes under which a line may be learned as volatile: its digit mask, and
/// its "Label:" prefix when it has one.
fn shapes(line: &str) -> impl Iterator<Item = String> {
    let mask = Some(format!("#{}", digit_mask(line)));
    let prefix = line
        .find(':')
        .filter(|i| *i > 0 && *i <= 40)
        .map(|i| format!(":{}", line[..i].to_lowercase()));
    mask.into_iter().chain(prefix)
}

/// Whether a line may be learned as volatile: short, and not a sentence. A
/// sentence whose figure was edited on two articles (newsroom templates repeat
/// sentences) is news, not a counter.
fn is_learnable(line: &str) -> bool {
    let words = line.split_whitespace().count();
    let sentence = line
        .trim_end_matches(['"', '\'', '»', '”', ')'])
        .ends_with(['.', '!', '?', '؟', '…', '。']);
    words <= MAX_NOISE_WORDS && !(sentence && words > MAX_LABEL_WORDS)
}

#[derive(Default)]
struct HostShapes {
    /// Shapes seen changing, with the articles they changed on.
    candidates: HashMap<String, HashSet<String>>,
    volatile: HashSet<String>,
}

/// Volatile line shapes learned per host.
#[derive(Default)]
pub struct NoiseModel {
    hosts: Mutex<HashMap<String, HostShapes>>,
}

impl NoiseModel {
    fn hosts(&self) -> std::sync::MutexGuard<'_, HashMap<String, HostShapes>> {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `line` is noise on `host`: a built-in pattern or a learned shape.
    pub fn is_noise(&self, host: &str, line: &str) -> bool {
        if is_noise_line(line) {
            return true;
        }
        if !is_learnable(line) {
            return false;
        }
        let hosts = self.hosts();
        let Some(known) = hosts.get(host) else {
            return false;
        };
        shapes(line).any(|shape| known.volatile.contains(&shape))
    }

    /// Learns from a line of `article` on `host` that changed from `old` to `new`
    /// between two fetches; returns true when a shape became volatile.
    pub fn observe_change(&self, host: &str, article: &str, old: &str, new: &str) -> bool {
        if old == new || !is_learnable(old) || !is_learnable(new) {
            return false;
        }
        let old_shapes: HashSet<String> = shapes(old).collect();
        let mut hosts = self.hosts();
        let known = hosts.entry(host.to_string()).or_default();
        let mut learned = false;
        for shape in shapes(new).filter(|s| old_shapes.contains(s)) {
            if known.volatile.contains(&shape) {
                continue;
            }
            if known.candidates.len() >= MAX_SHAPES_PER_HOST
                && !known.candidates.contains_key(&shape)
            {
                continue;
            }
            let seen_on = known.candidates.entry(shape.clone()).or_default();
            seen_on.insert(article.to_string());
            if seen_on.len() >= ARTICLES_TO_LEARN {
                tracing::info!(host, shape = %shape, "learned a volatile line shape");
                known.candidates.remove(&shape);
                known.volatile.insert(shape);
                learned = true;
            }
        }
        learned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_in_every_language_are_noise() {
        for line in [
            "Updated 5 minutes ago",
            "Updated: 1 hour ago",
            "Обновлено 11 минут назад",
            "5 минут назад",
            "Оновлено 3 години тому",
            "قبل 5 دقائق",
            "تم التحديث منذ ٣ ساعات",
            "il y a 4 heures",
            "vor 2 Stunden",
        ] {
            assert!(is_noise_line(line), "{line}");
        }
    }

    #[test]
    fn counters_ads_and_read_more_links_are_noise() {
        for line in [
            "1,204 views",
            "Просмотров: 1 204",
            "Переглядів: 87",
            "مشاهدات: 120",
            "Advertisement",
            "Реклама: Ипотека от 6% — сравните предложения банков",
            "Read more: Ten things to know about the talks",
            "اقرأ أيضاً: ترامب يتصل ببوتين",
        ] {
            assert!(is_noise_line(line), "{line}");
        }
    }

    #[test]
    fn sentences_that_mention_times_or_numbers_are_not_noise() {
        for line in [
            "The talks lasted 58 minutes, officials said.",
            "Five minutes ago the delegation left the hotel in Geneva without comment.",
            "Переговоры продолжались 9 часов, сообщили дипломаты.",
            "Correction: the meeting was held in Riyadh, not Istanbul.",
            "Ukraine says it downed 148 drones overnight",
        ] {
            assert!(!is_noise_line(line), "{line}");
        }
    }

    #[test]
    fn a_shape_changing_on_two_articles_of_a_host_is_learned_there_only() {
        let model = NoiseModel::default();
        assert!(!model.observe_change("h:80", "a1", "Vistas 1.204", "Vistas 1.377"));
        assert!(
            !model.is_noise("h:80", "Vistas 2.000"),
            "one article is not enough"
        );
        assert!(
            !model.observe_change("h:80", "a1", "Vistas 1.377", "Vistas 1.400"),
            "the same article again"
        );
        assert!(model.observe_change("h:80", "a2", "Vistas 10", "Vistas 12"));
        assert!(model.is_noise("h:80", "Vistas 31.999"));
        assert!(!model.is_noise("other:80", "Vistas 31.999"));
    }

    #[test]
    fn rotating_labelled_lines_are_learned_by_their_label() {
        let model = NoiseModel::default();
        model.observe_change(
            "h:80",
            "a1",
            "Most read: Storm hits coast",
            "Most read: Markets rally",
        );
        model.observe_change(
            "h:80",
            "a2",
            "Most read: Markets rally",
            "Most read: Cup final tonight",
        );
        assert!(model.is_noise("h:80", "Most read: Anything at all"));
        assert!(!model.is_noise("h:80", "Negotiators said on Tuesday that talks would resume next week in Geneva, with a new agenda."));
    }

    #[test]
    fn a_figure_edited_in_a_sentence_on_two_articles_is_not_learned() {
        let model = NoiseModel::default();
        let sentence = |n| {
            format!(
                "Overnight, Russia launched {n} drones at Ukrainian cities, the air force said."
            )
        };
        assert!(!model.observe_change("h:80", "a1", &sentence(170), &sentence(187)));
        assert!(!model.observe_change("h:80", "a2", &sentence(120), &sentence(95)));
        assert!(!model.is_noise("h:80", &sentence(300)));
    }
}
