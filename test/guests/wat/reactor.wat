;; reactor.wat: a WASI reactor (no _start, no main) with named entry points.
;; _initialize sets $inited; run: () -> i32 writes "ran\n" and returns 7 when
;; _initialize ran first (3 when not); quiet: () -> () writes "quiet\n";
;; exits: () -> () calls proc_exit(9); probe: () -> i32 returns
;; host.call(0, 0, 0, 0) + 100 (99 when host.call answers -1);
;; turn: (i32) -> i32 is of a type no entry may have.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))
  (import "host" "call" (func $host_call (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $inited (mut i32) (i32.const 0))
  ;; iovecs: "ran\n" at 0 -> text 32; "quiet\n" at 8 -> text 48; nwritten at 16
  (data (i32.const 0) "\20\00\00\00\04\00\00\00\30\00\00\00\06\00\00\00")
  (data (i32.const 32) "ran\n")
  (data (i32.const 48) "quiet\n")
  (func (export "_initialize")
    (global.set $inited (i32.const 1)))
  (func (export "run") (result i32)
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (i32.add (i32.const 3) (i32.mul (global.get $inited) (i32.const 4))))
  (func (export "quiet")
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))
  (func (export "exits")
    (call $proc_exit (i32.const 9)))
  (func (export "probe") (result i32)
    (i32.add (call $host_call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const 100)))
  (func (export "turn") (param i32) (result i32)
    (local.get 0)))
