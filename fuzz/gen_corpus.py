#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (run from anywhere).

Frames are built here, independently of the core's encoder. The session targets
take `arbitrary`-encoded input: `Arb` below writes that encoding (arbitrary 1.x:
little-endian integers, a bool byte before each element of a Vec or an Option,
enum variant i of n as the u32 ceil(i * 2^32 / n)).
"""
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def frame(opcode, payload=b"", fin=True, rsv=0, mask=None, length_form=None):
    """An RFC 6455 frame; length_form 126/127 forces a longer length encoding."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    form = length_form or (n if n < 126 else 126 if n < 65536 else 127)
    if form < 126:
        head = bytes([b0, mbit | n])
    elif form == 126:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        head += bytes(mask)
        payload = bytes(p ^ mask[i % 4] for i, p in enumerate(payload))
    return head + payload


def close(code, reason=b""):
    return struct.pack(">H", code) + reason


KEY = bytes([0x37, 0xFA, 0x21, 0x3D])
TEXT, BIN, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10

# Frames a server sends (unmasked) covering each opcode and length class.
SERVER_FRAMES = {
    "text": frame(TEXT, b"Hello"),
    "binary": frame(BIN, bytes(range(16))),
    "fragments": frame(TEXT, b"Hel", fin=False) + frame(PING, b"x") + frame(CONT, b"lo"),
    "ping": frame(PING, b"ping"),
    "pong": frame(PONG, b""),
    "close": frame(CLOSE, close(1000, b"bye")),
    "close-empty": frame(CLOSE),
    "len126": frame(BIN, b"\x07" * 200),
    "len127-nonminimal": frame(BIN, b"\x09" * 3, length_form=127),
    "len127-header-only": bytes([0x82, 127]) + struct.pack(">Q", 70000) + b"abc",
    "utf8-split": frame(TEXT, "κό".encode()[:3], fin=False) + frame(CONT, "κό".encode()[3:]),
    "bad-utf8": frame(TEXT, b"\xce\xba\xff"),
    "reserved-opcode": bytes([0x83, 0]),
    "rsv1": frame(TEXT, b"x", rsv=4),
}


