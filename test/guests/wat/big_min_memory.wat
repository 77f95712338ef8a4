;; big_min_memory.wat: declares a 2048-page (128 MiB) minimum memory;
;; _start just returns. Used to test instantiation-time memory limits.
(module
  (memory (export "memory") 2048)
  (func (export "_start")))
