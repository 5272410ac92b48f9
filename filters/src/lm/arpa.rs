//! The ARPA back-off model format (SRILM's, read and written by KenLM): a `\data\`
//! header with the n-gram count of each order, then one `\N-grams:` section per order
//! with `log10prob <tab> w1 … wN [<tab> log10backoff]` lines, then `\end\`. The reader
//! checks what KenLM checks (counts, fields, numbers, known words) and names the file
//! and line of the first problem; a truncated file is an error, never a smaller model.

use std::io::{BufRead, Write};
use std::path::Path;

use super::{BOS, EOS, LmError, Result, UNK};

/// The n-grams of one order, stored column-wise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Order {
    /// The order, N.
    pub n: usize,
    /// Word ids, N per n-gram.
    pub ids: Vec<u32>,
    /// log10 probability of each n-gram.
    pub logp: Vec<f32>,
    /// log10 back-off weight of each n-gram (0 when absent).
    pub backoff: Vec<f32>,
}

impl Order {
    /// An empty table of order `n`.
    pub fn new(n: usize) -> Order {
        Order {
            n,
            ..Order::default()
        }
    }

    /// Number of n-grams.
    pub fn len(&self) -> usize {
        self.logp.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.logp.is_empty()
    }

    /// The word ids of n-gram `i`, oldest first.
    pub fn words(&self, i: usize) -> &[u32] {
        &self.ids[i * self.n..(i + 1) * self.n]
    }

    /// Appends an n-gram.
    pub fn push(&mut self, words: &[u32], logp: f32, backoff: f32) {
        self.ids.extend_from_slice(words);
        self.logp.push(logp);
        self.backoff.push(backoff);
    }
}

/// A whole model as the ARPA file holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Arpa {
    /// The vocabulary in unigram order; ids index it.
    pub words: Vec<String>,
    /// The n-grams of each order, unigrams first.
    pub orders: Vec<Order>,
}

/// log10 probability KenLM gives `<unk>` when a model lacks it.
pub const MISSING_UNK_LOG10: f32 = -100.0;

struct Lines<R> {
    reader: R,
    path: String,
    line: usize,
    buf: Vec<u8>,
    /// False when the last line read had no line ending (the file stops inside it).
    ended: bool,
    /// The line [`Lines::advance`] read.
    text: String,
}

impl<R: BufRead> Lines<R> {
    /// The next line without its line ending; `None` at the end of the file.
    fn next(&mut self) -> Result<Option<String>> {
        Ok(self.advance()?.then(|| self.text.clone()))
    }

    /// Reads the next line into the buffer (see [`Lines::text`]); false at the end.
    fn advance(&mut self) -> Result<bool> {
        self.buf = std::mem::take(&mut self.text).into_bytes();
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| LmError::Io {
                path: self.path.clone(),
                source,
            })?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        self.ended = self.buf.last() == Some(&b'\n');
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        // Validated once: the bytes move into `text` and back without a copy.
        match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(text) => {
                self.text = text;
                Ok(true)
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to() + 1;
                self.buf = e.into_bytes();
                Err(self.error(format!("not UTF-8 (byte {at} of the line)")))
            }
        }
    }

    /// The line [`Lines::advance`] read.
    fn text(&self) -> &str {
        &self.text
    }

    /// The next line that is not blank; a truncation error naming `what` at the end.
    fn next_nonblank(&mut self, what: &str) -> Result<String> {
        loop {
            match self.next()? {
                Some(l) if l.trim().is_empty() => continue,
                Some(l) => return Ok(l),
                None => return Err(self.error(format!("file ends before {what} (truncated?)"))),
            }
        }
    }

    fn error(&self, message: String) -> LmError {
        LmError::Arpa {
            path: self.path.clone(),
            line: self.line,
            message,
        }
    }
}

fn float(lines: &Lines<impl BufRead>, field: &str, what: &str) -> Result<f32> {
    match field.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        // SRILM's and KenLM's spelling of log10 0.
        Ok(v) if v == f32::NEG_INFINITY => Ok(-99.0),
        _ => Err(lines.error(format!("{what} `{field}` is not a number"))),
    }
}

