//! Decoding raw HTTP response bodies (HTML pages, XML feeds, anything else) to text.
//!
//! The encoding is chosen in this order, and the first step that gives an answer wins:
//!
//! 1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE);
//! 2. the `charset` parameter of the `Content-Type` header;
//! 3. a declaration inside the document: for HTML a `<meta charset>` or
//!    `<meta http-equiv="Content-Type" content="...; charset=...">` within the first
//!    1024 bytes, for XML the `encoding` of the `<?xml ...?>` prolog. Such a declaration
//!    loses to step 4 when the body is valid UTF-8 with non-ASCII bytes and the declared
//!    encoding is not UTF-8 (a page re-saved as UTF-8 with a stale declaration);
//! 4. UTF-8, when the body is valid UTF-8;
//! 5. statistical detection with `chardetng`, optionally helped by the top-level domain.
//!
//! Declared labels that encoding_rs does not know are ignored, and so are labels of the
//! "replacement" encoding (ISO-2022-KR, HZ-GB-2312, ...), whose decoder would turn the whole
//! body into one U+FFFD. A declared UTF-16 on a body without a BOM is read as UTF-8, as the
//! HTML standard does, and a `<meta>` declaring `x-user-defined` means windows-1252.

use std::borrow::Cow;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, REPLACEMENT, UTF_8, WINDOWS_1252, X_USER_DEFINED};

/// How many leading bytes are searched for an in-document declaration.
const PRESCAN_LIMIT: usize = 1024;

/// What kind of document the body is, which decides where in-document declarations are sought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// An HTML page: `<meta>` declarations are honoured.
    Html,
    /// An XML document such as an RSS or Atom feed: the `<?xml encoding=...?>` prolog is honoured.
    Xml,
    /// Anything else: only the BOM, the header, UTF-8 validity and detection count.
    Other,
}

/// Which step of the decision chose the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// A byte order mark at the start of the body.
    Bom,
    /// The `charset` parameter of the `Content-Type` header.
    Header,
    /// A `<meta>` tag (HTML) or the XML prolog.
    Document,
    /// Nothing usable was declared, and the body is valid UTF-8.
    Utf8Valid,
    /// Nothing usable was declared, and `chardetng` guessed the encoding.
    Detected,
}

/// A decoded body.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The decoded text, without any BOM.
    pub text: String,
    /// The encoding that was used to decode.
    pub encoding: &'static Encoding,
    /// Which step chose `encoding`.
    pub source: CharsetSource,
    /// Whether malformed byte sequences were replaced with U+FFFD.
    pub had_errors: bool,
}

/// Decodes an HTTP body to text. Never fails: malformed sequences become U+FFFD.
///
/// `content_type` is the raw `Content-Type` header value, `tld_hint` the host name of the
/// URL or just its top-level domain (e.g. `b"ru"`); it only steers detection.
pub fn decode(
    bytes: &[u8],
    content_type: Option<&str>,
    kind: DocKind,
    tld_hint: Option<&[u8]>,
) -> Decoded {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let body = bytes.get(bom_len..).unwrap_or_default();
        return decode_with(body, encoding, CharsetSource::Bom);
    }
    let (encoding, source) = choose_encoding(bytes, content_type, kind, tld_hint);
    decode_with(bytes, encoding, source)
}

/// Returns the encoding named by the `charset` parameter of a `Content-Type` header value.
///
/// Parameter names are case-insensitive and the value may be quoted. Unknown labels and
/// labels of the "replacement" encoding give `None`.
pub fn content_type_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .and_then(|(_, value)| known_label(unquote(value.trim()).as_bytes()))
}

