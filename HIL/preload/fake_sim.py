#!/usr/bin/env python3
"""Reference simulator for the plumbfake protocol (PROTOCOL.md).

Serves what the tests need, not the HIL world: I2C bus 1 with a register-bank device at 0x36
(AS5600-like: 8-bit register pointer, auto-increment) and an SMBus word device at 0x0B (a smart
battery's words and blocks), every other address NACKs; GPIO chip 0 "plumb-sim" with 8 named
lines whose inputs are driven from the control socket. With --virtual-clock it owns simulation
time: the program's sleeps jump straight to their deadline, and gnss_pps pulses (100 ms high)
at every whole second of simulation time.

  fake_sim.py serve --socket PATH [--virtual-clock]
  fake_sim.py ctl --socket PATH COMMAND...

The control socket is PATH + ".ctl", one text command per line, one reply line ("ok ..." or
"err ..."):
  set LINE 0|1        drive an input line (name or offset); queues edge events
  get LINE            -> ok LEVEL in|out CONSUMER|-   (physical level)
  reg ADDR REG [VAL]  read or write a register (byte at 0x36, word at 0x0B)
  nack ADDR 0|1       make an address NACK (or stop NACKing)
  handles             -> ok N   (GPIO handles currently requested)
  time                -> ok NS  (simulation time)
  stats               -> ok i2c=N sleeps=N connections=N
  quit                stop the simulator
"""

import argparse
import collections
import errno
import os
import selectors
import signal
import socket
import struct
import sys
import time

MAGIC = 0x4C484C50  # the bytes "PLHL" as a little-endian u32
VERSION = 1
FLAG_VCLOCK = 0x0001
TIME_NONE = (1 << 64) - 1
HDR = struct.Struct("<IHH")
MAX_PAYLOAD = 65536 + 1024
RESPONSE = 0x8000

T_HELLO = 0x0001
T_GET_TIME = 0x0002
T_I2C_TRANSFER = 0x0010
T_GPIO_LINE_INFO = 0x0020
T_GPIO_REQUEST_HANDLE = 0x0021
T_GPIO_REQUEST_EVENT = 0x0022
T_GPIO_GET_VALUES = 0x0023
T_GPIO_SET_VALUES = 0x0024
T_GPIO_SET_CONFIG = 0x0025
T_GPIO_READ_EVENTS = 0x0026
T_GPIO_RELEASE = 0x0027
T_SLEEP_UNTIL = 0x0030
T_CANCEL_SLEEP = 0x0031

I2C_M_RD = 0x0001
I2C_M_TEN = 0x0010
I2C_M_RECV_LEN = 0x0400

I2C_FUNCS = (0x00000001      # I2C_FUNC_I2C
             | 0x00000008    # SMBUS_PEC
             | 0x00008000    # SMBUS_BLOCK_PROC_CALL
             | 0x00010000    # SMBUS_QUICK
             | 0x00060000    # SMBUS_BYTE
             | 0x00180000    # SMBUS_BYTE_DATA
             | 0x00600000    # SMBUS_WORD_DATA
             | 0x00800000    # SMBUS_PROC_CALL
             | 0x03000000    # SMBUS_BLOCK_DATA
             | 0x0C000000)   # SMBUS_I2C_BLOCK

LINE_KERNEL, LINE_IS_OUT, LINE_ACTIVE_LOW = 1, 2, 4
LINE_OPEN_DRAIN, LINE_OPEN_SOURCE = 8, 16
LINE_PULL_UP, LINE_PULL_DOWN, LINE_BIAS_DISABLE = 32, 64, 128
REQ_INPUT, REQ_OUTPUT, REQ_ACTIVE_LOW = 1, 2, 4
REQ_OPEN_DRAIN, REQ_OPEN_SOURCE = 8, 16
REQ_BIAS = 32 | 64 | 128
EV_RISING, EV_FALLING = 1, 2
MAX_EVENTS = 16
MAX_CONNECTIONS = 32
MAX_LINE_LEN = 256


