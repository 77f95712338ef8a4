//! What a module offers and needs, read from its bytes before compiling:
//! its function exports (entry points), its imports (what must be linked)
//! and whether it may start inline. Compiling a large module takes seconds
//! to minutes, so a module that cannot run is refused before that.

use crate::error::{ErrorCode, SandboxError, SbResult};
use std::fmt;

/// A function's type, as the text format writes value types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncSig {
    pub params: Vec<String>,
    pub results: Vec<String>,
}

impl FuncSig {
    fn is(&self, params: &[&str], results: &[&str]) -> bool {
        self.params.iter().map(String::as_str).eq(params.iter().copied())
            && self.results.iter().map(String::as_str).eq(results.iter().copied())
    }

    pub fn of_wasmtime(ty: &wasmtime::FuncType) -> FuncSig {
        FuncSig { params: ty.params().map(|t| t.to_string()).collect(), results: ty.results().map(|t| t.to_string()).collect() }
    }
}

impl fmt::Display for FuncSig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let results = match self.results.len() {
            0 => "()".to_owned(),
            1 => self.results[0].clone(),
            _ => format!("({})", self.results.join(", ")),
        };
        write!(f, "({}) -> {results}", self.params.join(", "))
    }
}

/// One import: a function (with its type) or anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub func: Option<FuncSig>,
}

/// A module's function exports, in the module's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exports {
    pub funcs: Vec<(String, FuncSig)>,
}

/// How an execute enters the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A WASI command's `_start: () -> ()`.
    Start,
    /// `main` returning i32, with 0 or 2 (argc, argv) i32 parameters.
    Main { params: usize },
    /// A named export `() -> ()` or `() -> i32`, after `_initialize` when the
    /// module exports it (a WASI reactor).
    Export { name: String, returns_i32: bool, initialize: bool },
}

impl Exports {
    pub fn of_module(module: &wasmtime::Module) -> Exports {
        let funcs = module
            .exports()
            .filter_map(|e| e.ty().func().map(|ty| (e.name().to_owned(), FuncSig::of_wasmtime(ty))))
            .collect();
        Exports { funcs }
    }

    fn get(&self, name: &str) -> Option<&FuncSig> {
        self.funcs.iter().find(|(n, _)| n == name).map(|(_, sig)| sig)
    }

    fn names(&self) -> String {
        if self.funcs.is_empty() {
            return "none".into();
        }
        let mut names: Vec<&str> = self.funcs.iter().take(20).map(|(n, _)| n.as_str()).collect();
        if self.funcs.len() > 20 {
            names.push("…");
        }
        names.join(", ")
    }

    /// A module a handle may be made of: it has a default entry or is a
    /// reactor whose entry is named per run.
    pub fn runnable(&self) -> bool {
        self.entry(None, "").is_ok() || self.get("_initialize").is_some_and(|s| s.is(&[], &[]))
    }

    /// Whether the module is a reactor that sets itself up in `_initialize`.
    pub fn initializes(&self) -> bool {
        self.get("_initialize").is_some_and(|s| s.is(&[], &[]))
    }

    /// A session call's export: `(i32, i32)` (pointer and length of its
    /// input) when it has input, `()` when not; returning `()` or `i32`.
    /// Ok(true) when it returns i32; NO_ENTRY saying what exists otherwise.
    pub fn call_export(&self, name: &str, with_input: bool) -> SbResult<bool> {
        let params: &[&str] = if with_input { &["i32", "i32"] } else { &[] };
        let shape = if with_input { "(i32, i32) -> i32 or (i32, i32) -> () for a call with input" } else { "() -> i32 or () -> () for a call without input" };
        match self.get(name) {
            Some(sig) if sig.is(params, &["i32"]) => Ok(true),
            Some(sig) if sig.is(params, &[]) => Ok(false),
            Some(sig) => Err(SandboxError::new(
                ErrorCode::NoEntry,
                format!("export {name:?} has type {sig}; a session call needs {shape} (function exports: {})", self.names()),
            )),
            None => Err(SandboxError::new(
                ErrorCode::NoEntry,
                format!("the session's module has no function export {name:?}: its function exports are {}", self.names()),
            )),
        }
    }

