;; big_table.wat: declares a funcref table with a minimum of 10,000,000
;; elements; _start just returns. Used to test table-size limits.
(module
  (table 10000000 funcref)
  (memory (export "memory") 1)
  (func (export "_start")))
