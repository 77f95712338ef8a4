;; path_nul.wat: asks the host for paths with NUL bytes in them, the classic
;; C-string truncation attack: "x\00y" must not become "x" on the host.
;; Preopen fd 3 (any dir). Calls, in order:
;;   path_open(3, "x\00y", O_CREAT)             -> errno e1
;;   path_create_directory(3, "d\00../../esc")  -> errno e2
;;   path_open(3, "\00", 0)                     -> errno e3
;; Writes the three errnos as bytes to stdout, then exits 0. Every one must be
;; non-zero (refused), and nothing named x, d or esc may appear on the host.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "x\00y")
  (data (i32.const 120) "d\00../../esc")
  (data (i32.const 140) "\00")
  ;; iovec { buf = 200, len = 3 } at 0; nwritten at 8; errnos at 200..202
  (data (i32.const 0) "\c8\00\00\00\03\00\00\00")
  (func (export "_start")
    (i32.store8 (i32.const 200)
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 3)
        (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 300)))
    (i32.store8 (i32.const 201)
      (call $mkdir (i32.const 3) (i32.const 120) (i32.const 12)))
    (i32.store8 (i32.const 202)
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 140) (i32.const 1)
        (i32.const 0) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 300)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
