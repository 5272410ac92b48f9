//! PII with valid checksums, and look-alikes ("decoys") that a PII detector must leave alone.

use super::rng::Rng;
use super::text::Lang;
use super::words::{CN_MOBILE, CN_REGIONS, DECOY_TEMPLATES, EMAIL_PARTS, PII_TEMPLATES};

/// Planted `(kind, value)` pairs.
pub(crate) type Planted = Vec<(&'static str, String)>;

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect()
}

/// ISO 7064 MOD 11-2 check character of the first 17 digits of a Chinese resident ID.
pub(crate) fn cn_id_check(first17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b.wrapping_sub(b'0')) * w)
        .sum();
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
}

/// An 18-character resident ID; with `valid == false` the check character is wrong.
fn cn_id(rng: &mut Rng, valid: bool) -> String {
    let region = rng.pick(CN_REGIONS);
    let (y, m, d) = (rng.range(1950, 2005), rng.range(1, 12), rng.range(1, 28));
    let first = format!("{region}{y}{m:02}{d:02}{}", digits(rng, 3));
    let good = cn_id_check(&first);
    let mut c = good;
    while !valid && c == good {
        c = rng.pick(&['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X']);
    }
    format!("{first}{c}")
}

/// Luhn check digit for the digits before it.
pub(crate) fn luhn_digit(payload: &str) -> u8 {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0'));
            match (i % 2 == 0, d * 2) {
                (true, x) if x > 9 => x - 9,
                (true, x) => x,
                _ => d,
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A card-like number (16 or 19 digits); `valid == false` breaks the Luhn digit.
fn card_number(rng: &mut Rng, valid: bool) -> String {
    let (prefix, len) = match rng.below(4) {
        0 => ("4".to_string(), 16),
        1 => (format!("5{}", rng.range(1, 5)), 16),
        2 => ("62".to_string(), 16),
        _ => ("62".to_string(), 19),
    };
    let payload = format!("{prefix}{}", digits(rng, len - 1 - prefix.len()));
    let mut c = luhn_digit(&payload);
    if !valid {
        c = (c + 1 + rng.below(9) as u8) % 10;
    }
    format!("{payload}{c}")
}

fn value(rng: &mut Rng, kind: &str) -> String {
    match kind {
        "email" => {
            let [users, names, domains] = EMAIL_PARTS;
            let (u, n, d) = (rng.pick(users), rng.pick(names), rng.pick(domains));
            if rng.chance(0.5) {
                format!("{u}.{n}@{d}")
            } else {
                format!("{u}{n}{}@{d}", rng.range(10, 99))
            }
        }
        "ipv4" => match rng.below(4) {
            0 => format!("192.168.{}.{}", rng.below(256), rng.range(1, 254)),
            1 => format!(
                "10.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                rng.range(1, 254)
            ),
            2 => format!("172.16.{}.{}", rng.below(256), rng.range(1, 254)),
            _ => format!("203.0.113.{}", rng.range(1, 254)),
        },
        "ipv6" => match rng.below(3) {
            0 => format!("2001:db8::{:x}", rng.range(1, 0xffff)),
            1 => format!(
                "2001:db8:{:x}:{:x}::{:x}",
                rng.below(0x10000),
                rng.below(0x10000),
                rng.range(1, 0xffff)
            ),
            _ => format!(
                "fe80::{:x}:{:x}:{:x}:{:x}",
                rng.range(1, 0xffff),
                rng.below(0x10000),
                rng.below(0x10000),
                rng.below(0x10000)
            ),
        },
        "phone_intl" => match rng.below(4) {
            0 => format!("+1 415 555 {}", digits(rng, 4)),
            1 => format!("+44 20 7946 {}", digits(rng, 4)),
            2 => format!("+49 30 {}", digits(rng, 8)),
            _ => format!("+86 10 {} {}", digits(rng, 4), digits(rng, 4)),
        },
        "phone_cn_mobile" => format!("{}{}", rng.pick(CN_MOBILE), digits(rng, 8)),
        "cn_id" => cn_id(rng, true),
        "bank_card" => {
            let n = card_number(rng, true);
            if rng.chance(0.5) {
                let groups: Vec<&str> = n
                    .as_bytes()
                    .chunks(4)
                    .filter_map(|c| std::str::from_utf8(c).ok())
                    .collect();
                groups.join(" ")
            } else {
                n
            }
        }
        "version" => format!("v{}.{}.{}", rng.range(1, 4), rng.below(20), rng.below(15)),
        "date" => format!(
            "{}-{:02}-{:02}",
            rng.range(2019, 2026),
            rng.range(1, 12),
            rng.range(1, 28)
        ),
        "git_hash" => {
            // Starts with a digit and mixes in letters, so it is neither a word nor a long digit run.
            let len = if rng.chance(0.5) { 7 } else { 40 };
            (0..len)
                .map(|i| match i % 3 {
                    0 => char::from(b'0' + rng.below(10) as u8),
                    1 => char::from(b'a' + rng.below(6) as u8),
                    _ => char::from_digit(rng.below(16) as u32, 16).unwrap_or('f'),
                })
                .collect()
        }
        "order_number" => card_number(rng, false),
        _ => cn_id(rng, false),
    }
}

/// Appends sentences with `n_pii` distinct PII kinds and `n_decoys` decoys to random paragraphs.
pub(crate) fn plant(
    rng: &mut Rng,
    lang: Lang,
    lines: &mut [String],
    n_pii: usize,
    n_decoys: usize,
) -> (Planted, Planted) {
    let zh = lang != Lang::En;
    let mut run =
        |rng: &mut Rng, table: &[(&'static str, &'static str, &'static str)], n: usize| {
            let mut rows: Vec<_> = table
                .iter()
                .filter(|t| !(if zh { t.2 } else { t.1 }).is_empty())
                .collect();
            rng.shuffle(&mut rows);
            let mut out = Planted::new();
            for &&(kind, en, cn) in rows.iter().take(n) {
                let v = value(rng, kind);
                let i = rng.below(lines.len());
                if !zh {
                    lines[i].push(' ');
                }
                lines[i].push_str(&(if zh { cn } else { en }).replace("{v}", &v));
                out.push((kind, v));
            }
            out
        };
    let pii = run(rng, PII_TEMPLATES, n_pii);
    let decoys = run(rng, DECOY_TEMPLATES, n_decoys);
    (pii, decoys)
}
