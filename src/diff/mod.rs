//! Diffs between two versions of an article, made with `similar`.
//!
//! A version is compared as lines: the title, then one line per paragraph. Changed
//! paragraphs are grouped into hunks with one paragraph of context, and inside a
//! hunk the words are diffed with Unicode word segmentation (correct for Arabic and
//! Cyrillic). Both diffs run under a deadline, so pathological inputs stay bounded.

mod render;

use std::time::Duration;

use serde::Serialize;
use similar::{ChangeTag, DiffTag, TextDiff};
use unicode_segmentation::UnicodeSegmentation;

pub use render::{render_human, word_diff_markup};

/// How long one diff may run before `similar` falls back to a coarser result.
const DEADLINE: Duration = Duration::from_secs(2);
/// Unchanged paragraphs shown around each change.
const CONTEXT: usize = 1;

/// The text of one version as the diff sees it.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub label: &'a str,
}

impl<'a> Side<'a> {
    pub fn new(title: &'a str, body: &'a str, label: &'a str) -> Side<'a> {
        Side { title, body, label }
    }

    /// The title, then each body line, each ending in `\n`. A lone `\r` becomes a
    /// space: `similar` would end a line there, and line numbers would no longer
    /// match the lines split here.
    fn document(&self) -> String {
        let mut doc = String::with_capacity(self.title.len() + self.body.len() + 2);
        push_line(&mut doc, self.title);
        for line in self.body.lines() {
            push_line(&mut doc, line);
        }
        doc
    }
}

fn push_line(doc: &mut String, line: &str) {
    doc.extend(line.chars().map(|c| if c == '\r' { ' ' } else { c }));
    doc.push('\n');
}

/// What changed between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionDiff {
    pub title_changed: bool,
    /// Unified diff of the paragraphs (the title is the first line).
    pub unified: String,
    pub added_words: usize,
    pub removed_words: usize,
    /// Changed regions, word by word, with their context paragraphs.
    pub hunks: Vec<Hunk>,
    /// The body's paragraphs that were added, removed or changed (the title aside).
    #[serde(skip)]
    pub paragraphs: ParagraphChanges,
}

/// Paragraph-level changes of a body, for classifying an update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParagraphChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// (old, new) pairs of paragraphs edited in place.
    pub changed: Vec<(String, String)>,
}

impl ParagraphChanges {
    fn from_ops(ops: &[similar::DiffOp], old: &[&str], new: &[&str]) -> ParagraphChanges {
        let body = |lines: &[&str], range: std::ops::Range<usize>| -> Vec<String> {
            lines[range]
                .iter()
                .map(|l| l.trim_end_matches('\n').to_string())
                .collect()
        };
        let mut changes = ParagraphChanges::default();
        for op in ops {
            // Line 0 is the title, compared on its own.
            let old_range = op.old_range().start.max(1)..op.old_range().end.max(1);
            let new_range = op.new_range().start.max(1)..op.new_range().end.max(1);
            let (olds, news) = (body(old, old_range), body(new, new_range));
            match op.tag() {
                DiffTag::Equal => {}
                DiffTag::Delete => changes.removed.extend(olds),
                DiffTag::Insert => changes.added.extend(news),
                DiffTag::Replace => changes.pair(olds, news),
            }
        }
        changes
    }

    /// Pairs replaced paragraphs in order; the surplus on either side was added or removed.
    fn pair(&mut self, olds: Vec<String>, news: Vec<String>) {
        let paired = olds.len().min(news.len());
        let mut olds = olds.into_iter();
        let mut news = news.into_iter();
        self.changed
            .extend(olds.by_ref().zip(news.by_ref()).take(paired));
        self.removed.extend(olds);
        self.added.extend(news);
    }
}

/// One region of change: a run of segments covering whole paragraphs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hunk {
    /// Index of the first line of the hunk in the old and new version
    /// (line 0 is the title, line 1 the first paragraph).
    pub old_line: usize,
    pub new_line: usize,
    pub segments: Vec<Segment>,
}

