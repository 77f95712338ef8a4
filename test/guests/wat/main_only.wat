;; main_only.wat: no _start and no imports; exports `main` of type
;; () -> i32 that returns 42 (and a 1-page `memory`).
(module
  (memory (export "memory") 1)
  (func (export "main") (result i32)
    (i32.const 42)))
