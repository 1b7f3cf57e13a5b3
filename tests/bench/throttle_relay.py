"""A TCP relay that makes a loopback server behave like a distant one, for the S3 bench.

throttle_relay.py LISTEN_PORT TARGET_PORT [MBYTES_PER_S (20)] [LATENCY_MS (20)]

Each connection is relayed to 127.0.0.1:TARGET_PORT with its server-to-client bytes paced
at MBYTES_PER_S (per connection, as one TCP stream to a far S3 endpoint is limited by its
round trips, not by the link) and every chunk delayed by LATENCY_MS once per request. Client
bytes pass at once. Stops when stdin closes.
"""
import asyncio
import sys
import time

CHUNK = 64 * 1024


async def pump(reader, writer, rate, latency):
    sent, started = 0, None
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            if rate:
                if started is None:
                    await asyncio.sleep(latency)
                    started = time.monotonic()
                sent += len(data)
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main():
    listen, target = int(sys.argv[1]), int(sys.argv[2])
    rate = float(sys.argv[3] if len(sys.argv) > 3 else 20) * 1024 * 1024
    latency = float(sys.argv[4] if len(sys.argv) > 4 else 20) / 1000

    async def handle(creader, cwriter):
        sreader, swriter = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(pump(creader, swriter, 0, 0), pump(sreader, cwriter, rate, latency))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
