//! Measures of a block of text that work for Chinese and English alike: length in
//! characters (a Han character weighs three Latin ones, about a word's worth), share of
//! function words (English stop words, Chinese function characters) and sentence
//! punctuation. Navigation is short, linked and has neither.

/// Weight of one CJK character against one Latin letter (a Chinese word is ~1.5
/// characters, an English one ~5 letters plus a space).
pub const CJK_WEIGHT: usize = 3;

/// True for Han, kana and hangul.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff
        | 0xac00..=0xd7af | 0x20000..=0x2fa1f)
}

/// Sentence punctuation in both scripts.
fn is_sentence_punct(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '。'
            | '，'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '」'
            | '”'
    )
}

/// Frequent Chinese function characters: together about a tenth of running prose, nearly
/// absent from menus, tag clouds and spam keyword lists.
const ZH_FUNCTION: &str =
    "的了是在和有也就都而及与着或我们这那不之为以于其所很将被把对从向但因如则没他她它你说要会到能";

/// English stop words (jusText's list, shortened to the most frequent).
const EN_STOP: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "but", "by", "can", "could", "do", "does", "for", "from", "had", "has", "have", "he", "her",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "may", "more", "most", "no", "not",
    "of", "on", "one", "only", "or", "other", "our", "out", "over", "she", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "to", "up", "was", "we", "were", "what", "when", "where", "which", "while", "who", "will",
    "with", "would", "you", "your",
];

/// Measures of one block.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measure {
    /// Non-space characters.
    pub chars: usize,
    /// CJK characters among them.
    pub cjk: usize,
    /// Length in Latin-letter units (`chars - cjk + CJK_WEIGHT * cjk`).
    pub units: usize,
    /// Latin words.
    pub words: usize,
    /// Stop words among them.
    pub stop_words: usize,
    /// Chinese function characters.
    pub zh_function: usize,
    /// Sentence punctuation marks.
    pub punct: usize,
}

impl Measure {
    /// Measures `text`.
    pub fn of(text: &str) -> Measure {
        let mut m = Measure::default();
        let mut word = String::new();
        let flush = |word: &mut String, m: &mut Measure| {
            if !word.is_empty() {
                m.words += 1;
                if EN_STOP.binary_search(&word.as_str()).is_ok() {
                    m.stop_words += 1;
                }
                word.clear();
            }
        };
        for c in text.chars() {
            if c.is_whitespace() {
                flush(&mut word, &mut m);
                continue;
            }
            m.chars += 1;
            if is_cjk(c) {
                flush(&mut word, &mut m);
                m.cjk += 1;
                if ZH_FUNCTION.contains(c) {
                    m.zh_function += 1;
                }
            } else if c.is_alphanumeric() || c == '\'' {
                if word.len() < 32 {
                    word.extend(c.to_lowercase());
                }
            } else {
                flush(&mut word, &mut m);
                if is_sentence_punct(c) {
                    m.punct += 1;
                }
            }
        }
        flush(&mut word, &mut m);
        m.units = m.chars - m.cjk + CJK_WEIGHT * m.cjk;
        m
    }

    /// How much this reads like running prose, 1.0 at jusText's "high" stop-word density
    /// for English (0.32) and at the matching Chinese function-character share (0.09).
    /// Sentence punctuation is evidence too, for every script (one mark per ~12 words or
    /// ~16 CJK characters scores 1.0): it keeps prose in languages without a stop list
    /// (French, Japanese, ...), which the later `langid` stage, not extraction, decides on.
    pub fn prose(&self) -> f64 {
        let latin = (self.units - CJK_WEIGHT * self.cjk) as f64;
        let cjk = (CJK_WEIGHT * self.cjk) as f64;
        let total = (latin + cjk).max(1.0);
        let punct = self.punct as f64;
        let en = if self.words > 0 {
            let stop = self.stop_words as f64 / self.words as f64 / 0.32;
            stop.max((punct / self.words as f64 / 0.085).min(1.0) * 0.95)
        } else {
            0.0
        };
        let zh = if self.cjk > 0 {
            let function = self.zh_function as f64 / self.cjk as f64 / 0.09;
            function.max((punct / self.cjk as f64 / 0.06).min(1.0) * 0.95)
        } else {
            0.0
        };
        (latin / total) * en + (cjk / total) * zh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_list_is_sorted_for_binary_search() {
        assert!(EN_STOP.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn prose_beats_menus_in_both_languages() {
        let en = Measure::of(
            "The committee said that it would publish the report in the spring, after the members have had a chance to read it.",
        );
        let en_menu =
            Measure::of("Home News Sport Business Technology Science Health Entertainment");
        let zh = Measure::of(
            "国务院今天发布了关于进一步加强城市规划建设管理工作的意见，要求各地区各部门认真贯彻执行，并把这项工作落到实处。",
        );
        let zh_menu = Measure::of("首页 新闻 体育 娱乐 财经 科技 汽车 房产 旅游 教育");
        assert!(
            en.prose() > 1.0 && en_menu.prose() < 0.3,
            "{} {}",
            en.prose(),
            en_menu.prose()
        );
        assert!(
            zh.prose() > 1.0 && zh_menu.prose() < 0.3,
            "{} {}",
            zh.prose(),
            zh_menu.prose()
        );
        assert_eq!(zh_menu.cjk, 20);
        assert_eq!(zh_menu.units, 60);
    }
}
