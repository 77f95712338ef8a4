;; host_call_other_type.wat: imports host.call with the type (i32) -> i32, not
;; the provided (i32, i32, i32, i32) -> i32, so it is an unknown import.
;; _start returns without calling it (exit 0).
(module
  (import "host" "call" (func $call (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))
