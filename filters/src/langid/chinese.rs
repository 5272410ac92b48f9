//! Simplified or Traditional: decided from the characters themselves, with the
//! character tables of OpenCC (through `ferrous-opencc`), and conversion to Simplified.

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;

/// First and one-past-last code point covered by the script tables: CJK Extension A,
/// the Unified Ideographs block and the compatibility ideographs.
const FIRST: u32 = 0x3400;
const END: u32 = 0xFB00;

/// Characters that exist in only one of the two scripts, and a Traditional→Simplified
/// converter.
pub struct ChineseScripts {
    traditional_only: Vec<u64>,
    simplified_only: Vec<u64>,
    t2s: OpenCC,
}

/// A failure to load the OpenCC tables.
#[derive(Debug, thiserror::Error)]
#[error("OpenCC tables: {0}")]
pub struct OpenCcError(String);

fn set(bits: &mut [u64], c: u32) {
    let i = (c - FIRST) as usize;
    bits[i / 64] |= 1 << (i % 64);
}

fn get(bits: &[u64], c: char) -> bool {
    let c = c as u32;
    if !(FIRST..END).contains(&c) {
        return false;
    }
    let i = (c - FIRST) as usize;
    bits[i / 64] & (1 << (i % 64)) != 0
}

impl ChineseScripts {
    /// Builds the tables: a character is Traditional-only when OpenCC's T→S conversion
    /// changes it, Simplified-only when S→T changes it (about 0.1 s, once per process).
    pub fn new() -> Result<ChineseScripts, OpenCcError> {
        let t2s =
            OpenCC::from_config(BuiltinConfig::T2s).map_err(|e| OpenCcError(e.to_string()))?;
        let s2t =
            OpenCC::from_config(BuiltinConfig::S2t).map_err(|e| OpenCcError(e.to_string()))?;
        let words = ((END - FIRST) as usize).div_ceil(64);
        let (mut traditional_only, mut simplified_only) = (vec![0u64; words], vec![0u64; words]);
        // Convert all characters in one string per direction: one call instead of 30k.
        let all: String = (FIRST..END)
            .filter_map(char::from_u32)
            .map(|c| format!("{c}\n"))
            .collect();
        for (conv, bits) in [(&t2s, &mut traditional_only), (&s2t, &mut simplified_only)] {
            let converted = conv.convert(&all);
            for (orig, new) in all.lines().zip(converted.lines()) {
                if let Some(c) = orig.chars().next().filter(|_| orig != new) {
                    set(bits, c as u32);
                }
            }
        }
        Ok(ChineseScripts {
            traditional_only,
            simplified_only,
            t2s,
        })
    }

    /// Counts of (Traditional-only, Simplified-only) characters in `text`.
    pub fn variant_counts(&self, text: &str) -> (u32, u32) {
        let (mut t, mut s) = (0, 0);
        for c in text.chars() {
            t += get(&self.traditional_only, c) as u32;
            s += get(&self.simplified_only, c) as u32;
        }
        (t, s)
    }

    /// `zh-Hant` when Traditional-only characters outnumber Simplified-only ones, else
    /// `zh-Hans` (also when neither occurs: the characters are common to both).
    pub fn label(&self, text: &str) -> &'static str {
        let (t, s) = self.variant_counts(text);
        if t > s { "zh-Hant" } else { "zh-Hans" }
    }

    /// Converts Traditional text to Simplified (OpenCC `t2s`).
    pub fn to_simplified(&self, text: &str) -> String {
        self.t2s.convert(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_scripts_apart_and_converts() {
        let z = ChineseScripts::new().expect("tables");
        assert_eq!(z.label("这是一个简单的测试，我们学习语言。"), "zh-Hans");
        assert_eq!(z.label("這是一個簡單的測試，我們學習語言。"), "zh-Hant");
        assert_eq!(
            z.label("中文"),
            "zh-Hans",
            "common characters default to Simplified"
        );
        let (t, s) = z.variant_counts("這软件");
        assert_eq!((t, s), (1, 1));
        assert_eq!(z.to_simplified("這是網路軟體"), "这是网路软体");
    }
}