/// A run of text that is unchanged, removed or added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub op: Op,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Equal,
    Delete,
    Insert,
}

impl From<ChangeTag> for Op {
    fn from(tag: ChangeTag) -> Op {
        match tag {
            ChangeTag::Equal => Op::Equal,
            ChangeTag::Delete => Op::Delete,
            ChangeTag::Insert => Op::Insert,
        }
    }
}

/// Diffs two versions.
pub fn diff(old: Side<'_>, new: Side<'_>) -> VersionDiff {
    let old_doc = old.document();
    let new_doc = new.document();
    let lines = TextDiff::configure()
        .timeout(DEADLINE)
        .diff_lines(&old_doc, &new_doc);
    let unified = lines
        .unified_diff()
        .context_radius(CONTEXT)
        .header(old.label, new.label)
        .to_string();
    let old_lines: Vec<&str> = old_doc.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new_doc.split_inclusive('\n').collect();
    let mut result = VersionDiff {
        title_changed: old.title != new.title,
        unified,
        added_words: 0,
        removed_words: 0,
        hunks: Vec::new(),
        paragraphs: ParagraphChanges::from_ops(lines.ops(), &old_lines, &new_lines),
    };
    for group in lines.grouped_ops(CONTEXT) {
        let Some(first) = group.first() else {
            continue;
        };
        let mut hunk = Hunk {
            old_line: first.old_range().start,
            new_line: first.new_range().start,
            segments: Vec::new(),
        };
        for op in &group {
            let old_text = old_lines[op.old_range()].concat();
            let new_text = new_lines[op.new_range()].concat();
            match op.tag() {
                DiffTag::Equal => push(&mut hunk.segments, Op::Equal, &old_text),
                DiffTag::Delete => {
                    result.removed_words += count_words(&old_text);
                    push(&mut hunk.segments, Op::Delete, &old_text);
                }
                DiffTag::Insert => {
                    result.added_words += count_words(&new_text);
                    push(&mut hunk.segments, Op::Insert, &new_text);
                }
                DiffTag::Replace => {
                    let pairs = pair_lines(
                        &old_lines[op.old_range()],
                        &new_lines[op.new_range()],
                        &old_text,
                        &new_text,
                    );
                    for (old, new) in pairs {
                        replace_words(&old, &new, &mut hunk.segments, &mut result);
                    }
                }
            }
        }
        result.hunks.push(hunk);
    }
    result
}

/// Below this share of common text, a changed paragraph is shown as removed
/// and re-added rather than as an interleaving of word changes.
const MIN_COMMON_SHARE: f32 = 0.5;

/// Pairs replaced lines one to one when their counts match, else as one block.
fn pair_lines(old: &[&str], new: &[&str], old_text: &str, new_text: &str) -> Vec<(String, String)> {
    if old.len() == new.len() {
        return old
            .iter()
            .zip(new)
            .map(|(o, n)| (o.to_string(), n.to_string()))
            .collect();
    }
    vec![(old_text.to_string(), new_text.to_string())]
}

