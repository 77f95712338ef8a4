;; session.wat: a reactor for session and host-door tests. State lives in
;; globals and memory, so it carries from one session call to the next.
;;   _initialize        sets $inited (checked by `inited`)
;;   inited  () -> i32  1 when _initialize ran
;;   bump    () -> i32  adds 1 to a counter and returns it (state across calls)
;;   echo    (p, n) -> i32  writes the n input bytes at p to stdout, returns n
;;   ask     (p, n) -> i32  sends the input through host.call; on 0 writes the
;;                          answer to stdout and returns its length, else
;;                          returns host.call's result (-1 no host, -2 fault)
;;   ask_bad () -> i32  host.call with a request outside memory
;;   ask_big () -> i32  host.call with a 17 MiB request (over the 16 MiB cap)
;;   grow    () -> i32  grows memory by 16 pages (1 MiB); -1 once refused
;;   spin    ()         loops forever
;;   boom    ()         unreachable
;;   leave   ()         proc_exit(3)
;;   shutdown () -> i32 writes "bye\n", returns 0
;;   host_alloc (n) -> ptr  bump allocator from 64 KiB up; 0 when n > 16 MiB
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))
  (import "host" "call" (func $host_call (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $inited (mut i32) (i32.const 0))
  (global $count (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const 65536))
  ;; 0..8: iovec; 8: nwritten; 16: answer ptr; 20: answer len; 32: "bye\n"
  (data (i32.const 32) "bye\n")
  (func $write (param $p i32) (param $n i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $n))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_initialize")
    (global.set $inited (i32.const 1)))
  (func (export "inited") (result i32)
    (global.get $inited))
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count))
  (func (export "echo") (param $p i32) (param $n i32) (result i32)
    (call $write (local.get $p) (local.get $n))
    (local.get $n))
  (func (export "ask") (param $p i32) (param $n i32) (result i32)
    (local $r i32)
    (local.set $r (call $host_call (local.get $p) (local.get $n) (i32.const 16) (i32.const 20)))
    (if (i32.ne (local.get $r) (i32.const 0))
      (then (return (local.get $r))))
    (call $write (i32.load (i32.const 16)) (i32.load (i32.const 20)))
    (i32.load (i32.const 20)))
  (func (export "ask_bad") (result i32)
    (call $host_call (i32.const 0xfffffff0) (i32.const 64) (i32.const 16) (i32.const 20)))
  (func (export "ask_big") (result i32)
    ;; 17 MiB of memory from page 2 on, then one request of it all
    (if (i32.eq (memory.grow (i32.const 272)) (i32.const -1))
      (then (return (i32.const -100))))
    (call $host_call (i32.const 131072) (i32.const 17825792) (i32.const 16) (i32.const 20)))
  (func (export "grow") (result i32)
    (memory.grow (i32.const 16)))
  (func (export "spin")
    (loop $l (br $l)))
  (func (export "boom")
    unreachable)
  (func (export "leave")
    (call $proc_exit (i32.const 3)))
  (func (export "shutdown") (result i32)
    (call $write (i32.const 32) (i32.const 4))
    (i32.const 0))
  (func (export "host_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local $need i32)
    (if (i32.gt_u (local.get $n) (i32.const 16777216))
      (then (return (i32.const 0))))
    (local.set $p (global.get $heap))
    (local.set $need (i32.add (local.get $p) (local.get $n)))
    ;; grow until the block fits
    (block $done
      (loop $more
        (br_if $done (i32.le_u (local.get $need) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
          (then (return (i32.const 0))))
        (br $more)))
    (global.set $heap (i32.and (i32.add (local.get $need) (i32.const 7)) (i32.const -8)))
    (local.get $p)))
