;; write_big.wat: fd_write of one 16 MiB iovec to stdout, forever.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 512)
  ;; iovec at 0: { buf = 64, buf_len = 16 MiB }
  (data (i32.const 0) "\40\00\00\00\00\00\00\01")
  (func (export "_start")
    (loop $l
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))
      (br $l))))