/// Picks the encoding for a body that has no BOM.
fn choose_encoding(
    bytes: &[u8],
    content_type: Option<&str>,
    kind: DocKind,
    tld_hint: Option<&[u8]>,
) -> (&'static Encoding, CharsetSource) {
    if let Some(declared) = content_type.and_then(content_type_charset) {
        return (declared.output_encoding(), CharsetSource::Header);
    }
    let utf8_valid = std::str::from_utf8(bytes).is_ok();
    if let Some(declared) = document_charset(bytes, kind)
        && (!utf8_valid || declared == UTF_8 || bytes.is_ascii())
    {
        return (declared, CharsetSource::Document);
    }
    if utf8_valid {
        return (UTF_8, CharsetSource::Utf8Valid);
    }
    (detect(bytes, tld_hint), CharsetSource::Detected)
}

/// Decodes `bytes` (which carry no BOM) with `encoding`.
fn decode_with(bytes: &[u8], encoding: &'static Encoding, source: CharsetSource) -> Decoded {
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding,
        source,
        had_errors,
    }
}

/// Looks a label up, ignoring unknown labels and the "replacement" encoding.
fn known_label(label: &[u8]) -> Option<&'static Encoding> {
    Encoding::for_label(label).filter(|encoding| *encoding != REPLACEMENT)
}

/// Strips one pair of matching single or double quotes.
fn unquote(value: &str) -> &str {
    ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
        .unwrap_or(value)
}

/// The encoding declared inside the document, already mapped to the one to decode with.
fn document_charset(bytes: &[u8], kind: DocKind) -> Option<&'static Encoding> {
    let head = bytes.get(..PRESCAN_LIMIT).unwrap_or(bytes);
    match kind {
        DocKind::Html => meta_charset(head).map(html_meta_encoding),
        DocKind::Xml => xml_prolog_charset(head).map(Encoding::output_encoding),
        DocKind::Other => None,
    }
}

/// The HTML standard's corrections to a `<meta>`-declared encoding.
fn html_meta_encoding(encoding: &'static Encoding) -> &'static Encoding {
    if encoding == X_USER_DEFINED {
        WINDOWS_1252
    } else {
        encoding.output_encoding()
    }
}

/// Finds the first `<meta>` tag in `head` that declares a known encoding.
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let mut pos = 0;
    while let Some(rest) = head.get(pos..) {
        let start = find(rest, b"<")?;
        let tag = rest.get(start..).unwrap_or_default();
        if tag.starts_with(b"<!--") {
            pos += start + 4 + find(tag.get(4..).unwrap_or_default(), b"-->")?;
            continue;
        }
        if is_meta_open(tag)
            && let Some(encoding) = charset_from_meta(tag.get(5..).unwrap_or_default())
        {
            return Some(encoding);
        }
        pos += start + 1;
    }
    None
}

/// Whether `tag` starts with `<meta` followed by whitespace or `/`.
fn is_meta_open(tag: &[u8]) -> bool {
    tag.get(..5)
        .is_some_and(|open| open.eq_ignore_ascii_case(b"<meta"))
        && tag.get(5).is_some_and(|b| is_space(*b) || *b == b'/')
}

/// Reads a `<meta>` tag's attributes (`attrs` starts right after `<meta`).
fn charset_from_meta(attrs: &[u8]) -> Option<&'static Encoding> {
    let mut http_equiv_content_type = false;
    let mut content = None;
    for attr in Attrs::new(attrs) {
        if attr.name.eq_ignore_ascii_case(b"charset") {
            return known_label(attr.value);
        } else if attr.name.eq_ignore_ascii_case(b"http-equiv") {
            http_equiv_content_type = attr.value.eq_ignore_ascii_case(b"content-type");
        } else if attr.name.eq_ignore_ascii_case(b"content") && content.is_none() {
            content = Some(attr.value);
        }
    }
    content
        .filter(|_| http_equiv_content_type)
        .and_then(charset_from_content)
}

