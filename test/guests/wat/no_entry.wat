;; no_entry.wat: a valid module with neither `_start` nor `main`.
;; Exports `memory` and an unrelated function `foo` () -> i32 returning 1.
(module
  (memory (export "memory") 1)
  (func (export "foo") (result i32)
    (i32.const 1)))
