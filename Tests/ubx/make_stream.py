#!/usr/bin/env python3
"""Builds a raw u-blox receiver stream with pyubx2 (an implementation independent of
ours) for the UBX parser tests: NAV-PVT frames with random fields, NMEA sentences,
other UBX messages, random noise and deliberately corrupted frames in between.

usage: make_stream.py OUTDIR SEED [--wild]
writes OUTDIR/stream.bin and OUTDIR/expected.jsonl (one object per good NAV-PVT, the
fields as pyubx2 decodes them) and OUTDIR/counts.json (frames, corrupted).
Without --wild the noise never contains 0xB5, so that no noise can start a false frame
and every good frame must be recovered; with --wild the noise is any byte at all."""
import json
import os
import random
import sys

from pyubx2 import GET, UBXMessage, UBXReader
from pynmeagps import NMEAMessage
from pynmeagps import GET as NMEA_GET


def nav_pvt(rng):
    fields = dict(
        iTOW=rng.randrange(0, 604_800_000), year=2026, month=rng.randint(1, 12), day=rng.randint(1, 28),
        hour=rng.randint(0, 23), min=rng.randint(0, 59), second=rng.randint(0, 59),
        validDate=1, validTime=1, fixType=rng.choice([0, 2, 3, 3, 3, 4]), gnssFixOk=rng.randint(0, 1),
        carrSoln=rng.choice([0, 1, 2]), numSV=rng.randint(0, 40),
        lon=round(rng.uniform(-180, 180), 7), lat=round(rng.uniform(-90, 90), 7),
        height=rng.randint(-100_000, 3_000_000), hMSL=rng.randint(-100_000, 3_000_000),
        hAcc=rng.randint(5, 100_000), vAcc=rng.randint(5, 100_000),
        velN=rng.randint(-40_000, 40_000), velE=rng.randint(-40_000, 40_000), velD=rng.randint(-10_000, 10_000),
        gSpeed=rng.randint(0, 50_000), headMot=round(rng.uniform(0, 359.99999), 5),
        sAcc=rng.randint(10, 5000), headAcc=round(rng.uniform(0, 180), 5), pDOP=round(rng.uniform(0.5, 20), 2),
    )
    return UBXMessage("NAV", "NAV-PVT", GET, **fields)


def expected(raw):
    m = UBXReader.parse(raw)
    return {
        "iTOW": m.iTOW if isinstance(m.iTOW, int) else None,
        "fixType": m.fixType, "carrSoln": m.carrSoln, "numSV": m.numSV,
        "lat": m.lat, "lon": m.lon,
        "heightM": m.height / 1000, "hMSLM": m.hMSL / 1000, "hAccM": m.hAcc / 1000, "vAccM": m.vAcc / 1000,
        "velN": m.velN / 1000, "velE": m.velE / 1000, "velD": m.velD / 1000, "gSpeed": m.gSpeed / 1000,
        "headMot": m.headMot,
    }


def main():
    out, seed = sys.argv[1], int(sys.argv[2])
    wild = "--wild" in sys.argv
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    stream = bytearray()
    good = []
    corrupted = 0
    nmea = 0
    for _ in range(200):
        kind = rng.random()
        if kind < 0.15:
            s = NMEAMessage("GN", "GGA", NMEA_GET, lat=rng.uniform(-89, 89), lon=rng.uniform(-179, 179),
                            quality=1, numSV=rng.randint(4, 30)).serialize()
            stream += s
            nmea += 1
        elif kind < 0.25:
            noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
            if not wild:
                noise = noise.replace(b"\xb5", b"\xb4")
            stream += noise
        elif kind < 0.30:
            stream += UBXMessage("MON", "MON-VER", 2).serialize()  # a poll: another message
        elif kind < 0.37:
            raw = bytearray(nav_pvt(rng).serialize())
            raw[6 + rng.randrange(92)] ^= 1 << rng.randrange(8)  # one payload bit flipped
            stream += raw
            corrupted += 1
        else:
            raw = nav_pvt(rng).serialize()
            stream += raw
            good.append(expected(raw))
    with open(os.path.join(out, "stream.bin"), "wb") as f:
        f.write(stream)
    with open(os.path.join(out, "expected.jsonl"), "w") as f:
        for g in good:
            f.write(json.dumps(g) + "\n")
    with open(os.path.join(out, "counts.json"), "w") as f:
        json.dump({"frames": len(good), "corrupted": corrupted, "nmea": nmea}, f)


if __name__ == "__main__":
    main()
