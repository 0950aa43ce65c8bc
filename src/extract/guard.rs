//! Bounds on what the HTML parser is given, so hostile pages cannot make
//! extraction slow: a size cap, and a cut where the page nests elements deeper
//! than any real page does (html5ever's scope checks cost time in proportion to
//! the depth of open elements, so a 50,000-deep nest would take minutes).
//!
//! The nesting is estimated with a quick scan of the tags, not a parse: void
//! elements, elements whose end tag may be omitted (`p`, `li`, `td`…) and the
//! contents of raw-text elements (`script`, `style`…) do not count.
//!
//! The same scan drops what extraction never reads, which is most of a news
//! page's bytes and so most of the parser's work: comments, raw-text elements
//! but `<title>` (`<script>`s except JSON-LD, which metadata reads, `<style>`,
//! `<noscript>`…), `<svg>`, the elements extraction skips whole (`<nav>`,
//! `<aside>`, `<footer>`…) and, unless
//! asked to keep them, the attributes that neither extraction nor metadata use
//! (`data-*`, `srcset`, inline handlers…).

/// Pages are parsed up to this many bytes; the rest is ignored.
pub const MAX_INPUT_BYTES: usize = 8 * 1024 * 1024;
/// The input is cut before the tag that would open element number
/// `MAX_DEPTH + 1` on the estimated stack of open elements.
pub const MAX_DEPTH: usize = 512;
/// The input is cut once the summed depth of all opened elements (the work
/// the parser's scope checks do) exceeds this.
const MAX_DEPTH_SUM: usize = 20_000_000;

/// Elements that never hold children or whose end tag is often omitted.
const NOT_NESTING: &[&[u8]] = &[
    b"area",
    b"base",
    b"br",
    b"col",
    b"embed",
    b"hr",
    b"img",
    b"input",
    b"link",
    b"meta",
    b"source",
    b"track",
    b"wbr",
    b"param",
    b"keygen",
    b"p",
    b"li",
    b"dt",
    b"dd",
    b"option",
    b"optgroup",
    b"tr",
    b"td",
    b"th",
    b"tbody",
    b"thead",
    b"tfoot",
    b"colgroup",
    b"rb",
    b"rt",
    b"rp",
    b"html",
    b"head",
    b"body",
];

/// Elements whose content is text up to their end tag (and `svg`, skipped whole).
const RAW_TEXT: &[&[u8]] = &[
    b"script",
    b"style",
    b"textarea",
    b"title",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"plaintext",
    b"svg",
];

/// Elements extraction skips whole: dropped with their content before parsing.
const DROPPED_SUBTREES: &[&[u8]] = &[b"nav", b"aside", b"footer", b"template", b"select"];

/// Attributes extraction, metadata or the boilerplate rules read.
const KEPT_ATTRIBUTES: &[&[u8]] = &[
    b"class",
    b"id",
    b"hidden",
    b"aria-hidden",
    b"style",
    b"lang",
    b"dir",
    b"rel",
    b"href",
    b"itemprop",
    b"property",
    b"name",
    b"content",
    b"http-equiv",
    b"type",
    b"datetime",
    b"charset",
    b"role",
];

/// What to do with attributes the extractor does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attributes {
    /// Keep every attribute (for user CSS selectors that may test any of them).
    KeepAll,
    /// Keep only [`KEPT_ATTRIBUTES`].
    Prune,
}

/// The part of `html` that is safe and worth parsing: a bounded prefix, without
/// comments, styles, SVG and non-JSON-LD scripts.
pub fn prepare(html: &str, attributes: Attributes) -> String {
    let capped = prefix_at_char_boundary(html, MAX_INPUT_BYTES);
    let mut scan = Scan::new(capped, attributes);
    scan.run();
    scan.out
}

fn prefix_at_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn find_byte(bytes: &[u8], from: usize, byte: u8) -> Option<usize> {
    memchr::memchr(byte, bytes.get(from..)?).map(|n| from + n)
}

fn find_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = from;
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    while let Some(n) = memchr::memchr2(lower, upper, bytes.get(at..)?) {
        let hit = at + n;
        let tail = bytes.get(hit + 1..hit + 1 + rest.len())?;
        if tail.eq_ignore_ascii_case(rest) {
            return Some(hit);
        }
        at = hit + 1;
    }
    None
}

