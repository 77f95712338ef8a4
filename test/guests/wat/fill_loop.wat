;; fill_loop.wat: memory.fill of 32 MiB, forever. One instruction, but
;; milliseconds of work: the native backend's inline slice relies on wasmtime
;; charging it fuel per byte (inline.rs), which a test holds it to.
(module
  (memory (export "memory") 512)
  (func (export "_start")
    (loop $l
      (memory.fill (i32.const 0) (i32.const 85) (i32.const 33554432))
      (br $l))))
