#!/usr/bin/env python3
"""flip_byte.py FILE OFFSET: inverts the bits of the byte at OFFSET of FILE
(tests damage images with it)."""
import sys

path, at = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(at)
    byte = f.read(1)
    f.seek(at)
    f.write(bytes([byte[0] ^ 0xFF]))
