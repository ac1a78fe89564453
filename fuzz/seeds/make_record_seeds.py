#!/usr/bin/env python3
"""Writes the hand-made seeds of `record_decode` and `store_recovery` (stored records,
REMOTING.md §4.3). Run from anywhere: `python3 fuzz/seeds/make_record_seeds.py`."""

import ipaddress
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC_V1 = 0xDAA320A7
MAGIC_V2 = 0xDAA320AB
BLANK_MAGIC = 0xCBD43194
BORNHOST_V6 = 0x10
STOREHOST_V6 = 0x20
FILE_SIZE = 4096


def host(addr, port):
    return ipaddress.ip_address(addr).packed + struct.pack(">i", port)


def record(topic, body, props, *, physical=0, queue_offset=0, v2=False,
           born=("127.0.0.1", 5000), store=("127.0.0.1", 10911), sys_flag=0):
    topic = topic.encode()
    if ":" in born[0]:
        sys_flag |= BORNHOST_V6
    if ":" in store[0]:
        sys_flag |= STOREHOST_V6
    rest = struct.pack(">iiiqqiq", zlib.crc32(body) & 0x7FFFFFFF, 0, 0, queue_offset,
                       physical, sys_flag, 1_700_000_000_000)
    rest += host(*born) + struct.pack(">q", 1_700_000_000_001) + host(*store)
    rest += struct.pack(">iqi", 0, 0, len(body)) + body
    rest += (struct.pack(">h", len(topic)) if v2 else struct.pack(">b", len(topic))) + topic
    rest += struct.pack(">h", len(props)) + props
    magic = MAGIC_V2 if v2 else MAGIC_V1
    return struct.pack(">iI", 8 + len(rest), magic) + rest


def blank(remaining):
    return struct.pack(">iI", remaining, BLANK_MAGIC)


def records_from(offset, specs):
    out = b""
    for topic, body, props, kw in specs:
        out += record(topic, body, props, physical=offset + len(out), **kw)
    return out


def write(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


PROPS = b"TAGS\x01A\x02KEYS\x01k1\x02"
TWO = [("TopicA", b"hello", PROPS, {}),
       ("TopicB", b"world!", b"", {"v2": True, "born": ("::1", 6000), "store": ("fe80::2", 10911)})]

# record_decode: selector byte (bit 0 = check CRC), start byte, then the buffer.
two = records_from(0, TWO)
write("record_decode", "v1_one_crc", b"\x01\x00" + records_from(0, TWO[:1]))
write("record_decode", "two_then_blank", b"\x01\x00" + two + blank(64))
write("record_decode", "offset_start", b"\x00\x05" + b"junk!" + two)
write("record_decode", "big_port_v6", b"\x00\x00" + record(
    "T" * 130, b"", b"", v2=True, born=("::ffff:10.0.0.1", 0), store=("10.0.0.2", 0))
    .replace(struct.pack(">i", 0) + struct.pack(">q", 1_700_000_000_001),
             struct.pack(">i", 70000) + struct.pack(">q", 1_700_000_000_001)))

# store_recovery: the raw contents of 4096-byte CommitLog files (zero-padded by the target).
write("store_recovery", "empty", b"")
write("store_recovery", "one_record", records_from(0, TWO[:1]))
first = records_from(0, TWO)
first += blank(FILE_SIZE - len(first))
first = first.ljust(FILE_SIZE, b"\x00")
write("store_recovery", "two_files", first + records_from(FILE_SIZE, TWO))
torn = records_from(0, TWO)
write("store_recovery", "torn_tail", torn + records_from(len(torn), TWO[:1])[:40])
# Records up to 8 bytes short of the file end: exactly room for the blank marker.
big = records_from(0, TWO)
pad = FILE_SIZE - 8 - len(big) - len(record("P", b"", b"\x02"))
big += record("P", b"", b"x" * pad + b"\x02", physical=len(big))
write("store_recovery", "full_but_marker", big)
