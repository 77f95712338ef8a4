;; hello.wat: writes exactly "hello, world\n" (13 bytes) to stdout with one
;; fd_write call, then returns normally from _start (exit code 0).
;; If fd_write reports an error, exits with proc_exit(1).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; iovec { buf = 16, len = 13 } at 0; nwritten at 8; text at 16
  (data (i32.const 0) "\10\00\00\00\0d\00\00\00")
  (data (i32.const 16) "hello, world\n")
  (func (export "_start")
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (then (call $proc_exit (i32.const 1))))))
