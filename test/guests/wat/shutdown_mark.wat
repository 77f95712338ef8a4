;; shutdown_mark.wat: a session guest whose `shutdown` export leaves a mark a
;; test can see after close(): it creates the file `shutdown-ran` (content
;; "bye\n") in its first preopened directory (fd 3).
;;   _initialize        does nothing (a reactor)
;;   bump    () -> i32  adds 1 to a counter and returns it
;;   shutdown () -> i32 writes the mark; returns 0, or the errno of the failing call
;;   spin    ()         loops forever (a shutdown that never returns)
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close"
    (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  ;; 0..8: iovec; 8: nwritten; 12: opened fd; 32: "bye\n"; 48: "shutdown-ran" (12 bytes)
  (data (i32.const 32) "bye\n")
  (data (i32.const 48) "shutdown-ran")
  (func (export "_initialize"))
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count))
  (func (export "shutdown") (result i32)
    (local $err i32)
    ;; O_CREAT|O_TRUNC (1|8), rights fd_write (1 << 6)
    (local.set $err (call $path_open (i32.const 3) (i32.const 0) (i32.const 48) (i32.const 12)
      (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 12)))
    (if (local.get $err) (then (return (local.get $err))))
    (i32.store (i32.const 0) (i32.const 32))
    (i32.store (i32.const 4) (i32.const 4))
    (local.set $err (call $fd_write (i32.load (i32.const 12)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (local.get $err) (then (return (local.get $err))))
    (call $fd_close (i32.load (i32.const 12))))
  (func (export "spin")
    (loop $l (br $l))))
