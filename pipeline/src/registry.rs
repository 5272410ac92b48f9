//! The stage registry: what the engine needs from each stage kind, behind one trait. A
//! kind's module implements [`StageKind`] for its spec; [`with_kind!`] holds the one
//! registration line per kind. The engine asks only this module about stages and names
//! none of them.

use std::path::{Path, PathBuf};

use taojin_schemas::StageSpec;

use crate::error::Result;
use crate::global::GlobalStage;
use crate::job::LoadedJob;
use crate::stages::MapStage;

/// A stage built for a run: per-document, or needing the whole job.
pub enum Built {
    /// Processes each batch on its own; one instance serves every task.
    Map(Box<dyn MapStage>),
    /// Map → reduce → apply over the whole job.
    Global(Box<dyn GlobalStage>),
}

/// What the engine needs to know of one stage kind, whose parameters are `S`.
pub trait StageKind<S>: Sync {
    /// True when the stage needs the whole job (map → reduce → apply).
    fn is_global(&self, _spec: &S) -> bool {
        false
    }

    /// True when the stage has one-off work to do before its map phase (a `:setup` step).
    fn has_setup(&self, _spec: &S) -> bool {
        false
    }

    /// True unless the apply phase reads nothing the reduce writes (only the map's
    /// records): then a local run does the apply on its threads while the reduce runs.
    fn apply_needs_reduce(&self, _spec: &S) -> bool {
        true
    }

    /// The one-off work; `prev` is the folder of the stage before. Idempotent: a second
    /// call after a finished one does nothing.
    fn setup(&self, _spec: &S, _job: &LoadedJob, _prev: &Path) -> Result<()> {
        Ok(())
    }

    /// Files besides the input whose contents decide the stage's output (models, word
    /// lists, tokenizers), each with the job-file key that names it. Their sha256 is part
    /// of the stage's config hash; a missing file hashes as missing.
    fn files(&self, _spec: &S, _job: &LoadedJob) -> Vec<(String, PathBuf)> {
        Vec::new()
    }

    /// Data compiled into taojin that the stage uses in place of a file the job does not
    /// name (the shipped default word lists), by job-file key: its sha256 enters the
    /// config hash like a file's, so new defaults are never answered from old output.
    fn builtin(&self, _spec: &S) -> Vec<(String, &'static str)> {
        Vec::new()
    }

    /// Folders directly under the job's output that the stage writes besides its own
    /// (synchronized with object storage after its reduce).
    fn extra_outputs(&self, _spec: &S) -> &'static [&'static str] {
        &[]
    }

    /// Builds the stage; `prev` is the folder of the stage before, if any.
    fn build(&self, spec: &S, job: &LoadedJob, prev: Option<&Path>) -> Result<Built>;
}

/// A global stage kind with nothing to do but build its stage from the spec (no setup,
/// files or extra outputs): `GlobalKind(|spec| Box::new(Stage::new(spec)))`.
pub struct GlobalKind<S>(pub fn(&S) -> Box<dyn crate::global::GlobalStage>);

impl<S> StageKind<S> for GlobalKind<S> {
    fn is_global(&self, _spec: &S) -> bool {
        true
    }

    fn build(&self, spec: &S, _job: &LoadedJob, _prev: Option<&Path>) -> Result<Built> {
        Ok(Built::Global((self.0)(spec)))
    }
}

/// The registry: `$body` with `$k` bound to the kind of `$spec` and `$s` to its parameters.
/// One line per stage kind.
macro_rules! with_kind {
    ($spec:expr, |$k:ident, $s:ident| $body:expr) => {
        match $spec {
            StageSpec::Read($s) => {
                let $k = &crate::stages::read::Kind;
                $body
            }
            StageSpec::Extract($s) => {
                let $k = &crate::stages::extract::Kind;
                $body
            }
            StageSpec::Normalize($s) => {
                let $k = &crate::stages::normalize::Kind;
                $body
            }
            StageSpec::Langid($s) => {
                let $k = &crate::stages::langid::Kind;
                $body
            }
            StageSpec::Quality($s) => {
                let $k = &crate::stages::quality::Kind;
                $body
            }
            StageSpec::Classifier($s) => {
                let $k = &crate::stages::classifier::Kind;
                $body
            }
            StageSpec::Safety($s) => {
                let $k = &crate::stages::safety::Kind;
                $body
            }
            StageSpec::Perplexity($s) => {
                let $k = &crate::global::perplexity::Kind;
                $body
            }
            StageSpec::ExactDedup($s) => {
                let $k = &crate::global::cluster::EXACT;
                $body
            }
            StageSpec::MinhashDedup($s) => {
                let $k = &crate::global::cluster::MINHASH;
                $body
            }
            StageSpec::LineDedup($s) => {
                let $k = &crate::global::lines::KIND;
                $body
            }
            StageSpec::SubstringDedup($s) => {
                let $k = &crate::global::substring::KIND;
                $body
            }
            StageSpec::Topics($s) => {
                let $k = &crate::global::topics::Kind;
                $body
            }
            StageSpec::Mix($s) => {
                let $k = &crate::global::mix::Kind;
                $body
            }
            StageSpec::Tokenize($s) => {
                let $k = &crate::global::tokenize::Kind;
                $body
            }
        }
    };
}

/// True for stages that need the whole job.
pub fn is_global(spec: &StageSpec) -> bool {
    with_kind!(spec, |k, s| k.is_global(s))
}

/// True when the stage has a `:setup` step.
pub fn has_setup(spec: &StageSpec) -> bool {
    with_kind!(spec, |k, s| k.has_setup(s))
}

/// True unless the stage's apply phase can run beside its reduce.
pub fn apply_needs_reduce(spec: &StageSpec) -> bool {
    with_kind!(spec, |k, s| k.apply_needs_reduce(s))
}

/// Runs the stage's setup.
pub fn setup(spec: &StageSpec, job: &LoadedJob, prev: &Path) -> Result<()> {
    with_kind!(spec, |k, s| k.setup(s, job, prev))
}

/// The files whose contents the stage's config hash covers.
pub fn files(spec: &StageSpec, job: &LoadedJob) -> Vec<(String, PathBuf)> {
    with_kind!(spec, |k, s| k.files(s, job))
}

/// The built-in data the stage's config hash covers.
pub fn builtin(spec: &StageSpec) -> Vec<(String, &'static str)> {
    with_kind!(spec, |k, s| k.builtin(s))
}

/// The output folders the stage writes besides its own.
pub fn extra_outputs(spec: &StageSpec) -> &'static [&'static str] {
    with_kind!(spec, |k, s| k.extra_outputs(s))
}

/// Builds a stage.
pub fn build(spec: &StageSpec, job: &LoadedJob, prev: Option<&Path>) -> Result<Built> {
    with_kind!(spec, |k, s| k.build(s, job, prev))
}
