//! A small, fast HTML tokenizer: tags, text and raw-text elements, nothing else.
//!
//! Main-text extraction needs far less than a WHATWG tree builder: which element a piece
//! of text sits in, a few attributes (`class`, `id`, `role`, `style`, `hidden`), and the
//! text with character references decoded. This tokenizer scans with `memchr`, borrows
//! every slice from the input, keeps no stack (the extractor keeps a bounded one), and
//! follows the spec where it matters for text: comments, `<!...>` and `<?...>` are
//! skipped, `<script>`/`<style>`/`<textarea>`/`<title>` contents are raw text up to their
//! end tag, quoted attribute values may contain `>`, and a `<` that starts no tag is text.

/// Tags the extractor tells apart; everything else is [`Tag::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Tag {
    A,
    Abbr,
    Address,
    Article,
    Aside,
    B,
    Blockquote,
    Body,
    Br,
    Button,
    Canvas,
    Caption,
    Center,
    Code,
    Dd,
    Details,
    Dialog,
    Div,
    Dl,
    Dt,
    Em,
    Embed,
    Fieldset,
    Figcaption,
    Figure,
    Font,
    Footer,
    Form,
    H1,
    H2,
    H3,
    H4,
    H5,
    H6,
    Head,
    Header,
    Hr,
    Html,
    I,
    Iframe,
    Img,
    Input,
    Label,
    Legend,
    Li,
    Link,
    Main,
    Map,
    Math,
    Menu,
    Meta,
    Nav,
    Noscript,
    Object,
    Ol,
    Option,
    P,
    Picture,
    Pre,
    Q,
    S,
    Script,
    Section,
    Select,
    Small,
    Source,
    Span,
    Strong,
    Style,
    Summary,
    Sup,
    Sub,
    Svg,
    Table,
    Tbody,
    Td,
    Template,
    Textarea,
    Tfoot,
    Th,
    Thead,
    Time,
    Title,
    Tr,
    U,
    Ul,
    Video,
    Audio,
    Wbr,
    Xmp,
    Noembed,
    Noframes,
    Plaintext,
    Col,
    Colgroup,
    Area,
    Base,
    Param,
    Track,
    Frameset,
    Frame,
    Other,
}

impl Tag {
    /// The tag of a lower-case ASCII name.
    pub fn from_lower(name: &[u8]) -> Tag {
        use Tag::*;
        match name {
            b"a" => A,
            b"abbr" => Abbr,
            b"address" => Address,
            b"article" => Article,
            b"aside" => Aside,
            b"b" => B,
            b"blockquote" => Blockquote,
            b"body" => Body,
            b"br" => Br,
            b"button" => Button,
            b"canvas" => Canvas,
            b"caption" => Caption,
            b"center" => Center,
            b"code" => Code,
            b"dd" => Dd,
            b"details" => Details,
            b"dialog" => Dialog,
            b"div" => Div,
            b"dl" => Dl,
            b"dt" => Dt,
            b"em" => Em,
            b"embed" => Embed,
            b"fieldset" => Fieldset,
            b"figcaption" => Figcaption,
            b"figure" => Figure,
            b"font" => Font,
            b"footer" => Footer,
            b"form" => Form,
            b"h1" => H1,
            b"h2" => H2,
            b"h3" => H3,
            b"h4" => H4,
            b"h5" => H5,
            b"h6" => H6,
            b"head" => Head,
            b"header" => Header,
            b"hr" => Hr,
            b"html" => Html,
            b"i" => I,
            b"iframe" => Iframe,
            b"img" => Img,
            b"input" => Input,
            b"label" => Label,
            b"legend" => Legend,
            b"li" => Li,
            b"link" => Link,
            b"main" => Main,
            b"map" => Map,
            b"math" => Math,
            b"menu" => Menu,
            b"meta" => Meta,
            b"nav" => Nav,
            b"noscript" => Noscript,
            b"object" => Object,
            b"ol" => Ol,
            b"option" => Option,
            b"p" => P,
            b"picture" => Picture,
            b"pre" => Pre,
            b"q" => Q,
            b"s" => S,
            b"script" => Script,
            b"section" => Section,
            b"select" => Select,
            b"small" => Small,
            b"source" => Source,
            b"span" => Span,
            b"strong" => Strong,
            b"style" => Style,
            b"summary" => Summary,
            b"sup" => Sup,
            b"sub" => Sub,
            b"svg" => Svg,
            b"table" => Table,
            b"tbody" => Tbody,
            b"td" => Td,
            b"template" => Template,
            b"textarea" => Textarea,
            b"tfoot" => Tfoot,
            b"th" => Th,
            b"thead" => Thead,
            b"time" => Time,
            b"title" => Title,
            b"tr" => Tr,
            b"u" => U,
            b"ul" => Ul,
            b"video" => Video,
            b"audio" => Audio,
            b"wbr" => Wbr,
            b"xmp" => Xmp,
            b"noembed" => Noembed,
            b"noframes" => Noframes,
            b"plaintext" => Plaintext,
            b"col" => Col,
            b"colgroup" => Colgroup,
            b"area" => Area,
            b"base" => Base,
            b"param" => Param,
            b"track" => Track,
            b"frameset" => Frameset,
            b"frame" => Frame,
            _ => Other,
        }
    }

