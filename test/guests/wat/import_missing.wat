;; import_missing.wat: imports env.not_provided (never supplied by a WASI
;; runtime) and calls it from _start, so linking/instantiation must fail.
(module
  (import "env" "not_provided" (func $not_provided))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $not_provided)))
