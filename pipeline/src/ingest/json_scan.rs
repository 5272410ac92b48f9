//! One pass over a JSON Lines record's top-level object: string values are delimited and
//! checked 32 bytes at a time, and decoded only for the fields a document needs (serde_json
//! would scan each string to skip it, and a decoder would scan it again). What the scan
//! does not take, serde_json decides.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A value of the top-level object: its token as written; for a string, whether it
/// holds an escape (else its body is the value as is), and its value when the scan was
/// asked to decode it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub raw: &'a str,
    pub escaped: bool,
    pub decoded: Option<String>,
}

/// The fields of a JSON object in input order, keys decoded.
pub(super) type Fields<'a> = Vec<(Cow<'a, str>, Token<'a>)>;

/// The fields of the JSON object on `line`: by [`scan_object`], or where it does not take
/// the line, by serde_json (which words the error).
pub(super) fn object_fields<'a>(
    line: &'a str,
    decode: &dyn Fn(&str) -> bool,
) -> Result<Fields<'a>, serde_json::Error> {
    if let Some(fields) = scan_object(line, decode) {
        return Ok(fields);
    }
    let RawObject(fields) = serde_json::from_str(line)?;
    Ok(fields
        .into_iter()
        .map(|(key, value)| {
            let raw = value.get();
            let escaped = raw.starts_with('"') && raw.contains('\\');
            let decoded = None;
            (
                key,
                Token {
                    raw,
                    escaped,
                    decoded,
                },
            )
        })
        .collect())
}

/// A JSON string that borrows from the line when it has no escapes.
struct JsonStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object as (key, raw value) pairs in input order: values are parsed only
/// when we need them, and the others are copied into `meta` verbatim.
struct RawObject<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    // A repeated key would silently split between `text` and `meta`.
                    if fields.iter().any(|(k, _): &(Cow<'de, str>, _)| *k == key) {
                        return Err(de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    fields.push((key, value));
                }
                Ok(RawObject(fields))
            }
        }
        d.deserialize_map(V)
    }
}

/// The top-level object of `line`, scanned in one pass: strings here, other values
/// (numbers, literals, nested objects and arrays) by serde_json. `None` for anything it
/// does not take: malformed JSON, a repeated key, a lone surrogate escape. The caller then
/// asks serde_json, which accepts or words the error; so this never accepts what
/// serde_json refuses, and gives the same fields when both accept (tested). String values
/// of the keys `decode` picks are decoded in the same pass.
pub(super) fn scan_object<'a>(line: &'a str, decode: &dyn Fn(&str) -> bool) -> Option<Fields<'a>> {
    let b = line.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut fields: Fields<'_> = Vec::with_capacity(8);
    if b.get(i) == Some(&b'}') {
        return (skip_ws(b, i + 1) == b.len()).then_some(fields);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let start = i;
        let key = scan_string(line, start, true)?;
        i = key.end;
        let key = match key.decoded {
            Some(k) => Cow::Owned(k),
            None => Cow::Borrowed(line.get(start + 1..i - 1)?),
        };
        i = skip_ws(b, i);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let token = if b.get(i) == Some(&b'"') {
            let start = i;
            let scan = scan_string(line, start, decode(&key))?;
            i = scan.end;
            Token {
                raw: line.get(start..i)?,
                escaped: scan.escaped,
                decoded: scan.decoded,
            }
        } else {
            let rest = line.get(i..)?;
            let mut values = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
            let value = values.next()?.ok()?;
            i += values.byte_offset();
            Token {
                raw: value.get(),
                escaped: false,
                decoded: None,
            }
        };
        if fields.iter().any(|(k, _)| *k == key) {
            return None;
        }
        fields.push((key, token));
        i = skip_ws(b, i);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return (skip_ws(b, i + 1) == b.len()).then_some(fields),
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\n' | b'\t' | b'\r')) {
        i += 1;
    }
    i
}

/// What [`scan_string`] found: the index after the closing quote, whether the string
/// holds an escape, and its decoded value (when asked for and it has an escape).
struct StrScan {
    end: usize,
    escaped: bool,
    decoded: Option<String>,
}

/// The string token opening at `line[start]` (a quote), checked in one pass: its end,
/// and with `decode`, its value where it has escapes (runs between escapes are copied
/// whole). `None` for a raw control character, an escape JSON does not have, a lone
/// surrogate, or no closing quote.
fn scan_string(line: &str, start: usize, decode: bool) -> Option<StrScan> {
    let b = line.as_bytes();
    let mut specials = Specials::new(b, start + 1);
    let (mut j, mut run, mut escaped) = (start + 1, start + 1, false);
    let mut out: Option<String> = None;
    loop {
        let k = specials.next(j)?;
        match b[k] {
            b'"' => {
                if let Some(o) = out.as_mut() {
                    o.push_str(line.get(run..k)?);
                }
                return Some(StrScan {
                    end: k + 1,
                    escaped,
                    decoded: out,
                });
            }
            b'\\' => {
                let (c, used) = escape_at(b, k)?;
                escaped = true;
                if decode {
                    let o = out.get_or_insert_with(|| String::with_capacity(b.len() - start));
                    o.push_str(line.get(run..k)?);
                    o.push(c);
                }
                j = k + used;
                run = j;
            }
            // A raw control character: JSON strings may not hold one.
            _ => return None,
        }
    }
}

