;; bulk_loop.wat: memory.fill and an overlapping memory.copy of 64 MiB each,
;; forever. Each is one instruction of ~4 ms; a loop of them with no call
;; ignored V8's termination for 40+ s (issue 21 item 4), so a JS-backend
;; guest could outlive its timeout, destroy() and process.exit().
(module
  (memory (export "memory") 1025)
  (func (export "_start")
    (loop $l
      (memory.fill (i32.const 0) (i32.const 85) (i32.const 67108864))
      (memory.copy (i32.const 1) (i32.const 0) (i32.const 67108864))
      (br $l))))
