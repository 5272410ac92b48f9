//! A fastText model's input side, computed the way the `fasttext` crate does it but
//! without its costs per n-gram.
//!
//! For each out-of-vocabulary token the crate allocates a string with the word markers,
//! a fresh byte vector per character n-gram, rehashes every n-gram from its start, and
//! maps each bucket through a SipHash `HashMap`; a quantized model then decodes every
//! row from its product-quantizer codes. That was over a quarter of the langid stage.
//! [`InputIds`] gives the same input ids from one reused buffer, an incremental FNV-1a
//! hash and an Fx map; [`HiddenRows`] sums rows decoded once at load. Both are checked
//! against the crate's own output, id for id and bit for bit.

use fasttext::FastText;
use fasttext::dictionary::{Dictionary, EOS, EntryType};
use rustc_hash::FxHashMap;

/// FNV-1a offset basis and prime, as fastText's `Dictionary::hash`.
const FNV_BASIS: u32 = 2_166_136_261;
const FNV_PRIME: u32 = 16_777_619;

/// One FNV-1a step; fastText sign-extends each byte before the xor.
#[inline]
fn fnv_step(h: u32, byte: u8) -> u32 {
    (h ^ (byte as i8 as i32 as u32)).wrapping_mul(FNV_PRIME)
}

/// fastText's hash of a token.
fn fnv(bytes: &[u8]) -> u32 {
    bytes.iter().fold(FNV_BASIS, |h, &b| fnv_step(h, b))
}

/// How hashed n-gram buckets map to input rows.
enum Buckets {
    /// No subword rows (`bucket = 0`, or every bucket pruned).
    None,
    /// Row `nwords + bucket` (an unpruned model).
    All,
    /// A pruned (quantized with a cutoff) model keeps only these buckets.
    Pruned(FxHashMap<i32, i32>),
}

/// Turns a line into the input-row ids fastText averages: each token's subwords (in
/// order), then its word n-grams, then the end-of-line token.
pub struct InputIds {
    nwords: i32,
    bucket: u32,
    minn: i32,
    maxn: i32,
    word_ngrams: i32,
    buckets: Buckets,
    eos: Option<i32>,
}

impl InputIds {
    /// Reads the dictionary settings of a loaded model.
    pub fn new(model: &FastText) -> InputIds {
        let dict = model.dict();
        let args = model.args();
        let buckets = if args.bucket <= 0 || dict.pruneidx_size() == 0 {
            Buckets::None
        } else if dict.pruneidx_size() > 0 {
            Buckets::Pruned(dict.pruneidx().iter().map(|(&k, &v)| (k, v)).collect())
        } else {
            Buckets::All
        };
        InputIds {
            nwords: dict.nwords(),
            bucket: args.bucket.max(0) as u32,
            minn: args.minn,
            maxn: args.maxn,
            word_ngrams: args.word_ngrams,
            buckets,
            eos: dict.get_id(EOS),
        }
    }

    /// The smallest and largest row ids this can produce, to check a model's matrix.
    fn row_range(&self, dict: &Dictionary) -> (i64, i64) {
        // Words only: labels have subwords too, but a line never adds them.
        let words = (0..dict.nwords()).flat_map(|w| dict.get_subwords(w).iter().map(|&r| r as i64));
        let nwords = self.nwords as i64;
        let buckets: Vec<i64> = match &self.buckets {
            Buckets::None => Vec::new(),
            Buckets::All => vec![nwords, nwords + self.bucket as i64 - 1],
            Buckets::Pruned(map) => map.values().map(|&v| nwords + v as i64).collect(),
        };
        words
            .chain(self.eos.map(i64::from))
            .chain(buckets)
            .fold((0, -1), |(lo, hi), r| (lo.min(r), hi.max(r)))
    }

    /// The row of hashed bucket `h`, if it has one.
    #[inline]
    fn push_bucket(&self, ids: &mut Vec<i32>, h: i32) {
        match &self.buckets {
            Buckets::None => {}
            Buckets::All => ids.push(self.nwords + h),
            Buckets::Pruned(map) => {
                if let Some(&row) = map.get(&h) {
                    ids.push(self.nwords + row);
                }
            }
        }
    }

