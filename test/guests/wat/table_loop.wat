;; table_loop.wat: table.fill and table.copy over a table of 1,000,000
;; entries (the JS backend's cap), forever: ~40 ms an instruction on V8 11,
;; the table form of bulk_loop.
(module
  (memory (export "memory") 1)
  (table $t 1000000 1000000 funcref)
  (elem declare func $f)
  (func $f)
  (func (export "_start")
    (loop $l
      (table.fill $t (i32.const 0) (ref.func $f) (i32.const 1000000))
      (table.copy $t $t (i32.const 1) (i32.const 0) (i32.const 999999))
      (br $l))))
