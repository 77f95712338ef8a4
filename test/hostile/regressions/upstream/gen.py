#!/usr/bin/env python3
"""Writes cranelift-memflags-overflow-gc-globals.wat: N mutable anyref globals,
each read once by one function. `wat2wasm` cannot encode anyref globals here;
`wasm-tools parse` or wasmtime itself (`wasmtime compile`) reads the text.
Usage: gen.py [N] > out.wat (default N = 100000, the count that panicked)."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
print("(module")
for _ in range(n):
    print("  (global (mut anyref) (ref.null any))")
print('  (func (export "_start")')
for i in range(n):
    print(f"    (drop (global.get {i}))")
print("  ))")