/// The HTML standard's "extract a character encoding from a meta element" algorithm.
fn charset_from_content(content: &[u8]) -> Option<&'static Encoding> {
    let mut pos = 0;
    loop {
        let rest = content.get(pos..)?;
        let at = find_ignore_case(rest, b"charset")?;
        pos += at + 7;
        let after = skip_space(content.get(pos..)?);
        if let Some(value) = after.strip_prefix(b"=") {
            return charset_value(skip_space(value)).and_then(known_label);
        }
    }
}

/// The value after `charset=` in a `content` attribute: quoted, or up to space or `;`.
fn charset_value(value: &[u8]) -> Option<&[u8]> {
    match value.first() {
        Some(quote @ (b'"' | b'\'')) => {
            let inner = value.get(1..)?;
            inner.get(..inner.iter().position(|b| b == quote)?)
        }
        Some(_) => value
            .split(|b| is_space(*b) || *b == b';')
            .next()
            .filter(|v| !v.is_empty()),
        None => None,
    }
}

/// The `encoding` pseudo-attribute of an `<?xml ...?>` prolog at the start of `head`.
fn xml_prolog_charset(head: &[u8]) -> Option<&'static Encoding> {
    let rest = skip_space(head).strip_prefix(b"<?xml")?;
    if !rest.first().is_some_and(|b| is_space(*b)) {
        return None;
    }
    let decl = rest.get(..find(rest, b"?>")?)?;
    Attrs::new(decl)
        .find(|attr| attr.name.eq_ignore_ascii_case(b"encoding"))
        .and_then(|attr| known_label(attr.value))
}

/// Guesses the encoding of a body that is not valid UTF-8 and declares nothing usable.
fn detect(bytes: &[u8], tld_hint: Option<&[u8]>) -> &'static Encoding {
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let tld = tld_hint.and_then(normalize_tld);
    detector.guess(tld.as_deref(), Utf8Detection::Allow)
}

/// Reduces a host name or TLD to the form chardetng accepts (rightmost label, lower-case
/// ASCII, no dot), which its `guess` would otherwise panic on.
fn normalize_tld(hint: &[u8]) -> Option<Cow<'_, [u8]>> {
    let label = hint.rsplit(|b| *b == b'.').find(|l| !l.is_empty())?;
    if !label.is_ascii() {
        return None;
    }
    if label.iter().any(u8::is_ascii_uppercase) {
        Some(Cow::Owned(label.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(label))
    }
}

/// One attribute of a tag; `value` is empty for an attribute without `=`.
struct Attr<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

/// Iterates over the attributes of a tag, HTML style: values may be quoted with `"` or `'`
/// or unquoted, and iteration stops at a `>` outside quotes or at the end of the input.
struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    fn new(rest: &'a [u8]) -> Self {
        Self { rest }
    }

    /// Takes bytes from the front while `keep` holds.
    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let len = self.rest.iter().position(|b| !keep(*b));
        let (taken, rest) = self.rest.split_at(len.unwrap_or(self.rest.len()));
        self.rest = rest;
        taken
    }

    /// Reads the attribute name; takes at least one byte so that iteration always advances.
    fn name(&mut self) -> &'a [u8] {
        let name = self.take_while(|b| !is_space(b) && !matches!(b, b'=' | b'/' | b'>'));
        if !name.is_empty() {
            return name;
        }
        let (first, rest) = self.rest.split_at(self.rest.len().min(1));
        self.rest = rest;
        first
    }

    /// Reads a value right after the `=` (and any whitespace).
    fn value(&mut self) -> &'a [u8] {
        match self.rest.first().copied() {
            Some(quote @ (b'"' | b'\'')) => {
                self.rest = self.rest.get(1..).unwrap_or_default();
                let value = self.take_while(|b| b != quote);
                self.rest = self.rest.get(1..).unwrap_or_default();
                value
            }
            _ => self.take_while(|b| !is_space(b) && b != b'>'),
        }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        self.take_while(|b| is_space(b) || b == b'/');
        if matches!(self.rest.first(), None | Some(b'>')) {
            return None;
        }
        let name = self.name();
        self.take_while(is_space);
        let Some(after_eq) = self.rest.strip_prefix(b"=") else {
            return Some(Attr { name, value: b"" });
        };
        self.rest = skip_space(after_eq);
        let value = self.value();
        Some(Attr { name, value })
    }
}

