;; unknown_import.wat: imports env.foo: () -> (), which no sandbox provides.
;; _start writes "before\n", calls env.foo, then writes "after\n"; skip: () -> ()
;; never calls it and returns (exit 0).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "foo" (func $foo))
  (memory (export "memory") 1)
  ;; iovecs: "before\n" at 0 -> text 32; "after\n" at 8 -> text 48; nwritten at 16
  (data (i32.const 0) "\20\00\00\00\07\00\00\00\30\00\00\00\06\00\00\00")
  (data (i32.const 32) "before\n")
  (data (i32.const 48) "after\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (call $foo)
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))
  (func (export "skip")))
