"""A TCP forwarder on 127.0.0.1 that holds every chunk of data for a fixed time each way: a
loopback server made to look as far away as a shop is (``--rtt-ms`` of bench_pools.py).

    latency_proxy.py --to PORT --one-way-ms 2.5 [--ftp]

prints the port it listens on, then forwards each connection to 127.0.0.1:PORT, each chunk
read from one side written to the other ``--one-way-ms`` later, in order (a round trip of a
request and its answer costs twice that). Connection set-up is not delayed, only data. With
``--ftp`` the server's passive-mode answers (227 and 229) are rewritten to name a port of this
proxy, which forwards that one data connection the same way. Runs until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable

HOST = "127.0.0.1"
_PASSIVE = re.compile(rb"^227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)")
_EXTENDED_PASSIVE = re.compile(rb"^229 .*\(\|\|\|(\d+)\|\)")

Rewrite = Callable[[bytes], Awaitable[bytes]]


async def _pump(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    delay: float,
    rewrite: Rewrite | None,
) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` seconds after it was read."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        while data := await reader.read(1 << 16):
            if rewrite is not None:
                data = await rewrite(data)
            queue.put_nowait((loop.time() + delay, data))
        queue.put_nowait((loop.time() + delay, b""))

    async def write() -> None:
        while True:
            due, data = await queue.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    try:
        await asyncio.gather(read(), write())
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _forward(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    port: int,
    delay: float,
    ftp: bool,
) -> None:
    try:
        server_reader, server_writer = await asyncio.open_connection(HOST, port)
    except OSError:
        client_writer.close()
        return
    answers = _FtpAnswers(delay) if ftp else None
    await asyncio.gather(
        _pump(client_reader, server_writer, delay, None),
        _pump(server_reader, client_writer, delay, answers.rewrite if answers else None),
    )


class _FtpAnswers:
    """The server's control-connection answers, whole lines at a time, passive ports swapped
    for a one-connection forwarder's."""

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._partial = b""

    async def rewrite(self, data: bytes) -> bytes:
        lines = (self._partial + data).split(b"\r\n")
        self._partial = lines.pop()
        rewritten = [await self._line(line) for line in lines]
        return b"".join(line + b"\r\n" for line in rewritten)

    async def _line(self, line: bytes) -> bytes:
        if found := _PASSIVE.match(line):
            port = await _one_connection(int(found[5]) * 256 + int(found[6]), self._delay)
            return b"227 Entering Passive Mode (127,0,0,1,%d,%d)." % (port // 256, port % 256)
        if found := _EXTENDED_PASSIVE.match(line):
            port = await _one_connection(int(found[1]), self._delay)
            return b"229 Entering extended passive mode (|||%d|)." % port
        return line


async def _one_connection(port: int, delay: float) -> int:
    """Listen on a new port for one connection, forwarded to ``port``; the port listened on."""
    server: asyncio.Server | None = None

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert server is not None
        server.close()
        await _forward(reader, writer, port, delay, ftp=False)

    server = await asyncio.start_server(accept, HOST, 0)
    listened: int = server.sockets[0].getsockname()[1]
    return listened


async def _serve(port: int, delay: float, ftp: bool) -> None:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _forward(reader, writer, port, delay, ftp)

    server = await asyncio.start_server(accept, HOST, 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", type=int, required=True, help="the server's port on 127.0.0.1")
    parser.add_argument("--one-way-ms", type=float, required=True)
    parser.add_argument("--ftp", action="store_true", help="rewrite passive-mode answers")
    args = parser.parse_args()
    asyncio.run(_serve(args.to, args.one_way_ms / 1000, args.ftp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