    /// The entry for `requested` (or the default one), or NO_ENTRY saying what exists.
    pub fn entry(&self, requested: Option<&str>, path: &str) -> SbResult<Entry> {
        let no_entry = |msg: String| Err(SandboxError::new(ErrorCode::NoEntry, msg));
        if let Some(name) = requested {
            let initialize = self.get("_initialize").is_some_and(|s| s.is(&[], &[]));
            return match self.get(name) {
                Some(sig) if sig.is(&[], &[]) => Ok(Entry::Export { name: name.to_owned(), returns_i32: false, initialize }),
                Some(sig) if sig.is(&[], &["i32"]) => Ok(Entry::Export { name: name.to_owned(), returns_i32: true, initialize }),
                Some(sig) => no_entry(format!(
                    "entry {name:?} of {path} has type {sig}; an entry must be () -> () or () -> i32 (function exports: {})",
                    self.names()
                )),
                None => no_entry(format!(
                    "module {path} has no function export {name:?} to use as entry: its function exports are {}",
                    self.names()
                )),
            };
        }
        if self.get("_start").is_some_and(|s| s.is(&[], &[])) {
            return Ok(Entry::Start);
        }
        match self.get("main") {
            Some(sig) if sig.is(&[], &["i32"]) => return Ok(Entry::Main { params: 0 }),
            Some(sig) if sig.is(&["i32", "i32"], &["i32"]) => return Ok(Entry::Main { params: 2 }),
            _ => {}
        }
        no_entry(format!(
            "module has no _start or main export ({path}): export `_start: () -> ()` or `main: () -> i32`, \
             or name an entry (execute option `entry`) among its function exports: {}",
            self.names()
        ))
    }
}


/// Everything the loader learns from a module's bytes without compiling it.
#[derive(Debug, Clone, Default)]
pub struct ModuleScan {
    pub exports: Exports,
    pub imports: Vec<Import>,
    /// Small enough to instantiate within an inline slice, and free of
    /// single instructions the slice's epoch cannot interrupt (inline.rs).
    pub inline_ok: bool,
}

