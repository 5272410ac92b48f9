//! Line cleaning before judging: C4's line rules, navigation/cookie/share/copyright
//! furniture in English and Chinese, and lines repeated inside the document.
//!
//! The text changes only by whole lines: every line of the output is a line of the input,
//! byte for byte with its line break, in the same order. Blank lines are always kept
//! (they separate paragraphs). A removed line is counted under the first rule that
//! removed it: C4, then furniture, then repetition.

use std::borrow::Cow;
use std::collections::HashSet;

use aho_corasick::AhoCorasick;
use taojin_schemas::quality::LineCleaning;
use xxhash_rust::xxh3::xxh3_64;

use super::QualityError;
use super::signal::{SignalDef, SignalValue};
use super::view::{
    Line, PreHashedState, Script, Segmenter, is_cjk, is_terminal_en, is_terminal_zh, scan_lines,
};

/// C4's policy substrings (datatrove `POLICY_SUBSTRINGS`).
const POLICY: [&str; 6] = [
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
];

/// Substrings that mark a short line as page furniture (matched ASCII case-insensitively).
const FURNITURE: &[&str] = &[
    // English
    "©",
    "all rights reserved",
    "copyright (c)",
    "copyright 19",
    "copyright 20",
    "skip to content",
    "skip to main content",
    "skip to navigation",
    "accept cookies",
    "accept all cookies",
    "we use cookies",
    "this website uses cookies",
    "this site uses cookies",
    "cookie settings",
    "manage cookies",
    "cookie preferences",
    "subscribe to our newsletter",
    "sign up for our newsletter",
    "share this:",
    "share this article",
    "share on facebook",
    "share on twitter",
    "share on linkedin",
    "follow us on",
    "back to top",
    "powered by wordpress",
    "leave a reply",
    "leave a comment",
    "log in to reply",
    "you are here:",
    "previous post",
    "next post",
    "related posts",
    "filed under",
    "continue reading",
    "forgot your password",
    "create an account",
    // Chinese
    "版权所有",
    "版權所有",
    "版权声明",
    "icp备",
    "icp证",
    "公网安备",
    "增值电信业务经营许可证",
    "免责声明",
    "本站部分内容来自",
    "转载请注明",
    "未经授权禁止转载",
    "扫一扫",
    "扫描二维码",
    "长按识别二维码",
    "关注我们",
    "关注公众号",
    "关注微信公众号",
    "分享到",
    "返回顶部",
    "上一篇",
    "下一篇",
    "阅读全文",
    "展开全文",
    "阅读原文",
    "查看更多",
    "加载更多",
    "相关阅读",
    "相关文章",
    "相关推荐",
    "热门推荐",
    "猜你喜欢",
    "责任编辑",
    "您的位置",
    "当前位置",
    "网站地图",
    "设为首页",
    "加入收藏",
    "用户协议",
    "隐私政策",
    "发表评论",
    "网友评论",
];

/// Whole lines (after trimming decoration) that are furniture.
const FURNITURE_EXACT: &[&str] = &[
    "home",
    "menu",
    "search",
    "login",
    "log in",
    "sign in",
    "sign up",
    "register",
    "logout",
    "log out",
    "read more",
    "more",
    "reply",
    "share",
    "tweet",
    "print",
    "email",
    "next",
    "previous",
    "prev",
    "back",
    "top",
    "close",
    "skip",
    "comments",
    "contact",
    "contact us",
    "about",
    "about us",
    "subscribe",
    "advertisement",
    "sponsored",
    "loading",
    "cancel",
    "submit",
    "首页",
    "主页",
    "登录",
    "注册",
    "搜索",
    "更多",
    "展开",
    "收起",
    "分享",
    "评论",
    "回复",
    "举报",
    "点赞",
    "收藏",
    "返回",
    "关闭",
    "导航",
    "菜单",
    "广告",
    "打印",
    "上一页",
    "下一页",
    "确定",
    "取消",
    "提交",
    "订阅",
    "联系我们",
    "关于我们",
    "返回首页",
];

/// Decoration trimmed before comparing a line with [`FURNITURE_EXACT`].
fn is_decoration(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '|' | '｜'
                | '»'
                | '«'
                | '>'
                | '<'
                | '›'
                | '‹'
                | '•'
                | '·'
                | '*'
                | '-'
                | '–'
                | '—'
                | ':'
                | '：'
                | '['
                | ']'
                | '('
                | ')'
                | '【'
                | '】'
                | '「'
                | '」'
                | '.'
                | '…'
                | '/'
        )
}