/// The escape at `b[k]` (a backslash): its character and length. `None` for an escape
/// JSON does not have or a lone surrogate (serde_json refuses both in a string).
fn escape_at(b: &[u8], k: usize) -> Option<(char, usize)> {
    Some(match *b.get(k + 1)? {
        b'"' => ('"', 2),
        b'\\' => ('\\', 2),
        b'/' => ('/', 2),
        b'b' => ('\u{8}', 2),
        b'f' => ('\u{c}', 2),
        b'n' => ('\n', 2),
        b'r' => ('\r', 2),
        b't' => ('\t', 2),
        b'u' => match hex4(b.get(k + 2..k + 6)?)? {
            hi @ 0xD800..=0xDBFF => {
                if b.get(k + 6..k + 8)? != b"\\u" {
                    return None;
                }
                let lo = hex4(b.get(k + 8..k + 12)?)?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return None;
                }
                (
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?,
                    12,
                )
            }
            0xDC00..=0xDFFF => return None,
            c => (char::from_u32(c)?, 6),
        },
        _ => return None,
    })
}

/// The quotes, backslashes and control bytes of a line, found 32 bytes at a time; a
/// window's mask serves every escape in it.
struct Specials<'b> {
    b: &'b [u8],
    base: usize,
    mask: u32,
}

impl<'b> Specials<'b> {
    fn new(b: &'b [u8], at: usize) -> Specials<'b> {
        Specials {
            b,
            base: at,
            mask: window_mask(b, at),
        }
    }

    /// The first special byte at or after `j`.
    fn next(&mut self, j: usize) -> Option<usize> {
        if j < self.base || j >= self.base + 32 {
            *self = Specials::new(self.b, j);
        }
        loop {
            let shift = j.saturating_sub(self.base);
            let m = match shift {
                0..32 => self.mask & (u32::MAX << shift),
                _ => 0,
            };
            if m != 0 {
                return Some(self.base + m.trailing_zeros() as usize);
            }
            if self.base + 32 >= self.b.len() {
                return None;
            }
            *self = Specials::new(self.b, self.base + 32);
        }
    }
}

/// Bit k set when `b[at + k]` (k < 32, inside `b`) is a quote, a backslash or below 0x20.
fn window_mask(b: &[u8], at: usize) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(w) = b
        .get(at..at + 32)
        .and_then(|w| <&[u8; 32]>::try_from(w).ok())
    {
        return sse2::special_mask(w);
    }
    b.get(at..)
        .unwrap_or_default()
        .iter()
        .take(32)
        .enumerate()
        .filter(|&(_, &c)| special(c))
        .fold(0, |m, (k, _)| m | 1 << k)
}

/// A byte a string scan stops at: a quote, a backslash or a control byte.
fn special(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// Bit k set when byte k of the 32 is a quote, a backslash or below 0x20.
    pub(super) fn special_mask(window: &[u8; 32]) -> u32 {
        let half = |v: __m128i| {
            // SAFETY: register operations; SSE2 is part of the x86-64 baseline.
            unsafe {
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                // Signed: 0x00..=0x1F are the non-negative bytes below 0x20.
                let low = _mm_andnot_si128(
                    _mm_cmpgt_epi8(_mm_set1_epi8(0), v),
                    _mm_cmpgt_epi8(_mm_set1_epi8(0x20), v),
                );
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), low)) as u32 & 0xFFFF
            }
        };
        // SAFETY: both loads read 16 bytes inside the 32-byte array (unaligned loads).
        let (lo, hi) = unsafe {
            let p = window.as_ptr().cast::<__m128i>();
            (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)))
        };
        half(lo) | half(hi) << 16
    }
}

