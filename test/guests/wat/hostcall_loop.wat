;; hostcall_loop.wat: clock_time_get, forever. Each call is cheap and costs
;; the guest a few fuel units; only the slice's clock, checked at every host
;; call, bounds how long it stays on the calling thread.
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l
      (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 0)))
      (br $l))))
