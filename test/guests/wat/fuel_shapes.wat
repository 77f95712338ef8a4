;; fuel_shapes.wat: a module shape the fuel rewriter must keep intact, for
;; test/js-backend/instrument.test.ts (not run as a sandbox guest: it imports
;; from "env"). An imported global and function come before the module's own
;; global (so index spaces are shifted), a start function runs at
;; instantiation, and there is no export but the entry. _start costs 9 units:
;; 1 (entry) + global.get, i32.const, i32.add, global.set (4) + call (1) +
;; $f's entry (1) + global.get, global.set (2); drop and end are free.
(module
  (import "env" "g" (global $ig i32))
  (import "env" "h" (func $h))
  (global $own (mut i32) (i32.const 0))
  (func $f (global.set $own (global.get $own)))
  (func $init (global.set $own (i32.const 100)))
  (start $init)
  (func (export "_start")
    (global.set $own (i32.add (global.get $ig) (i32.const 1)))
    (call $f)))
