//! PII replacement: personal data is replaced by a placeholder token, never dropped with
//! its document (Yi §2.1, FineWeb §3.7 anonymize e-mail addresses and IPs).
//!
//! Every candidate found by a pattern is checked before it is replaced, so that version
//! numbers (`v2.10.3`, `1.2.3.4-rc1`), dates (`2024-03-15`), hashes, decimals and numbers
//! with a wrong check digit stay as they are:
//! - IPv4: four parts ≤ 255, not inside a longer dotted number, not after `v`/`version`,
//!   not followed by `-rc1`-style suffixes.
//! - IPv6: parsed by the standard library, with at least three non-empty groups.
//! - Chinese resident ID: 18 characters with a plausible birth date and a valid ISO 7064
//!   MOD 11-2 check character.
//! - Payment cards: 13–19 digits (optionally grouped by one kind of separator), a card
//!   network prefix (2221–2720, 3, 4, 5, 6) and a valid Luhn check digit.
//! - Phones: Chinese mobile `1[3-9]\d{9}` (optionally `+86`/`0086`), `+` international
//!   numbers of 8–15 digits, North American `(415) 555-2671`, Chinese landlines `010-12345678`.
//!
//! No candidate may touch a letter or digit on either side.

use std::borrow::Cow;
use std::net::Ipv6Addr;

use regex::Regex;
use taojin_schemas::quality::PiiKind;

use super::QualityError;
use super::signal::{SignalDef, SignalValue};

/// Replacement counts per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PiiCounts {
    /// E-mail addresses replaced.
    pub email: u64,
    /// IP addresses replaced.
    pub ip: u64,
    /// Phone numbers replaced.
    pub phone: u64,
    /// Resident ID numbers replaced.
    pub id: u64,
    /// Card numbers replaced.
    pub card: u64,
}

impl PiiCounts {
    /// The count of one kind.
    pub fn get(&self, kind: PiiKind) -> u64 {
        match kind {
            PiiKind::Email => self.email,
            PiiKind::Ip => self.ip,
            PiiKind::Phone => self.phone,
            PiiKind::Id => self.id,
            PiiKind::Card => self.card,
        }
    }
}

/// The placeholder that replaces one kind.
pub fn token(kind: PiiKind) -> &'static str {
    match kind {
        PiiKind::Email => "<EMAIL>",
        PiiKind::Ip => "<IP>",
        PiiKind::Phone => "<PHONE>",
        PiiKind::Id => "<ID>",
        PiiKind::Card => "<CARD>",
    }
}

/// The signal column counting one kind.
pub fn signal(kind: PiiKind) -> SignalDef {
    match kind {
        PiiKind::Email => SignalDef::i32("pii.email"),
        PiiKind::Ip => SignalDef::i32("pii.ip"),
        PiiKind::Phone => SignalDef::i32("pii.phone"),
        PiiKind::Id => SignalDef::i32("pii.id"),
        PiiKind::Card => SignalDef::i32("pii.card"),
    }
}

/// Finds and replaces personal data; patterns are compiled once.
#[derive(Debug, Clone)]
pub struct PiiScrubber {
    kinds: Vec<PiiKind>,
    email: Regex,
    ipv4: Regex,
    ipv6: Regex,
    id: Regex,
    card: Regex,
    phone: Regex,
}

fn compile(what: &'static str, pattern: &str) -> Result<Regex, QualityError> {
    Regex::new(pattern).map_err(|e| QualityError::Pattern {
        what,
        message: e.to_string(),
    })
}

