;; loop.wat: _start is an infinite loop with no calls at all, so only
;; loop-back-edge interruption (epoch/fuel/timeouts) can stop it.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l
      (br $l))))
