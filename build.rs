fn main() {
    // Only the Node addon needs napi's link setup; the core tests do not.
    if std::env::var_os("CARGO_FEATURE_NAPI").is_some() {
        napi_build::setup();
    }
    // The wasmtime version the lock file pins, for nativeInfo() and the
    // cache directory's name: read, never written twice by hand.
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let version = lock
        .split("[[package]]")
        .find(|p| p.lines().any(|l| l.trim() == "name = \"wasmtime\""))
        .and_then(|p| p.lines().find_map(|l| l.trim().strip_prefix("version = \"")?.strip_suffix('"').map(str::to_owned)))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=MIMOBOX_WASMTIME_VERSION={version}");
}