impl PiiScrubber {
    /// A scrubber for `kinds` (applied in the order of [`PiiKind::ALL`]).
    pub fn new(kinds: &[PiiKind]) -> Result<PiiScrubber, QualityError> {
        let kinds = PiiKind::ALL
            .into_iter()
            .filter(|k| kinds.contains(k))
            .collect();
        Ok(PiiScrubber {
            kinds,
            email: compile(
                "email",
                r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}",
            )?,
            ipv4: compile("ipv4", r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")?,
            ipv6: compile("ipv6", r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}")?,
            id: compile(
                "resident id",
                r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]",
            )?,
            card: compile("card", r"[0-9](?:[ \-]?[0-9]){12,18}")?,
            phone: compile(
                "phone",
                r"(?:(?:\+|00)86[ \-]?)?1[3-9][0-9](?:[ \-]?[0-9]{4}){2}|\+[1-9][0-9]{0,2}[ \-.]?(?:\([0-9]{1,4}\)[ \-.]?)?[0-9]{1,4}(?:[ \-.]?[0-9]{2,4}){1,4}|\(?[2-9][0-9]{2}\)?[ \-.]?[2-9][0-9]{2}[\-.][0-9]{4}|0[1-9][0-9]{1,2}-[0-9]{7,8}",
            )?,
        })
    }

    /// The kinds replaced, in order.
    pub fn kinds(&self) -> &[PiiKind] {
        &self.kinds
    }

    /// The signal columns, one per kind.
    pub fn signals(&self) -> Vec<SignalDef> {
        self.kinds.iter().map(|&k| signal(k)).collect()
    }

    /// Writes the counts into `out` (one slot per kind).
    pub fn write_signals(&self, counts: &PiiCounts, out: &mut [SignalValue]) {
        for (slot, &k) in out.iter_mut().zip(&self.kinds) {
            *slot = SignalValue::count(counts.get(k));
        }
    }

    /// Replaces the personal data in `text`; borrowed text stays borrowed when nothing is found.
    pub fn scrub<'a>(&self, mut text: Cow<'a, str>, counts: &mut PiiCounts) -> Cow<'a, str> {
        for &kind in &self.kinds {
            text = match kind {
                PiiKind::Email if text.contains('@') => replace(
                    text,
                    &self.email,
                    token(kind),
                    |_, _, _| true,
                    &mut counts.email,
                ),
                PiiKind::Ip => {
                    let t = if text.contains('.') {
                        replace(text, &self.ipv4, token(kind), valid_ipv4, &mut counts.ip)
                    } else {
                        text
                    };
                    if t.contains(':') {
                        replace(t, &self.ipv6, token(kind), valid_ipv6, &mut counts.ip)
                    } else {
                        t
                    }
                }
                PiiKind::Id => replace(text, &self.id, token(kind), valid_id, &mut counts.id),
                PiiKind::Card => {
                    replace(text, &self.card, token(kind), valid_card, &mut counts.card)
                }
                PiiKind::Phone => replace(
                    text,
                    &self.phone,
                    token(kind),
                    valid_phone,
                    &mut counts.phone,
                ),
                PiiKind::Email => text,
            };
        }
        text
    }
}

fn replace<'a>(
    text: Cow<'a, str>,
    re: &Regex,
    token: &str,
    valid: impl Fn(&str, usize, usize) -> bool,
    count: &mut u64,
) -> Cow<'a, str> {
    let mut out: Option<String> = None;
    let mut last = 0usize;
    {
        let s: &str = &text;
        for m in re.find_iter(s) {
            if !valid(s, m.start(), m.end()) {
                continue;
            }
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            o.push_str(&s[last..m.start()]);
            o.push_str(token);
            last = m.end();
            *count += 1;
        }
        if let Some(o) = out.as_mut() {
            o.push_str(&s[last..]);
        }
    }
    match out {
        Some(o) => Cow::Owned(o),
        None => text,
    }
}

fn before(s: &str, start: usize) -> Option<char> {
    s.get(..start).and_then(|p| p.chars().next_back())
}

fn before2(s: &str, start: usize) -> (Option<char>, Option<char>) {
    let mut it = s
        .get(..start)
        .map(|p| p.chars().rev())
        .into_iter()
        .flatten();
    let a = it.next();
    let b = it.next();
    (a, b)
}