/// Reads and validates every section but the function bodies, which are
/// left for the compiler: a malformed module is MODULE_INVALID before its
/// entry or imports are judged, and a 100 MB module scans in milliseconds.
pub fn scan(wasm: &[u8]) -> Result<ModuleScan, String> {
    match scan_inner(wasm) {
        Ok(Some(scan)) => Ok(scan),
        Ok(None) => Err("it is a component or holds a nested module, not a core module".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Validates the whole module, function bodies included (what compiling
/// would find), for a module about to be refused for its entry or imports:
/// one that is also invalid is reported as invalid, as the JS backend does.
pub fn validate(wasm: &[u8]) -> Result<(), String> {
    let mut validator = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    validator.validate_all(wasm).map(drop).map_err(|e| e.to_string())
}

/// None for a component or a nested module.
fn scan_inner(wasm: &[u8]) -> wasmparser::Result<Option<ModuleScan>> {
    use crate::inline::{has_long_instruction, MAX_INLINE_DATA_BYTES, MAX_INLINE_ELEMENTS, MAX_INLINE_MODULE_BYTES};
    use wasmparser::{CompositeInnerType, ElementItems, ExternalKind, Parser, Payload, TypeRef};
    let mut types: Vec<Option<FuncSig>> = Vec::new();
    // Type index of every function, imported ones first (the index space).
    let mut func_types: Vec<u32> = Vec::new();
    let mut imports = Vec::new();
    let mut exported: Vec<(String, u32)> = Vec::new();
    let (mut data_bytes, mut elements) = (0u64, 0u64);
    let mut short_instructions = wasm.len() <= MAX_INLINE_MODULE_BYTES;
    // Every feature: wasmtime, compiling, refuses the ones it has not enabled.
    let features = wasmparser::WasmFeatures::all();
    let mut validator = wasmparser::Validator::new_with_features(features);
    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(wasm) {
        let payload = payload?;
        match validator.payload(&payload)? {
            wasmparser::ValidPayload::Parser(_) => return Ok(None),
            wasmparser::ValidPayload::Ok | wasmparser::ValidPayload::Func(..) | wasmparser::ValidPayload::End(_) => {}
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(FuncSig {
                                params: f.params().iter().map(ToString::to_string).collect(),
                                results: f.results().iter().map(ToString::to_string).collect(),
                            }),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let func = match import.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            func_types.push(t);
                            Some(types.get(t as usize).cloned().flatten().unwrap_or(FuncSig { params: vec![], results: vec![] }))
                        }
                        _ => None,
                    };
                    imports.push(Import { module: import.module.to_owned(), name: import.name.to_owned(), func });
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    func_types.push(t?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact) {
                        exported.push((export.name.to_owned(), export.index));
                    }
                }
            }
            Payload::CodeSectionEntry(body) if short_instructions => {
                short_instructions = !has_long_instruction(&body);
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    data_bytes += data?.data.len() as u64;
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    elements += match element?.items {
                        ElementItems::Functions(f) => u64::from(f.count()),
                        ElementItems::Expressions(_, e) => u64::from(e.count()),
                    };
                }
            }
            _ => {}
        }
    }
    let funcs = exported
        .into_iter()
        .filter_map(|(name, index)| {
            let ty = *func_types.get(index as usize)?;
            Some((name, types.get(ty as usize).cloned().flatten()?))
        })
        .collect();
    Ok(Some(ModuleScan {
        exports: Exports { funcs },
        imports,
        inline_ok: short_instructions && data_bytes <= MAX_INLINE_DATA_BYTES && elements <= MAX_INLINE_ELEMENTS,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(text: &str) -> Vec<u8> {
        wat::parse_str(text).expect("valid wat")
    }

    #[test]
    fn reads_exports_imports_and_types() {
        let m = wat(r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
            (import "env" "mem" (memory 1))
            (func (export "_initialize"))
            (func (export "run") (result i32) (i32.const 7))
            (func (export "add") (param i32 i64) (result i32) (i32.const 0))
            (export "again" (func 0)))"#);
        let s = scan(&m).unwrap();
        assert_eq!(s.imports.len(), 2);
        assert_eq!(s.imports[0].func.as_ref().map(ToString::to_string).as_deref(), Some("(i32, i32, i32, i32) -> i32"));
        assert!(s.imports[1].func.is_none());
        let names: Vec<&str> = s.exports.funcs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["_initialize", "run", "add", "again"]);
        assert_eq!(s.exports.funcs[2].1.to_string(), "(i32, i64) -> i32");
        assert_eq!(s.exports.funcs[3].1.to_string(), "(i32, i32, i32, i32) -> i32", "an imported function re-exported");
        assert!(s.inline_ok);
    }

    #[test]
    fn entries_default_named_and_refused() {
        let reactor = scan(&wat(r#"(module (func (export "_initialize")) (func (export "run") (result i32) (i32.const 0))
            (func (export "bad") (param i32)))"#))
        .unwrap()
        .exports;
        assert_eq!(reactor.entry(Some("run"), "m").unwrap(), Entry::Export { name: "run".into(), returns_i32: true, initialize: true });
        let missing = reactor.entry(Some("nope"), "m").unwrap_err();
        assert_eq!(missing.code, ErrorCode::NoEntry);
        assert!(missing.message.contains("\"nope\"") && missing.message.contains("_initialize, run, bad"), "{}", missing.message);
        let typed = reactor.entry(Some("bad"), "m").unwrap_err();
        assert!(typed.message.contains("(i32) -> ()"), "{}", typed.message);
        let none = reactor.entry(None, "m").unwrap_err();
        assert!(none.message.starts_with("module has no _start or main export"), "{}", none.message);
        assert!(reactor.runnable(), "a reactor can be loaded and run by name");

        let command = scan(&wat(r#"(module (func (export "_start")))"#)).unwrap().exports;
        assert_eq!(command.entry(None, "m").unwrap(), Entry::Start);
        assert_eq!(command.entry(Some("_start"), "m").unwrap(), Entry::Export { name: "_start".into(), returns_i32: false, initialize: false });
        let main2 = scan(&wat(r#"(module (func (export "main") (param i32 i32) (result i32) (i32.const 0)))"#)).unwrap().exports;
        assert_eq!(main2.entry(None, "m").unwrap(), Entry::Main { params: 2 });
        let library = scan(&wat(r#"(module (func (export "foo") (result i32) (i32.const 1)))"#)).unwrap().exports;
        assert!(!library.runnable());
    }

    #[test]
    fn big_data_segments_and_long_instructions_never_start_inline() {
        let m = wat(&format!(r#"(module (memory 32) (data (i32.const 0) "{}"))"#, "a".repeat(2 << 20)));
        assert!(!scan(&m).unwrap().inline_ok);
        let fill = wat(r#"(module (memory 1) (func (export "_start") (memory.fill (i32.const 0) (i32.const 0) (i32.const 65536))))"#);
        assert!(!scan(&fill).unwrap().inline_ok, "no epoch check inside one memory.fill");
        let copy = wat(r#"(module (memory 1) (func (export "_start") (loop (memory.copy (i32.const 0) (i32.const 1) (i32.const 9)))))"#);
        assert!(!scan(&copy).unwrap().inline_ok, "memory.copy inside a loop");
        let plain = wat(r#"(module (memory 1) (func (export "_start") (loop (br 0))))"#);
        assert!(scan(&plain).unwrap().inline_ok, "a loop is bounded by the epoch at its header");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(scan(b"\0asm\x01\0\0\0\x01\xff\xff").is_err());
    }

    #[test]
    fn structurally_invalid_modules_are_refused_before_entries_are_judged() {
        // An export of a function that does not exist: invalid, not "no entry".
        let mut m = wat(r#"(module (func (export "_start")))"#);
        let at = m.windows(7).position(|w| w == b"\x06_start").expect("export name") + 7;
        m[at + 1] = 9; // the export's function index
        assert!(scan(&m).unwrap_err().contains("function index"), "{:?}", scan(&m).err());
        // A broken function body is the compiler's to refuse.
        let body = wat(r#"(module (func (export "_start") (drop (i32.const 1))))"#);
        let mut bad = body.clone();
        let drop_at = bad.iter().rposition(|b| *b == 0x1a).expect("drop opcode");
        bad[drop_at] = 0x6a; // i32.add with one operand
        assert!(scan(&bad).is_ok());
        assert!(validate(&bad).is_err(), "full validation finds it");
        assert!(validate(&body).is_ok());
    }
}
