//! The external sort under training: fixed-size n-gram records pushed in any order and
//! read back sorted, in memory while they fit in the budget and from sorted runs
//! merged off disk (anonymous temporary files) beyond it.
//!
//! Push-based, so one pass over one sorted stream can feed the next sort (the
//! `extsort` crate sorts a pull iterator, which one pass feeding another cannot be).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::MAX_ORDER;

/// An n-gram (padded with [`PAD`]) and three payload words, counts or `f64` bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rec {
    pub g: [u32; MAX_ORDER],
    pub v: [u64; 3],
}

/// Padding after the last word of a shorter n-gram.
pub(crate) const PAD: u32 = u32::MAX;
const BYTES: usize = MAX_ORDER * 4 + 3 * 8;
/// Bytes one record takes in memory, for the budget.
pub(crate) const REC_BYTES: usize = std::mem::size_of::<Rec>();

/// The number of words of `g`.
pub(crate) fn len(g: &[u32; MAX_ORDER]) -> usize {
    g.iter().position(|&w| w == PAD).unwrap_or(MAX_ORDER)
}

/// Plain array order: a shorter n-gram after every n-gram it begins (post-order).
pub(crate) fn forward(a: &Rec, b: &Rec) -> Ordering {
    a.g.cmp(&b.g)
}

/// Suffix order: compares the words last to first, a suffix before the n-grams that
/// end with it, so every n-gram's left extensions sit together.
pub(crate) fn suffix(a: &Rec, b: &Rec) -> Ordering {
    rev_words(&a.g).cmp(rev_words(&b.g))
}

/// Shorter orders first, each in [`suffix`] order.
pub(crate) fn order_then_suffix(a: &Rec, b: &Rec) -> Ordering {
    len(&a.g).cmp(&len(&b.g)).then_with(|| suffix(a, b))
}

/// Shorter orders first, each in plain order (how ARPA sections are written).
pub(crate) fn order_then_forward(a: &Rec, b: &Rec) -> Ordering {
    len(&a.g).cmp(&len(&b.g)).then_with(|| forward(a, b))
}

fn rev_words(g: &[u32; MAX_ORDER]) -> impl Iterator<Item = u32> + '_ {
    g[..len(g)].iter().rev().copied()
}

