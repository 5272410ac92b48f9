//! Which writing system each character belongs to, and per-text counts of them.
//!
//! Ratios are over *letters* (alphabetic characters: Han ideographs, kana, hangul and
//! alphabetic scripts), not over all characters, so punctuation, digits and markup do
//! not dilute them.

/// Character counts of a text by script.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScriptCounts {
    /// Han ideographs (CJK Unified Ideographs, extensions, compatibility ideographs).
    pub han: u32,
    /// Hiragana and katakana.
    pub kana: u32,
    /// Hangul syllables and jamo.
    pub hangul: u32,
    /// Latin letters (ASCII and extended).
    pub latin: u32,
    /// Other alphabetic characters (Cyrillic, Greek, Arabic, Thai, …).
    pub other_letters: u32,
    /// Characters that are not whitespace.
    pub non_space: u32,
}

pub use taojin_schemas::script::{is_han, is_hangul, is_kana};

impl ScriptCounts {
    /// Counts the characters of `text`.
    pub fn of(text: &str) -> ScriptCounts {
        let mut c = ScriptCounts::default();
        c.add(text);
        c
    }

    /// Adds the characters of `text`.
    pub fn add(&mut self, text: &str) {
        for ch in text.chars() {
            if ch.is_ascii() {
                if ch.is_ascii_alphabetic() {
                    self.latin += 1;
                }
                if !ch.is_ascii_whitespace() {
                    self.non_space += 1;
                }
                continue;
            }
            if ch.is_whitespace() {
                continue;
            }
            self.non_space += 1;
            if is_han(ch) {
                self.han += 1;
            } else if is_kana(ch) {
                self.kana += 1;
            } else if is_hangul(ch) {
                self.hangul += 1;
            } else if ch.is_alphabetic() {
                if (ch as u32) < 0x250 || (0x1E00..=0x1EFF).contains(&(ch as u32)) {
                    self.latin += 1;
                } else {
                    self.other_letters += 1;
                }
            }
        }
    }

    /// All letters.
    pub fn letters(&self) -> u32 {
        self.han + self.kana + self.hangul + self.latin + self.other_letters
    }

    fn ratio(&self, n: u32) -> f32 {
        let letters = self.letters();
        if letters == 0 {
            0.0
        } else {
            n as f32 / letters as f32
        }
    }

    /// Han share of letters.
    pub fn han_ratio(&self) -> f32 {
        self.ratio(self.han)
    }

    /// Kana share of letters.
    pub fn kana_ratio(&self) -> f32 {
        self.ratio(self.kana)
    }

    /// Hangul share of letters.
    pub fn hangul_ratio(&self) -> f32 {
        self.ratio(self.hangul)
    }

    /// Latin share of letters.
    pub fn latin_ratio(&self) -> f32 {
        self.ratio(self.latin)
    }

    /// Letters per non-space character: low for code, markup and symbol noise.
    pub fn letter_density(&self) -> f32 {
        if self.non_space == 0 {
            0.0
        } else {
            self.letters() as f32 / self.non_space as f32
        }
    }

    /// Amount of linguistic evidence, in roughly "words": an ideograph, kana or hangul
    /// syllable counts 1, any other letter 1/5 (about one English word per five letters).
    pub fn evidence(&self) -> f32 {
        (self.han + self.kana + self.hangul) as f32 + (self.latin + self.other_letters) as f32 / 5.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_scripts() {
        let c = ScriptCounts::of("日本語のテキスト and 한국어, Ελληνικά!");
        assert_eq!(c.han, 3);
        assert_eq!(c.kana, 5);
        assert_eq!(c.hangul, 3);
        assert_eq!(c.latin, 3);
        assert_eq!(c.other_letters, 8);
        assert!((c.han_ratio() - 3.0 / 22.0).abs() < 1e-6);
        assert_eq!(ScriptCounts::of("  ").letters(), 0);
        assert_eq!(ScriptCounts::of("").han_ratio(), 0.0);
        assert!(ScriptCounts::of("{ x = 1; }").letter_density() < 0.3);
    }
}