fn after2(s: &str, end: usize) -> (Option<char>, Option<char>) {
    let mut it = s.get(end..).map(|p| p.chars()).into_iter().flatten();
    let a = it.next();
    let b = it.next();
    (a, b)
}

/// Latin letters, digits and `_`: Chinese text glues numbers to Han characters, so Han
/// characters do not count as part of a number's word.
fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_digit(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

/// Not glued to letters/digits, and not one piece of a longer dotted/decimal number.
fn number_boundaries(s: &str, start: usize, end: usize) -> bool {
    let (b1, b2) = before2(s, start);
    let (a1, a2) = after2(s, end);
    if is_word(b1) || is_word(a1) {
        return false;
    }
    if matches!(b1, Some('.' | ',' | '-' | '/' | ':')) && is_digit(b2) {
        return false;
    }
    if matches!(a1, Some('.' | ',' | '-' | '/' | ':')) && is_digit(a2) {
        return false;
    }
    true
}

fn valid_ipv4(s: &str, start: usize, end: usize) -> bool {
    let m = &s[start..end];
    if !m
        .split('.')
        .all(|p| p.parse::<u16>().is_ok_and(|v| v <= 255))
    {
        return false;
    }
    let b1 = before(s, start);
    let (a1, a2) = after2(s, end);
    if is_word(b1) || is_word(a1) {
        return false;
    }
    if b1 == Some('.') || (a1 == Some('.') && is_digit(a2)) {
        return false;
    }
    // `1.2.3.4-rc1`, `1.2.3.4-beta`.
    if a1 == Some('-') && a2.is_some_and(|c| c.is_alphabetic()) {
        return false;
    }
    // `version 1.2.3.4`, `v 1.2.3.4`.
    let head = s[..start].trim_end_matches([' ', '\t']);
    for w in ["version", "ver", "v", "release", "build"] {
        let n = head.len();
        if n >= w.len()
            && head.is_char_boundary(n - w.len())
            && head[n - w.len()..].eq_ignore_ascii_case(w)
            && !is_word(head[..n - w.len()].chars().next_back())
        {
            return false;
        }
    }
    true
}

fn valid_ipv6(s: &str, start: usize, end: usize) -> bool {
    let m = &s[start..end];
    let b1 = before(s, start);
    let (a1, a2) = after2(s, end);
    if is_word(b1) || matches!(b1, Some(':' | '.')) || is_word(a1) || a1 == Some(':') {
        return false;
    }
    if a1 == Some('.') && is_digit(a2) {
        return false;
    }
    let groups = m.split(':').filter(|g| !g.is_empty()).count();
    groups >= 3 && m.parse::<Ipv6Addr>().is_ok()
}

/// ISO 7064 MOD 11-2 check character of a Chinese resident ID (GB 11643-1999).
pub fn id_checksum_ok(id: &str) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [u8; 11] = *b"10X98765432";
    let b = id.as_bytes();
    if b.len() != 18 {
        return false;
    }
    let mut sum = 0u32;
    for (i, w) in W.iter().enumerate() {
        let Some(d) = (b[i] as char).to_digit(10) else {
            return false;
        };
        sum += d * w;
    }
    b[17].to_ascii_uppercase() == CHECK[(sum % 11) as usize]
}

fn valid_id(s: &str, start: usize, end: usize) -> bool {
    number_boundaries(s, start, end) && id_checksum_ok(&s[start..end])
}

