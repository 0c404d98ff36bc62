"""Live streaming costs: added latency, pipeline latency with streams on and off, a long replay.

    python -m benchmarks.stream [--frames 60] [--mode rgbd] [--replay 100000] [--replay-fps 1000]

Prints, for two schedules of the pipeline (frames paced at the source's 30 fps, as a live
source delivers them; and back to back, where the sender thread competes with the next frame):
1. the pipeline's latency per frame (process + result sinks, on the calling thread) with two
   streams (Live Link + VMC) on and off, measured side by side: blocks of 10 frames alternate
   on and off over the same pre-rendered synthetic frames;
2. the added latency from result to datagram (submit on the pipeline thread to the last
   ``sendto`` of the frame on the sender thread), median and p95, from the "on" frames;
and once:
3. a fast replay of ``--replay`` frames (the pipeline's results, renumbered) at ``--replay-fps``
   to two loopback receivers in another process: frames dropped at the sender, send failures,
   datagrams received, and the resident memory after 10% of the frames and at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time

import numpy as np

from app.config import PipelineConfig
from app.pipeline import Pipeline
from app.stream import StreamSender, parse_target
from benchmarks.pipeline import rss_mb
from capture.synthetic import SyntheticSource

# A receiver in its own process (as Unreal or VSeeFace would be): counts datagrams on two
# ports until its stdin closes, then prints the counts as JSON.
RECEIVER = r"""
import json, selectors, socket, sys, threading
socks = []
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind(("127.0.0.1", 0)); s.setblocking(False); socks.append(s)
print(json.dumps([s.getsockname()[1] for s in socks]), flush=True)
counts = [0, 0]; done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
sel = selectors.DefaultSelector()
for i, s in enumerate(socks): sel.register(s, selectors.EVENT_READ, i)
while not done.is_set():
    for key, _ in sel.select(0.1):
        while True:
            try: key.fileobj.recv(65536)
            except BlockingIOError: break
            counts[key.data] += 1
for key, _ in sel.select(0.2):
    pass
print(json.dumps(counts), flush=True)
"""


class Receiver:
    """The receiver process: :attr:`ports` (Live Link, VMC); :meth:`counts` ends it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", RECEIVER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.ports = json.loads(self.process.stdout.readline())

    def counts(self) -> list[int]:
        time.sleep(0.5)  # let the last datagrams land
        out, _ = self.process.communicate("", timeout=30)
        return json.loads(out.strip().splitlines()[-1])


def _ms(values) -> str:
    values = np.asarray(values, float)
    return f"median {np.median(values):.3f} ms, p95 {np.percentile(values, 95):.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="pipeline frames per side (on, off) and schedule")
    parser.add_argument("--mode", default="rgbd", choices=["rgb", "depth", "rgbd"])
    parser.add_argument("--seed", type=int, default=1001)
    parser.add_argument("--replay", type=int, default=100_000, help="frames of the fast replay")
    parser.add_argument("--replay-fps", type=float, default=1000.0, help="replay rate (frames per second)")
    args = parser.parse_args()

    pool_size = min(args.frames, 120)
    with SyntheticSource(seed=args.seed) as source:
        pool = [source.frame_at(i) for i in range(pool_size)]
        fps = source.fps
    pipeline = Pipeline(PipelineConfig(mode=args.mode))
    receiver = Receiver()
    targets = [parse_target(f"livelink:127.0.0.1:{receiver.ports[0]}"),
               parse_target(f"vmc:127.0.0.1:{receiver.ports[1]}")]
    for frame in pool[:10]:
        pipeline.process(frame)  # warm up
    results = []
    earlier = 0  # frames streamed before the replay (the receiver counts them too)
    for paced in (True, False):
        # 1 and 2: pipeline latency, streams on and off side by side.
        sender = StreamSender(targets, pipeline.model.arkit_matrix, fps=fps)
        latency = {False: [], True: []}
        submit_us = []
        begin = time.perf_counter()
        for i in range(2 * args.frames):
            if paced:
                time.sleep(max(0.0, begin + i / fps - time.perf_counter()))
            streaming = (i // 10) % 2 == 1
            frame = pool[(i // 2) % pool_size]
            start = time.perf_counter()
            result = pipeline.process(frame)
            if streaming:
                at = time.perf_counter()
                sender.submit(result)
                submit_us.append((time.perf_counter() - at) * 1e6)
            latency[streaming].append((time.perf_counter() - start) * 1000)
            if result.found:
                results.append(result)
        sender.close()
        earlier += sender.frames_sent
        added = np.array(sender.latency_s) * 1000
        off, on = np.median(latency[False]), np.median(latency[True])
        schedule = f"paced at {fps:.0f} fps" if paced else "back to back"
        print(f"pipeline latency ({args.mode}, {schedule}, {args.frames} frames each side, alternating blocks "
              f"of 10): streams off {_ms(latency[False])}; two streams on {_ms(latency[True])}; "
              f"median difference {on - off:+.3f} ms")
        print(f"  added latency result -> datagram ({schedule}, both targets sent, {len(added)} frames): "
              f"{_ms(added)}; submit on the pipeline thread median {np.median(submit_us):.1f} us; "
              f"sender thread CPU {sender.cpu_s / max(1, sender.frames_sent) * 1e6:.0f} us per frame")
    encode = {}
    for kind in ("livelink", "vmc"):
        one = [t for t in targets if t.kind == kind]
        probe = StreamSender(one, pipeline.model.arkit_matrix, fps=fps)
        start = time.thread_time()  # CPU time: what the sender takes from the cores, whatever the load
        for _ in range(5):
            for result in results[:200]:
                probe.encode(result, fps)
        encode[kind] = (time.thread_time() - start) / (5 * min(200, len(results))) * 1e6
        probe.close()
    print("values + encoding per frame on the sender thread (thread CPU time): "
          + ", ".join(f"{k} {v:.0f} us" for k, v in encode.items()))

    # 3: a fast replay to the loopback receivers.
    sender = StreamSender(targets, pipeline.model.arkit_matrix, fps=fps)
    base = results[: min(len(results), 60)]
    del results
    start = time.perf_counter()
    rss_early = None
    for i in range(args.replay):
        sender.submit(dataclasses.replace(base[i % len(base)], index=i, timestamp=i / fps))
        if i == args.replay // 10:
            rss_early = rss_mb()
        if i % 20 == 19:
            lag = (i + 1) / args.replay_fps - (time.perf_counter() - start)
            if lag > 0:
                time.sleep(lag)
    sender.close(timeout=30)
    wall = time.perf_counter() - start
    rss_end = rss_mb()
    counts = [count - earlier for count in receiver.counts()]
    failed = sum(s.failed for s in sender.stats.values())
    print(f"replay of {args.replay} frames at {args.replay_fps:.0f} fps to Live Link + VMC ({wall:.1f} s, "
          f"{args.replay / wall:.0f} frames/s): sent {sender.frames_sent}, dropped at the sender {sender.dropped}, "
          f"send failures {failed}; received Live Link {counts[0]}, VMC {counts[1]}; "
          f"resident memory {rss_early:.1f} MB after {args.replay // 10} frames, {rss_end:.1f} MB at the end "
          f"({rss_end - rss_early:+.1f} MB)")


if __name__ == "__main__":
    main()
