//! Main-text extraction: the text a reader came for, without navigation, ads, footers,
//! cookie banners and comment sections, in Chinese as well as English.
//!
//! How it decides, after jusText and trafilatura, measured in characters so it works for
//! Chinese (see [`crate::text`]):
//! 1. The page becomes a list of blocks (paragraphs, headings, list items, `<pre>`, table
//!    rows). Elements that never hold main text are dropped with their subtrees (scripts,
//!    styles, forms controls, `<nav>`, `<footer>`, hidden elements); elements whose tag,
//!    `role`, `class` or `id` says boilerplate (`sidebar`, `comment`, `cookie`, `menu`, ...)
//!    mark their blocks.
//! 2. Each block is classified alone: too linked (link density) is bad, short is
//!    undecided, long prose (stop words / Chinese function characters, punctuation) is
//!    good, in between is near-good.
//! 3. Context decides the rest, as in jusText: short and near-good blocks take the class
//!    of their neighbours, headings followed by good text are kept.
//!
//! The tree is never built: a bounded stack of open elements is enough, so a page nested
//! 100,000 levels deep costs no more memory than a flat one.

use crate::html::{Tag, Token, Tokenizer, attr, decode_refs};
use crate::text::Measure;

/// What to favour when a block could go either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Favor {
    /// Keep less, but cleaner (FineWeb runs trafilatura with `favor_precision`).
    Precision,
    /// jusText's thresholds.
    #[default]
    Balanced,
    /// Keep more, accepting some boilerplate.
    Recall,
}

/// Extraction options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Precision, balanced or recall.
    pub favor: Favor,
    /// Keep data tables as rows of cells separated by ` | `.
    pub keep_tables: bool,
    /// Put the `<title>` first when the text does not already start with it.
    pub with_title: bool,
    /// Open elements tracked; deeper ones are treated as inline.
    pub max_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            favor: Favor::Balanced,
            keep_tables: true,
            with_title: false,
            max_depth: 256,
        }
    }
}

/// The result of one page.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// The main text: blocks as lines, a blank line between paragraphs.
    pub text: String,
    /// The page title, if any.
    pub title: Option<String>,
    /// Non-space characters of all visible text.
    pub visible_chars: usize,
    /// Of those, inside links.
    pub link_chars: usize,
    /// Of those, in kept blocks.
    pub kept_chars: usize,
}

impl Extracted {
    /// Link characters over visible characters (`html.link_density`).
    pub fn link_density(&self) -> f32 {
        self.link_chars as f32 / self.visible_chars.max(1) as f32
    }