    /// The character n-grams of `<token>`, as `Dictionary::compute_subwords` gives them.
    fn push_ngrams(&self, ids: &mut Vec<i32>, marked: &[u8]) {
        if self.maxn <= 0 || self.bucket == 0 {
            return;
        }
        let len = marked.len();
        for i in 0..len {
            if marked[i] & 0xC0 == 0x80 {
                continue;
            }
            let mut h = FNV_BASIS;
            let mut j = i;
            let mut n = 1;
            while j < len && n <= self.maxn {
                h = fnv_step(h, marked[j]);
                j += 1;
                while j < len && marked[j] & 0xC0 == 0x80 {
                    h = fnv_step(h, marked[j]);
                    j += 1;
                }
                if n >= self.minn && !(n == 1 && (i == 0 || j == len)) {
                    self.push_bucket(ids, (h % self.bucket) as i32);
                }
                n += 1;
            }
        }
    }

    /// The ids of `line` into `ids` (cleared first), end-of-line token included, as
    /// `FastText::predict` builds them; `scratch` is reused between calls.
    pub fn line(&self, dict: &Dictionary, line: &str, ids: &mut Vec<i32>, scratch: &mut Scratch) {
        ids.clear();
        scratch.hashes.clear();
        for token in line.split(|c: char| c.is_ascii_whitespace()) {
            if token.is_empty() {
                continue;
            }
            let h = fnv(token.as_bytes());
            let wid = dict.get_id_with_hash(token, h);
            let kind = match wid {
                Some(w) => dict.get_type_by_id(w),
                None => dict.get_type_from_str(token),
            };
            if kind == EntryType::Word {
                match wid {
                    Some(w) if self.maxn <= 0 => ids.push(w),
                    Some(w) => ids.extend_from_slice(dict.get_subwords(w)),
                    None if token != EOS => {
                        scratch.marked.clear();
                        scratch.marked.push(b'<');
                        scratch.marked.extend_from_slice(token.as_bytes());
                        scratch.marked.push(b'>');
                        self.push_ngrams(ids, &scratch.marked);
                    }
                    None => {}
                }
                scratch.hashes.push(h as i32);
            }
            if token == EOS {
                break;
            }
        }
        if self.bucket > 0 && self.word_ngrams > 1 {
            let hashes = &scratch.hashes;
            for i in 0..hashes.len() {
                let mut h = hashes[i] as i64 as u64;
                for &hj in &hashes[i + 1..hashes.len().min(i + self.word_ngrams as usize)] {
                    h = h.wrapping_mul(116_049_371).wrapping_add(hj as i64 as u64);
                    self.push_bucket(ids, (h % self.bucket as u64) as i32);
                }
            }
        }
        if ids.is_empty() {
            return;
        }
        if let Some(eos) = self.eos {
            ids.push(eos);
        }
    }
}

/// Buffers [`InputIds::line`] reuses.
#[derive(Default)]
pub struct Scratch {
    marked: Vec<u8>,
    hashes: Vec<i32>,
}

/// The input matrix as plain rows: decoded once from a quantized model's codes, or the
/// dense model's own matrix.
pub struct HiddenRows {
    dim: usize,
    /// Decoded rows of a quantized model; `None` reads the dense input matrix.
    decoded: Option<Vec<f32>>,
}

