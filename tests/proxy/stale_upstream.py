"""An upstream that answers only the first request of each connection, for the retry policy.

Every later request on a kept-alive connection is read whole and then the connection is closed
without an answer: what a client sees when the upstream closes an idle keep-alive connection
just as a request goes out on it (and, for the request it read, one it may have applied).
``GET /count`` (on a fresh connection) answers how many requests of each ``METHOD path`` came.

Run as ``python -m tests.proxy.stale_upstream PORT``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter

SEEN: Counter[str] = Counter()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str] | None:
    """(method, path) of the next request, its body read (sized or chunked); None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return method, path


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    first = True
    while (request := await read_request(reader)) is not None:
        method, path = request
        if path != "/count":
            SEEN[f"{method} {path}"] += 1
        if not first:
            break  # close without answering
        first = False
        body = json.dumps(dict(SEEN) if path == "/count" else {"ok": True}).encode()
        head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}"
        writer.write(head.encode() + b"\r\n\r\n" + body)
        await writer.drain()
    writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
