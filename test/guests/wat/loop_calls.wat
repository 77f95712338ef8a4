;; loop_calls.wat: _start is an infinite loop that calls an internal
;; function ($tick, which increments a counter in memory) every iteration.
(module
  (memory (export "memory") 1)
  (func $tick
    (i32.store (i32.const 0)
      (i32.add (i32.load (i32.const 0)) (i32.const 1))))
  (func (export "_start")
    (loop $l
      (call $tick)
      (br $l))))