/// Diffs a changed paragraph word by word. Only the text between the words the
/// two sides start and end with in common is segmented and diffed: a figure
/// changed in a long paragraph costs a few words, not the paragraph.
fn replace_words(old: &str, new: &str, segments: &mut Vec<Segment>, counts: &mut VersionDiff) {
    let (prefix, suffix) = common_ends(old, new);
    let (old_middle, new_middle) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let words = TextDiff::configure()
        .timeout(DEADLINE)
        .diff_unicode_words(old_middle, new_middle);
    let common_inside: usize = words
        .iter_all_changes()
        .filter(|c| c.tag() == ChangeTag::Equal)
        .map(|c| c.value().len())
        .sum();
    let common = 2 * (prefix + suffix + common_inside);
    if (common as f32) < MIN_COMMON_SHARE * (old.len() + new.len()) as f32 {
        counts.removed_words += count_words(old);
        counts.added_words += count_words(new);
        push(segments, Op::Delete, old);
        push(segments, Op::Insert, new);
        return;
    }
    let mut run = ChangeRun::default();
    run.add(Op::Equal, &old[..prefix], segments);
    for change in words.iter_all_changes() {
        let text = change.value();
        match change.tag() {
            ChangeTag::Insert => counts.added_words += count_words(text),
            ChangeTag::Delete => counts.removed_words += count_words(text),
            ChangeTag::Equal => {}
        }
        run.add(Op::from(change.tag()), text, segments);
    }
    run.add(Op::Equal, &old[old.len() - suffix..], segments);
    run.flush(segments);
}