    /// Visible characters not kept (`html.boilerplate_frac`).
    pub fn boilerplate_frac(&self) -> f32 {
        if self.visible_chars == 0 {
            return 0.0;
        }
        1.0 - self.kept_chars as f32 / self.visible_chars as f32
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Para,
    Heading,
    Item,
    Pre,
    Row,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Good,
    NearGood,
    Short,
    Bad,
}

#[derive(Debug)]
struct Block {
    text: String,
    kind: Kind,
    /// Inside boilerplate-marked elements.
    neg: bool,
    /// Inside `<article>`, `<main>` or a content-marked element.
    pos: bool,
    link_chars: usize,
    cells: u32,
    /// Index of the list or table the block belongs to (for line vs blank-line joins).
    group: usize,
    m: Measure,
    class: Class,
}

struct Open {
    tag: Tag,
    /// An `<a href>` (a named anchor is not a link).
    link: bool,
    drop: bool,
    neg: bool,
    pos: bool,
}

/// Tags whose subtrees never hold main text.
fn drops(tag: Tag) -> bool {
    use Tag::*;
    matches!(
        tag,
        Script
            | Style
            | Noscript
            | Template
            | Svg
            | Math
            | Iframe
            | Object
            | Embed
            | Canvas
            | Select
            | Option
            | Button
            | Textarea
            | Head
            | Video
            | Audio
            | Map
            | Frameset
            | Noframes
            | Noembed
            | Dialog
            | Input
    )
}

/// Tags that start and end a block.
fn is_block(tag: Tag) -> bool {
    use Tag::*;
    matches!(
        tag,
        P | Div
            | Li
            | H1
            | H2
            | H3
            | H4
            | H5
            | H6
            | Pre
            | Blockquote
            | Td
            | Th
            | Tr
            | Table
            | Ul
            | Ol
            | Dl
            | Dt
            | Dd
            | Section
            | Article
            | Main
            | Header
            | Footer
            | Nav
            | Aside
            | Figure
            | Figcaption
            | Caption
            | Address
            | Form
            | Fieldset
            | Legend
            | Details
            | Summary
            | Center
            | Hr
            | Body
            | Html
            | Menu
            | Tbody
            | Thead
            | Tfoot
            | Xmp
            | Plaintext
    )
}

/// Words in `class`/`id` that mark boilerplate (matched as whole tokens or token prefixes).
const NEG_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "footer",
    "foot",
    "sidebar",
    "side",
    "breadcrumb",
    "breadcrumbs",
    "comment",
    "comments",
    "cookie",
    "consent",
    "gdpr",
    "banner",
    "advert",
    "ad",
    "ads",
    "adsbygoogle",
    "sponsor",
    "sponsored",
    "promo",
    "share",
    "sharing",
    "social",
    "related",
    "recommend",
    "popular",
    "hot",
    "trending",
    "popup",
    "modal",
    "subscribe",
    "newsletter",
    "login",
    "signup",
    "register",
    "copyright",
    "toolbar",
    "widget",
    "pagination",
    "pager",
    "tags",
    "tagcloud",
    "topbar",
    "masthead",
    "skip",
    "flink",
    "friendlink",
    "links",
    "guanggao",
    "gg",
    "rank",
    "disclaimer",
    "author-box",
    "byline-share",
    "outbrain",
    "taboola",
];

/// Words in `class`/`id` that mark the main content.
const POS_WORDS: &[&str] = &[
    "article", "content", "post", "entry", "main", "story", "body", "text", "detail", "news",
    "blog", "zhengwen", "artibody", "markdown", "prose", "rich",
];

fn token_matches(value: &str, words: &[&str]) -> bool {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .any(|t| {
            let t = t.to_ascii_lowercase();
            words
                .iter()
                .any(|w| t == *w || (w.len() >= 4 && t.starts_with(w)))
        })
}

/// (negative, positive) hints of an element's attributes.
fn hints(tag: Tag, attrs: &str) -> (bool, bool) {
    let mut neg = false;
    let mut pos = matches!(tag, Tag::Article | Tag::Main);
    if let Some(role) = attr(attrs, "role") {
        let role = role.to_ascii_lowercase();
        neg |= matches!(
            role.as_str(),
            "navigation"
                | "banner"
                | "contentinfo"
                | "complementary"
                | "search"
                | "menu"
                | "menubar"
                | "dialog"
                | "alert"
                | "alertdialog"
        );
        pos |= matches!(role.as_str(), "main" | "article");
    }
    for name in ["class", "id"] {
        if let Some(v) = attr(attrs, name) {
            if token_matches(v, NEG_WORDS) {
                neg = true;
            } else if token_matches(v, POS_WORDS) {
                pos = true;
            }
        }
    }
    (neg, pos)
}

fn hidden(attrs: &str) -> bool {
    if attr(attrs, "hidden").is_some()
        || attr(attrs, "aria-hidden").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return true;
    }
    attr(attrs, "style").is_some_and(|s| {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    })
}

/// Lines that are boilerplate wherever they stand.
fn is_furniture(text: &str) -> bool {
    let lower = text.to_lowercase();
    const MARKS: &[&str] = &[
        "©",
        "copyright",
        "all rights reserved",
        "版权所有",
        "icp备",
        "icp证",
        "公网安备",
        "cookie",
        "privacy policy",
        "terms of use",
        "隐私政策",
        "免责声明",
        "联系我们",
    ];
    text.chars().count() < 200 && MARKS.iter().any(|m| lower.contains(m))
}

struct Params {
    low: usize,
    high: usize,
    prose_low: f64,
    prose_high: f64,
    max_link_density: f64,
}

