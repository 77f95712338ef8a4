//! Checks made before compiling (entry point, imports) and linking a
//! compiled module against the engine's linker.

use super::entry::{module_error, EntryCheck};
use crate::engine::{provides_import, SharedEngine};
use crate::error::{ErrorCode, SbResult};
use crate::scan::{Exports, ModuleScan};
use crate::settings::UnknownImports;
use crate::store::StoreState;
use wasmtime::{ExternType, InstancePre, Module};

pub(super) fn check_entry(exports: &Exports, entry: EntryCheck<'_>, path: &str) -> SbResult<()> {
    match entry {
        EntryCheck::Default => exports.entry(None, path).map(drop),
        EntryCheck::Named(name) => exports.entry(Some(name), path).map(drop),
        EntryCheck::Runnable if exports.runnable() => Ok(()),
        EntryCheck::Runnable => exports.entry(None, path).map(drop),
        EntryCheck::Any => Ok(()),
    }
}

/// Refuses, before compiling, a module importing what the sandbox cannot give it.
pub(super) fn check_imports(scan: &ModuleScan, mode: UnknownImports, path: &str) -> SbResult<()> {
    for import in &scan.imports {
        let provided = import.func.as_ref().is_some_and(|sig| provides_import(&import.module, &import.name, sig));
        if provided || (mode == UnknownImports::Trap && import.func.is_some()) {
            continue;
        }
        let kind = if import.func.is_some() { "" } else { " (not a function: unknownImports: 'trap' cannot stand in for it)" };
        return Err(module_error(
            ErrorCode::ImportMissing,
            format!(
                "{path} imports {}.{}{kind}, which the sandbox does not provide: only wasi_snapshot_preview1 functions and host.call are available (unknownImports: 'trap' links missing functions as traps)",
                import.module, import.name
            ),
        ));
    }
    Ok(())
}

/// Raised by a function import linked as a trap when the guest calls it.
#[derive(Debug)]
pub struct UnknownImportCalled(pub String);
impl std::fmt::Display for UnknownImportCalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "called unknown import {}, which the sandbox does not provide", self.0)
    }
}
impl std::error::Error for UnknownImportCalled {}

pub(super) fn link(engine: &SharedEngine, module: &Module, path: &str, mode: UnknownImports) -> SbResult<InstancePre<StoreState>> {
    let traps;
    let linker = match mode {
        UnknownImports::Error => &engine.linker,
        UnknownImports::Trap => {
            let mut linker = engine.linker.clone();
            // `host.call` of another type is not ours: its trap replaces it.
            linker.allow_shadowing(true);
            for import in module.imports() {
                let ExternType::Func(ty) = import.ty() else { continue };
                let sig = crate::scan::FuncSig::of_wasmtime(&ty);
                if provides_import(import.module(), import.name(), &sig) {
                    continue;
                }
                let name = format!("{}.{}", import.module(), import.name());
                linker
                    .func_new(import.module(), import.name(), ty, move |_, _, _| Err(UnknownImportCalled(name.clone()).into()))
                    .map_err(|e| module_error(ErrorCode::ModuleInvalid, format!("{path} cannot be linked: {e:#}")))?;
            }
            traps = linker;
            &traps
        }
    };
    linker.instantiate_pre(module).map_err(|e| {
        let text = format!("{e:#}");
        if text.contains("unknown import") || text.contains("incompatible import type") {
            // wasmtime names it `module::name`; say `module.name` like the JS backend.
            let missing = text.split('`').nth(1).map(|s| s.replace("::", ".")).unwrap_or_else(|| text.clone());
            module_error(
                ErrorCode::ImportMissing,
                if text.contains("incompatible import type") {
                    format!("{path} imports {missing} with a type the sandbox does not provide: {text}")
                } else {
                    format!("{path} imports {missing}, which the sandbox does not provide: only wasi_snapshot_preview1 functions and host.call are available")
                },
            )
        } else {
            module_error(ErrorCode::ModuleInvalid, format!("{path} cannot be linked: {text}"))
        }
    })
}

