;; div_zero.wat: _start computes 1 / x with i32.div_s where x is loaded from
;; memory address 0 (zero-initialised), so it traps with integer divide by zero.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 4)
      (i32.div_s (i32.const 1) (i32.load (i32.const 0))))))
