//! Text blocks and the readability-style choice of the body.
//!
//! The page is cut into text blocks at block-level elements and `<br>`s (table
//! cells are inline, so a table row is one block), skipping elements that never
//! hold article text (scripts, navigation, asides, figures), elements hidden by
//! attribute or inline style, and elements whose class or id marks them as
//! boilerplate (unless the same attribute also names content, or the element is
//! `<body>`, `<main>` or `<article>`).
//!
//! Each substantial block with little link text scores its container and, at
//! half weight, the container's parent; teasers (a headline link opening a list
//! item or an ellipsis-cut summary) do not vote. The best-scoring container is
//! then moved up to the ancestor holding the most body text net of other text
//! (weighed heavily), so a body split over several wrappers stays whole, and
//! joined by those of its siblings that score well or are paragraphs of prose.
//! Its blocks are the paragraphs, minus link lists, the headline, short
//! unpunctuated fragments (bylines, "Advertisement", share labels) and widget
//! labels ("Loading...").
//! When the class rules leave almost no text, extraction is retried without them.

use std::collections::{HashMap, HashSet};

use ego_tree::NodeId;
use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::metadata::collapse_whitespace;

/// Elements whose content is never article text.
const SKIPPED_TAGS: &[&str] = &[
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "nav",
    "aside",
    "footer",
    "button",
    "iframe",
    "select",
    "textarea",
    "head",
    "figure",
    "figcaption",
    "menu",
    "dialog",
    "object",
    "video",
    "audio",
    "canvas",
    "input",
    "label",
    "option",
    "math",
];

/// Elements that end a run of inline text.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "table",
    "tr",
    "tbody",
    "thead",
    "header",
    "hr",
    "address",
    "center",
    "body",
    "form",
    "fieldset",
    "details",
    "summary",
    "caption",
];

/// Blocks whose text is a paragraph in its own right (their parent is the container).
const PARAGRAPH_TAGS: &[&str] = &[
    "p",
    "tr",
    "li",
    "blockquote",
    "pre",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dd",
];

/// Elements never dropped for their class or id.
const PROTECTED_TAGS: &[&str] = &["html", "body", "main", "article"];

/// class/id words that mark boilerplate inside or around an article.
const BOILERPLATE_TOKENS: &[&str] = &[
    "ad",
    "ads",
    "adv",
    "advert",
    "adverts",
    "advertisement",
    "advertising",
    "sponsor",
    "sponsored",
    "promo",
    "banner",
    "share",
    "sharing",
    "sharebar",
    "social",
    "related",
    "recommended",
    "newsletter",
    "subscribe",
    "subscription",
    "comment",
    "comments",
    "sidebar",
    "widget",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "breadcrumb",
    "breadcrumbs",
    "ticker",
    "popup",
    "modal",
    "nav",
    "navbar",
    "navigation",
    "menu",
    "footer",
    "masthead",
    "trending",
    "mostread",
    "outbrain",
    "taboola",
    "signup",
    "tags",
    "byline",
    "caption",
    "credit",
    "toolbar",
    "pagination",
    "pager",
    "disqus",
    "skyscraper",
    "rss",
];

/// class/id words that mark content: an element naming one is never dropped
/// for a boilerplate word.
const CONTENT_TOKENS: &[&str] = &[
    "article", "body", "content", "main", "story", "entry", "post", "column",
];

/// Whether one word of a class or id attribute marks boilerplate.
pub fn is_boilerplate_token(token: &str) -> bool {
    BOILERPLATE_TOKENS.contains(&token.to_ascii_lowercase().as_str())
}

fn is_content_token(token: &str) -> bool {
    CONTENT_TOKENS.contains(&token.to_ascii_lowercase().as_str())
}

/// Blocks shorter than this (in characters) do not vote for a container.
const MIN_SCORING_CHARS: usize = 25;
/// Blocks with a larger share of link text are navigation, not prose.
const MAX_LINK_DENSITY: f64 = 0.5;
/// Non-paragraph blocks shorter than this need sentence punctuation to count.
const MIN_FRAGMENT_CHARS: usize = 50;

/// A run of text between block boundaries.
struct Block {
    text: String,
    /// The innermost block-level element holding the text.
    owner: NodeId,
    /// Tag name of `owner`.
    tag: &'static str,
    link_chars: usize,
    /// Link characters before any plain text: a headline link opening the block.
    lead_link_chars: usize,
}

/// A block opening with a link at least this long (in characters) may be a teaser.
const TEASER_LINK_CHARS: usize = 20;