/// The bytes two texts share at their start and at their end, each cut at a
/// space so that no word is split: the prefix ends after a space, the suffix
/// starts with one, and the two do not overlap on either side.
fn common_ends(old: &str, new: &str) -> (usize, usize) {
    let (old, new) = (old.as_bytes(), new.as_bytes());
    let shared = |a: &mut dyn Iterator<Item = (&u8, &u8)>| a.take_while(|(x, y)| x == y).count();
    let prefix = shared(&mut old.iter().zip(new));
    let prefix = old[..prefix]
        .iter()
        .rposition(|&b| b == b' ')
        .map_or(0, |space| space + 1);
    let room = old.len().min(new.len()) - prefix;
    let suffix = shared(&mut old.iter().rev().zip(new.iter().rev())).min(room);
    let suffix = old[old.len() - suffix..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(0, |space| suffix - space);
    (prefix, suffix)
}

/// Gathers neighbouring word changes, and the spaces between them, into one
/// removal and one insertion, so a rewritten phrase reads as a whole.
#[derive(Default)]
struct ChangeRun {
    removed: String,
    added: String,
    spaces: String,
}

impl ChangeRun {
    fn add(&mut self, op: Op, text: &str, segments: &mut Vec<Segment>) {
        if text.is_empty() {
            return;
        }
        let in_run = !self.removed.is_empty() || !self.added.is_empty();
        match op {
            Op::Equal if in_run && text.trim().is_empty() => self.spaces.push_str(text),
            Op::Equal => {
                self.flush(segments);
                push(segments, Op::Equal, text);
            }
            Op::Delete | Op::Insert => {
                let spaces = std::mem::take(&mut self.spaces);
                self.removed.push_str(&spaces);
                self.added.push_str(&spaces);
                let side = if op == Op::Delete {
                    &mut self.removed
                } else {
                    &mut self.added
                };
                side.push_str(text);
            }
        }
    }

    fn flush(&mut self, segments: &mut Vec<Segment>) {
        let run = std::mem::take(self);
        for (op, text) in [
            (Op::Delete, run.removed),
            (Op::Insert, run.added),
            (Op::Equal, run.spaces),
        ] {
            if !text.is_empty() {
                push(segments, op, &text);
            }
        }
    }
}

/// Appends text to the last segment when it has the same operation.
fn push(segments: &mut Vec<Segment>, op: Op, text: &str) {
    match segments.last_mut() {
        Some(last) if last.op == op => last.text.push_str(text),
        _ => segments.push(Segment {
            op,
            text: text.to_string(),
        }),
    }
}

/// Words in `text`, as Unicode word segmentation (UAX #29) finds them.
fn count_words(text: &str) -> usize {
    text.unicode_words().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(title: &'a str, body: &'a str) -> Side<'a> {
        Side {
            title,
            body,
            label: "v",
        }
    }

    #[test]
    fn a_changed_number_is_one_word_out_one_in() {
        let d = diff(
            side("Talks", "They met for 58 minutes.\nNo deal."),
            side("Talks", "They met for 90 minutes.\nNo deal."),
        );
        assert!(!d.title_changed);
        assert_eq!((d.added_words, d.removed_words), (1, 1));
        assert!(d.unified.contains("-They met for 58 minutes."));
        assert!(d.unified.contains("+They met for 90 minutes."));
        assert_eq!(
            word_diff_markup(&d),
            "Talks\nThey met for [-58-]{+90+} minutes.\nNo deal.\n"
        );
    }

    #[test]
    fn common_ends_stop_at_spaces_and_never_overlap() {
        assert_eq!(
            common_ends("met for 58 minutes.", "met for 90 minutes."),
            (8, 9)
        );
        assert_eq!(common_ends("same text", "same text"), (5, 0));
        assert_eq!(common_ends("a b", "a b c"), (2, 0));
        assert_eq!(common_ends("كتب الرئيس", "كتت الرئيس"), (0, 13));
        assert_eq!(common_ends("x y", "z"), (0, 0));
    }

    #[test]
    fn a_figure_changed_in_a_long_paragraph_is_one_word_change_in_context() {
        let filler = "the envoys met again in Istanbul and spoke of prisoners ".repeat(40);
        let (old, new) = (
            format!("{filler}for 58 minutes, {filler}."),
            format!("{filler}for 90 minutes, {filler}."),
        );
        let d = diff(side("Talks", &old), side("Talks", &new));
        assert_eq!((d.added_words, d.removed_words), (1, 1));
        let ops: Vec<(Op, &str)> = d.hunks[0]
            .segments
            .iter()
            .map(|s| (s.op, s.text.as_str()))
            .collect();
        assert_eq!(
            ops,
            vec![
                (Op::Equal, format!("Talks\n{filler}for ").as_str()),
                (Op::Delete, "58"),
                (Op::Insert, "90"),
                (Op::Equal, format!(" minutes, {filler}.\n").as_str()),
            ]
        );
    }

    #[test]
    fn an_appended_arabic_paragraph_counts_its_words() {
        let d = diff(
            side("عنوان", "وقال ترامب إن بوتين يريد السلام."),
            side(
                "عنوان",
                "وقال ترامب إن بوتين يريد السلام.\nوأكد الكرملين موعد اللقاء.",
            ),
        );
        assert_eq!(d.removed_words, 0);
        assert_eq!(d.added_words, 4);
        assert!(d.unified.contains("+وأكد الكرملين موعد اللقاء."));
    }

    #[test]
    fn cyrillic_case_endings_are_whole_word_changes() {
        let d = diff(
            side("Т", "Переговоры по Украине."),
            side("Т", "Переговоры об Украины."),
        );
        assert_eq!((d.added_words, d.removed_words), (2, 2));
    }

    #[test]
    fn a_new_title_is_flagged() {
        let d = diff(side("Old headline", "Body."), side("New headline", "Body."));
        assert!(d.title_changed);
        assert_eq!((d.added_words, d.removed_words), (1, 1));
    }

    #[test]
    fn paragraph_changes_separate_added_removed_and_edited() {
        let d = diff(
            side("T", "A.\nB was 5.\nC."),
            side("T2", "A.\nB was 6.\nD.\nE."),
        );
        assert_eq!(
            d.paragraphs.changed,
            vec![
                ("B was 5.".into(), "B was 6.".into()),
                ("C.".into(), "D.".into())
            ]
        );
        assert_eq!(d.paragraphs.added, vec!["E.".to_string()]);
        assert!(d.paragraphs.removed.is_empty());
        let d = diff(side("T", "A.\nB.\nC."), side("T", "A.\nC."));
        assert_eq!(d.paragraphs.removed, vec!["B.".to_string()]);
    }

    #[test]
    fn identical_versions_have_no_hunks() {
        let d = diff(side("T", "A.\nB."), side("T", "A.\nB."));
        assert!(d.hunks.is_empty());
        assert_eq!(d.unified, "");
    }
}