    /// Elements that never have content (no end tag).
    pub fn is_void(self) -> bool {
        use Tag::*;
        matches!(
            self,
            Br | Hr
                | Img
                | Input
                | Link
                | Meta
                | Wbr
                | Embed
                | Source
                | Col
                | Area
                | Base
                | Param
                | Track
                | Frame
        )
    }

    /// Elements whose content is raw text up to their end tag.
    pub fn is_raw_text(self) -> bool {
        use Tag::*;
        matches!(
            self,
            Script | Style | Textarea | Title | Xmp | Iframe | Noembed | Noframes | Plaintext
        )
    }

    fn name(self) -> &'static [u8] {
        use Tag::*;
        match self {
            Script => b"script",
            Style => b"style",
            Textarea => b"textarea",
            Title => b"title",
            Xmp => b"xmp",
            Iframe => b"iframe",
            Noembed => b"noembed",
            Noframes => b"noframes",
            _ => b"",
        }
    }
}

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// `<name attrs>`; `attrs` is the raw attribute text.
    Start {
        /// The element.
        tag: Tag,
        /// Raw attributes (read with [`attr`]).
        attrs: &'a str,
        /// Ended with `/>`.
        self_closing: bool,
    },
    /// `</name>`.
    End(Tag),
    /// Text between tags, character references not yet decoded.
    Text(&'a str),
    /// The content of a raw-text element (`<script>`, `<title>`, ...).
    Raw(Tag, &'a str),
}

/// Streams the tokens of a document.
pub struct Tokenizer<'a> {
    s: &'a str,
    pos: usize,
    raw: Option<Tag>,
}

impl<'a> Tokenizer<'a> {
    /// A tokenizer over `s`.
    pub fn new(s: &'a str) -> Self {
        Tokenizer {
            s,
            pos: 0,
            raw: None,
        }
    }

    fn skip_past(&mut self, from: usize, pat: &[u8]) {
        let b = self.s.as_bytes();
        self.pos = memchr::memmem::find(&b[from.min(b.len())..], pat)
            .map_or(b.len(), |i| from + i + pat.len());
    }

    /// Finds `</name` (any case) from `from`.
    fn find_end_tag(&self, from: usize, name: &[u8]) -> Option<usize> {
        let b = self.s.as_bytes();
        let mut at = from;
        while let Some(i) = memchr::memmem::find(&b[at..], b"</") {
            let start = at + i;
            let after = start + 2;
            if b.len() >= after + name.len()
                && b[after..after + name.len()].eq_ignore_ascii_case(name)
                && b.get(after + name.len())
                    .is_none_or(|c| !c.is_ascii_alphanumeric())
            {
                return Some(start);
            }
            at = after;
        }
        None
    }
}

/// The end of a tag's attribute text (the index of its `>`), honouring quotes.
fn tag_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match memchr::memchr3(b'>', b'"', b'\'', &b[i..]) {
            None => return b.len(),
            Some(j) => {
                let at = i + j;
                match b[at] {
                    b'>' => return at,
                    q => {
                        // A quote only opens a value right after `=` (possibly spaced).
                        let before = b[..at].iter().rev().find(|c| !c.is_ascii_whitespace());
                        if before == Some(&b'=') {
                            match memchr::memchr(q, &b[at + 1..]) {
                                Some(k) => i = at + 1 + k + 1,
                                None => return b.len(),
                            }
                        } else {
                            i = at + 1;
                        }
                    }
                }
            }
        }
    }
    b.len()
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let s = self.s;
        let b = s.as_bytes();
        loop {
            if self.pos >= b.len() {
                return None;
            }
            if let Some(tag) = self.raw.take() {
                let start = self.pos;
                let end = if tag == Tag::Plaintext {
                    None
                } else {
                    self.find_end_tag(start, tag.name())
                };
                let end = end.unwrap_or(b.len());
                self.pos = end;
                if end > start {
                    return Some(Token::Raw(tag, &s[start..end]));
                }
                continue;
            }
            let start = self.pos;
            if b[start] != b'<' {
                let end = memchr::memchr(b'<', &b[start..]).map_or(b.len(), |i| start + i);
                self.pos = end;
                return Some(Token::Text(&s[start..end]));
            }
            let next = b.get(start + 1).copied();
            match next {
                Some(b'!') => {
                    if b[start..].starts_with(b"<!--") {
                        self.skip_past(start + 4, b"-->");
                    } else if b[start..].starts_with(b"<![CDATA[") {
                        self.skip_past(start + 9, b"]]>");
                    } else {
                        self.skip_past(start + 2, b">");
                    }
                }
                Some(b'?') => self.skip_past(start + 2, b">"),
                Some(b'/') => {
                    let name_start = start + 2;
                    let name_len = b[name_start..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .count();
                    let end = tag_end(b, name_start);
                    self.pos = (end + 1).min(b.len());
                    if name_len > 0 && b[name_start].is_ascii_alphabetic() {
                        return Some(Token::End(lower_tag(&b[name_start..name_start + name_len])));
                    }
                }
                Some(c) if c.is_ascii_alphabetic() => {
                    let name_start = start + 1;
                    let name_len = b[name_start..]
                        .iter()
                        .take_while(|c| !(c.is_ascii_whitespace() || matches!(c, b'/' | b'>')))
                        .count();
                    let tag = lower_tag(&b[name_start..name_start + name_len]);
                    let attrs_start = name_start + name_len;
                    let end = tag_end(b, attrs_start);
                    let self_closing = end > attrs_start && b[end - 1] == b'/';
                    self.pos = (end + 1).min(b.len());
                    if tag.is_raw_text() && !self_closing {
                        self.raw = Some(tag);
                    }
                    return Some(Token::Start {
                        tag,
                        attrs: &s[attrs_start..end.max(attrs_start)],
                        self_closing,
                    });
                }
                _ => {
                    // A `<` that starts no tag is text.
                    let end =
                        memchr::memchr(b'<', &b[start + 1..]).map_or(b.len(), |i| start + 1 + i);
                    self.pos = end;
                    return Some(Token::Text(&s[start..end]));
                }
            }
        }
    }
}