fn params(favor: Favor) -> Params {
    match favor {
        Favor::Precision => Params {
            low: 55,
            high: 140,
            prose_low: 0.85,
            prose_high: 1.0,
            max_link_density: 0.25,
        },
        Favor::Balanced => Params {
            low: 55,
            high: 120,
            prose_low: 0.8,
            prose_high: 0.95,
            max_link_density: 0.3,
        },
        Favor::Recall => Params {
            low: 30,
            high: 100,
            prose_low: 0.5,
            prose_high: 0.7,
            max_link_density: 0.5,
        },
    }
}

/// Builds blocks while walking tokens.
struct Walker<'o> {
    opts: &'o Options,
    stack: Vec<Open>,
    drop: usize,
    neg: usize,
    pos: usize,
    links: usize,
    pre: usize,
    blocks: Vec<Block>,
    cur: Option<Block>,
    /// A space is owed before the next text (collapsed whitespace).
    space: bool,
    /// The owed whitespace held a line break (dropped between two CJK characters).
    space_newline: bool,
    groups: usize,
    group_stack: Vec<usize>,
    title: Option<String>,
}

impl Walker<'_> {
    fn flush(&mut self) {
        if let Some(mut b) = self.cur.take() {
            let trimmed_len = b.text.trim_end().len();
            b.text.truncate(trimmed_len);
            if !b.text.trim().is_empty() {
                b.m = Measure::of(&b.text);
                self.blocks.push(b);
            }
        }
        self.space = false;
    }

    fn innermost_block(&self) -> Tag {
        self.stack
            .iter()
            .rev()
            .map(|o| o.tag)
            .find(|t| is_block(*t))
            .unwrap_or(Tag::Body)
    }

    fn push_text(&mut self, raw: &str) {
        if self.drop > 0 {
            return;
        }
        let text = decode_refs(raw);
        if self.cur.is_none() {
            if text.trim().is_empty() && self.pre == 0 {
                return;
            }
            let kind = match self.innermost_block() {
                Tag::H1 | Tag::H2 | Tag::H3 | Tag::H4 | Tag::H5 | Tag::H6 => Kind::Heading,
                Tag::Li | Tag::Dt | Tag::Dd => Kind::Item,
                Tag::Pre | Tag::Xmp | Tag::Plaintext => Kind::Pre,
                Tag::Td | Tag::Th => Kind::Row,
                _ => Kind::Para,
            };
            self.cur = Some(Block {
                text: String::new(),
                kind,
                neg: self.neg > 0,
                pos: self.pos > 0,
                link_chars: 0,
                cells: u32::from(kind == Kind::Row),
                group: self.group_stack.last().copied().unwrap_or(0),
                m: Measure::default(),
                class: Class::Bad,
            });
            self.space = false;
        }
        let in_link = self.links > 0;
        let pre = self.pre > 0;
        let Some(b) = self.cur.as_mut() else { return };
        if pre {
            b.text.push_str(&text);
            if in_link {
                b.link_chars += text.chars().filter(|c| !c.is_whitespace()).count();
            }
            return;
        }
        for c in text.chars() {
            if c.is_whitespace() {
                if !b.text.is_empty() {
                    self.space = true;
                    self.space_newline |= c == '\n' || c == '\r';
                }
                continue;
            }
            if self.space {
                let last = b.text.chars().next_back();
                let cjk_join = self.space_newline
                    && last.is_some_and(crate::text::is_cjk)
                    && crate::text::is_cjk(c);
                if !cjk_join && !b.text.ends_with('\n') {
                    b.text.push(' ');
                }
                self.space = false;
                self.space_newline = false;
            }
            b.text.push(c);
            if in_link {
                b.link_chars += 1;
            }
        }
    }

    fn line_break(&mut self) {
        if let Some(b) = self.cur.as_mut()
            && !b.text.is_empty()
        {
            let len = b.text.trim_end_matches(' ').len();
            b.text.truncate(len);
            b.text.push('\n');
            self.space = false;
        }
    }

    fn start(&mut self, tag: Tag, attrs: &str, self_closing: bool) {
        match tag {
            Tag::Br => return self.line_break(),
            Tag::Hr => return self.flush(),
            Tag::Body => {
                // A `<head>` left open ends where the body starts.
                while let Some(i) = self.stack.iter().rposition(|o| o.tag == Tag::Head) {
                    self.pop_to(i, true);
                }
            }
            Tag::Td | Tag::Th => {
                if let Some(b) = self.cur.as_mut()
                    && b.kind == Kind::Row
                    && !b.text.is_empty()
                {
                    b.text.push_str(" | ");
                    b.cells += 1;
                    self.space = false;
                    self.push_open(tag, attrs);
                    return;
                }
            }
            _ => {}
        }
        if tag.is_void() || (self_closing && tag == Tag::Other) {
            return;
        }
        if is_block(tag) {
            self.flush();
        }
        if matches!(tag, Tag::Ul | Tag::Ol | Tag::Dl | Tag::Table | Tag::Menu) {
            self.groups += 1;
            self.group_stack.push(self.groups);
        }
        self.push_open(tag, attrs);
    }

    fn push_open(&mut self, tag: Tag, attrs: &str) {
        if self.stack.len() >= self.opts.max_depth {
            return;
        }
        let (mut neg, pos) = hints(tag, attrs);
        // A hidden `<span>` is usually a script-driven switch between variants of the text
        // (help systems, tabs); hidden blocks are menus, dialogs and templates.
        let mut drop = drops(tag) || (tag != Tag::Span && !attrs.is_empty() && hidden(attrs));
        match tag {
            Tag::Nav | Tag::Footer => {
                if self.opts.favor == Favor::Recall {
                    neg = true;
                } else {
                    drop = true;
                }
            }
            Tag::Aside | Tag::Menu | Tag::Form => neg = true,
            Tag::Header if self.pos == 0 => neg = true,
            _ => {}
        }
        // In a Recall run only the strongest boilerplate marks drop a subtree.
        let link = tag == Tag::A && attr(attrs, "href").is_some();
        self.links += usize::from(link);
        if matches!(tag, Tag::Pre | Tag::Xmp | Tag::Plaintext) {
            self.pre += 1;
        }
        self.drop += usize::from(drop);
        self.neg += usize::from(neg);
        self.pos += usize::from(pos);
        self.stack.push(Open {
            tag,
            link,
            drop,
            neg,
            pos,
        });
    }

    /// Closes open elements down to depth `depth`; with `flush`, closing a block ends it.
    fn pop_to(&mut self, depth: usize, flush: bool) {
        while self.stack.len() > depth {
            self.pop(flush);
        }
    }

    fn pop(&mut self, flush: bool) {
        let Some(o) = self.stack.pop() else { return };
        if flush && is_block(o.tag) {
            self.flush();
        }
        self.links -= usize::from(o.link);
        if matches!(o.tag, Tag::Pre | Tag::Xmp | Tag::Plaintext) {
            self.pre -= 1;
        }
        if matches!(o.tag, Tag::Ul | Tag::Ol | Tag::Dl | Tag::Table | Tag::Menu) {
            self.group_stack.pop();
        }
        self.drop -= usize::from(o.drop);
        self.neg -= usize::from(o.neg);
        self.pos -= usize::from(o.pos);
    }

    fn end(&mut self, tag: Tag) {
        match tag {
            Tag::Br => return self.line_break(),
            Tag::Td | Tag::Th => {
                // A cell ends; the row block goes on until `</tr>`.
                if let Some(i) = self.stack.iter().rposition(|o| o.tag == tag)
                    && self.stack[i + 1..].iter().all(|o| !is_block(o.tag))
                    && self.cur.as_ref().is_some_and(|b| b.kind == Kind::Row)
                {
                    return self.pop_to(i, false);
                }
            }
            _ => {}
        }
        if let Some(i) = self.stack.iter().rposition(|o| o.tag == tag) {
            self.pop_to(i, true);
        } else if is_block(tag) {
            self.flush();
        }
    }
}

