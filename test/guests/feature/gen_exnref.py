#!/usr/bin/env python3
"""Writes exnref.wasm, the binary of exnref.wat, byte by byte."""
import pathlib

def section(sid, body):
    assert len(body) < 128
    return bytes([sid, len(body)]) + body

body = bytes([
    0x00,                    # no locals
    0x02, 0x69,              # block (result exnref)
    0x1F, 0x40,              #   try_table (no result)
    0x01, 0x03, 0x00,        #     1 catch: catch_all_ref, label 0 (the block)
    0x08, 0x00,              #     throw tag 0
    0x0B,                    #   end
    0x00,                    #   unreachable
    0x0B,                    # end
    0x1A,                    # drop
    0x0B,                    # end
])
module = b"\x00asm\x01\x00\x00\x00" + b"".join([
    section(1, bytes([0x01, 0x60, 0x00, 0x00])),                 # type 0: [] -> []
    section(3, bytes([0x01, 0x00])),                             # func 0: type 0
    section(13, bytes([0x01, 0x00, 0x00])),                      # tag 0: type 0
    section(7, bytes([0x01, 0x06]) + b"_start" + bytes([0x00, 0x00])),
    section(10, bytes([0x01, len(body)]) + body),
])
pathlib.Path(__file__).with_name("exnref.wasm").write_bytes(module)
