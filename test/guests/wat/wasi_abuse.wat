;; wasi_abuse.wat: one host call with hostile arguments: lengths and counts
;; near 2^32, pointers at the end of memory, unknown descriptors. Which call
;; is chosen by the argument count: case k = argc - 1 (so `wasi_abuse` alone
;; is case 0, `wasi_abuse x x` is case 2). The call's errno is written to
;; stdout as one byte and the guest exits 0; a host may instead trap the guest
;; (wasmtime treats a bad guest pointer as a trap). A host that trusted these
;; values would touch memory outside the guest, allocate gigabytes, or spin.
;; argc > 9: proc_exit(99).
;;   0 fd_write(1, iovs=65528, iovs_len=0x10000000)          huge iovec count
;;   1 fd_write(1, iovs=16 -> {buf=0xffff0000, len=0x10000})  buffer outside memory
;;   2 poll_oneoff(in=0, out=0, nsubs=0x7fffffff)             huge subscription count
;;   3 random_get(buf=0, len=0xffffffff)                      length past memory
;;   4 fd_read(0, iovs=0xfffffff8, 1)                         iovec array past memory
;;   5 args_sizes_get(0xfffffffe, 0xfffffffe)                 result pointers past memory
;;   6 fd_write(12345, ...)                                   unknown descriptor
;;   7 path_open(3, path=0, path_len=0xffffffff)              path past memory
;;   8 fd_pread(1, iovs=0, 1, offset=2^63)                    offset near 2^63 on stdout
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func $fd_pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; iovec at 0: { buf = 256, len = 1 } (the result byte); nwritten at 8
  (data (i32.const 0) "\00\01\00\00\01\00\00\00")
  ;; iovec at 16: { buf = 0xffff0000, len = 0x10000 }
  (data (i32.const 16) "\00\00\ff\ff\00\00\01\00")
  (func $case (param $k i32) (result i32)
    (block $b8 (block $b7 (block $b6 (block $b5 (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
      (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b6 $b7 $b8 $b8 (local.get $k)))
      (return (call $fd_write (i32.const 1) (i32.const 65528) (i32.const 0x10000000) (i32.const 8))))
      (return (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8))))
      (return (call $poll (i32.const 0) (i32.const 0) (i32.const 0x7fffffff) (i32.const 8))))
      (return (call $random (i32.const 0) (i32.const 0xffffffff))))
      (return (call $fd_read (i32.const 0) (i32.const 0xfffffff8) (i32.const 1) (i32.const 8))))
      (return (call $args_sizes (i32.const 0xfffffffe) (i32.const 0xfffffffe))))
      (return (call $fd_write (i32.const 12345) (i32.const 0) (i32.const 1) (i32.const 8))))
      (return (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0xffffffff)
        (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 8))))
    (call $fd_pread (i32.const 1) (i32.const 0) (i32.const 1) (i64.const 0x7fffffffffffffff) (i32.const 8)))
  (func (export "_start")
    (local $argc i32)
    (drop (call $args_sizes (i32.const 32) (i32.const 36)))
    (local.set $argc (i32.load (i32.const 32)))
    (if (i32.gt_u (local.get $argc) (i32.const 9)) (then (call $proc_exit (i32.const 99))))
    (i32.store8 (i32.const 256) (call $case (i32.sub (local.get $argc) (i32.const 1))))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