/// One block of a page and the decision on it, for explaining an extraction.
#[derive(Debug, Clone)]
pub struct BlockDecision {
    /// Its text.
    pub text: String,
    /// `para`, `heading`, `item`, `pre` or `row`.
    pub kind: &'static str,
    /// Kept as main text.
    pub kept: bool,
    /// Inside boilerplate-marked elements.
    pub marked_boilerplate: bool,
    /// Link characters over characters.
    pub link_density: f32,
    /// Length in Latin-letter units.
    pub units: usize,
    /// Prose score (1.0 = jusText's high stop-word density).
    pub prose: f32,
}

/// Every block of a page with the decision taken on it.
pub fn explain(html: &str, opts: &Options) -> Vec<BlockDecision> {
    let (_, blocks) = run(html, opts);
    blocks
        .iter()
        .map(|b| BlockDecision {
            text: b.text.clone(),
            kind: match b.kind {
                Kind::Para => "para",
                Kind::Heading => "heading",
                Kind::Item => "item",
                Kind::Pre => "pre",
                Kind::Row => "row",
            },
            kept: b.class == Class::Good,
            marked_boilerplate: b.neg,
            link_density: b.link_chars as f32 / b.m.chars.max(1) as f32,
            units: b.m.units,
            prose: b.m.prose() as f32,
        })
        .collect()
}