/// Counts of what line cleaning removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCounts {
    /// Lines of the input.
    pub lines_in: u64,
    /// Lines removed by C4's line rules.
    pub c4: u64,
    /// Lines removed as furniture.
    pub furniture: u64,
    /// Lines removed as repeats of an earlier line.
    pub repeated: u64,
    /// Characters of the input.
    pub chars_in: u64,
    /// Characters of removed lines (line breaks not counted).
    pub chars_removed: u64,
    /// C4 line rules ran on this document.
    pub c4_ran: bool,
}

impl LineCounts {
    /// All removed lines.
    pub fn removed(&self) -> u64 {
        self.c4 + self.furniture + self.repeated
    }
}

/// The cleaned text and what was removed.
#[derive(Debug, Clone)]
pub struct Cleaned<'a> {
    /// The text with removed lines left out (borrowed when nothing was removed).
    pub text: Cow<'a, str>,
    /// What was removed.
    pub counts: LineCounts,
}

/// Signals of line cleaning (`c4.lines_removed` only when the C4 line rules are on).
pub const LINE_SIGNALS: &[SignalDef] = &[
    SignalDef::i32("lines.lines_removed"),
    SignalDef::i32("lines.furniture_removed"),
    SignalDef::i32("lines.repeated_removed"),
    SignalDef::f32("lines.chars_removed_frac"),
    SignalDef::i32("c4.lines_removed"),
];

/// Removes boilerplate lines; built once from the spec.
#[derive(Debug, Clone)]
pub struct LineCleaner {
    spec: LineCleaning,
    c4_substrings: Option<AhoCorasick>,
    furniture: AhoCorasick,
    exact: HashSet<&'static str>,
    segmenter: Segmenter,
}

