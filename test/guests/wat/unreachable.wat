;; unreachable.wat: _start executes `unreachable` (trap).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (unreachable)))