/// Extracts the main text of a page.
pub fn extract(html: &str, opts: &Options) -> Extracted {
    run(html, opts).0
}

fn run(html: &str, opts: &Options) -> (Extracted, Vec<Block>) {
    let mut w = Walker {
        opts,
        stack: Vec::new(),
        drop: 0,
        neg: 0,
        pos: 0,
        links: 0,
        pre: 0,
        blocks: Vec::new(),
        cur: None,
        space: false,
        space_newline: false,
        groups: 0,
        group_stack: Vec::new(),
        title: None,
    };
    for token in Tokenizer::new(html) {
        match token {
            Token::Start {
                tag,
                attrs,
                self_closing,
            } => {
                // `<p>` and `<li>` close an open one of their kind (the common implied ends).
                if matches!(
                    tag,
                    Tag::P | Tag::Li | Tag::Dt | Tag::Dd | Tag::Tr | Tag::Option
                ) && let Some(i) = w.stack.iter().rposition(|o| o.tag == tag)
                    && w.stack[i + 1..].iter().all(|o| {
                        !matches!(o.tag, Tag::Ul | Tag::Ol | Tag::Table | Tag::Div | Tag::Dl)
                    })
                {
                    w.pop_to(i, true);
                }
                // Raw-text elements other than `<xmp>` hold no text (the title is kept apart).
                if tag.is_raw_text() && !matches!(tag, Tag::Xmp | Tag::Plaintext) {
                    continue;
                }
                w.start(tag, attrs, self_closing);
            }
            Token::End(tag) => {
                if tag.is_raw_text() && !matches!(tag, Tag::Xmp | Tag::Plaintext) {
                    continue;
                }
                w.end(tag);
            }
            Token::Text(t) => w.push_text(t),
            Token::Raw(Tag::Title, t) => {
                if w.title.is_none() {
                    let t = decode_refs(t);
                    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
                    if !t.is_empty() {
                        w.title = Some(t);
                    }
                }
            }
            Token::Raw(Tag::Xmp | Tag::Plaintext, t) => w.push_text(t),
            Token::Raw(..) => {}
        }
    }
    w.flush();
    let title = w.title.take();
    let mut blocks = w.blocks;
    classify(&mut blocks, opts);
    let mut out = Extracted {
        title,
        ..Default::default()
    };
    let mut prev: Option<&Block> = None;
    for b in &blocks {
        out.visible_chars += b.m.chars;
        out.link_chars += b.link_chars;
        if b.class != Class::Good {
            continue;
        }
        out.kept_chars += b.m.chars;
        if let Some(p) = prev {
            let same_group = p.group == b.group
                && b.group != 0
                && p.kind == b.kind
                && matches!(b.kind, Kind::Item | Kind::Row);
            out.text.push_str(if same_group { "\n" } else { "\n\n" });
        }
        out.text.push_str(&b.text);
        prev = Some(b);
    }
    if opts.with_title
        && let Some(t) = &out.title
        && !out.text.starts_with(t.as_str())
    {
        out.text = if out.text.is_empty() {
            t.clone()
        } else {
            format!("{t}\n\n{}", out.text)
        };
    }
    (out, blocks)
}