/// Luhn check of a digit string.
pub fn luhn_ok(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn valid_card(s: &str, start: usize, end: usize) -> bool {
    if !number_boundaries(s, start, end) || before(s, start) == Some('+') {
        return false;
    }
    let m = &s[start..end];
    let digits: Vec<u8> = m
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    // One kind of separator, groups of 3–6 digits.
    let seps: Vec<char> = m.chars().filter(|c| !c.is_ascii_digit()).collect();
    if let Some(&first) = seps.first() {
        if seps.iter().any(|&c| c != first) {
            return false;
        }
        if !m.split(first).all(|g| (3..=6).contains(&g.len())) {
            return false;
        }
    }
    let prefix4 = digits[..4].iter().fold(0u32, |a, &d| a * 10 + u32::from(d));
    let network = matches!(digits[0], 3..=6) || (2221..=2720).contains(&prefix4);
    let all_same = digits.iter().all(|&d| d == digits[0]);
    network && !all_same && luhn_ok(&digits)
}

fn valid_phone(s: &str, start: usize, end: usize) -> bool {
    let m = &s[start..end];
    let n_digits = m.bytes().filter(u8::is_ascii_digit).count();
    if !(7..=15).contains(&n_digits) {
        return false;
    }
    // `+` and `(` are part of the match; look outside them.
    number_boundaries(s, start, end) && !matches!(before(s, start), Some('+' | '<'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(text: &str) -> (String, PiiCounts) {
        let s = PiiScrubber::new(&PiiKind::ALL).unwrap();
        let mut c = PiiCounts::default();
        let out = s.scrub(Cow::Borrowed(text), &mut c).into_owned();
        (out, c)
    }

    #[test]
    fn positives() {
        let cases = [
            ("mail john.doe+x@mail.example.com now", "mail <EMAIL> now"),
            ("host 192.168.1.20 is up", "host <IP> is up"),
            ("addr 2001:db8:85a3::8a2e:370:7334.", "addr <IP>."),
            ("电话：13812345678。", "电话：<PHONE>。"),
            ("call +86 138 1234 5678 today", "call <PHONE> today"),
            ("call +1 415-555-2671 today", "call <PHONE> today"),
            ("call (415) 555-2671 today", "call <PHONE> today"),
            ("座机 010-12345678 ok", "座机 <PHONE> ok"),
            ("身份证号11010519491231002X。", "身份证号<ID>。"),
            ("card 4111 1111 1111 1111 exp", "card <CARD> exp"),
            ("card 5500000000000004.", "card <CARD>."),
        ];
        for (input, want) in cases {
            assert_eq!(scrub(input).0, want, "{input}");
        }
        let (_, c) = scrub("a@b.co 1.2.3.4 13812345678 11010519491231002X 4111111111111111");
        assert_eq!((c.email, c.ip, c.phone, c.id, c.card), (1, 1, 1, 1, 1));
    }

    #[test]
    fn decoys_stay() {
        let decoys = [
            "release v2.10.3 is out",
            "tag 1.2.3.4-rc1 built",
            "version 1.2.3.4 shipped",
            "see 1.2.3.4.5 in the spec",
            "on 2024-03-15 and 2024/03/15 at 12:30:45",
            "commit 3f786850e387550fdab836ed7e6dc881de23001b and a1b2c3d",
            "id 110105194912310021 is wrong",
            "card 4111 1111 1111 1112 is not Luhn-valid",
            "ts 1710460800000 ms",
            "pi 3.14159265358979323846",
            "price $1,234,567.89",
            "isbn 978-3-16-148410-0",
            "uuid 123e4567-e89b-12d3-a456-426614174000",
            "std::vector<int> and a::b::c",
            "mac 00:1A:2B:3C:4D:5E",
            "order no. 20240315123456789",
            "ratio 1:2:3",
            "300.400.500.600",
        ];
        for d in decoys {
            let (out, _) = scrub(d);
            assert_eq!(out, d, "false hit in {d:?}");
        }
    }

    #[test]
    fn checksums() {
        assert!(id_checksum_ok("11010519491231002X"));
        assert!(!id_checksum_ok("110105194912310021"));
        assert!(luhn_ok(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert!(!luhn_ok(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
    }

    #[test]
    fn only_chosen_kinds() {
        let s = PiiScrubber::new(&[PiiKind::Email]).unwrap();
        let mut c = PiiCounts::default();
        let out = s.scrub(Cow::Borrowed("a@b.co 13812345678"), &mut c);
        assert_eq!(out, "<EMAIL> 13812345678");
        assert_eq!(s.signals().len(), 1);
    }
}