impl Block {
    /// A short line trailing off in an ellipsis ("You may also like...",
    /// "Loading…") labels a widget; it is not a sentence of the story.
    fn is_widget_label(&self) -> bool {
        self.chars() < MIN_FRAGMENT_CHARS
            && (self.text.ends_with("...") || self.text.ends_with('…'))
    }

    /// A headline link followed by a summary, as in lists of other stories: a
    /// list item or a block whose summary is cut short with an ellipsis.
    fn is_teaser(&self) -> bool {
        self.lead_link_chars >= TEASER_LINK_CHARS
            && (self.tag == "li" || self.text.ends_with("...") || self.text.ends_with('…'))
    }

    fn chars(&self) -> usize {
        self.text.chars().count()
    }

    fn link_density(&self) -> f64 {
        self.link_chars as f64 / self.chars().max(1) as f64
    }

    /// Whether this block reads as body text rather than a label or a link list.
    fn is_body_text(&self) -> bool {
        if self.tag == "h1" || self.link_density() > MAX_LINK_DENSITY || self.is_widget_label() {
            return false;
        }
        if PARAGRAPH_TAGS.contains(&self.tag) || self.chars() >= MIN_FRAGMENT_CHARS {
            return true;
        }
        self.text
            .trim_end_matches(['"', '”', '’', '»', ')', '\''])
            .ends_with(['.', '!', '?', '…', '。', '؟', ':'])
    }
}

/// Site rules applied to a parsed page: where the body is, what to leave out.
#[derive(Debug, Default)]
pub(super) struct Overrides {
    /// Elements that hold the body; empty to find it by scoring.
    pub body: Vec<NodeId>,
    /// Elements skipped with their content.
    pub dropped: HashSet<NodeId>,
}

/// The paragraphs of the page's main text, in document order.
pub(super) fn body_paragraphs(document: &Html, overrides: &Overrides) -> Vec<String> {
    if !overrides.body.is_empty() {
        return paragraphs_in(document, overrides);
    }
    let strict = paragraphs_from(document, true, &overrides.dropped);
    if text_len(&strict) >= 250 {
        return strict;
    }
    let loose = paragraphs_from(document, false, &overrides.dropped);
    if text_len(&loose) > text_len(&strict) {
        loose
    } else {
        strict
    }
}

fn text_len(paragraphs: &[String]) -> usize {
    paragraphs.iter().map(|p| p.chars().count()).sum()
}

/// The text blocks inside the elements a site rule names as the body.
fn paragraphs_in(document: &Html, overrides: &Overrides) -> Vec<String> {
    let body: HashSet<NodeId> = overrides.body.iter().copied().collect();
    collect_blocks(document, false, &overrides.dropped)
        .into_iter()
        .filter(|b| b.tag != "h1" && is_inside_any(document, b.owner, &body))
        .map(|b| b.text)
        .collect()
}

/// Extraction with (`by_class`) or without dropping elements for their class or id.
fn paragraphs_from(document: &Html, by_class: bool, dropped: &HashSet<NodeId>) -> Vec<String> {
    let blocks = collect_blocks(document, by_class, dropped);
    let scores = container_scores(document, &blocks);
    let Some(top) = best(&scores) else {
        return Vec::new();
    };
    let top = climb(document, top, &scores, &blocks);
    let chosen = with_siblings(document, top, &scores, &blocks);
    blocks
        .into_iter()
        .filter(|b| b.is_body_text() && is_inside_any(document, b.owner, &chosen))
        .map(|b| b.text)
        .collect()
}

/// The element's class names, read from the attribute as it is (scraper's
/// `classes()` interns every name in a global atom set: a lock and a hash each,
/// which showed in profiles).
pub(super) fn class_names(element: &scraper::node::Element) -> impl Iterator<Item = &str> {
    element
        .attr("class")
        .unwrap_or_default()
        .split_ascii_whitespace()
}

/// The class names and id, then their parts split at `-` and `_`.
fn class_words(element: &scraper::node::Element) -> impl Iterator<Item = &str> {
    class_names(element)
        .chain(element.attr("id"))
        .flat_map(|w| w.split(['-', '_']).chain(std::iter::once(w)))
}

fn element_is_skipped(element: &scraper::node::Element, by_class: bool) -> bool {
    let name = element.name();
    if SKIPPED_TAGS.contains(&name) {
        return true;
    }
    if element.attr("hidden").is_some() || element.attr("aria-hidden") == Some("true") {
        return true;
    }
    if !by_class || PROTECTED_TAGS.contains(&name) {
        return false;
    }
    if element.attr("style").is_some_and(hides) {
        return true;
    }
    let boilerplate = class_words(element).any(is_boilerplate_token)
        || class_names(element)
            .chain(element.attr("id"))
            .any(has_boilerplate_part);
    boilerplate && !class_words(element).any(is_content_token)
}

