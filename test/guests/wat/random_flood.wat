;; random_flood.wat: random_get of 32 MiB, forever. One host call whose cost
;; the guest sets: it must move off the calling thread before it runs.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 512)
  (func (export "_start")
    (loop $l
      (drop (call $random_get (i32.const 0) (i32.const 33554432)))
      (br $l))))
