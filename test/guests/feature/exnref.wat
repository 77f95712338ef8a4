;; Needs the exception-handling proposal with exnref (try_table, catch_all_ref):
;; wasmtime 48 runs it (exit 0); V8 11 (Node 20) has no exnref, so the JS
;; backend must refuse it with MODULE_UNSUPPORTED. exnref.wasm is written by
;; gen_exnref.py (wabt releases differ in what they accept for this proposal).
(module
  (tag $e)
  (func (export "_start")
    (block $h (result exnref)
      (try_table (catch_all_ref $h)
        (throw $e))
      unreachable)
    drop))