/// Parts that mark boilerplate even inside a longer word ("imageCaption",
/// "sharetools", "newsletterSignup").
const BOILERPLATE_PARTS: &[&str] = &["caption", "newsletter", "sharetool", "promo", "related"];

fn has_boilerplate_part(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    BOILERPLATE_PARTS.iter().any(|part| lower.contains(part))
}

/// Whether an inline style hides the element.
fn hides(style: &str) -> bool {
    let compact: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    compact.contains("display:none") || compact.contains("visibility:hidden")
}

/// Walks the tree once (iteratively, so deep nesting cannot overflow the stack)
/// and cuts its text into blocks.
fn collect_blocks(document: &Html, by_class: bool, dropped: &HashSet<NodeId>) -> Vec<Block> {
    let mut walker = Walker::default();
    let mut skipping: Option<NodeId> = None;
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) if skipping.is_none() => match node.value() {
                Node::Element(e)
                    if element_is_skipped(e, by_class) || dropped.contains(&node.id()) =>
                {
                    skipping = Some(node.id())
                }
                Node::Element(e) => walker.open(node.id(), e.name()),
                Node::Text(t) => walker.text(t),
                _ => {}
            },
            Edge::Close(node) => match skipping {
                Some(id) if id == node.id() => skipping = None,
                Some(_) => {}
                None => {
                    if let Node::Element(e) = node.value() {
                        walker.close(e.name());
                    }
                }
            },
            Edge::Open(_) => {}
        }
    }
    walker.flush();
    walker.blocks
}

/// The static tag name for a block-level element, if it is one.
fn block_tag(name: &str) -> Option<&'static str> {
    BLOCK_TAGS.iter().copied().find(|t| *t == name)
}

#[derive(Default)]
struct Walker {
    blocks: Vec<Block>,
    owners: Vec<(NodeId, &'static str)>,
    buffer: String,
    link_chars: usize,
    /// Link characters before the first plain text of the current block.
    lead_link_chars: usize,
    seen_plain: bool,
    link_depth: usize,
}

impl Walker {
    fn open(&mut self, id: NodeId, name: &str) {
        if let Some(tag) = block_tag(name) {
            self.flush();
            self.owners.push((id, tag));
        } else if name == "br" {
            self.flush();
        } else if matches!(name, "td" | "th") {
            // Cells are inline: a table row reads as one line.
            self.buffer.push(' ');
        } else if name == "a" {
            self.link_depth += 1;
        }
    }

    fn close(&mut self, name: &str) {
        if block_tag(name).is_some() {
            self.flush();
            self.owners.pop();
        } else if name == "a" {
            self.link_depth = self.link_depth.saturating_sub(1);
        }
    }

    fn text(&mut self, text: &str) {
        if self.link_depth > 0 {
            let chars = text
                .split_whitespace()
                .map(|w| w.chars().count() + 1)
                .sum::<usize>();
            self.link_chars += chars;
            if !self.seen_plain {
                self.lead_link_chars += chars;
            }
        } else if !text.trim().is_empty() {
            self.seen_plain = true;
        }
        self.buffer.push_str(text);
    }

    fn flush(&mut self) {
        let text = collapse_whitespace(&self.buffer);
        self.buffer.clear();
        let link_chars = std::mem::take(&mut self.link_chars);
        let lead_link_chars = std::mem::take(&mut self.lead_link_chars);
        self.seen_plain = false;
        let Some(&(owner, tag)) = self.owners.last() else {
            return;
        };
        if !text.is_empty() {
            self.blocks.push(Block {
                text,
                owner,
                tag,
                link_chars,
                lead_link_chars,
            });
        }
    }
}

/// Scores every container from the substantial blocks it holds.
fn container_scores(document: &Html, blocks: &[Block]) -> HashMap<NodeId, f64> {
    let mut scores: HashMap<NodeId, f64> = HashMap::new();
    for block in blocks {
        if block.chars() < MIN_SCORING_CHARS
            || block.link_density() > MAX_LINK_DENSITY
            || block.is_teaser()
        {
            continue;
        }
        let score = block_score(block);
        let container = container_of(document, block.owner);
        *scores.entry(container).or_default() += score;
        if let Some(parent) = document.tree.get(container).and_then(|n| n.parent()) {
            *scores.entry(parent.id()).or_default() += score / 2.0;
        }
    }
    scores
}

/// The highest-scoring container (the first in document order on a tie).
fn best(scores: &HashMap<NodeId, f64>) -> Option<(NodeId, f64)> {
    scores
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(id, score)| (*id, *score))
}