/// The value of a JSON string token (quotes included): borrowed when it has no escapes,
/// else decoded in one pass. `None` for a token [`scan_string`] refuses (a lone
/// surrogate, which serde_json also refuses in a string).
pub(super) fn unescape(token: &str) -> Option<Cow<'_, str>> {
    let scan = scan_string(token, 0, true)?;
    if scan.end != token.len() {
        return None;
    }
    Some(match scan.decoded {
        Some(d) => Cow::Owned(d),
        None => Cow::Borrowed(token.get(1..token.len() - 1)?),
    })
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0u32, |v, &d| Some(v * 16 + char::from(d).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass decoder gives serde_json's strings, or refuses what it refuses, on
    /// random JSON string tokens built from every kind of escape.
    #[test]
    fn unescape_agrees_with_serde_json() {
        let pieces = [
            "a",
            "中文",
            " ",
            "\\n",
            "\\\"",
            "\\\\",
            "\\/",
            "\\b",
            "\\f",
            "\\r",
            "\\t",
            "\\u0041",
            "\\u00e9",
            "\\u4e2d",
            "\\uD83D\\uDE00",
            "\\uD83D",
            "\\uDE00",
            "\\uD83Dx",
            "\\uD83D\\u0041",
            "\\uFFFF",
            "\\u0000",
            "é",
        ];
        let mut rng = taojin_schemas::rng::SplitMix64::new(3);
        let mut decoded = 0;
        for _ in 0..20_000 {
            let len = (rng.next() % 8) as usize;
            let body: String = (0..len)
                .map(|_| pieces[(rng.next() % pieces.len() as u64) as usize])
                .collect();
            let token = format!("\"{body}\"");
            let want = serde_json::from_str::<String>(&token).ok();
            let got = unescape(&token).map(Cow::into_owned);
            assert_eq!(got, want, "{token}");
            decoded += usize::from(want.is_some());
        }
        assert!(decoded > 5_000, "{decoded}");
    }

    /// The vector window mask agrees with the byte predicate on random windows.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_window_mask_agrees_with_the_byte_loop() {
        let mut rng = taojin_schemas::rng::SplitMix64::new(9);
        let picks = [b'"', b'\\', 0x00, 0x1F, 0x20, 0x7F, 0x80, 0xFF, b'a'];
        for _ in 0..20_000 {
            let w: [u8; 32] = std::array::from_fn(|_| {
                let r = rng.next();
                match r % 3 {
                    0 => picks[((r >> 8) % picks.len() as u64) as usize],
                    _ => (r >> 16) as u8,
                }
            });
            let want = (0..32)
                .filter(|&k| special(w[k]))
                .fold(0u32, |m, k| m | 1 << k);
            assert_eq!(sse2::special_mask(&w), want, "{w:?}");
        }
    }

    /// serde_json's view of a line: the object's keys and raw value tokens, or `None`.
    fn serde_fields(line: &str) -> Option<Vec<(String, String)>> {
        let RawObject(fields) = serde_json::from_str(line).ok()?;
        Some(
            fields
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.get().to_string()))
                .collect(),
        )
    }

    /// Records built from valid and broken pieces at every place: whatever the scan
    /// takes, serde_json takes too, with the same keys and tokens, and the escape flag
    /// says whether a string holds a backslash; what serde_json refuses, the scan
    /// refuses. Most valid records take the scan.
    #[test]
    fn the_scan_takes_only_what_serde_json_takes() {
        let keys = ["\"text\"", "\"id\"", "\"k\\u00e9y\"", "\"meta\"", "\"a b\""];
        let values = [
            "\"plain text, long enough to cross sixteen bytes and then some more\"",
            "\"中文文本，标点。\\n第二行\"",
            "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u4e2d \\uD83D\\uDE00\"",
            "\"bad \\x escape\"",
            "\"lone \\uD83D surrogate\"",
            "\"lone \\uDE00 low\"",
            "\"raw \u{1} control\"",
            "\"raw\ttab\"",
            "\"unterminated",
            "12",
            "-0.5e3",
            "01",
            "true",
            "nul",
            "null",
            "{\"nested\": [1, \"two\", {\"x\": null}]}",
            "[1, 2",
            "\"\"",
        ];
        let glue = [",", " , ", ",\n", ",,", ""];
        let mut rng = taojin_schemas::rng::SplitMix64::new(5);
        let mut pick = |n: usize| (rng.next() % n as u64) as usize;
        let (mut taken, mut valid) = (0, 0);
        for _ in 0..30_000 {
            let n = pick(4);
            let mut line = String::from(["{", " {", "{\t"][pick(3)]);
            for f in 0..n {
                if f > 0 {
                    line.push_str(glue[pick(glue.len())]);
                }
                line.push_str(keys[pick(keys.len())]);
                line.push_str([":", " : ", ""][pick(3)]);
                line.push_str(values[pick(values.len())]);
            }
            line.push_str(["}", "} ", "}x", "", "}\r"][pick(5)]);
            let want = serde_fields(&line);
            let got = scan_object(&line, &|k| k != "meta");
            valid += usize::from(want.is_some());
            let Some(got) = got else { continue };
            taken += 1;
            let want =
                want.unwrap_or_else(|| panic!("the scan took what serde_json refuses: {line}"));
            let got_pairs: Vec<(String, String)> = got
                .iter()
                .map(|(k, t)| (k.to_string(), t.raw.to_string()))
                .collect();
            assert_eq!(got_pairs, want, "{line}");
            for (k, t) in &got {
                if t.raw.starts_with('"') {
                    assert_eq!(t.escaped, t.raw.contains('\\'), "{line}");
                    let value: String = serde_json::from_str(t.raw).unwrap_or_default();
                    match &t.decoded {
                        Some(d) => assert_eq!(*d, value, "{line}"),
                        None => assert!(!t.escaped || k == "meta", "{line}"),
                    }
                }
            }
        }
        assert!(valid > 3_000, "{valid}");
        // Valid records the scan leaves to serde_json are those with a lone surrogate
        // (serde_json keeps one unparsed inside a raw value).
        assert!(taken * 10 > valid * 8, "{taken} of {valid}");
    }
}
