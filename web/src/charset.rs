//! Decoding a page's bytes to text, in the order browsers decide: byte-order mark, HTTP
//! `Content-Type` charset, `<meta charset>` / `http-equiv`, then detection on the bytes
//! (`chardetng`, Firefox's detector, with the URL's top-level domain as a hint).
//!
//! Crawled Chinese pages often declare one charset and are written in another (a GBK
//! page served as UTF-8). A declared charset that decodes with replacement characters is
//! therefore checked against detection, and the decoding with fewer errors wins.

use encoding_rs::{Encoding, UTF_8};

/// Where the charset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// A byte-order mark.
    Bom,
    /// The HTTP `Content-Type` header.
    Http,
    /// `<meta charset>` or `<meta http-equiv="Content-Type">`.
    Meta,
    /// Detection on the bytes (nothing was declared).
    Detected,
    /// Detection, because the declared charset decoded with errors.
    Corrected,
}

impl CharsetSource {
    /// The name written to `html.charset`.
    pub fn as_str(self) -> &'static str {
        match self {
            CharsetSource::Bom => "bom",
            CharsetSource::Http => "http",
            CharsetSource::Meta => "meta",
            CharsetSource::Detected => "detected",
            CharsetSource::Corrected => "corrected",
        }
    }
}

/// A decoded page.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The encoding used (WHATWG name, e.g. `GBK`, `Big5`, `UTF-8`).
    pub encoding: &'static str,
    /// How it was decided.
    pub source: CharsetSource,
    /// Replacement characters the decoding produced (bytes that were not valid).
    pub replacements: usize,
}

impl Decoded {
    /// Share of characters that are replacements.
    pub fn replacement_share(&self) -> f64 {
        let chars = self.text.chars().count().max(1);
        self.replacements as f64 / chars as f64
    }

    /// `html.charset`: encoding and source, e.g. `GBK (meta)`.
    pub fn label(&self) -> String {
        format!("{} ({})", self.encoding, self.source.as_str())
    }
}

/// The charset parameter of a `Content-Type` value.
pub fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']))
    })
}

/// Looks for a charset in `<meta>` tags in the first 4 KiB (the WHATWG prescan reads 1 KiB;
/// real pages put long `<head>`s first).
pub fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = bytes[..bytes.len().min(4096)].to_ascii_lowercase();
    let head = &head[..];
    let mut at = 0;
    while let Some(i) = memchr::memmem::find(&head[at..], b"<meta") {
        let start = at + i + 5;
        let end = memchr::memchr(b'>', &head[start..]).map_or(head.len(), |e| start + e);
        let tag = &head[start..end];
        if let Some(c) = memchr::memmem::find(tag, b"charset") {
            let rest = &tag[c + 7..];
            let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
            if let Some(rest) = rest.strip_prefix(b"=") {
                let rest = &rest[rest
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace() || **b == b'"' || **b == b'\'')
                    .count()..];
                let len = rest
                    .iter()
                    .take_while(|b| {
                        !(b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b';' | b'/' | b'>'))
                    })
                    .count();
                if let Some(enc) = Encoding::for_label(&rest[..len]) {
                    return Some(html_override(enc));
                }
            }
        }
        at = end.max(start);
    }
    None
}

/// WHATWG: a page cannot declare itself UTF-16 in a meta tag; `x-user-defined` means windows-1252.
fn html_override(enc: &'static Encoding) -> &'static Encoding {
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        UTF_8
    } else if enc == encoding_rs::X_USER_DEFINED {
        encoding_rs::WINDOWS_1252
    } else {
        enc
    }
}

/// True when the first 8 KiB hold control bytes no text encoding uses (NUL, most of C0):
/// an image or archive served as `text/html`.
pub fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
        .count();
    control * 100 > head.len().max(1)
}

fn decode_with(bytes: &[u8], enc: &'static Encoding) -> (String, usize) {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    let replacements = if had_errors {
        text.chars().filter(|&c| c == '\u{fffd}').count()
    } else {
        0
    };
    (text.into_owned(), replacements)
}

fn detect(bytes: &[u8], tld: Option<&str>) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new();
    det.feed(bytes, true);
    det.guess(tld.map(str::as_bytes), true)
}

/// The top-level domain of a URL (`cn` for `http://www.example.com.cn/a`), a detection hint.
pub fn url_tld(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?;
    let tld = host.rsplit('.').next()?;
    (!tld.is_empty() && tld.bytes().all(|b| b.is_ascii_alphabetic())).then_some(tld)
}