fn is_one_of(name: &[u8], list: &[&[u8]]) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// One pass over the input, copying what the parser should see into `out`.
/// Every position it copies up to is a `<` or just after a `>` (ASCII), so all
/// slices fall on char boundaries.
struct Scan<'a> {
    text: &'a str,
    bytes: &'a [u8],
    attributes: Attributes,
    out: String,
    /// Input before this has been copied (or dropped).
    copied: usize,
    depth: usize,
    depth_sum: usize,
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str, attributes: Attributes) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            attributes,
            out: String::with_capacity(text.len() / 2),
            copied: 0,
            depth: 0,
            depth_sum: 0,
            at: 0,
        }
    }

    fn run(&mut self) {
        while let Some(lt) = find_byte(self.bytes, self.at, b'<') {
            self.at = lt + 1;
            match self.bytes.get(lt + 1).copied().unwrap_or(b' ') {
                b'/' => self.depth = self.depth.saturating_sub(1),
                b'!' => self.declaration(lt),
                c if c.is_ascii_alphabetic() && !self.start_tag(lt) => {
                    self.copy_to(lt);
                    return;
                }
                _ => {}
            }
        }
        self.copy_to(self.bytes.len());
    }

    /// Copies the input up to `to`.
    fn copy_to(&mut self, to: usize) {
        if to > self.copied {
            self.out.push_str(&self.text[self.copied..to]);
            self.copied = to;
        }
    }

    /// Copies up to `from` and skips the input up to `to`.
    fn drop_range(&mut self, from: usize, to: usize) {
        self.copy_to(from);
        self.copied = self.copied.max(to);
    }

    /// Skips a comment (dropping it) or a doctype.
    fn declaration(&mut self, lt: usize) {
        let comment = self.bytes[lt..].starts_with(b"<!--");
        let terminator: &[u8] = if comment { b"-->" } else { b">" };
        self.at = find_from(self.bytes, lt + 2, terminator)
            .map_or(self.bytes.len(), |n| n + terminator.len());
        if comment {
            self.drop_range(lt, self.at);
        }
    }

    /// Handles a start tag at `lt`; false when it would nest too deep.
    fn start_tag(&mut self, lt: usize) -> bool {
        let name_end = self.bytes[lt + 1..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'))
            .map_or(self.bytes.len(), |n| lt + 1 + n);
        let name = &self.bytes[lt + 1..name_end];
        let tag = TagLexer::new(self.bytes, name_end).lex();
        self.at = tag.end;
        if is_one_of(name, RAW_TEXT) {
            self.raw_text(lt, name, &tag);
            return true;
        }
        let subtree_end = (is_one_of(name, DROPPED_SUBTREES) && !tag.self_closing)
            .then(|| matching_close(self.bytes, tag.end, name))
            .flatten();
        if let Some(end) = subtree_end {
            self.at = end;
            self.drop_range(lt, end);
            return true;
        }
        if !is_one_of(name, NOT_NESTING) && !tag.self_closing {
            self.depth += 1;
            self.depth_sum += self.depth;
            if self.depth > MAX_DEPTH || self.depth_sum > MAX_DEPTH_SUM {
                return false;
            }
        }
        self.write_tag(lt, name, &tag);
        true
    }

    /// Skips a raw-text element's content; drops the element if it is not read.
    fn raw_text(&mut self, lt: usize, name: &[u8], tag: &Tag) {
        let mut close = b"</".to_vec();
        close.extend_from_slice(name);
        let close_at = find_from(self.bytes, tag.end, &close).unwrap_or(self.bytes.len());
        self.at = find_byte(self.bytes, close_at, b'>').map_or(self.bytes.len(), |gt| gt + 1);
        let head = &self.bytes[lt..tag.end];
        let dropped = if name.eq_ignore_ascii_case(b"script") {
            find_from(head, 0, b"ld+json").is_none()
        } else {
            !name.eq_ignore_ascii_case(b"title")
        };
        if dropped {
            self.drop_range(lt, self.at);
        }
    }

    /// Copies a start tag, without the attributes nothing reads when pruning.
    fn write_tag(&mut self, lt: usize, name: &[u8], tag: &Tag) {
        if self.attributes == Attributes::KeepAll || !tag.complete {
            return;
        }
        self.copy_to(lt);
        self.out.push('<');
        self.out.push_str(&self.text[lt + 1..lt + 1 + name.len()]);
        let keep_href = name.eq_ignore_ascii_case(b"link") || name.eq_ignore_ascii_case(b"base");
        for &(start, name_end, end) in &tag.attributes {
            let attr = &self.bytes[start..name_end];
            let kept = is_one_of(attr, KEPT_ATTRIBUTES)
                && (keep_href || !attr.eq_ignore_ascii_case(b"href"));
            if kept {
                self.out.push(' ');
                self.out.push_str(&self.text[start..end]);
            }
        }
        self.out.push_str(if tag.self_closing { "/>" } else { ">" });
        self.copied = tag.end;
    }
}

