;; exit_neg.wat: proc_exit(-1), the largest out-of-range exit code (the host
;; must report 4294967295, not crash, wrap to a signal, or exit itself).
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $proc_exit (i32.const -1))))