/// Body-like and other text (in characters) under a node.
#[derive(Default, Clone, Copy)]
struct Tally {
    good: f64,
    bad: f64,
}

impl Tally {
    /// Body text counts for an ancestor; other text counts against it, heavily.
    fn worth(self) -> f64 {
        self.good - BAD_TEXT_WEIGHT * self.bad
    }
}

/// How much a character of non-body text weighs against a character of body text.
const BAD_TEXT_WEIGHT: f64 = 15.0;

/// Moves the top container up to the ancestor whose subtree holds the most body
/// text net of other text, so bodies split over several wrappers stay whole.
fn climb(
    document: &Html,
    (top, top_score): (NodeId, f64),
    scores: &HashMap<NodeId, f64>,
    blocks: &[Block],
) -> (NodeId, f64) {
    let Some(top_node) = document.tree.get(top) else {
        return (top, top_score);
    };
    let chain: Vec<NodeId> = std::iter::once(top)
        .chain(top_node.ancestors().map(|a| a.id()))
        .collect();
    let tallies = chain_tallies(document, &chain, blocks);
    let best = chain
        .iter()
        .zip(&tallies)
        .fold((top, tallies[0].worth()), |acc, (id, t)| {
            if t.worth() > acc.1 {
                (*id, t.worth())
            } else {
                acc
            }
        });
    (
        best.0,
        scores
            .get(&best.0)
            .copied()
            .unwrap_or(top_score)
            .max(top_score),
    )
}

/// The tally of each node of `chain` (a node followed by its ancestors).
fn chain_tallies(document: &Html, chain: &[NodeId], blocks: &[Block]) -> Vec<Tally> {
    let position: HashMap<NodeId, usize> =
        chain.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut tallies = vec![Tally::default(); chain.len()];
    for block in blocks {
        let lowest = document.tree.get(block.owner).and_then(|n| {
            std::iter::once(n.id())
                .chain(n.ancestors().map(|a| a.id()))
                .find_map(|id| position.get(&id).copied())
        });
        let Some(lowest) = lowest else { continue };
        let chars = block.chars() as f64;
        for tally in &mut tallies[lowest..] {
            if block.is_body_text() && !block.is_teaser() {
                tally.good += chars;
            } else {
                tally.bad += chars;
            }
        }
    }
    tallies
}

/// A sibling paragraph of the top container with this much prose joins the body.
const SIBLING_PARAGRAPH_CHARS: usize = 150;

/// The top container plus its siblings that score at least a fifth of it, or
/// that are themselves a paragraph of prose.
fn with_siblings(
    document: &Html,
    (top, top_score): (NodeId, f64),
    scores: &HashMap<NodeId, f64>,
    blocks: &[Block],
) -> HashSet<NodeId> {
    let mut chosen = HashSet::from([top]);
    let threshold = (top_score * 0.2).max(10.0);
    let parent = document.tree.get(top).and_then(|n| n.parent());
    let siblings: HashSet<NodeId> = parent
        .iter()
        .flat_map(|p| p.children())
        .map(|c| c.id())
        .collect();
    for sibling in &siblings {
        if scores.get(sibling).is_some_and(|s| *s >= threshold) {
            chosen.insert(*sibling);
        }
    }
    let prose = blocks.iter().filter(|b| {
        siblings.contains(&b.owner)
            && b.chars() >= SIBLING_PARAGRAPH_CHARS
            && b.link_density() < 0.25
            && !b.is_teaser()
    });
    chosen.extend(prose.map(|b| b.owner));
    chosen
}

fn block_score(block: &Block) -> f64 {
    let commas = block
        .text
        .chars()
        .filter(|c| matches!(c, ',' | '،' | '、' | '，'))
        .count();
    1.0 + commas as f64 + (block.chars() as f64 / 100.0).min(3.0)
}

/// A paragraph-like block votes for its parent; text directly inside a container
/// (as in `<div>text<br><br>text</div>`) votes for that container.
fn container_of(document: &Html, owner: NodeId) -> NodeId {
    let Some(node) = document.tree.get(owner) else {
        return owner;
    };
    let is_paragraph =
        matches!(node.value(), Node::Element(e) if PARAGRAPH_TAGS.contains(&e.name()));
    match node.parent() {
        Some(parent) if is_paragraph => parent.id(),
        _ => owner,
    }
}

fn is_inside_any(document: &Html, node: NodeId, containers: &HashSet<NodeId>) -> bool {
    if containers.contains(&node) {
        return true;
    }
    document
        .tree
        .get(node)
        .is_some_and(|n| n.ancestors().any(|a| containers.contains(&a.id())))
}
