;; sleep.wat: calls poll_oneoff with a single relative CLOCK_MONOTONIC
;; subscription of 60 s, then writes "woke\n" to stdout and returns (exit 0).
;; If poll_oneoff returns an errno, it exits with proc_exit(2) without output.
;;
;; WASI preview 1 layouts used:
;;   subscription (48 bytes, align 8) at 64:
;;     userdata u64 @0 = 0x1234, tag u8 @8 = 0 (clock),
;;     clock id u32 @16 = 1 (monotonic), timeout u64 @24 = 60e9 ns,
;;     precision u64 @32 = 0, flags u16 @40 = 0 (relative)
;;   event (32 bytes, align 8) written at 128
;;   nevents (u32) written at 192
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; iovec { buf = 256, len = 5 } at 0; nwritten at 8
  (data (i32.const 0) "\00\01\00\00\05\00\00\00")
  (data (i32.const 256) "woke\n")
  (func (export "_start")
    (i64.store (i32.const 64) (i64.const 0x1234))             ;; userdata
    (i32.store8 (i32.const 72) (i32.const 0))                 ;; tag = clock
    (i32.store (i32.const 80) (i32.const 1))                  ;; CLOCK_MONOTONIC
    (i64.store (i32.const 88) (i64.const 60000000000))        ;; 60 s in ns
    (i64.store (i32.const 96) (i64.const 0))                  ;; precision
    (i32.store16 (i32.const 104) (i32.const 0))               ;; flags: relative
    (if (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 192))
      (then (call $proc_exit (i32.const 2))))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