fn encode(r: &Rec, out: &mut [u8; BYTES]) {
    for (i, w) in r.g.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    for (i, v) in r.v.iter().enumerate() {
        let at = MAX_ORDER * 4 + i * 8;
        out[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
}

fn decode(b: &[u8; BYTES]) -> Rec {
    let mut r = Rec {
        g: [PAD; MAX_ORDER],
        v: [0; 3],
    };
    for (i, w) in r.g.iter_mut().enumerate() {
        let mut x = [0u8; 4];
        x.copy_from_slice(&b[i * 4..i * 4 + 4]);
        *w = u32::from_le_bytes(x);
    }
    for (i, v) in r.v.iter_mut().enumerate() {
        let at = MAX_ORDER * 4 + i * 8;
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[at..at + 8]);
        *v = u64::from_le_bytes(x);
    }
    r
}

type Cmp = fn(&Rec, &Rec) -> Ordering;

/// The fewest records a sorter holds before spilling, however small the budget.
const MIN_RECORDS: usize = 16;
/// Open runs at most: beyond, they are merged into one (a second merge level), so a
/// small budget on a large corpus never runs out of file descriptors.
const MAX_RUNS: usize = 64;

/// Records in, sorted records out.
pub(crate) struct Sorter {
    cmp: Cmp,
    buf: Vec<Rec>,
    cap: usize,
    dir: PathBuf,
    runs: Vec<File>,
    written: usize,
}

impl Sorter {
    /// A sorter holding up to `budget` bytes of records before it spills a run to `dir`.
    pub fn new(cmp: Cmp, budget: usize, dir: &Path) -> Sorter {
        Sorter {
            cmp,
            buf: Vec::new(),
            cap: (budget / REC_BYTES).max(MIN_RECORDS),
            dir: dir.to_path_buf(),
            runs: Vec::new(),
            written: 0,
        }
    }

    /// Adds a record.
    pub fn push(&mut self, r: Rec) -> std::io::Result<()> {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(self.cap);
        }
        self.buf.push(r);
        if self.buf.len() >= self.cap {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorted runs spilled so far.
    pub fn runs(&self) -> usize {
        self.written
    }

    fn spill(&mut self) -> std::io::Result<()> {
        let cmp = self.cmp;
        self.buf.sort_unstable_by(cmp);
        let file = tempfile::tempfile_in(&self.dir)?;
        let mut w = BufWriter::with_capacity((self.buf.len() * BYTES).clamp(4096, 1 << 20), file);
        let mut b = [0u8; BYTES];
        for r in &self.buf {
            encode(r, &mut b);
            w.write_all(&b)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        self.runs.push(file);
        self.written += 1;
        self.buf.clear();
        if self.runs.len() >= MAX_RUNS {
            let runs = std::mem::take(&mut self.runs);
            let merged = merge(runs, Vec::new(), self.cmp)?;
            let mut w = BufWriter::with_capacity(1 << 20, tempfile::tempfile_in(&self.dir)?);
            for r in merged {
                encode(&r?, &mut b);
                w.write_all(&b)?;
            }
            let mut file = w.into_inner().map_err(|e| e.into_error())?;
            file.rewind()?;
            self.runs.push(file);
        }
        Ok(())
    }

    /// Everything pushed, sorted; records that compare equal come out in push order
    /// only within one run, so callers give equal keys equal payloads or combine them.
    pub fn finish(mut self) -> std::io::Result<Sorted> {
        let cmp = self.cmp;
        self.buf.sort_unstable_by(cmp);
        if self.runs.is_empty() {
            return Ok(Sorted::Memory(std::mem::take(&mut self.buf).into_iter()));
        }
        // The last records stay in memory as one more sorted source.
        let rest = std::mem::take(&mut self.buf);
        merge(self.runs, rest, cmp)
    }
}

/// A k-way merge of sorted runs and a sorted in-memory tail.
fn merge(runs: Vec<File>, rest: Vec<Rec>, cmp: Cmp) -> std::io::Result<Sorted> {
    let mut sources: Vec<Source> = runs
        .into_iter()
        .map(|f| Source::File(BufReader::with_capacity(8192, f)))
        .collect();
    sources.push(Source::Memory(rest.into_iter()));
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (i, s) in sources.iter_mut().enumerate() {
        if let Some(r) = s.next()? {
            heap.push(Head { r, source: i, cmp });
        }
    }
    Ok(Sorted::Merge { heap, sources })
}

pub(crate) enum Source {
    File(BufReader<File>),
    Memory(std::vec::IntoIter<Rec>),
}

impl Source {
    fn next(&mut self) -> std::io::Result<Option<Rec>> {
        match self {
            Source::Memory(it) => Ok(it.next()),
            Source::File(r) => {
                let mut b = [0u8; BYTES];
                match r.read_exact(&mut b) {
                    Ok(()) => Ok(Some(decode(&b))),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// A run's next record in the merge heap (a max-heap, so the order is reversed; ties
/// go to the lower run, which keeps the merge deterministic).
pub(crate) struct Head {
    r: Rec,
    source: usize,
    cmp: Cmp,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.cmp)(&other.r, &self.r).then_with(|| other.source.cmp(&self.source))
    }
}

/// The sorted records of a [`Sorter`].
pub(crate) enum Sorted {
    /// Everything fitted in memory.
    Memory(std::vec::IntoIter<Rec>),
    /// A k-way merge of spilled runs.
    Merge {
        /// Each source's next record.
        heap: BinaryHeap<Head>,
        /// The runs.
        sources: Vec<Source>,
    },
}

impl Iterator for Sorted {
    type Item = std::io::Result<Rec>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Sorted::Memory(it) => it.next().map(Ok),
            Sorted::Merge { heap, sources } => {
                let head = heap.pop()?;
                match sources[head.source].next() {
                    Ok(Some(r)) => heap.push(Head { r, ..head }),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
                Some(Ok(head.r))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use taojin_schemas::rng::SplitMix64;

    use super::*;

    fn recs(n: usize) -> Vec<Rec> {
        let mut rng = SplitMix64::new(3);
        (0..n)
            .map(|i| {
                let l = 1 + (rng.next() % MAX_ORDER as u64) as usize;
                let mut g = [PAD; MAX_ORDER];
                for w in &mut g[..l] {
                    *w = (rng.next() % 7) as u32;
                }
                Rec {
                    g,
                    v: [i as u64, rng.next(), 0],
                }
            })
            .collect()
    }

    #[test]
    fn spilled_sorts_equal_the_in_memory_sort() {
        let dir = tempfile::tempdir().unwrap();
        for cmp in [
            forward as Cmp,
            suffix,
            order_then_suffix,
            order_then_forward,
        ] {
            let input = recs(10_000);
            let mut expected = input.clone();
            expected.sort_by(cmp);
            for budget in [0, 3000 * REC_BYTES, 1 << 30] {
                // Budget 0: 16-record runs, 625 of them, merged down every 64.
                let mut s = Sorter::new(cmp, budget, dir.path());
                for r in &input {
                    s.push(*r).unwrap();
                }
                let spilled = s.runs();
                let got: Vec<Rec> = s.finish().unwrap().map(Result::unwrap).collect();
                let keys = |v: &[Rec]| v.iter().map(|r| r.g).collect::<Vec<_>>();
                assert_eq!(keys(&got), keys(&expected), "budget {budget}");
                assert_eq!(spilled > 0, budget < 1 << 30);
            }
        }
        // Suffix order puts a suffix right before the n-grams ending with it.
        let a = Rec {
            g: [1, 2, PAD, PAD, PAD, PAD],
            v: [0; 3],
        };
        let b = Rec {
            g: [0, 1, 2, PAD, PAD, PAD],
            v: [0; 3],
        };
        assert_eq!(suffix(&a, &b), Ordering::Less);
        assert_eq!(forward(&a, &b), Ordering::Greater);
    }
}
