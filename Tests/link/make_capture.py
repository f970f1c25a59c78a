#!/usr/bin/env python3
"""Writes a pcap of dispatch-link frames for the Wireshark dissector's test.

UDP on loopback between the dispatch server (127.0.0.1:14600) and the drone
(127.0.0.1:14601), Ethernet link type, plain pcap written by hand. The frames are the
spec's test vectors (Tests/link/vectors.py) and more frames sealed with the same key by
Python's `cryptography` (nonce = AAD = the 12-byte header, docs/protocol.md), one of
every message type, then a tampered frame and a version-0 frame, which receivers drop.

Usage: make_capture.py OUT.pcap [--ports GROUND DRONE] [--random N]
  prints one line per frame: number, name, frame hex. --random N writes instead N frames
  of random headers and random payloads of 0...1172 bytes (the largest), all sealed
  correctly, to check the dissector's ChaCha20 and Poly1305 on every length class.
"""
import argparse
import random
import os
import struct
import sys

sys.dont_write_bytecode = True          # leave no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vectors import KEY, VECTORS, frame, header  # noqa: E402  (the spec vectors)

DRONE = 0x1234
TO_GROUND, TO_DRONE = 0, 1
GROUND_PORT, DRONE_PORT = 14600, 14601


def telemetry(time_ms, lat, lon, alt_dm, vn, ve, vd, hdg, pct, v10mv, temp, state, rope_mm, tension_dn, health):
    return bytes([0x01]) + struct.pack("<IiihhhhHBHbBHHH", time_ms, lat, lon, alt_dm, vn, ve, vd, hdg,
                                       pct, v10mv, temp, state, rope_mm, tension_dn, health)


def command(cid, kind, param=0, value=0.0):
    return bytes([0x10]) + struct.pack("<IBHf", cid, kind, param, value)


def command_ack(cid, result, duplicate):
    return bytes([0x11]) + struct.pack("<IBB", cid, result, duplicate)


def event(eid, time_ms, kind, a=0, b=0, c=0):
    return bytes([0x30]) + struct.pack("<IIBIii", eid, time_ms, kind, a, b, c)


def event_ack(eid):
    return bytes([0x31]) + struct.pack("<I", eid)


def mission_item(kind, lat, lon, height_dm, drop_dm=0, parcel=0):
    return struct.pack("<BiihHI", kind, lat, lon, height_dm, drop_dm, parcel)


def mission_chunk(mid, index, count, items):
    return bytes([0x20]) + struct.pack("<IHH", mid, index, count) + b"".join(items)


def mission_ack(mid, index, accepted):
    return bytes([0x21]) + struct.pack("<IHB", mid, index, accepted)


def frames():
    """(name, direction, frame bytes) in capture order. Drone epoch 7, ground epoch 3."""
    spec = {name: frame(hdr, pt) for name, hdr, pt in VECTORS}
    up = lambda ctr, pt: frame(header(TO_GROUND, DRONE, 1, 7, ctr), pt)    # noqa: E731
    down = lambda ctr, pt: frame(header(TO_DRONE, DRONE, 1, 3, ctr), pt)   # noqa: E731
    out = [
        ("spec telemetry", TO_GROUND, spec["telemetry"]),
        ("spec command (id 77, set parameter 12 = 2.5)", TO_DRONE, spec["command"]),
        ("command ack (id 77, accepted)", TO_GROUND, up(43, command_ack(77, 0, 0))),
        ("event (id 9, delivery confirmed, parcel 4711)", TO_GROUND,
         up(44, event(9, 123900, 2, 4711, 438765432, 1253245678))),
        ("spec event_ack (id 9)", TO_DRONE, spec["event_ack"]),
        ("command (id 78, return)", TO_DRONE, down(2, command(78, 5))),
        ("command ack (id 78, accepted, duplicate)", TO_GROUND, up(45, command_ack(78, 0, 1))),
        ("telemetry", TO_GROUND, up(46, telemetry(124500, 438770001, 1253250002, 300, 820, -15, -40,
                                                  9000, 63, 2228, -17, 6, 0, 0, 0x0006))),
        ("event (id 10, state change 5 -> 6)", TO_GROUND, up(47, event(10, 124510, 1, 5 << 8 | 6))),
        ("event ack (id 10)", TO_DRONE, down(3, event_ack(10))),
        ("heartbeat", TO_GROUND, up(48, bytes([0x02]) + struct.pack("<I", 125000))),
        ("time sync request", TO_DRONE, down(4, bytes([0x03]) + struct.pack("<Q", 1700000000123456))),
        ("time sync reply", TO_GROUND, up(49, bytes([0x04]) + struct.pack("<QQQ", 1700000000123456,
                                                                            125010500, 125010500))),
        ("mission chunk (mission 5, chunk 0 of 1, 2 items)", TO_DRONE, down(5, mission_chunk(5, 0, 1, [
            mission_item(1, 438800000, 1253300000, 800),
            mission_item(3, 438900000, 1253400000, 150, 120, 4711)]))),
        ("mission ack (mission 5, chunk 0, refused)", TO_GROUND, up(50, mission_ack(5, 0, 0))),
    ]
    tampered = bytearray(out[7][2])
    tampered[20] ^= 0x01                      # one ciphertext bit: the tag no longer matches
    out.append(("tampered telemetry (dropped by receivers)", TO_GROUND, bytes(tampered)))
    downgraded = bytearray(out[1][2])
    downgraded[0] = 0x01                      # version 0: counted as a downgrade and dropped
    out.append(("version 0 command (dropped by receivers)", TO_DRONE, bytes(downgraded)))
    return out


def random_frames(n, seed=6):
    rng = random.Random(seed)
    lengths = [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1172]
    lengths += [rng.randrange(0, 1173) for _ in range(max(0, n - len(lengths)))]
    out = []
    for length in lengths[:n]:
        direction = rng.randrange(2)
        hdr = header(direction, rng.randrange(1 << 16), rng.randrange(256), rng.randrange(1 << 32),
                     rng.randrange(1 << 32))
        out.append(("random %d-byte payload" % length, direction, frame(hdr, rng.randbytes(length))))
    return out


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(payload, sport, dport):
    """Ethernet (zero addresses, as on lo) + IPv4 127.0.0.1 -> 127.0.0.1 + UDP."""
    src = dst = bytes([127, 0, 0, 1])
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\x00" * 12 + b"\x08\x00" + ip + udp


def write_pcap(path, items, ground_port=GROUND_PORT, drone_port=DRONE_PORT):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # LINKTYPE_ETHERNET
        t = 1_700_000_000.0
        for i, (_, direction, data) in enumerate(items):
            sport, dport = (drone_port, ground_port) if direction == TO_GROUND else (ground_port, drone_port)
            pkt = packet(data, sport, dport)
            ts = t + i * 0.1
            f.write(struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)) % 1_000_000, len(pkt), len(pkt)))
            f.write(pkt)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Writes a pcap of dispatch-link frames.")
    ap.add_argument("out")
    ap.add_argument("--ports", nargs=2, type=int, metavar=("GROUND", "DRONE"), default=[GROUND_PORT, DRONE_PORT])
    ap.add_argument("--random", type=int, metavar="N", default=0)
    args = ap.parse_args()
    items = random_frames(args.random) if args.random else frames()
    write_pcap(args.out, items, *args.ports)
    for i, (name, _, data) in enumerate(items, 1):
        print(i, name, data.hex() if len(data) <= 120 else data[:60].hex() + "...")
    print("key", KEY.hex())