impl HiddenRows {
    /// Decodes a quantized model's rows; `Err` names what does not fit.
    pub fn new(model: &FastText, ids: &InputIds) -> Result<HiddenRows, String> {
        let dim = model.get_dimension().max(0) as usize;
        if dim == 0 {
            return Err("the model's dimension is 0".into());
        }
        let decoded = match model.quant_input() {
            Some(q) if model.is_quant() => {
                let pq = &q.pq;
                let (nsubq, dsub) = (pq.nsubq.max(0) as usize, pq.dsub.max(0) as usize);
                let rows = q.m.max(0) as usize;
                if q.n as usize != dim || nsubq == 0 || q.codes.len() < rows * nsubq {
                    return Err(
                        "the quantized input matrix does not match the model's dimension".into(),
                    );
                }
                let norms = match (&q.norm_codes, &q.npq) {
                    (Some(codes), Some(npq)) if q.qnorm => Some((codes, npq)),
                    _ if q.qnorm => return Err("the quantized input matrix has no norms".into()),
                    _ => None,
                };
                let mut out = vec![0.0f32; rows * dim];
                for (t, row) in out.chunks_exact_mut(dim).enumerate() {
                    // `QuantMatrix::add_row_to_vector` with scale 1: alpha = 1.0 * norm.
                    let alpha = match norms {
                        Some((codes, npq)) => codes
                            .get(t)
                            .and_then(|&c| npq.get_centroids(0, c).first().copied())
                            .ok_or("the quantized input matrix has too few norms")?,
                        None => 1.0,
                    };
                    let code = &q.codes[t * nsubq..(t + 1) * nsubq];
                    for (m, &c) in code.iter().enumerate() {
                        let centroid = pq.get_centroids(m, c);
                        let at = m * dsub;
                        let dst = row
                            .get_mut(at..at + centroid.len())
                            .ok_or("the product quantizer's layout does not match the dimension")?;
                        for (d, &v) in dst.iter_mut().zip(centroid) {
                            *d = alpha * v;
                        }
                    }
                }
                Some(out)
            }
            _ => None,
        };
        let hidden = HiddenRows { dim, decoded };
        let rows = hidden.data(model).len() / dim.max(1);
        let (min, max) = ids.row_range(model.dict());
        if min < 0 || max >= rows as i64 {
            return Err(format!(
                "the dictionary addresses input rows {min}..={max}, the matrix has {rows}"
            ));
        }
        Ok(hidden)
    }

    fn data<'a>(&'a self, model: &'a FastText) -> &'a [f32] {
        self.decoded
            .as_deref()
            .unwrap_or_else(|| model.input_matrix().data())
    }

    /// The average of the rows `ids` into `out` (zeros for no ids), with the crate's
    /// order of additions, so the result is the same to the bit.
    pub fn average(&self, model: &FastText, ids: &[i32], out: &mut [f32]) {
        out.fill(0.0);
        if ids.is_empty() || out.len() != self.dim {
            return;
        }
        let data = self.data(model);
        for &id in ids {
            let at = id as usize * self.dim;
            for (o, &v) in out.iter_mut().zip(&data[at..at + self.dim]) {
                *o += v;
            }
        }
        let count = ids.len() as f32;
        for o in out.iter_mut() {
            *o /= count;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use fasttext::args::{Args, LossName, ModelName};

    use super::*;

    /// SplitMix64, so the lines are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Lines of in-vocabulary words, random words over a wide alphabet (CJK, emoji,
    /// combining marks, kana), labels and `</s>` mid-line, joined by ASCII and other
    /// whitespace (only ASCII whitespace separates tokens).
    fn lines(dict: &Dictionary, n: usize, seed: u64) -> Vec<String> {
        const ALPHABET: &[&str] = &[
            "a", "e", "n", "s", "t", "Z", "é", "ß", "中", "文", "学", "の", "한", "я", "ع", "😀",
            "\u{301}", "-", "'", "1", "<", ">", "_",
        ];
        const SPACES: &[&str] = &[
            " ", " ", " ", "  ", "\t", "\n", "\r", "\x0c", "\x0b", "\u{3000}", "\u{a0}",
        ];
        let mut rng = Rng(seed);
        (0..n)
            .map(|_| {
                let mut line = String::new();
                for _ in 0..rng.below(12) {
                    match rng.below(10) {
                        0..=3 if dict.size() > 0 => {
                            line.push_str(dict.get_word(rng.below(dict.size() as usize) as i32))
                        }
                        4 => line.push_str(["__label__en", "</s>", "__label__zh"][rng.below(3)]),
                        _ => {
                            for _ in 0..1 + rng.below(9) {
                                line.push_str(ALPHABET[rng.below(ALPHABET.len())]);
                            }
                        }
                    }
                    line.push_str(SPACES[rng.below(SPACES.len())]);
                }
                line
            })
            .collect()
    }

    /// Our ids and hidden vector equal the crate's for every line, to the bit.
    fn assert_same_as_the_crate(model: &FastText, lines: &[String]) -> usize {
        let ids = InputIds::new(model);
        let rows = HiddenRows::new(model, &ids).expect("rows");
        let dim = model.get_dimension() as usize;
        let (mut ours, mut scratch, mut hidden) = (Vec::new(), Scratch::default(), vec![0.0; dim]);
        let mut nonempty = 0;
        for line in lines {
            ids.line(model.dict(), line, &mut ours, &mut scratch);
            let (mut want, mut labels) = (Vec::new(), Vec::new());
            model.dict().get_line_from_str(line, &mut want, &mut labels);
            if !want.is_empty() {
                want.extend(model.dict().get_id(EOS));
                nonempty += 1;
            }
            assert_eq!(ours, want, "{line:?}");
            rows.average(model, &ours, &mut hidden);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&hidden),
                bits(&model.get_sentence_vector(line)),
                "{line:?}"
            );
        }
        nonempty
    }

