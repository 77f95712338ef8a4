;; table_grow.wat: a funcref table (no maximum) grown by 100,000 elements at a
;; time until table.grow returns -1, then proc_exit(7). A backend that traps
;; on a refused grow stops earlier with a trap.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (func (export "_start")
    (loop $grow
      (if (i32.eq (table.grow $t (ref.null func) (i32.const 100000)) (i32.const -1))
        (then (call $proc_exit (i32.const 7))))
      (br $grow))))