impl LineCleaner {
    /// A cleaner for `spec`; `segmenter` counts Chinese words per line.
    pub fn new(spec: &LineCleaning, segmenter: Segmenter) -> Result<LineCleaner, QualityError> {
        let mut subs: Vec<&str> = Vec::new();
        if spec.javascript {
            subs.push("javascript");
        }
        if spec.policy {
            subs.extend(POLICY);
        }
        let build = |what: &'static str, pats: &[&str]| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(pats)
                .map_err(|e| QualityError::Pattern {
                    what,
                    message: e.to_string(),
                })
        };
        let c4_substrings = if subs.is_empty() {
            None
        } else {
            Some(build("c4 line substrings", &subs)?)
        };
        Ok(LineCleaner {
            spec: spec.clone(),
            c4_substrings,
            furniture: build("furniture lines", FURNITURE)?,
            exact: FURNITURE_EXACT.iter().copied().collect(),
            segmenter,
        })
    }

    /// The signal columns this cleaner writes.
    pub fn signals(&self) -> &'static [SignalDef] {
        if self.spec.c4_rules {
            LINE_SIGNALS
        } else {
            &LINE_SIGNALS[..4]
        }
    }

    /// Writes the signals of `counts` into `out` (sized as [`Self::signals`]).
    pub fn write_signals(&self, counts: &LineCounts, out: &mut [SignalValue]) {
        let frac = if counts.chars_in > 0 {
            Some(counts.chars_removed as f64 / counts.chars_in as f64)
        } else {
            None
        };
        let values = [
            SignalValue::count(counts.removed()),
            SignalValue::count(counts.furniture),
            SignalValue::count(counts.repeated),
            SignalValue::float(frac.or(Some(0.0))),
            if counts.c4_ran {
                SignalValue::count(counts.c4)
            } else {
                SignalValue::Null
            },
        ];
        for (slot, v) in out.iter_mut().zip(values) {
            *slot = v;
        }
    }

    /// Cleans `text`; the C4 rules run for [`Script::English`] and [`Script::Chinese`].
    pub fn clean<'a>(&self, text: &'a str, script: Script) -> Cleaned<'a> {
        let (lines, chars) = scan_lines(text);
        let mut counts = LineCounts {
            lines_in: lines.len() as u64,
            chars_in: chars.total,
            c4_ran: self.spec.c4_rules && script != Script::Neutral,
            ..LineCounts::default()
        };
        let mut keep = vec![true; lines.len()];
        let mut seen: HashSet<u64, PreHashedState> = HashSet::default();
        let mut lower = String::new();
        for (i, line) in lines.iter().enumerate() {
            if line.blank {
                continue;
            }
            let t = line.text(text);
            let removed = if counts.c4_ran && self.c4_removes(t, line, script) {
                counts.c4 += 1;
                true
            } else if self.spec.furniture && self.is_furniture(t, line, &mut lower) {
                counts.furniture += 1;
                true
            } else if self.spec.repeated
                && line.chars <= self.spec.repeated_max_chars
                && !seen.insert(xxh3_64(t.trim().as_bytes()))
            {
                counts.repeated += 1;
                true
            } else {
                false
            };
            if removed {
                keep[i] = false;
                counts.chars_removed += u64::from(line.chars);
            }
        }
        if counts.removed() == 0 {
            return Cleaned {
                text: Cow::Borrowed(text),
                counts,
            };
        }
        let mut out = String::with_capacity(text.len());
        for (i, line) in lines.iter().enumerate() {
            if keep[i] {
                let end = lines.get(i + 1).map_or(text.len(), |n| n.start);
                out.push_str(text.get(line.start..end).unwrap_or(""));
            }
        }
        Cleaned {
            text: Cow::Owned(out),
            counts,
        }
    }

    fn c4_removes(&self, t: &str, line: &Line, script: Script) -> bool {
        let s = &self.spec;
        if let Some(max) = s.max_word_len.get()
            && longest_word(t) > max as usize
        {
            return true;
        }
        if let Some(ac) = &self.c4_substrings
            && ac.is_match(t)
        {
            return true;
        }
        if s.terminal_punct {
            let terminal = match script {
                Script::Chinese => line.last.is_some_and(is_terminal_zh),
                _ => line.last.is_some_and(is_terminal_en),
            };
            if !terminal || t.trim_end().ends_with("...") {
                return true;
            }
        }
        match script {
            Script::English => s
                .min_words_per_line
                .get()
                .is_some_and(|min| t.split_whitespace().take(min as usize).count() < min as usize),
            Script::Chinese => s.min_words_per_line_zh.get().is_some_and(|min| {
                // A line of more than 16 visible characters has at least 3 jieba words in
                // practice; only short lines pay for segmentation.
                let visible = t.chars().filter(|c| !c.is_whitespace()).count();
                visible <= 16 && self.segmenter.count_tokens(t) < min as usize
            }),
            Script::Neutral => false,
        }
    }

    fn is_furniture(&self, t: &str, line: &Line, lower: &mut String) -> bool {
        if line.chars > self.spec.furniture_max_chars {
            return false;
        }
        if self.furniture.is_match(t) {
            return true;
        }
        let core = t.trim_matches(is_decoration);
        if core.len() <= 24 {
            lower.clear();
            lower.extend(core.chars().map(|c| c.to_ascii_lowercase()));
            if self.exact.contains(lower.as_str()) {
                return true;
            }
        }
        is_nav_line(t)
    }
}

/// Longest run of non-space characters outside CJK text (C4's "word longer than 1000
/// characters", without counting a whole Chinese paragraph as one word).
fn longest_word(t: &str) -> usize {
    let mut best = 0usize;
    let mut cur = 0usize;
    for c in t.chars() {
        if c.is_whitespace() || is_cjk(c) {
            cur = 0;
        } else {
            cur += 1;
            best = best.max(cur);
        }
    }
    best
}

