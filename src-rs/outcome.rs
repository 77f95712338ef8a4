//! Classifies how a guest ended: exit code, timeout, trap kind. Pure logic,
//! so every mapping is unit-tested.

use wasmtime::Trap;
use wasmtime_wasi::I32Exit;

/// Raised from the epoch callback when the wall-clock deadline passed.
#[derive(Debug)]
pub struct DeadlineReached;
impl std::fmt::Display for DeadlineReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("wall-clock deadline reached")
    }
}
impl std::error::Error for DeadlineReached {}

/// Raised from the epoch callback when the caller cancelled the execute.
#[derive(Debug)]
pub struct Cancelled;
impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("execute cancelled")
    }
}
impl std::error::Error for Cancelled {}

/// What the limiter saw during the run; a refused grow is a memory outcome
/// whatever error text wasmtime wraps it in.
#[derive(Debug, Default, Clone, Copy)]
pub struct LimitEvents {
    pub memory_refused: bool,
    pub table_refused: bool,
}

/// Which limit stopped a guest (`result.limit`): callers decide on this,
/// never on the error's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    WallClock,
    Fuel,
    Memory,
    Table,
    Stack,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::WallClock => "wall_clock",
            Limit::Fuel => "fuel",
            Limit::Memory => "memory",
            Limit::Table => "table",
            Limit::Stack => "stack",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The guest ended with this code (proc_exit, `_start` return = 0, `main`'s value).
    Exited(u32),
    /// The deadline or the fuel budget stopped it.
    TimedOut { reason: String, limit: Limit },
    /// It trapped. `exit_code` is Some(1) for memory traps, as the contract says;
    /// `limit` when a limit (not a guest bug) caused the trap.
    Trapped { kind: &'static str, message: String, exit_code: Option<u32>, limit: Option<Limit> },
    /// The caller cancelled it (AbortSignal or destroy()).
    Cancelled,
}

/// How a finished `call_async` ends, given its error (if any) and the limiter's events.
pub fn classify(result: Result<u32, &wasmtime::Error>, limits: LimitEvents) -> Ending {
    let err = match result {
        Ok(code) => return Ending::Exited(code),
        Err(e) => e,
    };
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        // WASI exit codes are unsigned 32-bit values.
        return Ending::Exited(exit.0 as u32);
    }
    if err.downcast_ref::<Cancelled>().is_some() {
        return Ending::Cancelled;
    }
    if err.downcast_ref::<DeadlineReached>().is_some() {
        return Ending::TimedOut { reason: "wall-clock timeout".into(), limit: Limit::WallClock };
    }
    let trap = err.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::OutOfFuel) => return Ending::TimedOut { reason: "fuel budget exhausted".into(), limit: Limit::Fuel },
        Some(Trap::Interrupt) => return Ending::TimedOut { reason: "wall-clock timeout".into(), limit: Limit::WallClock },
        _ => {}
    }
    let message = describe(err, trap);
    if limits.memory_refused || limits.table_refused || trap == Some(Trap::MemoryOutOfBounds) {
        // An out-of-bounds access alone is the guest's bug, not a limit.
        let limit = if limits.memory_refused {
            Some(Limit::Memory)
        } else if limits.table_refused {
            Some(Limit::Table)
        } else {
            None
        };
        return Ending::Trapped { kind: "memory", message, exit_code: Some(1), limit };
    }
    let kind = match trap {
        Some(Trap::StackOverflow) => "stack_overflow",
        Some(Trap::UnreachableCodeReached) => "unreachable",
        Some(Trap::IntegerDivisionByZero) => "integer_divide_by_zero",
        Some(Trap::IntegerOverflow) => "integer_overflow",
        Some(Trap::BadConversionToInteger) => "bad_conversion_to_integer",
        Some(Trap::IndirectCallToNull) => "indirect_call_to_null",
        Some(Trap::BadSignature) => "bad_signature",
        Some(Trap::TableOutOfBounds) => "table_out_of_bounds",
        Some(Trap::NullReference) => "null_reference",
        Some(Trap::HeapMisaligned) => "unaligned_atomic",
        _ => "other",
    };
    let limit = (trap == Some(Trap::StackOverflow)).then_some(Limit::Stack);
    Ending::Trapped { kind, message, exit_code: None, limit }
}

