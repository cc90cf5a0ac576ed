"""A TCP forwarder for the separate-hosts tests: ``python -m tests.support.forward ADDRESS PORT...``
listens on ADDRESS:PORT for each PORT and relays every connection to 127.0.0.1:PORT, where this
machine's PostgreSQL and RabbitMQ listen (loopback only). Run in the root network namespace with
ADDRESS on the test network's bridge, it makes those servers reachable from the namespaces as a
database host on the network would be; the servers see connections from 127.0.0.1, so their
loopback-only rules (trust auth, RabbitMQ's ``guest``) still admit them. A side that closes
closes the other (a killed worker's broker connection ends at the broker at once). Prints
``ready`` once every port listens."""

from __future__ import annotations

import asyncio
import contextlib
import sys

CHUNK = 1 << 16


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _relay(port: int, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
    try:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        client_w.close()
        return
    # either side ending ends both: the first pipe to finish closes its writer, the other's read
    # then ends too
    done, pending = await asyncio.wait(
        [asyncio.create_task(_pipe(client_r, server_w)), asyncio.create_task(_pipe(server_r, client_w))],
        return_when=asyncio.FIRST_COMPLETED,
    )
    server_w.close()
    client_w.close()
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def serve(address: str, ports: list[int]) -> None:
    servers = []
    for port in ports:
        handler = lambda r, w, port=port: _relay(port, r, w)  # noqa: E731
        servers.append(await asyncio.start_server(handler, address, port, reuse_address=True))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], [int(p) for p in sys.argv[2:]]))