/// Decodes a page. `content_type` is the HTTP header value, `url` a detection hint.
pub fn decode(bytes: &[u8], content_type: Option<&str>, url: Option<&str>) -> Decoded {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, replacements) = decode_with(&bytes[bom_len..], enc);
        return Decoded {
            text,
            encoding: enc.name(),
            source: CharsetSource::Bom,
            replacements,
        };
    }
    let declared = content_type
        .and_then(charset_param)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .map(|e| (e, CharsetSource::Http))
        .or_else(|| meta_charset(bytes).map(|e| (e, CharsetSource::Meta)));
    if let Some((enc, source)) = declared {
        let (text, replacements) = decode_with(bytes, enc);
        if replacements == 0 {
            return Decoded {
                text,
                encoding: enc.name(),
                source,
                replacements,
            };
        }
        let guess = detect(bytes, url.and_then(url_tld));
        if guess != enc {
            let (t2, r2) = decode_with(bytes, guess);
            if r2 < replacements {
                return Decoded {
                    text: t2,
                    encoding: guess.name(),
                    source: CharsetSource::Corrected,
                    replacements: r2,
                };
            }
        }
        return Decoded {
            text,
            encoding: enc.name(),
            source,
            replacements,
        };
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Decoded {
            text: s.to_owned(),
            encoding: UTF_8.name(),
            source: CharsetSource::Detected,
            replacements: 0,
        };
    }
    let enc = detect(bytes, url.and_then(url_tld));
    let (text, replacements) = decode_with(bytes, enc);
    Decoded {
        text,
        encoding: enc.name(),
        source: CharsetSource::Detected,
        replacements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str, enc: &'static Encoding) -> Vec<u8> {
        let (bytes, _, errors) = enc.encode(text);
        assert!(!errors, "{text} is not representable in {}", enc.name());
        bytes.into_owned()
    }

    const ZH: &str = "<html><head><title>新闻</title></head><body><p>中华人民共和国国务院今天发布了关于进一步加强城市规划建设管理工作的若干意见，要求各地区各部门认真贯彻执行。</p></body></html>";

    #[test]
    fn every_declared_and_detected_charset_decodes() {
        let cases: &[(&str, &'static Encoding, &str)] = &[
            (ZH, encoding_rs::GBK, "cn"),
            (ZH, encoding_rs::GB18030, "cn"),
            (
                "<p>中華民國總統府今天發表聲明，表示將持續推動兩岸關係和平穩定發展，維護台灣人民的利益。</p>",
                encoding_rs::BIG5,
                "tw",
            ),
            (
                "<p>日本政府は今日、新しい経済対策を発表しました。これにより国内の景気回復が期待されています。</p>",
                encoding_rs::SHIFT_JIS,
                "jp",
            ),
            (
                "<p>대한민국 정부는 오늘 새로운 경제 정책을 발표했습니다. 이로 인해 국내 경기 회복이 기대됩니다.</p>",
                encoding_rs::EUC_KR,
                "kr",
            ),
            (
                "<p>Привет, мир! Это простой тест кодировки для русского языка и кириллицы.</p>",
                encoding_rs::WINDOWS_1251,
                "ru",
            ),
            (
                "<p>Ça coûte très cher, déjà ; naïve façade à côté de l'hôtel.</p>",
                encoding_rs::WINDOWS_1252,
                "fr",
            ),
        ];
        for (text, enc, tld) in cases {
            let bytes = encode(text, enc);
            // Declared in HTTP.
            let d = decode(
                &bytes,
                Some(&format!("text/html; charset={}", enc.name())),
                None,
            );
            assert_eq!(
                (d.text.as_str(), d.source),
                (*text, CharsetSource::Http),
                "{}",
                enc.name()
            );
            // Declared in a meta tag.
            let mut with_meta = format!("<meta charset=\"{}\">", enc.name()).into_bytes();
            with_meta.extend_from_slice(&bytes);
            let d = decode(&with_meta, None, None);
            assert_eq!(d.source, CharsetSource::Meta, "{}", enc.name());
            assert!(d.text.ends_with(text));
            // Detected with no declaration.
            let d = decode(
                &bytes,
                Some("text/html"),
                Some(&format!("http://example.{tld}/")),
            );
            assert_eq!(d.text, *text, "detecting {}", enc.name());
            assert_eq!(d.replacements, 0);
        }
    }

    #[test]
    fn a_lying_header_is_corrected_and_a_bom_wins() {
        let gbk = encode(ZH, encoding_rs::GBK);
        let d = decode(&gbk, Some("text/html; charset=utf-8"), Some("http://a.cn/"));
        assert_eq!(
            (d.text.as_str(), d.source, d.encoding),
            (ZH, CharsetSource::Corrected, "GBK")
        );
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(ZH.as_bytes());
        let d = decode(&bom, Some("text/html; charset=gbk"), None);
        assert_eq!((d.text.as_str(), d.source), (ZH, CharsetSource::Bom));
    }

    #[test]
    fn http_equiv_and_tld() {
        let page = b"<Meta HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=gb2312\">";
        assert_eq!(meta_charset(page), Some(encoding_rs::GBK));
        assert_eq!(url_tld("https://user@www.sina.com.cn:8080/x?y"), Some("cn"));
        assert_eq!(url_tld("http://10.0.0.1/"), None);
    }

    #[test]
    fn binary_is_told_from_text_in_any_charset() {
        let bytes: Vec<u8> = (0..4000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert!(looks_binary(&bytes));
        assert!(looks_binary(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10"));
        for enc in [encoding_rs::GBK, encoding_rs::GB18030, encoding_rs::UTF_8] {
            assert!(!looks_binary(&encode(ZH, enc)));
        }
    }
}
