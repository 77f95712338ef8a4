//! Bounds a module must stay within before it is compiled. Cranelift's time
//! grows faster than linearly with a function's live values (one function
//! with 2,000 live locals took 12–26 s), and some shapes make it panic (100k
//! GC-reference globals overflow a function's 16-bit memory-flags table). A
//! compile cannot be stopped once started, so these are refused first, with
//! MODULE_UNSUPPORTED. Every bound sits far above what real toolchains emit:
//! CPython 3.15 (python-snapshot.wasm, 89,060 functions) has at most 180
//! locals in a function, 185,843 bytes in a body, 2 globals and 858 types;
//! the test guests at most 355 locals, 8,819 bytes, 30 globals, 29 types.

use crate::error::{ErrorCode, SandboxError, SbResult};
use wasmparser::{CompositeInnerType, Parser, Payload};

/// Locals one function may declare (parameters not counted).
pub const MAX_FUNC_LOCALS: u64 = 1_000;
/// Bytes of one function body.
pub const MAX_FUNC_BODY_BYTES: usize = 1 << 20;
/// Locals × body bytes of one function: what a compile's cost grows with.
pub const MAX_FUNC_LOCALS_TIMES_BYTES: u64 = 64 << 20;
/// Globals a module may define or import.
pub const MAX_GLOBALS: u64 = 10_000;
/// Types a module may declare.
pub const MAX_TYPES: u64 = 20_000;
/// Fields of all the module's struct types together.
pub const MAX_STRUCT_FIELDS: u64 = 20_000;

fn unsupported(path: &str, what: String) -> SandboxError {
    SandboxError::new(
        ErrorCode::ModuleUnsupported,
        format!("{path} is refused before compiling: {what}; such modules take unbounded time to compile or crash the compiler (no real toolchain emits them)"),
    )
}

/// Checks `wasm` (already scanned: valid outside its bodies) against the bounds.
pub fn check(wasm: &[u8], path: &str) -> SbResult<()> {
    let (mut globals, mut types, mut fields, mut func) = (0u64, 0u64, 0u64, 0u64);
    for payload in Parser::new(0).parse_all(wasm) {
        // The scan already refused malformed modules; anything left is the compiler's to report.
        let Ok(payload) = payload else { return Ok(()) };
        match payload {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports().flatten() {
                    globals += u64::from(matches!(import.ty, wasmparser::TypeRef::Global(_)));
                }
            }
            Payload::GlobalSection(reader) => globals += u64::from(reader.count()),
            Payload::TypeSection(reader) => {
                for group in reader.into_iter().flatten() {
                    for sub in group.into_types() {
                        types += 1;
                        if let CompositeInnerType::Struct(s) = &sub.composite_type.inner {
                            fields += s.fields.len() as u64;
                        }
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let size = body.range().len();
                let mut locals = 0u64;
                if let Ok(reader) = body.get_locals_reader() {
                    for (count, _) in reader.into_iter().flatten() {
                        locals += u64::from(count);
                    }
                }
                if locals > MAX_FUNC_LOCALS {
                    return Err(unsupported(path, format!("function {func} declares {locals} locals (at most {MAX_FUNC_LOCALS})")));
                }
                if size > MAX_FUNC_BODY_BYTES {
                    return Err(unsupported(path, format!("function {func}'s body is {size} bytes (at most {MAX_FUNC_BODY_BYTES})")));
                }
                if locals.saturating_mul(size as u64) > MAX_FUNC_LOCALS_TIMES_BYTES {
                    return Err(unsupported(
                        path,
                        format!("function {func} has {locals} locals in {size} bytes of code (locals × bytes at most {MAX_FUNC_LOCALS_TIMES_BYTES})"),
                    ));
                }
                func += 1;
            }
            _ => {}
        }
        if globals > MAX_GLOBALS {
            return Err(unsupported(path, format!("it has {globals} globals (at most {MAX_GLOBALS})")));
        }
        if types > MAX_TYPES {
            return Err(unsupported(path, format!("it declares {types} types (at most {MAX_TYPES})")));
        }
        if fields > MAX_STRUCT_FIELDS {
            return Err(unsupported(path, format!("its struct types have {fields} fields in all (at most {MAX_STRUCT_FIELDS})")));
        }
    }
    Ok(())
}
