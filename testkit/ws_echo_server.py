"""Tiny echo server on the Python `websockets` package, for sockette's interop tests.

    python3 ws_echo_server.py [--cert CERT.pem --key KEY.pem]

The tests start it through `sockette_testkit::PythonEchoServer`, with the
interpreter of the virtual environment they make under `target/python-venv`
(which has the pinned `websockets`).

Listens on a free loopback port, prints it on the first line of stdout, and
serves until stdin is closed. Echoes every message; a text message
"close:CODE:REASON" makes it start the close handshake with that code and reason.
Exits with status 3 and a message if `websockets` cannot be imported.
"""

import asyncio
import ssl
import sys

try:
    import websockets
except ImportError as error:  # reported by the Rust test
    print(f"IMPORT-ERROR {error}", flush=True)
    sys.exit(3)

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        if isinstance(message, str) and message.startswith("close:"):
            _, code, reason = message.split(":", 2)
            await ws.close(int(code), reason)
            return
        await ws.send(message)


async def main():
    context = None
    if "--cert" in sys.argv:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(
            sys.argv[sys.argv.index("--cert") + 1], sys.argv[sys.argv.index("--key") + 1]
        )
    async with serve(echo, "127.0.0.1", 0, ssl=context, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        # Serve until the test closes our stdin (or kills us).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