/// A breadcrumb or menu: at least two separators (`|`, `｜`, `»`, `›`, ` > `) between short
/// items, no terminal punctuation; Markdown table rows (starting with `|`) are content.
fn is_nav_line(t: &str) -> bool {
    let t = t.trim();
    if t.starts_with('|') || t.starts_with('｜') {
        return false;
    }
    let mut seps = 0usize;
    let mut chars = 0usize;
    let mut prev = ' ';
    let mut iter = t.chars().peekable();
    while let Some(c) = iter.next() {
        chars += 1;
        let is_sep = match c {
            '|' | '｜' | '»' | '›' => true,
            '>' => prev == ' ' && iter.peek() == Some(&' '),
            _ => false,
        };
        if is_sep {
            seps += 1;
        }
        prev = c;
    }
    if seps < 2 {
        return false;
    }
    let last = t.chars().last().unwrap_or(' ');
    if is_terminal_zh(last) {
        return false;
    }
    (chars - seps) / (seps + 1) <= 14
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaner() -> LineCleaner {
        LineCleaner::new(&LineCleaning::default(), Segmenter::new(true)).unwrap()
    }

    /// Every output line is an input line, in order.
    fn assert_whole_lines(input: &str, output: &str) {
        let mut it = input.split_inclusive('\n');
        for out_line in output.split_inclusive('\n') {
            assert!(
                it.any(|l| l == out_line),
                "{out_line:?} is not an input line"
            );
        }
    }

    #[test]
    fn english_c4_furniture_and_repeats() {
        let text = "Skip to content\n\
                    Home | News | Sports | Weather\n\
                    The council approved the new budget on Monday evening.\n\
                    Enable JavaScript to view this page properly please.\n\
                    This site uses cookies to improve your experience, ok.\n\
                    Short line\n\
                    \n\
                    Residents can comment on the plan until the end of May.\n\
                    Share this article\n\
                    Copyright © 2024 Example News. All rights reserved.\n\
                    Residents can comment on the plan until the end of May.\n";
        let c = cleaner().clean(text, Script::English);
        assert_eq!(
            c.text,
            "The council approved the new budget on Monday evening.\n\n\
             Residents can comment on the plan until the end of May.\n"
        );
        assert_eq!(c.counts.c4, 3, "{:?}", c.counts);
        assert_eq!(c.counts.furniture, 4);
        assert_eq!(c.counts.repeated, 1);
        assert_whole_lines(text, &c.text);
    }

    #[test]
    fn chinese_lines() {
        let text = "首页 > 新闻中心 > 国内新闻\n\
                    今天上午，市政府召开新闻发布会，介绍了今年的经济发展情况。\n\
                    第一章\n\
                    京ICP备12345678号\n\
                    版权所有 © 2024 某某网\n\
                    记者在现场看到，许多市民前来咨询相关政策，气氛十分热烈。\n\
                    分享\n";
        let c = cleaner().clean(text, Script::Chinese);
        assert_eq!(
            c.text,
            "今天上午，市政府召开新闻发布会，介绍了今年的经济发展情况。\n\
             记者在现场看到，许多市民前来咨询相关政策，气氛十分热烈。\n"
        );
        assert_whole_lines(text, &c.text);
        assert_eq!(c.counts.removed(), 5);
    }

    #[test]
    fn untouched_text_is_borrowed_and_crlf_kept() {
        let text = "A line with enough words here.\r\nAnother line with enough words.\r\n";
        let c = cleaner().clean(text, Script::English);
        assert!(matches!(c.text, Cow::Borrowed(_)));
        let text = "A line with enough words here.\r\nMenu\r\nAnother line with enough words.";
        let c = cleaner().clean(text, Script::English);
        assert_eq!(
            c.text,
            "A line with enough words here.\r\nAnother line with enough words."
        );
    }

    #[test]
    fn neutral_script_only_furniture_and_repeats() {
        let text = "Короткая\nКороткая\nПравильная строка текста здесь.\n";
        let c = cleaner().clean(text, Script::Neutral);
        assert_eq!(c.counts.c4, 0);
        assert!(!c.counts.c4_ran);
        assert_eq!(c.counts.repeated, 1);
        assert_eq!(c.text, "Короткая\nПравильная строка текста здесь.\n");
    }

    #[test]
    fn markdown_tables_are_not_nav() {
        assert!(!is_nav_line("| a | b | c |"));
        assert!(is_nav_line("Home | About | Blog | Contact"));
        assert!(!is_nav_line(
            "Prices rose 5% | analysts say the trend | will continue for a long while yet."
        ));
    }

    #[test]
    fn long_words_and_terminal_option() {
        let long = format!("ok then {} end", "x".repeat(1001));
        let text = format!("{long}\nA normal line with words.\n");
        let c = cleaner().clean(&text, Script::English);
        assert_eq!(c.counts.c4, 1);
        // A 1200-character Chinese line is not one long word.
        let zh = "中文句子很长。".repeat(200);
        let c = cleaner().clean(&zh, Script::Chinese);
        assert_eq!(c.counts.removed(), 0);
        let spec = LineCleaning {
            terminal_punct: true,
            ..LineCleaning::default()
        };
        let strict = LineCleaner::new(&spec, Segmenter::new(true)).unwrap();
        let c = strict.clean(
            "A line without an end\nA line with an end.\nTrailing dots here...\n",
            Script::English,
        );
        assert_eq!(c.text, "A line with an end.\n");
    }
}
