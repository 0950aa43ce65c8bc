//! Bounds on what the HTML parser is given, so hostile pages cannot make
//! extraction slow: a size cap, and a cut where the page nests elements deeper
//! than any real page does (html5ever's scope checks cost time in proportion to
//! the depth of open elements, so a 50,000-deep nest would take minutes).
//!
//! The nesting is estimated with a quick scan of the tags, not a parse: void
//! elements, elements whose end tag may be omitted (`p`, `li`, `td`…) and the
//! contents of raw-text elements (`script`, `style`…) do not count.

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

/// The prefix of `html` that is safe to parse.
pub fn bounded(html: &str) -> &str {
    let capped = prefix_at_char_boundary(html, MAX_INPUT_BYTES);
    &capped[..safe_nesting_len(capped.as_bytes())]
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
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|n| from + n)
}

/// The length of the longest prefix whose estimated nesting stays in bounds
/// (the position of the first tag that would break them; a `<` is ASCII, so
/// that is a char boundary).
fn safe_nesting_len(bytes: &[u8]) -> usize {
    let (mut depth, mut depth_sum, mut at) = (0usize, 0usize, 0usize);
    while let Some(lt) = memchr_lt(bytes, at) {
        let next = bytes.get(lt + 1).copied().unwrap_or(b' ');
        at = lt + 1;
        if next == b'/' {
            depth = depth.saturating_sub(1);
        } else if next == b'!' {
            at = skip_markup_declaration(bytes, lt);
        } else if next.is_ascii_alphabetic() {
            let (name, end) = tag_name(bytes, lt + 1);
            at = end;
            if RAW_TEXT.contains(&name.as_str()) {
                let close = format!("</{name}");
                at = find_from(bytes, end, close.as_bytes()).unwrap_or(bytes.len());
            } else if !NOT_NESTING.contains(&name.as_str()) && !self_closing(bytes, end) {
                depth += 1;
                depth_sum += depth;
                if depth > MAX_DEPTH || depth_sum > MAX_DEPTH_SUM {
                    return lt;
                }
            }
        }
    }
    bytes.len()
}

fn memchr_lt(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == b'<')
        .map(|n| from + n)
}

/// Skips a comment (`<!-- … -->`) or doctype; returns where scanning resumes.
fn skip_markup_declaration(bytes: &[u8], lt: usize) -> usize {
    let terminator: &[u8] = if bytes[lt..].starts_with(b"<!--") {
        b"-->"
    } else {
        b">"
    };
    find_from(bytes, lt + 2, terminator).map_or(bytes.len(), |n| n + terminator.len())
}

/// Whether the start tag whose name ends at `from` ends with `/>`.
fn self_closing(bytes: &[u8], from: usize) -> bool {
    let end = memchr_gt(bytes, from);
    end > 0 && bytes.get(end - 1) == Some(&b'/')
}

fn memchr_gt(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == b'>'))
        .map_or(0, |n| from + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_pages_are_untouched() {
        let page = "<!doctype html><html><body><div><p>a<p>b<br><img src=x>\
                    <script>if (a<b) x = '<div><div>';</script><ul><li>c<li>d</ul>\
                    <!-- <div><div> --></div></body></html>";
        assert_eq!(bounded(page), page);
    }

    #[test]
    fn deep_nesting_is_cut_at_the_limit() {
        let page = "<div>".repeat(MAX_DEPTH + 100) + "tail";
        let cut = bounded(&page);
        assert_eq!(cut.len(), "<div>".len() * MAX_DEPTH);
    }

    #[test]
    fn huge_input_is_capped_on_a_char_boundary() {
        let page = "é".repeat(MAX_INPUT_BYTES);
        let cut = bounded(&page);
        assert!(cut.len() <= MAX_INPUT_BYTES);
        assert!(cut.len() > MAX_INPUT_BYTES - 2);
    }
}