class Arb:
    """Writes bytes that `arbitrary` decodes into the given values."""

    def __init__(self):
        self.out = bytearray()

    def u8(self, v):
        self.out += bytes([v & 0xFF])
        return self

    def u16(self, v):
        self.out += struct.pack("<H", v)
        return self

    def variant(self, i, n):
        self.out += struct.pack("<I", -(-(i << 32) // n))
        return self

    def vec(self, data):
        for b in data:
            self.out += bytes([1, b])
        self.out += b"\x00"
        return self

    def frame_spec(self, opcode, payload, fin=True, mask=None):
        self.u8(fin).u8(0).u8(opcode)
        if mask:
            self.u8(1).out.extend(mask)
        else:
            self.u8(0)
        return self.vec(payload)


# Op variants of fuzz/src/lib.rs, in declaration order.
OPS = ["Input", "Upgrade", "Frame", "Deflated", "SendText", "SendBinary", "Ping", "Pong",
       "Close", "Tick", "TickToDeadline", "Transmit", "TransmitAll", "Eof"]
# ExtName and ExtParam variants.
EXT_NAMES = ["Deflate", "DeflateMixedCase", "Other"]
EXT_PARAMS = ["ServerNoContextTakeover", "ClientNoContextTakeover", "ServerMaxWindowBits",
              "ClientMaxWindowBits", "QuotedServerBits", "Odd"]


def deflate_spec(a, client_bits=7, server_bits=None, client_reset=False, server_reset=False,
                 level=6, min_size=0):
    """A DeflateSpec: window bits are 8 + n % 8 (7 is 15), 255 is out of range."""
    a.u8(1).u8(client_bits)
    if server_bits is None:
        a.u8(0)
    else:
        a.u8(1).u8(server_bits)
    return a.u8(client_reset).u8(server_reset).u8(level).u8(min_size)


def extensions(a, elements):
    """An ExtensionsHeader: [(name, [(param, value?)...])...]."""
    a.u8(1)
    for name, params in elements:
        a.u8(1).variant(EXT_NAMES.index(name), len(EXT_NAMES))
        for param, *value in params:
            a.u8(1).variant(EXT_PARAMS.index(param), len(EXT_PARAMS))
            if param in ("ServerMaxWindowBits", "ClientMaxWindowBits"):
                if value and value[0] is not None:
                    a.u8(1).u8(value[0])
                else:
                    a.u8(0)
            elif param in ("QuotedServerBits", "Odd"):
                a.u8(value[0])
        a.u8(0)
    return a.u8(0)


def deflated(a, text, data, fin=True, mask=None, window=6, reset=False, level=6, split=0,
             repeat=0):
    """A DeflatedSpec: the peer's window is 9 + window % 7 (6 is 15)."""
    a.u8(text).u8(fin)
    if mask:
        a.u8(1).out.extend(mask)
    else:
        a.u8(0)
    a.u8(window).u8(reset).u8(level).u8(split).u8(repeat)
    return a.vec(data)


def session(ops, wire=b"", max_frame=4096, max_message=8192, max_buffered=1024,
            fragment=0, keepalive=0, deflate=None, ext=None):
    a = Arb().u8(1).u16(max_frame).u16(max_message).u16(max_buffered).u8(fragment).u8(keepalive)
    if deflate is None:
        a.u8(0)
    else:
        deflate_spec(a, **deflate)
    if ext is None:
        a.u8(0)
    else:
        extensions(a, ext)
    for op in ops:
        name, *args = op
        a.u8(1).variant(OPS.index(name), len(OPS))
        if name in ("Input",):
            a.u8(args[0])
        elif name == "Frame":
            a.frame_spec(*args)
        elif name == "Deflated":
            deflated(a, *args[:2], **(args[2] if len(args) > 2 else {}))
        elif name in ("SendText", "SendBinary", "Ping", "Pong"):
            a.vec(args[0])
        elif name == "Close":
            a.u16(args[0]).vec(args[1])
        elif name in ("Tick", "Transmit"):
            a.u16(args[0])
    a.u8(0)
    return bytes(a.out) + wire


JSON = b'{"symbol":"BTC-USD","bid":43210.5,"ask":43211.0,"size":0.25}' * 3

# The wire bytes of a server_session input that once failed (see below).
OVER_LIMIT_WIRE = bytes.fromhex(
    "474554202f6368617420485454502f312e310d0a486f73743a20736f636b65740d0a436f6e6e656374696f"
    "6e3ae5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e52c2c2cffffffffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "2c2c2e2c282c2c2c2c6c652e636f650d0a557067726164653a20776562736f636b65740a0d0a8185fa436f"
    "6265")

UPGRADE = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


def corpora():
    c = {}
    c["frame_decoder"] = {f"{name}": b"\x0e\x2a" + f for name, f in SERVER_FRAMES.items()}
    c["frame_decoder"]["masked-rfc"] = b"\x0f\x05" + frame(TEXT, b"Hello", mask=KEY)
    c["frame_decoder"]["masked-all"] = b"\xaf\x07" + b"".join(
        frame(op, p, mask=KEY) for op, p in [(TEXT, b"hi"), (PING, b""), (CLOSE, close(1001))])
    c["frame_decoder"]["tiny-limit"] = b"\x40\x01" + frame(BIN, b"too long")

    ok = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n")
    c["handshake_response"] = {
        "valid": b"\x00" + ok + b"\r\n",
        "valid-then-frames": b"\x00" + ok + b"\r\n" + SERVER_FRAMES["text"] + SERVER_FRAMES["close"],
        "protocol": b"\x01" + ok + b"Sec-WebSocket-Protocol: chat\r\n\r\n",
        "unoffered-protocol": b"\x00" + ok + b"Sec-WebSocket-Protocol: chat\r\n\r\n",
        "extension": b"\x00" + ok + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        "bad-accept": b"\x00" + ok.replace(b"{accept}", b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") + b"\r\n",
        "redirect": b"\x00HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\n\r\n",
        "http10": b"\x00" + ok.replace(b"HTTP/1.1", b"HTTP/1.0") + b"\r\n",
        "no-upgrade": b"\x00HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
        "partial": b"\x00" + ok,
    }

    connect_ok = b"HTTP/1.1 200 Connection established\r\n\r\n"
    socks_ok = b"\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\x1f\x90"
    c["proxy_answer"] = {
        "http-then-101": b"\x00" + connect_ok + ok + b"\r\n",
        "http-407": b"\x00HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b"Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n",
        "http-interim": b"\x03HTTP/1.1 100 Continue\r\n\r\n" + connect_ok + ok + b"\r\n",
        "socks-then-101": b"\x01" + socks_ok + ok + b"\r\n",
        "socks-auth-then-101": b"\x02\x05\x02\x01\x00\x05\x00\x00\x03\x03abc\x00\x50" + ok + b"\r\n",
        "socks-refused": b"\x01\x05\x00\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00",
        "socks-auth-failed": b"\x02\x05\x02\x01\x01",
        "http-to-socks": b"\x00\x05\x00",
    }

    c["close_payload"] = {
        "empty": b"", "one-byte": b"\x03", "normal": close(1000),
        "reason": close(1001, b"going away"), "no-status": close(1005),
        "app-utf8": close(3000, "κόσμε".encode()), "private": close(4999, b"x"),
        "bad-utf8": close(1000, b"\xff"), "max-reason": close(1000, b"r" * 123),
        "reserved": close(1016),
    }

    c["utf8"] = {
        "ascii": b"hello", "greek": "κόσμε".encode(), "astral": "𝄞 music".encode(),
        "max": b"\xf4\x8f\xbf\xbf", "over-max": b"\xf4\x90\x80\x80", "surrogate": b"\xed\xa0\x80",
        "overlong": b"\xc0\xaf", "truncated": b"\xce\xba\xe1\xbd", "lone-cont": b"\x80",
    }

    server_bytes = b"".join(SERVER_FRAMES[k] for k in ("text", "fragments", "ping", "len126"))
    c["client_session"] = {
        "echo": session([("Input", 255), ("SendText", b"hello"), ("TransmitAll",),
                         ("Frame", TEXT, b"hi"), ("Close", 1000, b"bye"), ("TransmitAll",),
                         ("Frame", CLOSE, close(1000))], server_bytes),
        "fragmented-sends": session([("SendBinary", bytes(range(40))), ("Transmit", 7),
                                     ("Ping", b"p"), ("TransmitAll",), ("Input", 200)],
                                    server_bytes, fragment=8),
        "keepalive": session([("Tick", 60), ("TransmitAll",), ("Frame", PONG, b""),
                              ("TickToDeadline",), ("TickToDeadline",)], keepalive=50),
        "full-buffer": session([("SendBinary", bytes(60)), ("Frame", PING, b"a"),
                                ("Frame", PING, b"b"), ("TransmitAll",)], max_buffered=64),
        "close-timeout": session([("Close", 3000, b""), ("TickToDeadline",)]),
        "deflate": session([("Deflated", 1, b"Hello, Hello, Hello"), ("SendText", JSON),
                            ("TransmitAll",), ("Deflated", 0, JSON, {"split": 7}),
                            ("Deflated", 1, JSON), ("Close", 1000, b""), ("TransmitAll",)],
                           deflate={}, ext=[("Deflate", [])]),
        "deflate-windows": session(
            [("SendText", JSON), ("SendBinary", JSON), ("Transmit", 40), ("TransmitAll",),
             ("Deflated", 1, JSON, {"window": 1, "reset": True, "level": 9}),
             ("Deflated", 1, JSON, {"window": 1, "reset": True, "fin": False}),
             ("Frame", CONT, b"", True)],
            deflate={"client_bits": 2, "server_bits": 4, "client_reset": True,
                     "server_reset": True},
            ext=[("Deflate", [("ServerNoContextTakeover",), ("ServerMaxWindowBits", 10),
                              ("ClientMaxWindowBits", 9), ("ClientNoContextTakeover",)])]),
        "deflate-bomb": session([("Deflated", 0, b"a" * 10, {"repeat": 40}), ("TransmitAll",)],
                                max_message=1000, deflate={}, ext=[("Deflate", [])]),
        "deflate-bad-answer": session([("TransmitAll",)], deflate={"server_bits": 2},
                                      ext=[("DeflateMixedCase", [("QuotedServerBits", 11)]),
                                           ("Deflate", [("Odd", 1)])]),
        "deflate-keepalive-full": session([("SendBinary", bytes(200)), ("Tick", 60), ("Tick", 60),
                                           ("Frame", PONG, b""), ("Tick", 60)],
                                          max_buffered=64, keepalive=50, deflate={},
                                          ext=[("Deflate", [])]),
    }
    frames_in = b"".join(frame(op, p, mask=KEY) for op, p in
                         [(TEXT, b"Hello"), (BIN, b"\x00\x01"), (PING, b"x"), (CLOSE, close(1000))])
    c["server_session"] = {
        "upgrade-then-frames": session([("Input", 255), ("TransmitAll",), ("Input", 255),
                                        ("TransmitAll",)], UPGRADE + frames_in),
        "upgrade-op": session([("Upgrade",), ("Frame", TEXT, b"hi", True, KEY),
                               ("SendText", b"ho"), ("Close", 1000, b""), ("TransmitAll",)]),
        "bad-request": session([("Input", 255), ("TransmitAll",)],
                               UPGRADE.replace(b"13", b"8")),
        "unmasked": session([("Upgrade",), ("Frame", TEXT, b"hi"), ("TransmitAll",)]),
        # A crash of the target's own (the 101 answer counted as output over the
        # limit), kept as a seed.
        "handshake-answer-over-limit": session(
            [("Input", 255), ("TransmitAll",), ("Input", 255), ("TransmitAll",)],
            OVER_LIMIT_WIRE, max_buffered=0, fragment=4),
        "deflate-offer": session(
            [("Upgrade",), ("Deflated", 1, JSON, {"mask": KEY}), ("SendText", JSON),
             ("TransmitAll",), ("Deflated", 0, JSON, {"mask": KEY, "split": 9}),
             ("Close", 1000, b""), ("TransmitAll",)],
            deflate={"server_bits": 3, "client_bits": 2},
            ext=[("Other", []), ("Deflate", [("ClientMaxWindowBits",),
                                             ("ServerMaxWindowBits", 12)])]),
        "deflate-bomb": session([("Upgrade",), ("Deflated", 1, b"x" * 20,
                                                {"mask": KEY, "repeat": 60})],
                                max_message=2000, deflate={"client_reset": True},
                                ext=[("Deflate", [("ClientNoContextTakeover",)])]),
    }

    TLS_OPS = ["Cipher", "Plain", "Send", "Close", "Pump"]

    def tls(handshake, ops, wire=b""):
        a = Arb().u8(1).u8(handshake)
        for name, *args in ops:
            a.u8(1).variant(TLS_OPS.index(name), len(TLS_OPS))
            if name == "Cipher":
                a.u8(args[0])
            elif name == "Plain":
                a.frame_spec(*args)
            elif name == "Send":
                a.vec(args[0])
            elif name == "Close":
                a.u16(args[0])
        return bytes(a.out) + b"\x00" + wire

    c["tls_session"] = {
        "messages": tls(1, [("Plain", TEXT, b"hi"), ("Send", b"yo"), ("Pump",),
                            ("Plain", CLOSE, close(1000)), ("Pump",)]),
        "client-close": tls(1, [("Close", 1000), ("Pump",), ("Plain", CLOSE, close(1000))]),
        "garbage-before": tls(0, [("Cipher", 64)], b"\x16\x03\x03\x00\x3a" + bytes(59)),
        "plain-http": tls(0, [("Cipher", 40)], b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        "garbage-after": tls(1, [("Cipher", 8)], b"\x17\x03\x03\x00\x03abc"),
    }
    return c


def main():
    for target, seeds in corpora().items():
        d = os.path.join(ROOT, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
