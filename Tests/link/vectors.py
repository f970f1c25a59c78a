#!/usr/bin/env python3
"""Dispatch-link test vectors computed with the `cryptography` package's ChaCha20-Poly1305
(an implementation independent of ours and of libsodium's API), from the layout in
docs/protocol.md. Prints one line per vector: name, frame hex."""
import struct
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

KEY = bytes(range(32))


def header(direction, drone, key_id, epoch, counter):
    return bytes([0x10 | direction]) + struct.pack("<HBII", drone, key_id, epoch, counter)


def frame(hdr, plaintext):
    sealed = ChaCha20Poly1305(KEY).encrypt(hdr, plaintext, hdr)  # nonce = header, AAD = header
    return hdr + sealed


def telemetry():
    return bytes([0x01]) + struct.pack(
        "<IiihhhhHBHbBHHH",
        123456, 438765432, 1253245678, 1205, -150, 230, 45, 27015, 64, 2231, -18, 5, 12500, 2453, 0x0001)


def command():
    return bytes([0x10]) + struct.pack("<IBHf", 77, 7, 12, 2.5)


VECTORS = [
    ("telemetry", header(0, 0x1234, 1, 7, 42), telemetry()),
    ("command", header(1, 0x1234, 1, 3, 0), command()),
    ("event_ack", header(1, 0x1234, 1, 3, 1), bytes([0x31]) + struct.pack("<I", 9)),
]

if __name__ == "__main__":
    for name, hdr, pt in VECTORS:
        print(name, frame(hdr, pt).hex(), pt.hex())
