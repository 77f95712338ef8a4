;; net_probe.wat: looks for any network access. WASI preview 1 cannot create
;; sockets; it can only use sockets the host preopened. This tries
;; sock_accept, sock_recv, sock_send and sock_shutdown on descriptors 0..63
;; and counts calls that succeeded (errno 0). Writes the count as one byte to
;; stdout and exits 0. A sandbox without network access prints "\00".
(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_shutdown" (func $shutdown (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec at 0: { buf = 256, len = 1 }; nwritten at 8; a 4-byte payload iovec at 16 -> 512
  (data (i32.const 0) "\00\01\00\00\01\00\00\00")
  (data (i32.const 16) "\00\02\00\00\04\00\00\00")
  (data (i32.const 512) "ping")
  (func $ok (param $errno i32)
    (if (i32.eqz (local.get $errno))
      (then (i32.store8 (i32.const 256) (i32.add (i32.load8_u (i32.const 256)) (i32.const 1))))))
  (func (export "_start")
    (local $fd i32)
    (loop $each
      (call $ok (call $accept (local.get $fd) (i32.const 0) (i32.const 64)))
      (call $ok (call $recv (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 64) (i32.const 68)))
      ;; fds 1 and 2 are stdout/stderr: a send on them is not network, skip
      (if (i32.gt_u (local.get $fd) (i32.const 2))
        (then (call $ok (call $send (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 64)))))
      (call $ok (call $shutdown (local.get $fd) (i32.const 3)))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $fd) (i32.const 64))))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
