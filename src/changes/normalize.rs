//! Text normalisation before comparison: Unicode NFC, invisible characters
//! removed, whitespace collapsed; and the digit masks that let volatile lines
//! ("Updated 5 minutes ago", "Просмотров: 1 204") be recognised across fetches.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Characters that change nothing a reader sees: zero-width spaces and joiners,
/// bidi marks and isolates, the BOM, soft hyphens, the Arabic letter mark.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// One line of text as it is compared: NFC, no invisible characters, single spaces.
pub fn normalize_line(line: &str) -> String {
    if is_normal(line) {
        return line.to_string();
    }
    let visible: String = line.nfc().filter(|c| !is_invisible(*c)).collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether [`normalize_line`] would return `line` as it is (most extracted
/// lines): NFC already, nothing invisible, single spaces between words only.
fn is_normal(line: &str) -> bool {
    let mut previous = ' ';
    for c in line.chars() {
        let space = c.is_whitespace();
        if is_invisible(c) || (space && (c != ' ' || previous == ' ')) {
            return false;
        }
        previous = c;
    }
    previous != ' ' && is_nfc_quick(line.chars()) == IsNormalized::Yes
}

/// A digit in any script as its ASCII value (Arabic-Indic and Persian digits included).
pub fn ascii_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '\u{0660}'..='\u{0669}' => char::from_digit(c as u32 - 0x0660, 10),
        '\u{06F0}'..='\u{06F9}' => char::from_digit(c as u32 - 0x06F0, 10),
        _ => None,
    }
}

/// The line with every run of digits (and the separators inside a number)
/// replaced by `#`, lower-cased: the shape that survives a counter ticking.
pub fn digit_mask(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_number = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if ascii_digit(c).is_some() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
            continue;
        }
        let separator = matches!(c, '.' | ',' | ' ' | '\u{00A0}' | '\u{066B}' | '\u{066C}');
        if in_number && separator && chars.peek().is_some_and(|n| ascii_digit(*n).is_some()) {
            continue;
        }
        in_number = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// The numbers in a text, as ASCII digit strings, in order.
pub fn numbers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        match ascii_digit(c) {
            Some(d) => current.push(d),
            None if !current.is_empty() => found.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        found.push(current);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_invisibles_and_spaces_are_normalised() {
        let decomposed = "Cafe\u{0301}  talks\u{200B} \u{200F}resume ";
        assert_eq!(normalize_line(decomposed), "Café talks resume");
        assert_eq!(
            normalize_line("السلام\u{0640}"),
            "السلام\u{0640}",
            "tatweel is visible and kept"
        );
    }

    #[test]
    fn the_shortcut_for_normal_lines_changes_nothing() {
        let full = |line: &str| {
            let visible: String = line.nfc().filter(|c| !is_invisible(*c)).collect();
            visible.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        let lines = [
            "Talks resume",
            "Переговоры в Женеве",
            "",
            " a",
            "a ",
            "a  b",
            "a\tb",
            "a\u{00A0}b",
            "a\u{200B}b",
            "Cafe\u{0301}",
            "\u{212B}ngstr\u{00F6}m",
        ];
        for line in lines {
            assert_eq!(normalize_line(line), full(line), "{line:?}");
        }
    }

    #[test]
    fn masks_survive_counters_in_any_script() {
        assert_eq!(
            digit_mask("Updated 4 minutes ago"),
            digit_mask("Updated 17 minutes ago")
        );
        assert_eq!(digit_mask("Просмотров: 1 204"), "просмотров: #");
        assert_eq!(digit_mask("منذ ٥ دقائق"), digit_mask("منذ 12 دقائق"));
        assert_ne!(
            digit_mask("Updated 4 minutes ago"),
            digit_mask("Updated 4 hours ago")
        );
    }

    #[test]
    fn numbers_are_read_in_order_with_arabic_digits() {
        assert_eq!(numbers("met for 58 minutes, ٣ times"), vec!["58", "3"]);
        assert!(numbers("no figures").is_empty());
    }
}
