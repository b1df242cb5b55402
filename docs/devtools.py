"""Headless Chromium over the DevTools protocol, with Python's standard library only, for
the browser checks in `docs/` (`check-eventsource.sh`, `check-authorize-page.sh`): find the
DevTools port Chromium wrote, wait for its page, and talk to it over a WebSocket."""

import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def page_socket(port_file, browser_pid, deadline):
    """A WebSocket to the first page of the Chromium whose DevTools port is written to
    `port_file`, once it exists (before `deadline`, a `time.monotonic()` value)."""

    def browser_alive():
        try:
            os.kill(browser_pid, 0)
            return True
        except OSError:
            return False

    port = None
    while port is None:
        try:
            port = int(open(port_file).read().split()[0])
        except (OSError, ValueError, IndexError):
            if not browser_alive():
                fail("chromium exited before opening its DevTools port")
            if time.monotonic() > deadline:
                fail("chromium did not open its DevTools port")
            time.sleep(0.1)

    target = None
    while target is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
                pages = [t for t in json.load(response) if t.get("type") == "page"]
            target = pages[0]["webSocketDebuggerUrl"] if pages else None
        except OSError:
            pass
        if target is None:
            if time.monotonic() > deadline:
                fail("chromium opened no page")
            time.sleep(0.1)
    return WebSocket(target)


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames, client-masked."""

    def __init__(self, url):
        host_port, path = url.removeprefix("ws://").split("/", 1)
        host, ws_port = host_port.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(ws_port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                fail("the DevTools websocket closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            fail(f"the DevTools websocket handshake failed: {head[:200]!r}")
        self.buffer = head.split(b"\r\n\r\n", 1)[1]

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        if len(data) < 126:
            header = struct.pack("!BB", 0x81, 0x80 | len(data))
        elif len(data) < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, len(data))
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                fail("the DevTools websocket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self):
        message = b""
        while True:
            first, second = self.read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self.read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self.read(8))[0]
            payload = self.read(length)
            opcode = first & 0x0F
            if opcode in (0x1, 0x0):
                message += payload
                if first & 0x80:
                    return message.decode()
            elif opcode == 0x8:
                fail("the DevTools websocket closed")
