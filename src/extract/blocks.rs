//! Text blocks and the readability-style choice of the body container.

use std::collections::HashMap;

use ego_tree::NodeId;
use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::metadata::collapse_whitespace;

/// Elements whose content is never article text.
const SKIPPED_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "nav", "aside", "footer", "form", "button",
    "iframe", "select", "textarea", "head", "figure", "menu", "dialog", "object", "video", "audio",
    "canvas",
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
    "td",
    "th",
    "tbody",
    "thead",
    "header",
    "hr",
    "address",
    "center",
    "body",
];

/// Blocks whose text is a paragraph in its own right (their parent is the container).
const PARAGRAPH_TAGS: &[&str] = &[
    "p",
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
    "most-read",
    "outbrain",
    "taboola",
    "paywall",
    "signup",
    "tags",
    "hidden",
];

/// Whether one word of a class or id attribute marks boilerplate.
pub fn is_boilerplate_token(token: &str) -> bool {
    BOILERPLATE_TOKENS.contains(&token.to_ascii_lowercase().as_str())
}

/// Blocks shorter than this (in characters) do not vote for a container.
const MIN_SCORING_CHARS: usize = 25;
/// Blocks with a larger share of link text are navigation, not prose.
const MAX_LINK_DENSITY: f64 = 0.5;

/// A run of text between block boundaries.
struct Block {
    text: String,
    /// The innermost block-level element holding the text.
    owner: NodeId,
    link_chars: usize,
}

impl Block {
    fn chars(&self) -> usize {
        self.text.chars().count()
    }

    fn link_density(&self) -> f64 {
        self.link_chars as f64 / self.chars().max(1) as f64
    }
}

/// The paragraphs of the page's main text, in document order.
pub(super) fn body_paragraphs(document: &Html) -> Vec<String> {
    let blocks = collect_blocks(document);
    let Some(container) = best_container(document, &blocks) else {
        return Vec::new();
    };
    blocks
        .into_iter()
        .filter(|b| b.link_density() <= MAX_LINK_DENSITY && is_inside(document, b.owner, container))
        .map(|b| b.text)
        .collect()
}

fn element_is_skipped(element: &scraper::node::Element) -> bool {
    if SKIPPED_TAGS.contains(&element.name()) {
        return true;
    }
    if element.attr("hidden").is_some() || element.attr("aria-hidden") == Some("true") {
        return true;
    }
    let words = element.classes().chain(element.id());
    words
        .flat_map(|w| w.split(['-', '_']).chain(std::iter::once(w)))
        .any(is_boilerplate_token)
}

/// Walks the tree once (iteratively, so deep nesting cannot overflow the stack)
/// and cuts its text into blocks.
fn collect_blocks(document: &Html) -> Vec<Block> {
    let mut walker = Walker::default();
    let mut skipping: Option<NodeId> = None;
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) if skipping.is_none() => match node.value() {
                Node::Element(e) if element_is_skipped(e) => skipping = Some(node.id()),
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

#[derive(Default)]
struct Walker {
    blocks: Vec<Block>,
    owners: Vec<NodeId>,
    buffer: String,
    link_chars: usize,
    link_depth: usize,
}

impl Walker {
    fn open(&mut self, id: NodeId, name: &str) {
        if BLOCK_TAGS.contains(&name) {
            self.flush();
            self.owners.push(id);
        } else if name == "br" {
            self.flush();
        } else if name == "a" {
            self.link_depth += 1;
        }
    }

    fn close(&mut self, name: &str) {
        if BLOCK_TAGS.contains(&name) {
            self.flush();
            self.owners.pop();
        } else if name == "a" {
            self.link_depth = self.link_depth.saturating_sub(1);
        }
    }

    fn text(&mut self, text: &str) {
        if self.link_depth > 0 {
            self.link_chars += text
                .split_whitespace()
                .map(|w| w.chars().count() + 1)
                .sum::<usize>();
        }
        self.buffer.push_str(text);
    }

    fn flush(&mut self) {
        let text = collapse_whitespace(&self.buffer);
        self.buffer.clear();
        let link_chars = std::mem::take(&mut self.link_chars);
        let Some(&owner) = self.owners.last() else {
            return;
        };
        if !text.is_empty() {
            self.blocks.push(Block {
                text,
                owner,
                link_chars,
            });
        }
    }
}

/// The element that collects the highest score from the substantial blocks.
fn best_container(document: &Html, blocks: &[Block]) -> Option<NodeId> {
    let mut scores: HashMap<NodeId, f64> = HashMap::new();
    for block in blocks {
        if block.chars() < MIN_SCORING_CHARS || block.link_density() > MAX_LINK_DENSITY {
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
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(id, _)| id)
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

fn is_inside(document: &Html, node: NodeId, container: NodeId) -> bool {
    if node == container {
        return true;
    }
    document
        .tree
        .get(node)
        .is_some_and(|n| n.ancestors().any(|a| a.id() == container))
}
