//! A small generated crawl: one WARC file, one gzip member per record as Common Crawl
//! writes them, with the main text of every page known.
//!
//! It holds what a real crawl holds: a `warcinfo` record, a `request` before each
//! response, `metadata` records, HTML pages in three site layouts (portal, blog, forum)
//! in English and Chinese, Chinese pages in GBK (declared in `<meta>`, or not at all)
//! and Big5, an image, a PDF, a redirect, a 404, a record marked `WARC-Truncated`, a PNG
//! served as `text/html`, and a page that is all navigation.

use std::io::Write;

use crate::rng::Rng;
use crate::text::{Lang, Style, body};

/// The planted truth of one HTML page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebTruth {
    /// `WARC-Record-ID` of its response.
    pub id: String,
    /// Its URL.
    pub url: String,
    /// `en`, `zh-Hans` or `zh-Hant`.
    pub lang: &'static str,
    /// How its bytes are encoded: `utf-8`, `gbk-meta`, `gbk-undeclared`, `big5-http`.
    pub charset: &'static str,
    /// The main text: title heading and paragraphs, separated by blank lines.
    pub main: String,
    /// What the `extract` stage should do with it: `keep`, `not_html`, `extract_empty`.
    pub expect: &'static str,
}

/// The generated WARC and its truth.
#[derive(Clone, Debug)]
pub struct DemoWarc {
    /// The `.warc.gz` bytes.
    pub bytes: Vec<u8>,
    /// One entry per HTML response (and the binary one served as HTML).
    pub pages: Vec<WebTruth>,
    /// Records that are not documents, by the reader's `warc.skipped.<reason>` name.
    pub skipped: Vec<(&'static str, usize)>,
}

const ZH_NAV: &[&str] = &[
    "首页", "新闻", "体育", "娱乐", "财经", "科技", "汽车", "房产", "教育", "旅游",
];
const EN_NAV: &[&str] = &[
    "Home",
    "World",
    "Business",
    "Sport",
    "Technology",
    "Science",
    "Health",
    "Travel",
];
const ZH_SPAM: &[&str] = &[
    "澳门葡京娱乐城注册送彩金",
    "真人百家乐官网在线开户",
    "今日热门新闻排行榜",
    "点击领取新人大礼包",
];
const EN_SPAM: &[&str] = &[
    "Top 10 casino bonuses this week",
    "You won't believe these deals",
    "Trending now: celebrity news",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn links(items: &[&str]) -> String {
    items
        .iter()
        .enumerate()
        .map(|(i, t)| format!("<li><a href=\"/c/{i}\">{t}</a></li>"))
        .collect()
}

/// One page in one of three layouts; `title` and `paras` are the main text.
fn page(
    layout: usize,
    zh: bool,
    title: &str,
    paras: &[String],
    charset_meta: Option<&str>,
) -> String {
    let nav = links(if zh { ZH_NAV } else { EN_NAV });
    let spam = links(if zh { ZH_SPAM } else { EN_SPAM });
    let meta = charset_meta.map_or(String::new(), |c| format!("<meta charset=\"{c}\">"));
    let main: String = paras
        .iter()
        .map(|p| format!("<p>{}</p>\n", escape(p)))
        .collect();
    let (copyright, cookie, comments) = if zh {
        (
            "版权所有 © 2024 示例网 京ICP备12345678号",
            "本网站使用Cookie以改善您的体验。",
            "网友评论：说得好！顶一个",
        )
    } else {
        (
            "Copyright © 2024 Example Media. All rights reserved.",
            "We use cookies to improve your experience. Accept?",
            "Great post, thanks! Reply",
        )
    };
    let title = escape(title);
    match layout {
        0 => format!(
            "<!DOCTYPE html><html><head>{meta}<title>{title} - Portal</title><style>.x{{}}</style></head><body>\
             <div class=\"top-nav\"><ul>{nav}</ul></div>\
             <div class=\"wrap\"><div class=\"article-body\"><h1>{title}</h1>\n{main}</div>\
             <div class=\"sidebar\"><h3>{}</h3><ul>{spam}</ul></div></div>\
             <div class=\"footer\">{copyright}</div><script>var ad='<p>ad</p>';</script></body></html>",
            if zh { "热门推荐" } else { "Most read" }
        ),
        1 => format!(
            "<html><head>{meta}<title>{title}</title></head><body><header><nav><ul>{nav}</ul></nav></header>\
             <main><article><h1>{title}</h1>\n{main}</article>\
             <section id=\"comments\"><h2>{}</h2><p>{comments}</p></section></main>\
             <aside><ul>{spam}</ul></aside><div class=\"cookie-consent\">{cookie}</div>\
             <footer><p>{copyright}</p></footer></body></html>",
            if zh { "评论" } else { "Comments" }
        ),
        _ => format!(
            "<html><head>{meta}<title>{title}</title></head><body>\
             <table width=\"960\"><tr><td colspan=2 class=\"menu\">{}</td></tr>\
             <tr><td width=\"200\" valign=\"top\" class=\"left\"><ul>{spam}</ul></td>\
             <td valign=\"top\"><div class=\"t_msgfont\"><h2>{title}</h2>\n{main}</div></td></tr>\
             <tr><td colspan=2 align=center>{copyright}</td></tr></table></body></html>",
            (if zh { ZH_NAV } else { EN_NAV })
                .iter()
                .map(|t| format!("<a href=\"/\">{t}</a> | "))
                .collect::<String>()
        ),
    }
}

struct Writer {
    out: Vec<u8>,
    n: usize,
}

impl Writer {
    fn record(
        &mut self,
        kind: &str,
        url: Option<&str>,
        extra: &[(&str, &str)],
        block: &[u8],
    ) -> String {
        self.n += 1;
        let id = format!("urn:uuid:00000000-0000-4000-8000-{:012}", self.n);
        let mut head = format!(
            "WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <{id}>\r\nWARC-Date: 2024-05-{:02}T10:00:00Z\r\n",
            1 + self.n % 28
        );
        if let Some(u) = url {
            head.push_str(&format!("WARC-Target-URI: {u}\r\n"));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", block.len()));
        let mut rec = head.into_bytes();
        rec.extend_from_slice(block);
        rec.extend_from_slice(b"\r\n\r\n");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&rec);
        self.out.extend(gz.finish().unwrap_or_default());
        id
    }

    fn response(
        &mut self,
        url: &str,
        status: &str,
        content_type: Option<&str>,
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> String {
        let req = format!("GET {url} HTTP/1.1\r\nHost: example\r\n\r\n");
        self.record(
            "request",
            Some(url),
            &[("Content-Type", "application/http; msgtype=request")],
            req.as_bytes(),
        );
        let mut http = format!("HTTP/1.1 {status}\r\n");
        if let Some(ct) = content_type {
            http.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        http.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut block = http.into_bytes();
        block.extend_from_slice(body);
        let mut headers = vec![("Content-Type", "application/http; msgtype=response")];
        headers.extend_from_slice(extra);
        self.record("response", Some(url), &headers, &block)
    }
}

/// Generates the demo crawl: `pages` HTML pages plus the non-document records.
pub fn demo_warc(seed: u64, pages: usize) -> DemoWarc {
    let mut rng = Rng::new(seed ^ 0x7765_6221);
    let mut w = Writer {
        out: Vec::new(),
        n: 0,
    };
    w.record(
        "warcinfo",
        None,
        &[("Content-Type", "application/warc-fields")],
        b"software: taojin-demo\r\nformat: WARC File Format 1.1\r\n",
    );
    let mut truth = Vec::new();
    let mut requests = 0;
    let mut metadata = 0;
    for i in 0..pages {
        let (lang, code) = match i % 5 {
            0 | 2 => (Lang::En, "en"),
            4 if i % 10 == 9 => (Lang::Hant, "zh-Hant"),
            _ => (Lang::Zh, "zh-Hans"),
        };
        let zh = lang != Lang::En;
        let st = Style {
            lang,
            topic: rng.below(6),
            tech: false,
        };
        let n_paras = rng.range(3, 7);
        let paras = body(&mut rng, st, n_paras);
        let title_src = body(&mut rng, st, 1).pop().unwrap_or_default();
        let title: String = title_src.chars().take(if zh { 14 } else { 48 }).collect();
        let title = title.trim_end_matches([',', '，', ' ']).to_string();
        let (charset, meta, ct) = match (lang, i % 3) {
            (Lang::Hant, _) => ("big5-http", None, "text/html; charset=big5"),
            (Lang::Zh, 0) => ("gbk-meta", Some("gbk"), "text/html"),
            (Lang::Zh, 1) => ("gbk-undeclared", None, "text/html"),
            _ => ("utf-8", None, "text/html; charset=utf-8"),
        };
        let html = page(i % 3, zh, &title, &paras, meta);
        let bytes = match charset {
            "gbk-meta" | "gbk-undeclared" => encoding_rs::GBK.encode(&html).0.into_owned(),
            "big5-http" => encoding_rs::BIG5.encode(&html).0.into_owned(),
            _ => html.into_bytes(),
        };
        let url = format!(
            "http://{}.example.{}/a/{i}.html",
            if zh { "news" } else { "blog" },
            if zh { "cn" } else { "com" }
        );
        let id = w.response(&url, "200 OK", Some(ct), &bytes, &[]);
        requests += 1;
        let mut main = vec![title.clone()];
        main.extend(paras.iter().cloned());
        truth.push(WebTruth {
            id,
            url,
            lang: code,
            charset,
            main: main.join("\n\n"),
            expect: "keep",
        });
        if i % 4 == 0 {
            w.record(
                "metadata",
                Some(&format!("http://example.com/{i}")),
                &[("Content-Type", "application/warc-fields")],
                b"fetchTimeMs: 120\r\n",
            );
            metadata += 1;
        }
    }
    // Records that are not documents, one of each.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa";
    w.response(
        "http://img.example.com/logo.png",
        "200 OK",
        Some("image/png"),
        png,
        &[],
    );
    w.response(
        "http://example.com/paper.pdf",
        "200 OK",
        Some("application/pdf"),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        &[],
    );
    w.response(
        "http://example.com/old",
        "301 Moved Permanently",
        Some("text/html"),
        b"<a href=/new>moved</a>",
        &[],
    );
    w.response(
        "http://example.com/missing",
        "404 Not Found",
        Some("text/html"),
        b"<h1>Not Found</h1>",
        &[],
    );
    w.response(
        "http://example.com/big",
        "200 OK",
        Some("text/html"),
        b"<html><body><p>cut off",
        &[("WARC-Truncated", "length")],
    );
    requests += 5;
    // A PNG served as text/html, and a page that is nothing but navigation.
    let mut fake = png.to_vec();
    fake.extend(std::iter::repeat_n(0u8, 512));
    let url = "http://example.com/fake.html".to_string();
    let id = w.response(&url, "200 OK", Some("text/html"), &fake, &[]);
    truth.push(WebTruth {
        id,
        url,
        lang: "en",
        charset: "binary",
        main: String::new(),
        expect: "not_html",
    });
    let url = "http://example.com/nav.html".to_string();
    let nav_only = format!(
        "<html><body><nav><ul>{}</ul></nav><div class=\"footer\">Copyright © 2024</div></body></html>",
        links(EN_NAV)
    );
    let id = w.response(&url, "200 OK", Some("text/html"), nav_only.as_bytes(), &[]);
    truth.push(WebTruth {
        id,
        url,
        lang: "en",
        charset: "utf-8",
        main: String::new(),
        expect: "extract_empty",
    });
    requests += 2;
    DemoWarc {
        bytes: w.out,
        pages: truth,
        skipped: vec![
            ("warcinfo", 1),
            ("request", requests),
            ("metadata", metadata),
            ("image", 1),
            ("pdf", 1),
            ("redirect", 1),
            ("status_4xx", 1),
            ("truncated", 1),
        ],
    }
}