/// Reads an ARPA file.
pub fn read(path: &Path) -> Result<Arpa> {
    let file = std::fs::File::open(path).map_err(|source| LmError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse(
        std::io::BufReader::with_capacity(1 << 20, file),
        &path.display().to_string(),
    )
}

/// Parses ARPA text; `path` names it in errors.
pub fn parse(reader: impl BufRead, path: &str) -> Result<Arpa> {
    let mut lines = Lines {
        reader,
        path: path.to_owned(),
        line: 0,
        buf: Vec::new(),
        ended: true,
        text: String::new(),
    };
    // Anything before `\data\` is a comment.
    loop {
        match lines.next()? {
            Some(l) if l.trim() == "\\data\\" => break,
            Some(_) => continue,
            None => return Err(lines.error("no `\\data\\` header: not an ARPA file".into())),
        }
    }
    let mut counts: Vec<usize> = Vec::new();
    let mut header = lines.next_nonblank("the n-gram sections")?;
    while let Some(rest) = header.trim().strip_prefix("ngram ") {
        let (n, c) = rest
            .split_once('=')
            .ok_or_else(|| lines.error(format!("expected `ngram N=count`, found `{header}`")))?;
        let (n, c) = match (n.trim().parse::<usize>(), c.trim().parse::<usize>()) {
            (Ok(n), Ok(c)) => (n, c),
            _ => return Err(lines.error(format!("expected `ngram N=count`, found `{header}`"))),
        };
        if n != counts.len() + 1 {
            return Err(lines.error(format!(
                "`ngram {n}=` out of order: expected order {}",
                counts.len() + 1
            )));
        }
        if n > super::MAX_ORDER {
            return Err(lines.error(format!(
                "order {n} is above the supported {}",
                super::MAX_ORDER
            )));
        }
        counts.push(c);
        header = lines.next_nonblank("the n-gram sections")?;
    }
    if counts.is_empty() {
        return Err(lines.error("`\\data\\` lists no `ngram N=count` lines".into()));
    }
    let mut arpa = Arpa::default();
    let mut vocab: rustc_hash::FxHashMap<String, u32> = rustc_hash::FxHashMap::default();
    let mut ids = Vec::with_capacity(super::MAX_ORDER);
    for (o, &count) in counts.iter().enumerate() {
        let n = o + 1;
        let expected = format!("\\{n}-grams:");
        if header.trim() != expected {
            return Err(lines.error(format!("expected `{expected}`, found `{}`", header.trim())));
        }
        let mut order = Order::new(n);
        order.ids.reserve(count * n);
        order.logp.reserve(count);
        order.backoff.reserve(count);
        let mut seen: rustc_hash::FxHashSet<u64> = rustc_hash::FxHashSet::default();
        loop {
            if !lines.advance()? {
                return Err(lines.error(format!(
                    "file ends inside `{expected}` after {} of {count} n-grams (truncated?)",
                    order.len()
                )));
            }
            let t = lines.text().trim();
            if t.is_empty() || t.starts_with('\\') {
                if order.len() != count {
                    return Err(lines.error(format!(
                        "`\\data\\` says {count} {n}-grams, the section has {}",
                        order.len()
                    )));
                }
                header = if t.is_empty() {
                    lines.next_nonblank("`\\end\\`")?
                } else {
                    t.to_owned()
                };
                break;
            }
            if order.len() == count {
                return Err(lines.error(format!("more {n}-grams than the {count} `\\data\\` says")));
            }
            let mut fields: [&str; super::MAX_ORDER + 3] = [""; super::MAX_ORDER + 3];
            let mut k = 0;
            for f in t.split_whitespace() {
                if k < fields.len() {
                    fields[k] = f;
                }
                k += 1;
            }
            let backoff = match k {
                k if k == n + 1 => 0.0,
                k if k == n + 2 => float(&lines, fields[n + 1], "back-off")?,
                k => {
                    let cut = if lines.ended {
                        ""
                    } else {
                        " (the file ends inside it: truncated?)"
                    };
                    return Err(lines.error(format!(
                        "a {n}-gram line needs {} or {} fields, this has {k}{cut}",
                        n + 1,
                        n + 2
                    )));
                }
            };
            let logp = float(&lines, fields[0], "probability")?;
            if logp > 0.0 {
                return Err(lines.error(format!("probability {logp} is above log10 1 = 0")));
            }
            ids.clear();
            for w in &fields[1..=n] {
                let id = match vocab.get(*w) {
                    Some(&id) => id,
                    None if n == 1 => {
                        let id = arpa.words.len() as u32;
                        vocab.insert((*w).to_owned(), id);
                        arpa.words.push((*w).to_owned());
                        id
                    }
                    None => {
                        return Err(lines.error(format!("word `{w}` is not among the unigrams")));
                    }
                };
                ids.push(id);
            }
            if n == 1 && ids[0] as usize != arpa.words.len() - 1 {
                return Err(lines.error(format!("unigram `{}` appears twice", fields[1])));
            }
            if n > 1 && !seen.insert(super::model::key(&ids)) {
                return Err(lines.error(format!(
                    "{n}-gram `{}` appears twice",
                    fields[1..=n].join(" ")
                )));
            }
            order.push(&ids, logp, backoff);
        }
        arpa.orders.push(order);
    }
    if header.trim() != "\\end\\" {
        return Err(lines.error(format!("expected `\\end\\`, found `{}`", header.trim())));
    }
    for w in [BOS, EOS] {
        if !vocab.contains_key(w) {
            return Err(LmError::Arpa {
                path: path.to_owned(),
                line: lines.line,
                message: format!("the unigrams lack `{w}`"),
            });
        }
    }
    if !vocab.contains_key(UNK) {
        arpa.words.push(UNK.to_owned());
        arpa.orders[0].push(&[arpa.words.len() as u32 - 1], MISSING_UNK_LOG10, 0.0);
    }
    Ok(arpa)
}

/// Writes `arpa` as ARPA text; probabilities are written exactly (shortest round-trip
/// form of the f32), back-offs only where they are not 0.
pub fn write(arpa: &Arpa, out: &mut impl Write) -> std::io::Result<()> {
    let counts: Vec<usize> = arpa.orders.iter().map(Order::len).collect();
    write_header(out, &counts)?;
    let top = arpa.orders.len();
    for o in &arpa.orders {
        write_section(out, o.n)?;
        for i in 0..o.len() {
            write_entry(
                out,
                &arpa.words,
                o.words(i),
                o.logp[i],
                o.backoff[i],
                o.n < top,
            )?;
        }
    }
    write_end(out)
}

/// The `\data\` block: n-grams per order, unigrams first.
pub fn write_header(out: &mut impl Write, counts: &[usize]) -> std::io::Result<()> {
    writeln!(out, "\\data\\")?;
    for (k, c) in counts.iter().enumerate() {
        writeln!(out, "ngram {}={c}", k + 1)?;
    }
    Ok(())
}

/// The heading of order `n`'s section.
pub fn write_section(out: &mut impl Write, n: usize) -> std::io::Result<()> {
    writeln!(out, "\n\\{n}-grams:")
}

/// One entry: `log10 p`, the words, and the back-off where the order has them
/// (`has_backoff`: not the highest) and it is not 0.
pub fn write_entry(
    out: &mut impl Write,
    words: &[String],
    ids: &[u32],
    logp: f32,
    backoff: f32,
    has_backoff: bool,
) -> std::io::Result<()> {
    write!(out, "{logp}\t")?;
    for (k, &id) in ids.iter().enumerate() {
        if k > 0 {
            out.write_all(b" ")?;
        }
        out.write_all(words[id as usize].as_bytes())?;
    }
    if has_backoff && backoff != 0.0 {
        write!(out, "\t{backoff}")?;
    }
    out.write_all(b"\n")
}

/// The closing `\end\`.
pub fn write_end(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "\n\\end\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1.0\t<unk>\n-99\t<s>\t-0.5\n-0.5\t</s>\n-0.3\ta\t-0.2\n\n\\2-grams:\n-0.1\t<s> a\n-0.2\ta </s>\n\n\\end\\\n";

    fn err(text: &[u8]) -> String {
        match parse(text, "m.arpa") {
            Ok(_) => "parsed".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn round_trips() {
        let arpa = parse(GOOD.as_bytes(), "m.arpa").unwrap();
        assert_eq!(arpa.orders[1].len(), 2);
        let mut out = Vec::new();
        write(&arpa, &mut out).unwrap();
        assert_eq!(parse(&out[..], "again").unwrap(), arpa);
    }

    #[test]
    fn bad_files_name_the_line() {
        let truncated = &GOOD[..GOOD.find("-0.2\ta </s>").unwrap()];
        assert_eq!(
            err(truncated.as_bytes()),
            "m.arpa:12: file ends inside `\\2-grams:` after 1 of 2 n-grams (truncated?)"
        );
        let no_end = GOOD.replace("\\end\\\n", "");
        assert!(err(no_end.as_bytes()).contains("file ends before `\\end\\`"));
        let wrong = GOOD.replace("ngram 2=2", "ngram 2=3");
        assert_eq!(
            err(wrong.as_bytes()),
            "m.arpa:14: `\\data\\` says 3 2-grams, the section has 2"
        );
        let fewer = GOOD.replace("ngram 2=2", "ngram 2=1");
        assert_eq!(
            err(fewer.as_bytes()),
            "m.arpa:13: more 2-grams than the 1 `\\data\\` says"
        );
        let mut latin1 = GOOD.as_bytes().to_vec();
        let at = GOOD.find("a </s>").unwrap();
        latin1[at] = 0xE9;
        assert_eq!(err(&latin1), "m.arpa:13: not UTF-8 (byte 6 of the line)");
        let unknown = GOOD.replace("a </s>", "b </s>");
        assert_eq!(
            err(unknown.as_bytes()),
            "m.arpa:13: word `b` is not among the unigrams"
        );
        let nan = GOOD.replace("-0.3\ta", "x\ta");
        assert_eq!(
            err(nan.as_bytes()),
            "m.arpa:9: probability `x` is not a number"
        );
        assert!(err(b"hello\n").contains("no `\\data\\` header"));
    }

    #[test]
    fn a_missing_unk_is_added_as_kenlm_does() {
        let text = GOOD
            .replace("ngram 1=4", "ngram 1=3")
            .replace("-1.0\t<unk>\n", "");
        let arpa = parse(text.as_bytes(), "m.arpa").unwrap();
        assert_eq!(arpa.words.last().map(String::as_str), Some(UNK));
        assert_eq!(arpa.orders[0].logp.last(), Some(&MISSING_UNK_LOG10));
    }
}
