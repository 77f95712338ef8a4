;; start_fn.wat: a module with a start function (run at instantiation) that
;; loops 10 times adding to a global; _start exits with the global (55).
;; For fuel: native counts the start function; so must the JS backend.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global $sum (mut i32) (i32.const 0))
  (func $init (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (global.set $sum (i32.add (global.get $sum) (local.get $i)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10)))))
  (start $init)
  (func (export "_start")
    (call $proc_exit (global.get $sum))))
