//! Text renderings of a [`VersionDiff`]: word-diff markup and coloured output.

use anstyle::{AnsiColor, Style};

use super::{Op, VersionDiff};

/// Shown between two hunks.
const HUNK_SEPARATOR: &str = "⋯\n";

/// `git diff --word-diff` style markup: `[-removed-]{+added+}` inside the hunk text.
pub fn word_diff_markup(diff: &VersionDiff) -> String {
    let mut out = String::new();
    for (i, hunk) in diff.hunks.iter().enumerate() {
        if i > 0 {
            out.push_str(HUNK_SEPARATOR);
        }
        for segment in &hunk.segments {
            match segment.op {
                Op::Equal => out.push_str(&segment.text),
                Op::Delete => wrap(&mut out, "[-", &segment.text, "-]"),
                Op::Insert => wrap(&mut out, "{+", &segment.text, "+}"),
            }
        }
    }
    out
}

/// Puts markers around `text`, keeping a trailing newline outside them.
fn wrap(out: &mut String, open: &str, text: &str, close: &str) {
    let (inner, newline) = match text.strip_suffix('\n') {
        Some(inner) => (inner, "\n"),
        None => (text, ""),
    };
    out.push_str(open);
    out.push_str(inner);
    out.push_str(close);
    out.push_str(newline);
}

/// Removed words in red and struck through, added words in green and underlined;
/// with `color` off, the word-diff markup.
pub fn render_human(diff: &VersionDiff, color: bool) -> String {
    if !color {
        return word_diff_markup(diff);
    }
    let removed = Style::new()
        .fg_color(Some(AnsiColor::Red.into()))
        .strikethrough();
    let added = Style::new()
        .fg_color(Some(AnsiColor::Green.into()))
        .underline();
    let dim = Style::new().dimmed();
    let mut out = String::new();
    for (i, hunk) in diff.hunks.iter().enumerate() {
        if i > 0 {
            out.push_str(&format!("{dim}{HUNK_SEPARATOR}{dim:#}"));
        }
        for segment in &hunk.segments {
            let style = match segment.op {
                Op::Equal => Style::new(),
                Op::Delete => removed,
                Op::Insert => added,
            };
            for (j, line) in segment.text.split('\n').enumerate() {
                if j > 0 {
                    out.push('\n');
                }
                if !line.is_empty() {
                    out.push_str(&format!("{style}{line}{style:#}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Side, diff};
    use super::*;

    #[test]
    fn colour_marks_removed_and_added_words() {
        let d = diff(
            Side {
                title: "T",
                body: "Met for 58 minutes.",
                label: "1",
            },
            Side {
                title: "T",
                body: "Met for 90 minutes.",
                label: "2",
            },
        );
        let text = render_human(&d, true);
        let removed = Style::new()
            .fg_color(Some(AnsiColor::Red.into()))
            .strikethrough();
        let added = Style::new()
            .fg_color(Some(AnsiColor::Green.into()))
            .underline();
        assert!(
            text.contains(&format!("{removed}58{removed:#}")),
            "{text:?}"
        );
        assert!(text.contains(&format!("{added}90{added:#}")), "{text:?}");
        assert_eq!(
            render_human(&d, false),
            "T\nMet for [-58-]{+90+} minutes.\n"
        );
    }

    #[test]
    fn a_removed_paragraph_keeps_its_newline_outside_the_marker() {
        let d = diff(
            Side {
                title: "T",
                body: "A.\nB.",
                label: "1",
            },
            Side {
                title: "T",
                body: "A.",
                label: "2",
            },
        );
        assert_eq!(word_diff_markup(&d), "A.\n[-B.-]\n");
    }
}