/// Just past the end tag that closes the `name` element whose start tag ends
/// at `from`, counting nested elements of the same name.
fn matching_close(bytes: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    let mut open = 1usize;
    let mut at = from;
    while let Some(lt) = find_byte(bytes, at, b'<') {
        at = lt + 1;
        let closing = bytes.get(lt + 1) == Some(&b'/');
        let name_at = lt + 1 + usize::from(closing);
        let after = name_at + name.len();
        let same = bytes
            .get(name_at..after)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && bytes
                .get(after)
                .is_some_and(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'));
        if !same {
            continue;
        }
        if !closing {
            open += 1;
            continue;
        }
        open -= 1;
        if open == 0 {
            return find_byte(bytes, after, b'>').map(|gt| gt + 1);
        }
    }
    None
}

/// A lexed start tag: attribute spans and where the tag ends.
struct Tag {
    /// (name start, name end, value end) of each attribute.
    attributes: Vec<(usize, usize, usize)>,
    /// Just past the closing `>` (or the end of input).
    end: usize,
    self_closing: bool,
    /// Whether the tag ended with `>` (an unterminated tag is copied as is).
    complete: bool,
}

/// Reads a start tag's attributes the way the HTML tokenizer does.
struct TagLexer<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> TagLexer<'a> {
    fn new(bytes: &'a [u8], at: usize) -> Self {
        Self { bytes, at }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_while(&mut self, keep_going: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&keep_going) {
            self.at += 1;
        }
    }

    fn lex(mut self) -> Tag {
        let mut attributes = Vec::new();
        let mut self_closing = false;
        loop {
            self.skip_while(|b| b.is_ascii_whitespace());
            match self.peek() {
                None => return self.finish(attributes, false, false),
                Some(b'>') => {
                    self.at += 1;
                    return self.finish(attributes, self_closing, true);
                }
                Some(b'/') => {
                    self.at += 1;
                    self_closing = self.peek() == Some(b'>');
                }
                Some(_) => {
                    self_closing = false;
                    attributes.push(self.attribute());
                }
            }
        }
    }

    fn finish(
        self,
        attributes: Vec<(usize, usize, usize)>,
        self_closing: bool,
        complete: bool,
    ) -> Tag {
        Tag {
            attributes,
            end: self.at,
            self_closing,
            complete,
        }
    }

    /// One `name`, `name=value`, `name="value"` or `name='value'`.
    fn attribute(&mut self) -> (usize, usize, usize) {
        let start = self.at;
        self.at += 1; // the first character may be anything but space, '/' or '>'
        self.skip_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'/' | b'>' | b'='));
        let name_end = self.at;
        let before_eq = self.at;
        self.skip_while(|b| b.is_ascii_whitespace());
        if self.peek() != Some(b'=') {
            self.at = before_eq;
            return (start, name_end, name_end);
        }
        self.at += 1;
        self.skip_while(|b| b.is_ascii_whitespace());
        match self.peek() {
            Some(quote @ (b'"' | b'\'')) => {
                self.at =
                    find_byte(self.bytes, self.at + 1, quote).map_or(self.bytes.len(), |q| q + 1);
            }
            _ => self.skip_while(|b| !b.is_ascii_whitespace() && b != b'>'),
        }
        (start, name_end, self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_styles_svg_and_comments_are_dropped() {
        let page = "<!doctype html><html><body><div><p>a<p>b<br><img src=x>\
                    <script>if (a<b) x = '<div><div>';</script><ul><li>c<li>d</ul>\
                    <!-- <div><div> --><style>p{}</style><svg><path d=\"M0\"/></svg></div>\
                    <nav><nav>x</nav><p>y</nav><navy>z</navy>\
                    <script type=\"application/ld+json\">{}</script></body></html>";
        assert_eq!(
            prepare(page, Attributes::KeepAll),
            "<!doctype html><html><body><div><p>a<p>b<br><img src=x>\
             <ul><li>c<li>d</ul></div><navy>z</navy>\
             <script type=\"application/ld+json\">{}</script></body></html>"
        );
    }

    #[test]
    fn unread_attributes_are_pruned() {
        let page = "<div data-x='1 > 2' class=\"a b\" onclick=go()>t</div><my-el x=1></my-el>\
                    <a href=/x id=k>l</a><link rel=canonical href=\"/c\"><br/><p hidden>";
        assert_eq!(
            prepare(page, Attributes::Prune),
            "<div class=\"a b\">t</div><my-el></my-el><a id=k>l</a><link rel=canonical href=\"/c\"><br/><p hidden>"
        );
        assert_eq!(prepare(page, Attributes::KeepAll), page);
    }

    #[test]
    fn deep_nesting_is_cut_at_the_limit() {
        let page = "<div>".repeat(MAX_DEPTH + 100) + "tail";
        assert_eq!(
            prepare(&page, Attributes::Prune).len(),
            "<div>".len() * MAX_DEPTH
        );
    }

    #[test]
    fn huge_input_is_capped_on_a_char_boundary() {
        let page = "é".repeat(MAX_INPUT_BYTES);
        let cut = prepare(&page, Attributes::Prune);
        assert!(cut.len() <= MAX_INPUT_BYTES);
        assert!(cut.len() > MAX_INPUT_BYTES - 2);
    }

    #[test]
    fn unterminated_tags_are_kept_as_they_are() {
        assert_eq!(
            prepare("<p>x<a href='y", Attributes::Prune),
            "<p>x<a href='y"
        );
        assert_eq!(prepare("<div", Attributes::Prune), "<div");
    }
}
