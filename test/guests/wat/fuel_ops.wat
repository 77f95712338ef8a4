;; fuel_ops.wat: one of each construct fuel metering treats specially, so the
;; backends' counts can be compared: a counted loop with br_if, direct and
;; indirect calls, recursion, br_table, if/else, select, globals,
;; memory.grow, memory.fill and memory.copy with constant and computed
;; lengths (per-byte charges), table.fill with a computed length, and a
;; return from inside blocks. Exits 0. With argv[1] present (any value) it
;; ends with a 60,000-byte memory.fill instead, for a small budget to stop at.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (type $t (func (param i32) (result i32)))
  (table 4 funcref)
  (elem (i32.const 0) $inc $dec)
  (global $g (mut i32) (i32.const 0))
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $dec (param i32) (result i32) (i32.sub (local.get 0) (i32.const 1)))
  (func $down (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (call $down (i32.sub (local.get 0) (i32.const 1))))
      (else (i32.const 0))))
  (func $pick (param i32) (result i32)
    (block $a (block $b (block $c (br_table $a $b $c (local.get 0)))
      (return (i32.const 30)))
      (return (i32.const 20)))
    (i32.const 10))
  (func (export "_start") (local $i i32) (local $n i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 25))))
    (global.set $g (call_indirect (type $t) (local.get $i) (i32.const 0)))
    (global.set $g (call_indirect (type $t) (global.get $g) (i32.const 1)))
    (drop (call $down (i32.const 12)))
    (drop (call $pick (i32.const 0)))
    (drop (call $pick (i32.const 2)))
    (drop (call $pick (i32.const 7)))
    (global.set $g (select (i32.const 1) (i32.const 2) (global.get $g)))
    (drop (memory.grow (i32.const 1)))
    (memory.fill (i32.const 0) (i32.const 7) (i32.const 100))
    (local.set $n (i32.mul (local.get $i) (i32.const 40)))
    (memory.fill (i32.const 200) (i32.const 9) (local.get $n))
    (memory.copy (i32.const 4000) (i32.const 0) (local.get $n))
    (memory.copy (i32.const 8000) (i32.const 0) (i32.const 300))
    (table.fill 0 (i32.const 2) (ref.null func) (i32.sub (local.get $i) (i32.const 23)))
    (drop (call $args_sizes (i32.const 16) (i32.const 20)))
    (if (i32.gt_u (i32.load (i32.const 16)) (i32.const 1))
      (then (memory.fill (i32.const 0) (i32.const 1) (i32.const 60000))))))
