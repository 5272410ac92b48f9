//! `taojin train-lm` and `taojin lm-score`: the n-gram models of the perplexity stage,
//! trained from JSONL (`text` field, one sentence per line of it) or plain text files
//! (one sentence per line), written as ARPA.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use taojin_filters::lm::train::{TrainStats, Trainer};
use taojin_filters::lm::{NgramModel, arpa};

use crate::error::{PipelineError, Result};

/// How a line becomes words: taojin's [units](taojin_filters::lm::units) (the default,
/// what the perplexity stage scores) or the line's whitespace-separated words as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    /// Units: Han characters, folded words.
    Units,
    /// Whitespace-separated words, untouched (pre-tokenized text, KenLM's convention).
    Raw,
}

fn for_each_sentence(path: &Path, mut f: impl FnMut(&str) -> Result<()>) -> Result<()> {
    let name = path.to_string_lossy();
    if name.contains(".jsonl") {
        let mut failed = None;
        crate::texts::for_each_text(path, "text", |text| {
            match text.lines().try_for_each(&mut f) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })?;
        failed.map_or(Ok(()), Err)
    } else {
        for line in crate::texts::open_lines(path)?.lines() {
            f(&line.map_err(PipelineError::io(path))?)?;
        }
        Ok(())
    }
}

/// How much memory training uses and where it spills beyond that.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Bytes, besides the vocabulary.
    pub memory: usize,
    /// The folder for the spilled sorted runs (anonymous files).
    pub tmp: std::path::PathBuf,
}

/// Trains an `order`-gram model on `inputs` and writes it to `out` as ARPA (atomically).
pub fn train(
    inputs: &[impl AsRef<Path>],
    order: usize,
    prune: &[u64],
    words: Words,
    budget: &Budget,
    out: &Path,
) -> Result<TrainStats> {
    std::fs::create_dir_all(&budget.tmp).map_err(PipelineError::io(&budget.tmp))?;
    let mut trainer = Trainer::with_memory(order, budget.memory, &budget.tmp)?;
    let mut buf = String::new();
    for input in inputs {
        for_each_sentence(input.as_ref(), |line| {
            match words {
                Words::Raw if line.trim().is_empty() => Ok(()),
                Words::Raw => trainer.add_sentence(line.split_whitespace()),
                Words::Units => trainer.add_line(line, &mut buf),
            }
            .map_err(Into::into)
        })?;
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(PipelineError::io(dir))?;
    }
    let tmp = out.with_extension("arpa.tmp");
    let file = std::fs::File::create(&tmp).map_err(PipelineError::io(&tmp))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let stats = trainer.finish(prune, &mut w, &tmp.display().to_string())?;
    w.flush().map_err(PipelineError::io(&tmp))?;
    drop(w);
    std::fs::rename(&tmp, out).map_err(PipelineError::io(out))?;
    Ok(stats)
}

/// Loads an ARPA model.
pub fn load(path: &Path) -> Result<NgramModel> {
    Ok(NgramModel::from_arpa(&arpa::read(path)?))
}

/// Scores each line of `input` with `<s>`/`</s>` around it, writing
/// `log10 <tab> tokens <tab> oov` per line (6 decimals), and with `show_words` the words
/// scored, space-joined.
pub fn score(
    model: &NgramModel,
    words: Words,
    show_words: bool,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<()> {
    let (mut buf, mut ids) = (String::new(), Vec::new());
    let io = |e| PipelineError::io(Path::new("<stdout>"))(e);
    for line in input.lines() {
        let line = line.map_err(PipelineError::io(Path::new("<stdin>")))?;
        let s = match words {
            Words::Raw => model.score_words(&line),
            Words::Units => model
                .score_line(&line, &mut buf, &mut ids)
                .unwrap_or_else(|| model.score_ids(&[])),
        };
        write!(out, "{:.6}\t{}\t{}", s.log10, s.tokens, s.oov).map_err(io)?;
        if show_words {
            let shown = match words {
                Words::Raw => line.split_whitespace().collect::<Vec<_>>().join(" "),
                Words::Units => taojin_filters::lm::units::unit_line(&line),
            };
            write!(out, "\t{shown}").map_err(io)?;
        }
        writeln!(out).map_err(io)?;
    }
    Ok(())
}
