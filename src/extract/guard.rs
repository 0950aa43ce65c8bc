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
//! page's bytes and so most of the parser's work: comments, `<style>` and
//! `<script>` elements (except JSON-LD, which metadata reads).

/// Pages are parsed up to this many bytes; the rest is ignored.
pub const MAX_INPUT_BYTES: usize = 8 * 1024 * 1024;
/// The input is cut before the tag that would open element number
/// `MAX_DEPTH + 1` on the estimated stack of open elements.
pub const MAX_DEPTH: usize = 512;
/// The input is cut once the summed depth of all opened elements (the work
/// the parser's scope checks do) exceeds this.
const MAX_DEPTH_SUM: usize = 20_000_000;

/// Elements that never hold children or whose end tag is often omitted.
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th",
    "tbody", "thead", "tfoot", "colgroup", "rb", "rt", "rp", "html", "head", "body",
];

/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
];

/// The part of `html` that is safe and worth parsing: a bounded prefix, without
/// comments, styles and non-JSON-LD scripts.
pub fn prepare(html: &str) -> String {
    let capped = prefix_at_char_boundary(html, MAX_INPUT_BYTES);
    let mut scan = Scan::new(capped.as_bytes());
    scan.run();
    scan.finish(capped)
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

/// A lower-cased ASCII tag name starting at `bytes[at]`, and where it ends.
fn tag_name(bytes: &[u8], at: usize) -> (String, usize) {
    let end = bytes[at..]
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .map_or(bytes.len(), |n| at + n);
    let name = String::from_utf8_lossy(&bytes[at..end]).to_ascii_lowercase();
    (name, end)
}

fn find_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = from;
    while let Some(n) = bytes
        .get(at..)?
        .iter()
        .position(|b| b.eq_ignore_ascii_case(&first))
    {
        let hit = at + n;
        let tail = bytes.get(hit + 1..hit + 1 + rest.len())?;
        if tail.eq_ignore_ascii_case(rest) {
            return Some(hit);
        }
        at = hit + 1;
    }
    None
}

/// One pass over the bytes: tracks the estimated nesting and records the byte
/// ranges to drop. Every position it cuts at is a `<` or just after a `>`
/// (ASCII), so all ranges fall on char boundaries.
struct Scan<'a> {
    bytes: &'a [u8],
    dropped: Vec<(usize, usize)>,
    depth: usize,
    depth_sum: usize,
    at: usize,
    /// Where the input is cut because the nesting got too deep.
    end: usize,
}

impl<'a> Scan<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            dropped: Vec::new(),
            depth: 0,
            depth_sum: 0,
            at: 0,
            end: bytes.len(),
        }
    }

    fn run(&mut self) {
        while let Some(lt) = memchr_lt(self.bytes, self.at) {
            self.at = lt + 1;
            match self.bytes.get(lt + 1).copied().unwrap_or(b' ') {
                b'/' => self.depth = self.depth.saturating_sub(1),
                b'!' => self.declaration(lt),
                c if c.is_ascii_alphabetic() => {
                    if !self.start_tag(lt) {
                        self.end = lt;
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// Skips a comment (dropping it) or a doctype.
    fn declaration(&mut self, lt: usize) {
        let comment = self.bytes[lt..].starts_with(b"<!--");
        let terminator: &[u8] = if comment { b"-->" } else { b">" };
        self.at = find_from(self.bytes, lt + 2, terminator)
            .map_or(self.bytes.len(), |n| n + terminator.len());
        if comment {
            self.dropped.push((lt, self.at));
        }
    }

    /// Handles a start tag at `lt`; false when it would nest too deep.
    fn start_tag(&mut self, lt: usize) -> bool {
        let (name, end) = tag_name(self.bytes, lt + 1);
        self.at = end;
        if RAW_TEXT.contains(&name.as_str()) {
            let close = format!("</{name}");
            let close_at = find_from(self.bytes, end, close.as_bytes()).unwrap_or(self.bytes.len());
            self.at = memchr_gt(self.bytes, close_at).map_or(self.bytes.len(), |gt| gt + 1);
            if droppable(&name, &self.bytes[end..close_at]) {
                self.dropped.push((lt, self.at));
            }
            return true;
        }
        if NOT_NESTING.contains(&name.as_str()) || self_closing(self.bytes, end) {
            return true;
        }
        self.depth += 1;
        self.depth_sum += self.depth;
        self.depth <= MAX_DEPTH && self.depth_sum <= MAX_DEPTH_SUM
    }

    /// The input up to `end` without the dropped ranges.
    fn finish(self, text: &str) -> String {
        let mut out = String::with_capacity(self.end);
        let mut from = 0;
        for (start, stop) in self.dropped {
            let (start, stop) = (start.min(self.end), stop.min(self.end));
            out.push_str(&text[from..start]);
            from = stop;
        }
        out.push_str(&text[from.min(self.end)..self.end]);
        out
    }
}

/// Styles and scripts are dropped, except JSON-LD scripts.
fn droppable(name: &str, tag_and_body: &[u8]) -> bool {
    let head_end = tag_and_body.iter().position(|&b| b == b'>').unwrap_or(0);
    let head = &tag_and_body[..head_end];
    match name {
        "style" => true,
        "script" => find_from(head, 0, b"ld+json").is_none(),
        _ => false,
    }
}

fn memchr_lt(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == b'<')
        .map(|n| from + n)
}

/// Whether the start tag whose name ends at `from` ends with `/>`.
fn self_closing(bytes: &[u8], from: usize) -> bool {
    memchr_gt(bytes, from).is_some_and(|gt| gt > 0 && bytes.get(gt - 1) == Some(&b'/'))
}

fn memchr_gt(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == b'>')
        .map(|n| from + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_styles_and_comments_are_dropped() {
        let page = "<!doctype html><html><body><div><p>a<p>b<br><img src=x>\
                    <script>if (a<b) x = '<div><div>';</script><ul><li>c<li>d</ul>\
                    <!-- <div><div> --><style>p{}</style></div>\
                    <script type=\"application/ld+json\">{}</script></body></html>";
        assert_eq!(
            prepare(page),
            "<!doctype html><html><body><div><p>a<p>b<br><img src=x>\
             <ul><li>c<li>d</ul></div>\
             <script type=\"application/ld+json\">{}</script></body></html>"
        );
    }

    #[test]
    fn deep_nesting_is_cut_at_the_limit() {
        let page = "<div>".repeat(MAX_DEPTH + 100) + "tail";
        assert_eq!(prepare(&page).len(), "<div>".len() * MAX_DEPTH);
    }

    #[test]
    fn huge_input_is_capped_on_a_char_boundary() {
        let page = "é".repeat(MAX_INPUT_BYTES);
        let cut = prepare(&page);
        assert!(cut.len() <= MAX_INPUT_BYTES);
        assert!(cut.len() > MAX_INPUT_BYTES - 2);
    }
}
