;; memory_grow.wat: starts with 1 page (no maximum) and loops forever doing
;; memory.grow 16 (1 MiB), writing one byte into each new page. When
;; memory.grow returns -1 it calls proc_exit(7). (A native backend that
;; traps on grow failure stops with a memory trap before reaching that.)
(module
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $old i32)
    (local $i i32)
    (loop $grow
      (local.set $old (memory.grow (i32.const 16)))
      (if (i32.eq (local.get $old) (i32.const -1))
        (then (call $proc_exit (i32.const 7))))
      (local.set $i (i32.const 0))
      (loop $touch
        (i32.store8
          (i32.shl (i32.add (local.get $old) (local.get $i)) (i32.const 16))
          (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $touch (i32.lt_u (local.get $i) (i32.const 16))))
      (br $grow))))