fn lower_tag(name: &[u8]) -> Tag {
    let mut buf = [0u8; 12];
    if name.len() > buf.len() {
        return Tag::Other;
    }
    for (d, c) in buf.iter_mut().zip(name) {
        *d = c.to_ascii_lowercase();
    }
    Tag::from_lower(&buf[..name.len()])
}

/// The value of attribute `name` in raw attribute text (case-insensitive name, quotes
/// removed, references not decoded); `Some("")` for a bare attribute.
pub fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let key_start = i;
        while i < b.len() && !(b[i].is_ascii_whitespace() || matches!(b[i], b'=' | b'/' | b'>')) {
            i += 1;
        }
        let key = &attrs[key_start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let v_start = i + 1;
                let v_end = memchr::memchr(q, &b[v_start..]).map_or(b.len(), |k| v_start + k);
                value = &attrs[v_start..v_end];
                i = (v_end + 1).min(b.len());
            } else {
                let v_start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = &attrs[v_start..i];
            }
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(value);
        }
        if key.is_empty() {
            i += 1;
        }
    }
    None
}

/// Text with character references (`&amp;`, `&#20013;`, `&nbsp;`, ...) decoded.
pub fn decode_refs(text: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr(b'&', text.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(text);
    }
    html_escape::decode_html_entities(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<Token<'_>> {
        Tokenizer::new(s).collect()
    }

    #[test]
    fn tags_text_comments_and_raw_text() {
        let t = tokens(
            "<!DOCTYPE html><P class=\"a>b\">x &amp; y<!-- <p>no --><script>if (a<b) {}</SCRIPT ><br/>z < 3",
        );
        assert_eq!(
            t,
            vec![
                Token::Start {
                    tag: Tag::P,
                    attrs: " class=\"a>b\"",
                    self_closing: false
                },
                Token::Text("x &amp; y"),
                Token::Start {
                    tag: Tag::Script,
                    attrs: "",
                    self_closing: false
                },
                Token::Raw(Tag::Script, "if (a<b) {}"),
                Token::End(Tag::Script),
                Token::Start {
                    tag: Tag::Br,
                    attrs: "/",
                    self_closing: true
                },
                Token::Text("z "),
                Token::Text("< 3"),
            ]
        );
    }

    #[test]
    fn attributes_and_references() {
        let a = " id=main class='post body' hidden data-x=\"1\"";
        assert_eq!(attr(a, "ID"), Some("main"));
        assert_eq!(attr(a, "class"), Some("post body"));
        assert_eq!(attr(a, "hidden"), Some(""));
        assert_eq!(attr(a, "style"), None);
        assert_eq!(
            decode_refs("a&nbsp;&lt;&#20013;&#x6587;&hellip;"),
            "a\u{a0}<中文…"
        );
    }

    #[test]
    fn unterminated_constructs_end_at_the_end() {
        for s in [
            "<p class=\"open",
            "<!-- never closed",
            "<script>for(;;)",
            "<",
            "</",
            "<a href='x",
        ] {
            let _ = tokens(s);
        }
        assert_eq!(
            tokens("<title>T</title"),
            vec![
                Token::Start {
                    tag: Tag::Title,
                    attrs: "",
                    self_closing: false
                },
                Token::Raw(Tag::Title, "T"),
                Token::End(Tag::Title),
            ]
        );
    }
}
