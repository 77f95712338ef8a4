;; stack_overflow.wat: unbounded, non-tail recursion ($f calls itself and
;; then adds to the result), so it always ends in a stack-overflow trap.
(module
  (memory (export "memory") 1)
  (func $f (param $n i32) (result i32)
    (i32.add
      (call $f (i32.add (local.get $n) (i32.const 1)))
      (local.get $n)))
  (func (export "_start")
    (i32.store (i32.const 0) (call $f (i32.const 0)))))