class Fail(Exception):
    """A request that fails with a Linux errno."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise Fail(errno.EPROTO)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def string(self):
        return self.take(self.u8()).decode("utf-8", "replace")


def pack_str(s):
    b = s.encode()[:31]
    return bytes([len(b)]) + b


# ---- I2C devices -----------------------------------------------------------------------------

class RegisterBank:
    """8-bit register pointer: a write sets it (and writes what follows), reads auto-increment."""

    def __init__(self, regs):
        self.regs = bytearray(256)
        for k, v in regs.items():
            self.regs[k] = v
        self.ptr = 0

    def message(self, flags, data, length):
        if flags & I2C_M_RD:
            if flags & I2C_M_RECV_LEN:
                raise Fail(errno.EIO)
            out = bytearray()
            for _ in range(length):
                out.append(self.regs[self.ptr])
                self.ptr = (self.ptr + 1) & 0xFF
            return bytes(out)
        if data:
            self.ptr = data[0]
            for b in data[1:]:
                self.regs[self.ptr] = b
                self.ptr = (self.ptr + 1) & 0xFF
        return b""

    def ctl(self, reg, value=None):
        if value is not None:
            self.regs[reg & 0xFF] = value & 0xFF
        return self.regs[reg & 0xFF]


class SmbusWords:
    """SMBus commands that answer 16-bit little-endian words or length-prefixed blocks."""

    def __init__(self, words, blocks):
        self.words = dict(words)
        self.blocks = dict(blocks)
        self.cmd = 0

    def message(self, flags, data, length):
        if not flags & I2C_M_RD:
            if data:
                self.cmd = data[0]
                if len(data) == 3 and self.cmd in self.words:
                    self.words[self.cmd] = data[1] | data[2] << 8
            return b""
        if self.cmd in self.blocks:
            block = self.blocks[self.cmd][:32]
            out = bytes([len(block)]) + block
        elif self.cmd in self.words:
            out = struct.pack("<H", self.words[self.cmd] & 0xFFFF)
        else:
            raise Fail(errno.EREMOTEIO)     # command not acknowledged
        return (out + b"\xff" * length)[:length]

    def ctl(self, reg, value=None):
        if value is not None:
            self.words[reg] = value & 0xFFFF
        return self.words.get(reg, 0)


# ---- GPIO --------------------------------------------------------------------------------------------

class Line:
    def __init__(self, name, level=0):
        self.name = name
        self.level = level          # physical input level driven by the simulation
        self.out = 0                # physical level the program drives
        self.is_out = False
        self.owner = None           # Handle

    def physical(self):
        return self.out if self.is_out else self.level


class Handle:
    def __init__(self, hid, conn, chip, offsets, flags, consumer, events=0, bell=None):
        self.id, self.conn, self.chip = hid, conn, chip
        self.offsets, self.flags, self.consumer = offsets, flags, consumer
        self.events = events        # GPIOEVENT_REQUEST_* (0 = a values handle)
        self.bell = bell            # simulator's end of the doorbell socketpair
        self.queue = collections.deque()

    def active_low(self):
        return 1 if self.flags & REQ_ACTIVE_LOW else 0


class Chip:
    def __init__(self, num, label, names):
        self.num, self.label = num, label
        self.lines = [Line(n) for n in names]

    def find(self, key):
        for i, line in enumerate(self.lines):
            if line.name == key:
                return i
        try:
            i = int(key, 0)
        except ValueError:
            return None
        return i if 0 <= i < len(self.lines) else None


# ---- the simulator ---------------------------------------------------------------------------------

class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.hello = False
        self.name = "?"
        self.sleep_seq = None       # seq of a SLEEP_UNTIL not yet answered
        self.handles = {}


class Sim:
    def __init__(self, path, virtual):
        self.path = path
        self.virtual = virtual
        self.sim_ns = 1_000_000_000 if virtual else 0
        self.pps_next = 2_000_000_000
        self.devices = {
            0x36: RegisterBank({0x0B: 0x20, 0x0C: 0x0A, 0x0D: 0xBC, 0x0E: 0x0A, 0x0F: 0xBC,
                                0x1A: 0x80, 0x1B: 0x06, 0x1C: 0x40}),
            0x0B: SmbusWords({0x08: 2981, 0x09: 25200, 0x0A: (-1500) & 0xFFFF, 0x0D: 87,
                              0x0F: 14000, 0x10: 16000},
                             {0x20: b"PlumbSim", 0x21: b"SIM6S"}),
        }
        self.nack = set()
        self.chip = Chip(0, "plumb-sim", ["hook_latched", "drum_home", "gnss_pps", "brake",
                                          "cutter_arm", "cutter_fire", "status_led", "spare"])
        self.next_handle = 1
        self.stats = collections.Counter()
        self.sel = selectors.DefaultSelector()
        self.running = True

    def now(self):
        return self.sim_ns if self.virtual else time.monotonic_ns()

    # ---- framing ----

    def reply(self, conn, rtype, seq, status=0, body=b"", fd=None):
        payload = struct.pack("<IQ", status, self.now()) + (body if status == 0 else b"")
        frame = HDR.pack(len(payload), rtype | RESPONSE, seq) + payload
        try:
            if fd is not None:
                sent = socket.send_fds(conn.sock, [frame], [fd])
                if sent < len(frame):
                    conn.sock.sendall(frame[sent:])
            else:
                conn.sock.sendall(frame)
        except OSError:
            self.drop(conn)

    def on_readable(self, conn):
        try:
            data = conn.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.drop(conn)
            return
        conn.buf += data
        for _ in range(1000):                   # frames handled per wake-up
            if len(conn.buf) < HDR.size:
                return
            length, rtype, seq = HDR.unpack_from(conn.buf)
            if length > MAX_PAYLOAD:
                print(f"fake_sim: {conn.name}: frame of {length} bytes, closing", file=sys.stderr)
                self.drop(conn)
                return
            if len(conn.buf) < HDR.size + length:
                return
            payload = bytes(conn.buf[HDR.size:HDR.size + length])
            del conn.buf[:HDR.size + length]
            self.dispatch(conn, rtype, seq, payload)
            if conn.sock.fileno() < 0:
                return

    def dispatch(self, conn, rtype, seq, payload):
        if rtype == T_CANCEL_SLEEP:             # no reply of its own
            if len(payload) >= 2 and conn.sleep_seq == struct.unpack_from("<H", payload)[0]:
                self.wake(conn)
            return
        r = Reader(payload)
        fd = None
        try:
            if rtype != T_HELLO and not conn.hello:
                raise Fail(errno.EPROTO)
            handler = {
                T_HELLO: self.hello,
                T_GET_TIME: lambda c, rd: b"",
                T_I2C_TRANSFER: self.i2c_transfer,
                T_GPIO_LINE_INFO: self.line_info,
                T_GPIO_REQUEST_HANDLE: self.request_handle,
                T_GPIO_REQUEST_EVENT: self.request_event,
                T_GPIO_GET_VALUES: self.get_values,
                T_GPIO_SET_VALUES: self.set_values,
                T_GPIO_SET_CONFIG: self.set_config,
                T_GPIO_READ_EVENTS: self.read_events,
                T_GPIO_RELEASE: self.release,
                T_SLEEP_UNTIL: self.sleep_until,
            }.get(rtype)
            if handler is None:
                raise Fail(errno.EOPNOTSUPP)
            body = handler(conn, r)
            if body is None:                    # answered later (SLEEP_UNTIL)
                conn.sleep_seq = seq
                return
            if isinstance(body, tuple):
                body, fd = body
            self.reply(conn, rtype, seq, 0, body, fd)
        except Fail as f:
            self.reply(conn, rtype, seq, f.code)
        finally:
            if fd is not None:
                os.close(fd)

    # ---- requests ----

    def hello(self, conn, r):
        if r.u32() != MAGIC:
            raise Fail(errno.EPROTO)
        if r.u16() != VERSION:
            raise Fail(errno.EPROTONOSUPPORT)
        r.u16()
        pid = r.u32()
        conn.name = f"{r.string()}[{pid}]"
        conn.hello = True
        flags = FLAG_VCLOCK if self.virtual else 0
        body = struct.pack("<HHQ", VERSION, flags, 1_750_000_000 * 10**9)
        body += bytes([1]) + struct.pack("<BI", 1, I2C_FUNCS)
        body += bytes([1, self.chip.num]) + pack_str(self.chip.label) + bytes([len(self.chip.lines)])
        for line in self.chip.lines:
            body += pack_str(line.name)
        return body

    def i2c_transfer(self, conn, r):
        bus, n = r.u8(), r.u8()
        r.u16()
        if bus != 1:
            raise Fail(errno.ENODEV)
        if not 1 <= n <= 42:
            raise Fail(errno.EINVAL)
        msgs = [(r.u16(), r.u16(), r.u16()) for _ in range(n)]
        writes = [r.take(length) if not flags & I2C_M_RD else b"" for (_, flags, length) in msgs]
        if r.pos != len(r.data):
            raise Fail(errno.EPROTO)
        self.stats["i2c"] += 1
        out = b""
        for (addr, flags, length), data in zip(msgs, writes):
            dev = self.devices.get(addr)
            if dev is None or addr in self.nack or flags & I2C_M_TEN:
                raise Fail(errno.ENXIO)
            out += dev.message(flags, data, length)
        return out

    def owner_of(self, conn, hid):
        h = conn.handles.get(hid)
        if h is None:
            raise Fail(errno.EBADF)
        return h

    def line_info(self, conn, r):
        chip, off = r.u8(), r.u8()
        if chip != self.chip.num or off >= len(self.chip.lines):
            raise Fail(errno.EINVAL)
        line = self.chip.lines[off]
        flags, consumer = 0, ""
        if line.is_out:
            flags |= LINE_IS_OUT
        h = line.owner
        if h is not None:
            flags |= LINE_KERNEL
            consumer = h.consumer
            if h.flags & REQ_ACTIVE_LOW:
                flags |= LINE_ACTIVE_LOW
            if h.flags & REQ_OPEN_DRAIN:
                flags |= LINE_OPEN_DRAIN
            if h.flags & REQ_OPEN_SOURCE:
                flags |= LINE_OPEN_SOURCE
            flags |= h.flags & REQ_BIAS
        return struct.pack("<I", flags) + pack_str(consumer)

    def check_flags(self, flags):
        if flags & REQ_INPUT and flags & REQ_OUTPUT:
            raise Fail(errno.EINVAL)
        if flags & (REQ_OPEN_DRAIN | REQ_OPEN_SOURCE) and not flags & REQ_OUTPUT:
            raise Fail(errno.EINVAL)

    def apply_direction(self, h, flags, defaults):
        for i, off in enumerate(h.offsets):
            line = self.chip.lines[off]
            if flags & REQ_OUTPUT:
                line.is_out = True
                line.out = (defaults[i] if i < len(defaults) else 0) ^ (1 if flags & REQ_ACTIVE_LOW else 0)
            elif flags & REQ_INPUT:
                line.is_out = False

    def request_handle(self, conn, r):
        chip, n = r.u8(), r.u8()
        r.u16()
        flags = r.u32()
        offsets = list(r.take(n))
        defaults = list(r.take(n))
        consumer = r.string()
        if chip != self.chip.num or not 1 <= n <= 64 or any(o >= len(self.chip.lines) for o in offsets):
            raise Fail(errno.EINVAL)
        if len(set(offsets)) != n:
            raise Fail(errno.EBUSY)
        self.check_flags(flags)
        if any(self.chip.lines[o].owner is not None for o in offsets):
            raise Fail(errno.EBUSY)
        h = Handle(self.next_handle, conn, chip, offsets, flags, consumer)
        self.next_handle += 1
        for o in offsets:
            self.chip.lines[o].owner = h
        self.apply_direction(h, flags, defaults)
        conn.handles[h.id] = h
        return struct.pack("<I", h.id)

    def request_event(self, conn, r):
        chip, off = r.u8(), r.u8()
        r.u16()
        flags, events = r.u32(), r.u32()
        consumer = r.string()
        if chip != self.chip.num or off >= len(self.chip.lines):
            raise Fail(errno.EINVAL)
        if flags & REQ_OUTPUT or flags & (REQ_OPEN_DRAIN | REQ_OPEN_SOURCE):
            raise Fail(errno.EINVAL)
        line = self.chip.lines[off]
        if line.owner is not None:
            raise Fail(errno.EBUSY)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        ours.setblocking(False)
        h = Handle(self.next_handle, conn, chip, [off], flags | REQ_INPUT, consumer, events or 3, ours)
        self.next_handle += 1
        line.owner = h
        line.is_out = False
        conn.handles[h.id] = h
        return struct.pack("<I", h.id), theirs.detach()

    def get_values(self, conn, r):
        h = self.owner_of(conn, r.u32())
        vals = bytes(self.chip.lines[o].physical() ^ h.active_low() for o in h.offsets)
        return bytes([len(vals)]) + vals

    def set_values(self, conn, r):
        h = self.owner_of(conn, r.u32())
        n = r.u8()
        vals = r.take(n)
        if h.events or not h.flags & REQ_OUTPUT:
            raise Fail(errno.EPERM)
        if n != len(h.offsets):
            raise Fail(errno.EINVAL)
        for o, v in zip(h.offsets, vals):
            self.chip.lines[o].out = (1 if v else 0) ^ h.active_low()
        return b""

    def set_config(self, conn, r):
        h = self.owner_of(conn, r.u32())
        flags = r.u32()
        n = r.u8()
        defaults = list(r.take(n))
        if h.events:
            raise Fail(errno.EINVAL)
        self.check_flags(flags)
        h.flags = flags
        self.apply_direction(h, flags, defaults)
        return b""

    def read_events(self, conn, r):
        h = self.owner_of(conn, r.u32())
        limit = r.u8()
        if not h.events:
            raise Fail(errno.EINVAL)
        out = b""
        n = 0
        while h.queue and n < min(limit, MAX_EVENTS):
            ts, kind = h.queue.popleft()
            out += struct.pack("<QI", ts, kind)
            n += 1
        return bytes([n]) + out

    def release(self, conn, r):
        h = self.owner_of(conn, r.u32())
        self.free(h)
        return b""

    def free(self, h):
        for o in h.offsets:
            if self.chip.lines[o].owner is h:
                self.chip.lines[o].owner = None
        if h.bell is not None:
            h.bell.close()
            h.bell = None
        h.conn.handles.pop(h.id, None)

    # ---- time ----

    def sleep_until(self, conn, r):
        deadline = r.u64()
        if not self.virtual:
            raise Fail(errno.EOPNOTSUPP)
        self.stats["sleeps"] += 1
        for _ in range(100_000):                # scheduled happenings per sleep
            if self.pps_next > deadline:
                break
            self.sim_ns = max(self.sim_ns, self.pps_next)
            pps = self.chip.lines[2]
            rang = self.drive(2, 0 if pps.level else 1)
            self.pps_next += 100_000_000 if pps.level else 900_000_000
            if conn in rang:
                return b""                      # input delivered: wake the program now
        if deadline == TIME_NONE:
            return None                         # wait for input from the control socket
        self.sim_ns = max(self.sim_ns, deadline)
        return b""

    def wake(self, conn):
        if conn.sleep_seq is not None:
            seq, conn.sleep_seq = conn.sleep_seq, None
            self.reply(conn, T_SLEEP_UNTIL, seq)

    def drive(self, off, level):
        """Sets an input's physical level, queues edges; returns the connections it rang."""
        line = self.chip.lines[off]
        if line.level == level:
            return set()
        line.level = level
        h = line.owner
        if h is None or not h.events or line.is_out:
            return set()
        logical = level ^ h.active_low()
        kind = EV_RISING if logical else EV_FALLING
        if not h.events & kind or len(h.queue) >= MAX_EVENTS:
            return set()
        h.queue.append((self.now(), kind))
        try:
            h.bell.send(b"\x01")
        except OSError:
            pass
        return {h.conn}

    # ---- control socket ----

    def control(self, text):
        words = text.split()
        if not words:
            return "err empty command"
        cmd, args = words[0], words[1:]
        try:
            if cmd == "set" and len(args) == 2:
                off = self.chip.find(args[0])
                if off is None:
                    return "err no such line"
                if self.chip.lines[off].is_out:
                    return "err line is an output"
                for conn in self.drive(off, 1 if int(args[1]) else 0):
                    self.wake(conn)
                return "ok"
            if cmd == "get" and len(args) == 1:
                off = self.chip.find(args[0])
                if off is None:
                    return "err no such line"
                line = self.chip.lines[off]
                owner = line.owner.consumer if line.owner and line.owner.consumer else "-"
                return f"ok {line.physical()} {'out' if line.is_out else 'in'} {owner}"
            if cmd == "reg" and len(args) in (2, 3):
                dev = self.devices.get(int(args[0], 0))
                if dev is None:
                    return "err no device"
                value = dev.ctl(int(args[1], 0), int(args[2], 0) if len(args) == 3 else None)
                return f"ok 0x{value:02x}"
            if cmd == "nack" and len(args) == 2:
                addr = int(args[0], 0)
                (self.nack.add if int(args[1]) else self.nack.discard)(addr)
                return "ok"
            if cmd == "handles":
                return f"ok {sum(1 for line in self.chip.lines if line.owner is not None)}"
            if cmd == "time":
                return f"ok {self.now()}"
            if cmd == "stats":
                conns = sum(1 for k in self.sel.get_map().values() if isinstance(k.data, Conn))
                return f"ok i2c={self.stats['i2c']} sleeps={self.stats['sleeps']} connections={conns}"
            if cmd == "quit":
                self.running = False
                return "ok"
        except ValueError:
            return "err bad number"
        return "err unknown command"

    def on_control(self, sock, state):
        try:
            data = sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(sock)
            sock.close()
            return
        state += data
        if len(state) > MAX_LINE_LEN and b"\n" not in state:
            self.sel.unregister(sock)
            sock.close()
            return
        while b"\n" in state:
            line, _, rest = bytes(state).partition(b"\n")
            state[:] = rest
            answer = self.control(line.decode("utf-8", "replace"))
            try:
                sock.sendall(answer.encode() + b"\n")
            except OSError:
                pass

    # ---- plumbing ----

    def drop(self, conn):
        for h in list(conn.handles.values()):
            self.free(h)
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()

    def serve(self):
        for p in (self.path, self.path + ".ctl"):
            if os.path.exists(p):
                os.unlink(p)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(16)
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ctl.bind(self.path + ".ctl")
        ctl.listen(4)
        self.sel.register(listener, selectors.EVENT_READ, "listen")
        self.sel.register(ctl, selectors.EVENT_READ, "ctl")
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "running", False))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "running", False))
        print(f"fake_sim: serving {self.path}{' (virtual clock)' if self.virtual else ''}", flush=True)
        try:
            while self.running:
                for key, _ in self.sel.select(timeout=0.5):
                    if key.data == "listen":
                        sock, _ = listener.accept()
                        if len(self.sel.get_map()) > MAX_CONNECTIONS + 2:
                            sock.close()
                            continue
                        self.sel.register(sock, selectors.EVENT_READ, Conn(sock))
                    elif key.data == "ctl":
                        sock, _ = ctl.accept()
                        self.sel.register(sock, selectors.EVENT_READ, bytearray())
                    elif isinstance(key.data, Conn):
                        self.on_readable(key.data)
                    else:
                        self.on_control(key.fileobj, key.data)
        finally:
            for p in (self.path, self.path + ".ctl"):
                try:
                    os.unlink(p)
                except OSError:
                    pass


def ctl_command(path, words, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path + ".ctl")
        s.sendall(" ".join(words).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n") and len(data) < MAX_LINE_LEN:
            chunk = s.recv(MAX_LINE_LEN)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        print(f"fake_sim ctl: {path}.ctl: {e}", file=sys.stderr)
        return 2
    finally:
        s.close()
    answer = data.decode().strip()
    print(answer)
    return 0 if answer.startswith("ok") else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["serve", "ctl"])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--virtual-clock", action="store_true")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("words", nargs="*")
    a = ap.parse_intermixed_args()
    if a.mode == "ctl":
        return ctl_command(a.socket, a.words, a.timeout)
    Sim(a.socket, a.virtual_clock).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