/// HTML's ASCII whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Drops leading ASCII whitespace.
fn skip_space(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !is_space(*b));
    bytes
        .get(start.unwrap_or(bytes.len())..)
        .unwrap_or_default()
}

/// Index of the first occurrence of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Index of the first ASCII-case-insensitive occurrence of `needle` in `haystack`.
fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{KOI8_R, KOI8_U, WINDOWS_1251, WINDOWS_1256};

    const ARABIC: &str = "مرحبا بالعالم، هذه أخبار اليوم من القاهرة والرياض";
    const RUSSIAN: &str = "Съешь же ещё этих мягких французских булок, да выпей чаю.";
    const UKRAINIAN: &str = "Ґанок і їжак: Єва пише ґрунтовні статті про їжу, її та їхнє.";

    /// Encodes `text` with `encoding`, asserting that every character was representable.
    fn encode(text: &str, encoding: &'static Encoding) -> Vec<u8> {
        let (bytes, used, unmappable) = encoding.encode(text);
        assert_eq!(used, encoding);
        assert!(!unmappable, "{text:?} is not representable in {encoding:?}");
        bytes.into_owned()
    }

    fn page(head: &str, body: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html><head>{head}<title>{body}</title></head>\
             <body><h1>{body}</h1><p>{body}</p></body></html>\n"
        )
    }

    fn assert_clean(decoded: &Decoded, expected: &str) {
        assert_eq!(decoded.text, expected);
        assert!(!decoded.text.contains('\u{FFFD}'));
        assert!(!decoded.had_errors);
    }

    fn assert_declared_in_meta(head: &str, text: &str, encoding: &'static Encoding) {
        let html = page(head, text);
        let decoded = decode(&encode(&html, encoding), None, DocKind::Html, None);
        assert_clean(&decoded, &html);
        assert_eq!(decoded.encoding, encoding);
        assert_eq!(decoded.source, CharsetSource::Document);
    }

    #[test]
    fn arabic_windows_1256_declared_in_header() {
        let html = page("", ARABIC);
        let bytes = encode(&html, WINDOWS_1256);
        let ct = Some("text/html; charset=windows-1256");
        let decoded = decode(&bytes, ct, DocKind::Html, None);
        assert_clean(&decoded, &html);
        assert_eq!(decoded.encoding, WINDOWS_1256);
        assert_eq!(decoded.source, CharsetSource::Header);
    }

    #[test]
    fn arabic_windows_1256_declared_in_meta_charset() {
        assert_declared_in_meta(r#"<meta charset="windows-1256">"#, ARABIC, WINDOWS_1256);
    }

    #[test]
    fn arabic_windows_1256_declared_in_http_equiv() {
        let head = r#"<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=windows-1256">"#;
        assert_declared_in_meta(head, ARABIC, WINDOWS_1256);
    }

    #[test]
    fn russian_windows_1251_declared_in_unquoted_meta() {
        assert_declared_in_meta("<meta charset=windows-1251 />", RUSSIAN, WINDOWS_1251);
    }

    #[test]
    fn russian_koi8_r_declared_in_meta() {
        assert_declared_in_meta("<meta charset='koi8-r'>", RUSSIAN, KOI8_R);
    }

    #[test]
    fn ukrainian_koi8_u_declared_in_meta() {
        let head = r#"<meta http-equiv=content-type content='text/html;charset="KOI8-U"'>"#;
        assert_declared_in_meta(head, UKRAINIAN, KOI8_U);
    }

    #[test]
    fn ukrainian_windows_1251_declared_in_meta() {
        assert_declared_in_meta(r#"<meta charset="cp1251">"#, UKRAINIAN, WINDOWS_1251);
    }

    #[test]
    fn xml_prolog_windows_1251() {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n\
             <rss version=\"2.0\"><channel><title>{RUSSIAN}</title></channel></rss>"
        );
        let decoded = decode(&encode(&xml, WINDOWS_1251), None, DocKind::Xml, None);
        assert_clean(&decoded, &xml);
        assert_eq!(decoded.encoding, WINDOWS_1251);
        assert_eq!(decoded.source, CharsetSource::Document);
    }

    #[test]
    fn xml_prolog_is_ignored_for_html() {
        let xml = format!("<?xml version='1.0' encoding='windows-1251'?><p>{RUSSIAN}</p>");
        let bytes = encode(&xml, WINDOWS_1251);
        let decoded = decode(&bytes, None, DocKind::Html, Some(b"ru"));
        assert_eq!(decoded.source, CharsetSource::Detected);
    }

    #[test]
    fn utf8_page_with_wrong_meta_stays_utf8() {
        let html = page(r#"<meta charset="windows-1251">"#, RUSSIAN);
        let decoded = decode(html.as_bytes(), None, DocKind::Html, None);
        assert_clean(&decoded, &html);
        assert_eq!(decoded.encoding, UTF_8);
        assert_eq!(decoded.source, CharsetSource::Utf8Valid);
    }

    #[test]
    fn ascii_page_keeps_its_declaration() {
        let html = page(r#"<meta charset="windows-1251">"#, "plain ASCII");
        let decoded = decode(html.as_bytes(), None, DocKind::Html, None);
        assert_clean(&decoded, &html);
        assert_eq!(decoded.encoding, WINDOWS_1251);
        assert_eq!(decoded.source, CharsetSource::Document);
    }

    #[test]
    fn utf8_meta_on_utf8_page_is_document() {
        let html = page(r#"<meta charset="utf-8">"#, ARABIC);
        let decoded = decode(html.as_bytes(), None, DocKind::Html, None);
        assert_clean(&decoded, &html);
        assert_eq!(decoded.source, CharsetSource::Document);
    }

    #[test]
    fn utf8_bom_wins_over_everything() {
        let html = page(r#"<meta charset="windows-1251">"#, UKRAINIAN);
        let bytes = [b"\xEF\xBB\xBF".as_slice(), html.as_bytes()].concat();
        let ct = Some("text/html; charset=koi8-r");
        let decoded = decode(&bytes, ct, DocKind::Html, None);
        assert_clean(&decoded, &html);
        assert_eq!(decoded.encoding, UTF_8);
        assert_eq!(decoded.source, CharsetSource::Bom);
    }

    #[test]
    fn header_wins_over_meta() {
        let html = page(r#"<meta charset="koi8-r">"#, RUSSIAN);
        let bytes = encode(&html, WINDOWS_1251);
        let ct = Some("text/html;Charset=\"WINDOWS-1251\"");
        let decoded = decode(&bytes, ct, DocKind::Html, None);
        assert_clean(&decoded, &html);
        assert_eq!(decoded.source, CharsetSource::Header);
    }

    #[test]
    fn undeclared_windows_1251_is_detected() {
        let text = format!("<p>{RUSSIAN} Москва, новости дня: правительство обсудило бюджет.</p>");
        let bytes = encode(&text, WINDOWS_1251);
        for tld in [
            None,
            Some(b"ru".as_slice()),
            Some(b"News.Example.RU".as_slice()),
        ] {
            let decoded = decode(&bytes, None, DocKind::Html, tld);
            assert_clean(&decoded, &text);
            assert_eq!(decoded.encoding, WINDOWS_1251);
            assert_eq!(decoded.source, CharsetSource::Detected);
        }
    }

    #[test]
    fn undeclared_utf8_is_utf8_valid() {
        let decoded = decode(ARABIC.as_bytes(), Some("text/html"), DocKind::Other, None);
        assert_clean(&decoded, ARABIC);
        assert_eq!(decoded.source, CharsetSource::Utf8Valid);
    }

    #[test]
    fn declared_utf16_without_bom_means_utf8() {
        let html = page(r#"<meta charset="utf-16">"#, ARABIC);
        let decoded = decode(
            html.as_bytes(),
            Some("text/html; charset=UTF-16LE"),
            DocKind::Html,
            None,
        );
        assert_clean(&decoded, &html);
        assert_eq!(decoded.encoding, UTF_8);
        assert_eq!(decoded.source, CharsetSource::Header);
    }

    #[test]
    fn unknown_and_replacement_labels_are_ignored() {
        assert_eq!(content_type_charset("text/html; charset=bogus-9"), None);
        assert_eq!(content_type_charset("text/html; charset=iso-2022-kr"), None);
        assert_eq!(content_type_charset("text/html"), None);
        let html = page(
            r#"<meta charset="bogus"><meta charset="windows-1251">"#,
            RUSSIAN,
        );
        let decoded = decode(
            &encode(&html, WINDOWS_1251),
            Some("text/html; charset=x"),
            DocKind::Html,
            None,
        );
        assert_clean(&decoded, &html);
        assert_eq!(decoded.source, CharsetSource::Document);
    }

    #[test]
    fn content_type_charset_parses_parameters() {
        let cases = [
            ("text/html; charset=utf-8", UTF_8),
            ("text/html;charset='koi8-u'", KOI8_U),
            (
                "application/rss+xml; q=1; CHARSET = \"cp1251\" ",
                WINDOWS_1251,
            ),
            ("text/xml; charset=us-ascii", WINDOWS_1252),
        ];
        for (header, expected) in cases {
            assert_eq!(content_type_charset(header), Some(expected), "{header}");
        }
    }

    #[test]
    fn meta_inside_comment_or_after_prescan_limit_is_ignored() {
        let html = format!("<!-- <meta charset=koi8-r> --><p>{RUSSIAN}</p>");
        let decoded = decode(
            &encode(&html, WINDOWS_1251),
            None,
            DocKind::Html,
            Some(b"ru"),
        );
        assert_eq!(decoded.source, CharsetSource::Detected);
        let late = format!("{}<meta charset=koi8-r>", " ".repeat(PRESCAN_LIMIT));
        assert_eq!(
            meta_charset(late.as_bytes().get(..PRESCAN_LIMIT).unwrap_or_default()),
            None
        );
    }

    #[test]
    fn binary_junk_does_not_panic() {
        let mut junk: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        junk.extend_from_slice(b"<meta charset=\"<?xml encoding='");
        let tlds: [Option<&[u8]>; 5] = [
            None,
            Some(b""),
            Some(b"."),
            Some(b"\xFF\xFE"),
            Some(b"A.B."),
        ];
        for kind in [DocKind::Html, DocKind::Xml, DocKind::Other] {
            for tld in tlds {
                for end in [0, 1, 2, 3, 5, 7, 100, junk.len()] {
                    let slice = junk.get(..end).unwrap_or_default();
                    let _ = decode(slice, Some("text/html; charset="), kind, tld);
                    let _ = decode(slice, Some(";;=;charset"), kind, tld);
                }
            }
        }
    }

    #[test]
    fn truncated_declarations_do_not_panic() {
        let pieces: [&[u8]; 8] = [
            b"<meta",
            b"<meta ",
            b"<meta charset",
            b"<meta charset=",
            b"<meta charset='",
            b"<meta http-equiv=content-type content='charset=",
            b"<?xml ",
            b"<?xml encoding='x'",
        ];
        for piece in pieces {
            for kind in [DocKind::Html, DocKind::Xml] {
                let decoded = decode(piece, None, kind, None);
                assert_eq!(decoded.source, CharsetSource::Utf8Valid);
            }
        }
    }
}