    #[test]
    fn lid176_ids_and_vectors_match_the_crate() {
        let dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
        let model = FastText::load_model(dir.join("../models/lid.176.ftz")).expect("lid.176.ftz");
        assert!(model.is_quant() && model.dict().pruneidx_size() > 0);
        let n = assert_same_as_the_crate(&model, &lines(model.dict(), 20_000, 1));
        assert!(n > 15_000, "{n}");
    }

    #[test]
    fn trained_and_quantized_models_match_the_crate() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut model = train(tmp.path(), |args| {
            (args.dim, args.minn, args.maxn) = (8, 2, 4);
            (args.word_ngrams, args.bucket) = (3, 5_000);
        });
        let lines = lines(model.dict(), 3_000, 2);
        assert_same_as_the_crate(&model, &lines);
        let mut qargs = model.args().clone();
        (qargs.cutoff, qargs.qnorm, qargs.dsub, qargs.retrain) = (2_000, true, 2, false);
        model.quantize(&qargs).expect("quantize");
        assert!(model.is_quant() && model.dict().pruneidx_size() > 0);
        assert_same_as_the_crate(&model, &lines);
    }

    /// fastText's supervised defaults: no subwords, no word n-grams, so no bucket rows at
    /// all (the matrix has a row per word, none for the labels); hierarchical softmax, so
    /// `LangIdModel` predicts with its own tree.
    #[test]
    fn a_model_without_bucket_rows_matches_the_crate_and_loads() {
        let tmp = tempfile::tempdir().expect("tmp");
        let model = train(tmp.path(), |args| {
            args.loss = LossName::HierarchicalSoftmax;
            args.dim = 8;
        });
        assert_eq!((model.args().bucket, model.args().maxn), (0, 0));
        assert_same_as_the_crate(&model, &lines(model.dict(), 3_000, 3));
        let path = tmp.path().join("m.bin");
        model.save_model(&path).expect("save");
        let loaded = crate::LangIdModel::load(&path).expect("load");
        assert_eq!(loaded.predict("river city museum", 1).len(), 1);
        assert_eq!(
            loaded.predict("", 1).len(),
            1,
            "an empty line predicts from </s>"
        );
    }

    /// A supervised model trained on two labelled word sets, with fastText's supervised
    /// defaults changed by `configure`.
    fn train(dir: &std::path::Path, configure: impl FnOnce(&mut Args)) -> FastText {
        let mut rng = Rng(7);
        let words = [
            "river", "city", "科学", "研究", "museum", "免费", "casino", "bonus", "历史",
        ];
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(["__label__a ", "__label__b ", "__label__c "][i % 3]);
            for _ in 0..8 {
                text.push_str(words[(rng.below(5) + 4 * (i % 2)) % words.len()]);
                text.push(' ');
            }
            text.push('\n');
        }
        let input = dir.join("train.txt");
        std::fs::write(&input, text).expect("write");
        let mut args = Args::default();
        args.apply_supervised_defaults();
        args.input = input;
        args.model = ModelName::Supervised;
        args.loss = LossName::Softmax;
        (args.epoch, args.thread, args.verbose) = (3, 1, 0);
        configure(&mut args);
        FastText::train(args).expect("train")
    }
}
