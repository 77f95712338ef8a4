;; panic_hook.wat: calls mimobox_test.panic, a host function that only
;; development builds of the addon define (cargo feature `test-hooks`) and
;; that panics in Rust: proves a real panic inside an execute becomes
;; InternalError instead of taking the process down.
(module
  (import "mimobox_test" "panic" (func $panic))
  (memory (export "memory") 1)
  (func (export "_start") (call $panic)))
