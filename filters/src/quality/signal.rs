//! Signal columns: their names, types and per-document values, and the small helper that
//! turns a signal and its limit into a rejection.

use taojin_schemas::quality::Limit;

/// Arrow type of a signal column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// `Float32`: fractions, ratios, means.
    F32,
    /// `Int32`: counts.
    I32,
    /// `Boolean`: flags.
    Bool,
}

/// One signal column: `<family>.<signal>` and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalDef {
    /// Column name, e.g. `gopher.mean_word_len`.
    pub name: &'static str,
    /// Column type.
    pub kind: SignalKind,
}

impl SignalDef {
    /// A `Float32` signal.
    pub const fn f32(name: &'static str) -> SignalDef {
        SignalDef {
            name,
            kind: SignalKind::F32,
        }
    }
    /// An `Int32` signal.
    pub const fn i32(name: &'static str) -> SignalDef {
        SignalDef {
            name,
            kind: SignalKind::I32,
        }
    }
    /// A `Boolean` signal.
    pub const fn bool(name: &'static str) -> SignalDef {
        SignalDef {
            name,
            kind: SignalKind::Bool,
        }
    }
}

/// The value of one signal for one document. `Null` where the rule does not apply to the
/// document (another language) or cannot be computed (a ratio over zero words).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignalValue {
    /// A `Float32` value.
    F32(f32),
    /// An `Int32` value.
    I32(i32),
    /// A `Boolean` value.
    Bool(bool),
    /// No value.
    Null,
}

impl SignalValue {
    /// A float signal, `Null` when absent or not finite.
    pub fn float(v: Option<f64>) -> SignalValue {
        match v {
            Some(x) if x.is_finite() => SignalValue::F32(x as f32),
            _ => SignalValue::Null,
        }
    }

    /// A count, saturating at `i32::MAX`.
    pub fn count(n: u64) -> SignalValue {
        SignalValue::I32(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// The value as `f64`, if it is a number.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            SignalValue::F32(x) => Some(f64::from(x)),
            SignalValue::I32(x) => Some(f64::from(x)),
            _ => None,
        }
    }
}

/// When a check rejects a document: `value <op> limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOp {
    /// Rejected below the limit.
    Lt,
    /// Rejected at or below the limit.
    Le,
    /// Rejected above the limit.
    Gt,
    /// Rejected at or above the limit.
    Ge,
}

impl CheckOp {
    /// `<`, `<=`, `>` or `>=`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOp::Lt => "<",
            CheckOp::Le => "<=",
            CheckOp::Gt => ">",
            CheckOp::Ge => ">=",
        }
    }
}

/// One threshold check as a rule applies it (recorded by [`record_checks`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    /// The rejection reason, `<rule>:<signal>`.
    pub reason: &'static str,
    /// When it rejects.
    pub op: CheckOp,
    /// The threshold.
    pub limit: f64,
}

thread_local! {
    static RECORDING: std::cell::RefCell<Option<Vec<Check>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` and returns the threshold checks every [`Verdict`] on this thread made
/// meanwhile, switched-off limits left out: how the rule table is read from the rules
/// themselves rather than copied beside them.
pub fn record_checks(f: impl FnOnce()) -> Vec<Check> {
    RECORDING.with(|r| *r.borrow_mut() = Some(Vec::new()));
    f();
    RECORDING
        .with(|r| r.borrow_mut().take())
        .unwrap_or_default()
}

fn record(reason: &'static str, op: CheckOp, limit: Option<f64>) {
    if let Some(limit) = limit {
        RECORDING.with(|r| {
            if let Some(v) = r.borrow_mut().as_mut() {
                v.push(Check { reason, op, limit });
            }
        });
    }
}

/// Collects the first rejection while checks run in a fixed order.
#[derive(Debug, Default, Clone, Copy)]
pub struct Verdict {
    /// The first failed check, as `<rule>:<signal>`.
    pub reject: Option<&'static str>,
}

impl Verdict {
    fn fail(&mut self, reason: &'static str) {
        if self.reject.is_none() {
            self.reject = Some(reason);
        }
    }

    /// Rejects when `value < limit`.
    pub fn min(&mut self, value: Option<f64>, limit: Limit<f64>, reason: &'static str) {
        record(reason, CheckOp::Lt, limit.get());
        if let (Some(v), Some(l)) = (value, limit.get())
            && v < l
        {
            self.fail(reason);
        }
    }

    /// Rejects when `value <= limit`.
    pub fn min_exclusive(&mut self, value: Option<f64>, limit: Limit<f64>, reason: &'static str) {
        record(reason, CheckOp::Le, limit.get());
        if let (Some(v), Some(l)) = (value, limit.get())
            && v <= l
        {
            self.fail(reason);
        }
    }

    /// Rejects when `value > limit`.
    pub fn max(&mut self, value: Option<f64>, limit: Limit<f64>, reason: &'static str) {
        record(reason, CheckOp::Gt, limit.get());
        if let (Some(v), Some(l)) = (value, limit.get())
            && v > l
        {
            self.fail(reason);
        }
    }

    /// Rejects when `value >= limit`.
    pub fn max_exclusive(&mut self, value: Option<f64>, limit: Limit<f64>, reason: &'static str) {
        record(reason, CheckOp::Ge, limit.get());
        if let (Some(v), Some(l)) = (value, limit.get())
            && v >= l
        {
            self.fail(reason);
        }
    }

    /// Rejects when the count `value < limit`.
    pub fn min_count(&mut self, value: u64, limit: Limit<u32>, reason: &'static str) {
        record(reason, CheckOp::Lt, limit.get().map(f64::from));
        if let Some(l) = limit.get()
            && value < u64::from(l)
        {
            self.fail(reason);
        }
    }

    /// Rejects when the count `value > limit`.
    pub fn max_count(&mut self, value: u64, limit: Limit<u32>, reason: &'static str) {
        record(reason, CheckOp::Gt, limit.get().map(f64::from));
        if let Some(l) = limit.get()
            && value > u64::from(l)
        {
            self.fail(reason);
        }
    }

    /// Rejects when `flag` is set and the check is on.
    pub fn flag(&mut self, flag: bool, on: bool, reason: &'static str) {
        if flag && on {
            self.fail(reason);
        }
    }
}
