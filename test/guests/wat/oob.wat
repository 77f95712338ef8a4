;; oob.wat: 1-page memory; _start does an i32.load at 0x7ffffff0, which is out
;; of bounds (memory access trap).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0)
      (i32.load (i32.const 0x7ffffff0)))))