/// A one-line reason: the trap's own text, or the innermost error (not the
/// wasm backtrace wasmtime wraps around it), plus the function it hit in.
fn describe(err: &wasmtime::Error, trap: Option<Trap>) -> String {
    let reason = match trap {
        Some(t) => t.to_string(),
        None => err.root_cause().to_string(),
    };
    let frame = err
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .and_then(|bt| bt.frames().first().map(|f| f.func_name().map_or_else(|| format!("wasm function {}", f.func_index()), str::to_owned)));
    match frame {
        Some(f) => format!("{reason} (in {f})"),
        None => reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err<E: std::error::Error + Send + Sync + 'static>(e: E) -> wasmtime::Error {
        wasmtime::Error::new(e)
    }

    #[test]
    fn normal_and_proc_exit() {
        assert_eq!(classify(Ok(0), LimitEvents::default()), Ending::Exited(0));
        assert_eq!(classify(Ok(42), LimitEvents::default()), Ending::Exited(42));
        let e = wasmtime::Error::from(I32Exit(255));
        assert_eq!(classify(Err(&e), LimitEvents::default()), Ending::Exited(255));
        let e = wasmtime::Error::from(I32Exit(-1));
        assert_eq!(classify(Err(&e), LimitEvents::default()), Ending::Exited(u32::MAX));
    }

    #[test]
    fn timeouts_name_their_limit() {
        let cases = [
            (wasmtime::Error::from(Trap::OutOfFuel), Limit::Fuel),
            (wasmtime::Error::from(Trap::Interrupt), Limit::WallClock),
            (err(DeadlineReached), Limit::WallClock),
        ];
        for (e, want) in cases {
            assert!(matches!(classify(Err(&e), LimitEvents::default()), Ending::TimedOut { limit, .. } if limit == want));
        }
    }

    #[test]
    fn cancelled() {
        let e = err(Cancelled);
        assert_eq!(classify(Err(&e), LimitEvents::default()), Ending::Cancelled);
    }

    #[test]
    fn memory_traps_exit_1() {
        let e = wasmtime::Error::from(Trap::MemoryOutOfBounds);
        assert!(matches!(
            classify(Err(&e), LimitEvents::default()),
            Ending::Trapped { kind: "memory", exit_code: Some(1), limit: None, .. }
        ), "an out-of-bounds access is no limit");
        let e = wasmtime::Error::msg("forcing trap when growing memory");
        let limits = LimitEvents { memory_refused: true, ..Default::default() };
        assert!(matches!(classify(Err(&e), limits), Ending::Trapped { kind: "memory", exit_code: Some(1), limit: Some(Limit::Memory), .. }));
        let tables = LimitEvents { table_refused: true, ..Default::default() };
        assert!(matches!(classify(Err(&e), tables), Ending::Trapped { limit: Some(Limit::Table), .. }));
    }

    #[test]
    fn other_traps_have_no_exit_code() {
        let cases = [
            (Trap::StackOverflow, "stack_overflow"),
            (Trap::UnreachableCodeReached, "unreachable"),
            (Trap::IntegerDivisionByZero, "integer_divide_by_zero"),
            (Trap::IndirectCallToNull, "indirect_call_to_null"),
        ];
        for (trap, name) in cases {
            let e = wasmtime::Error::from(trap);
            match classify(Err(&e), LimitEvents::default()) {
                Ending::Trapped { kind, exit_code, message, limit } => {
                    assert_eq!(kind, name);
                    assert_eq!(exit_code, None);
                    assert!(!message.is_empty());
                    assert_eq!(limit, (trap == Trap::StackOverflow).then_some(Limit::Stack));
                }
                other => panic!("{trap:?} gave {other:?}"),
            }
        }
        let e = wasmtime::Error::msg("host failure");
        assert!(matches!(classify(Err(&e), LimitEvents::default()), Ending::Trapped { kind: "other", .. }));
    }
}