/// True when a good block follows block `i` within 200 units of text (jusText's
/// `max_heading_distance`).
fn good_follows(blocks: &[Block], classes: &[Class], i: usize) -> bool {
    let mut distance = 0;
    for (b, c) in blocks.iter().zip(classes).skip(i + 1) {
        if *c == Class::Good {
            return true;
        }
        distance += b.m.units;
        if distance > 200 {
            return false;
        }
    }
    false
}

/// Classifies blocks alone, then in context (jusText's two passes).
fn classify(blocks: &mut [Block], opts: &Options) {
    let p = params(opts.favor);
    for b in blocks.iter_mut() {
        let m = &b.m;
        let ld = b.link_chars as f64 / m.chars.max(1) as f64;
        let table_row = b.kind == Kind::Row && b.cells > 1 && !opts.keep_tables;
        b.class = if ld > p.max_link_density || is_furniture(&b.text) || table_row {
            Class::Bad
        } else if m.units < p.low {
            // A permalink or one linked word does not make a short block navigation.
            if ld > 0.5 { Class::Bad } else { Class::Short }
        } else if b.kind == Kind::Pre {
            Class::NearGood
        } else if m.prose() >= p.prose_high && m.units >= p.high {
            Class::Good
        } else if m.prose() >= p.prose_low || (m.punct * 40 >= m.units && m.units >= p.high) {
            Class::NearGood
        } else {
            Class::Bad
        };
        if b.neg {
            b.class = match (opts.favor, b.class) {
                (Favor::Recall, Class::Good) => Class::NearGood,
                (Favor::Recall, c) => c,
                _ => Class::Bad,
            };
        } else if b.pos
            && b.class == Class::Bad
            && ld <= p.max_link_density
            && m.units >= p.low
            && opts.favor != Favor::Precision
        {
            b.class = Class::NearGood;
        } else if b.pos && b.class == Class::Short && ld == 0.0 && m.punct > 0 {
            // A short sentence inside the article container.
            b.class = Class::NearGood;
        }
    }
    // Short headings shortly before good text count as near-good (jusText's first pass).
    let alone: Vec<Class> = blocks.iter().map(|b| b.class).collect();
    for i in 0..blocks.len() {
        let b = &blocks[i];
        if b.kind == Kind::Heading
            && b.class == Class::Short
            && !b.neg
            && good_follows(blocks, &alone, i)
        {
            blocks[i].class = Class::NearGood;
        }
    }
    let initial: Vec<Class> = blocks.iter().map(|b| b.class).collect();
    let neighbour = |classes: &[Class], i: usize, step: isize, ignore_near: bool| -> Class {
        let mut j = i as isize + step;
        while j >= 0 && (j as usize) < classes.len() {
            match classes[j as usize] {
                Class::Good => return Class::Good,
                Class::Bad => return Class::Bad,
                Class::NearGood if !ignore_near => return Class::NearGood,
                _ => {}
            }
            j += step;
        }
        Class::Bad
    };
    // Short blocks take their neighbours' class.
    let mut classes = initial.clone();
    for i in 0..blocks.len() {
        if initial[i] != Class::Short {
            continue;
        }
        let (prev, next) = (
            neighbour(&initial, i, -1, true),
            neighbour(&initial, i, 1, true),
        );
        classes[i] = if prev == Class::Good && next == Class::Good {
            Class::Good
        } else if prev == Class::Bad && next == Class::Bad {
            Class::Bad
        } else if opts.favor != Favor::Precision
            && ((prev == Class::Bad && neighbour(&initial, i, -1, false) == Class::NearGood)
                || (next == Class::Bad && neighbour(&initial, i, 1, false) == Class::NearGood))
        {
            Class::Good
        } else {
            Class::Bad
        };
    }
    // Near-good blocks are kept unless bad text surrounds them.
    let after_short = classes.clone();
    for i in 0..blocks.len() {
        if after_short[i] != Class::NearGood {
            continue;
        }
        let (prev, next) = (
            neighbour(&after_short, i, -1, true),
            neighbour(&after_short, i, 1, true),
        );
        classes[i] = if prev == Class::Bad && next == Class::Bad {
            Class::Bad
        } else {
            Class::Good
        };
    }
    // Headings followed closely by good text are kept.
    for i in 0..blocks.len() {
        if blocks[i].kind == Kind::Heading && !blocks[i].neg && good_follows(blocks, &classes, i) {
            classes[i] = Class::Good;
        }
    }
    // A page whose only text is near-good (one short article) keeps it rather than nothing.
    if !classes.contains(&Class::Good) {
        for (c, i) in classes.iter_mut().zip(&initial) {
            if *i == Class::NearGood {
                *c = Class::Good;
            }
        }
    }
    for (b, c) in blocks.iter_mut().zip(classes) {
        b.class = if c == Class::Good {
            Class::Good
        } else {
            Class::Bad
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN_P: &str = "The committee said on Tuesday that it would publish the full report in the spring, after the members have had a chance to read it and to comment on the findings.";
    const ZH_P: &str = "国务院今天发布了关于进一步加强城市规划建设管理工作的若干意见，要求各地区各部门认真贯彻执行，并把这项工作落到实处，切实提高城市治理水平。";

    fn page(main: &str) -> String {
        format!(
            "<html><head><title>T</title><style>p{{}}</style></head><body>\
             <div class=\"header\"><ul class=\"nav\"><li><a href=/>首页</a></li><li><a href=/n>新闻</a></li><li><a href=/s>体育</a></li></ul></div>\
             <div id=\"content\">{main}</div>\
             <div class=\"sidebar\"><h3>热门推荐</h3><ul><li><a href=/1>澳门葡京娱乐平台注册送彩金</a></li><li><a href=/2>今日热点新闻排行</a></li></ul></div>\
             <div class=\"cookie-banner\">We use cookies to improve your experience. Accept all cookies?</div>\
             <footer>Copyright © 2024 Example Inc. All rights reserved. 京ICP备12345678号</footer>\
             <script>var x = '<p>not text</p>';</script></body></html>"
        )
    }

    #[test]
    fn keeps_paragraphs_and_drops_boilerplate_in_both_languages() {
        let main = format!("<h1>城市规划新规发布</h1><p>{ZH_P}</p><p>{EN_P}</p><p>{ZH_P}</p>");
        let e = extract(&page(&main), &Options::default());
        assert_eq!(
            e.text,
            format!("城市规划新规发布\n\n{ZH_P}\n\n{EN_P}\n\n{ZH_P}")
        );
        assert_eq!(e.title.as_deref(), Some("T"));
        assert!(e.boilerplate_frac() > 0.1 && e.link_density() > 0.0);
    }

    #[test]
    fn lists_and_pre_are_lines_and_entities_are_decoded() {
        let main = format!(
            "<p>{EN_P} {EN_P}</p><ul><li>First point of the argument, made at some length here.</li><li>Second point &amp; more.</li></ul><pre>fn main() {{\n    println!(\"hi\");\n}}</pre><p>{EN_P}</p>"
        );
        let e = extract(&page(&main), &Options::default());
        assert!(
            e.text.contains(
                "First point of the argument, made at some length here.\nSecond point & more."
            ),
            "{}",
            e.text
        );
        assert!(
            e.text.contains("fn main() {\n    println!(\"hi\");\n}"),
            "{}",
            e.text
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let n = 100_000;
        let html = format!("{}<p>{EN_P}</p>{}", "<div>".repeat(n), "</div>".repeat(n));
        let e = extract(&html, &Options::default());
        assert!(e.text.contains("committee"));
    }

    #[test]
    fn line_breaks_between_han_characters_are_not_spaces() {
        let html = format!("<p>{}\n{}</p>", &ZH_P[..30], &ZH_P[30..]);
        let e = extract(
            &html,
            &Options {
                favor: Favor::Recall,
                ..Options::default()
            },
        );
        assert_eq!(e.text, ZH_P);
    }
}
