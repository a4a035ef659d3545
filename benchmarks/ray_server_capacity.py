"""How many learners one Ray parameter-server actor can feed: its CPU cost per push and per pull.

    .venv/bin/python benchmarks/ray_server_capacity.py --seconds 20

A client actor pushes seed-network gradients (677,172 floats) and pulls the weights as fast as it
can, one pull per `--learners-per-process` pushes, as a learner group does. The server's own CPU
time per push and per pull (its whole process: Ray's receiving and sending included) bounds how
many gradients it can apply per second; dividing by one learner's push rate gives the learners
it can serve. Pass `--learner-fps` (one learner's frames per second, from `a3c bench`).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from typing import Any

import numpy as np
import ray

from a3c.backends.ray_cluster import ParameterServerActor
from a3c.config import Config


class MeteredServer(ParameterServerActor):
    """The real server actor, plus its process's CPU time and call counts."""

    def cpu_seconds(self) -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime


@ray.remote(num_cpus=0)
class Client:
    def __init__(self, server: object) -> None:
        self.server = server

    def hammer(self, pushes_per_pull: int, seconds: float) -> tuple[int, int]:
        grad = np.random.default_rng(0).normal(0, 1e-3, 677_172).astype(np.float32)
        pushes = pulls = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in range(pushes_per_pull):
                self.server.push.remote(grad, 80)  # type: ignore[attr-defined]
                pushes += 1
            ray.get(self.server.pull.remote())  # type: ignore[attr-defined]
            pulls += 1
        return pushes, pulls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--learners-per-process", type=int, default=4)
    parser.add_argument("--t-max", type=int, default=20)
    parser.add_argument(
        "--learner-fps", type=float, default=900.0, help="frames/s of one learner (default: 900)"
    )
    args = parser.parse_args()
    ray.init(include_dashboard=False, logging_level=logging.WARNING)
    cfg = Config(workers=args.learners_per_process, learners_per_process=args.learners_per_process)
    server: Any = ray.remote(MeteredServer).options(num_cpus=0).remote(cfg)
    client: Any = Client.remote(server)  # type: ignore[attr-defined]  # ray.remote's wrapper
    ray.get(client.hammer.remote(args.learners_per_process, 2.0))  # warm up
    cpu0 = ray.get(server.cpu_seconds.remote())
    start = time.monotonic()
    pushes, pulls = ray.get(client.hammer.remote(args.learners_per_process, args.seconds))
    wall = time.monotonic() - start
    cpu = ray.get(server.cpu_seconds.remote()) - cpu0
    ray.shutdown()
    per_round = cpu / pulls  # k pushes and one pull
    pushes_per_learner_s = args.learner_fps / (4 * args.t_max)  # one push per t_max agent steps
    capacity = args.learners_per_process / per_round  # pushes/s at 100% of one core
    print(
        json.dumps(
            {
                "pushes": pushes,
                "pulls": pulls,
                "wall_s": round(wall, 2),
                "server_cpu_s": round(cpu, 2),
                "server_cpu_ms_per_push_with_its_share_of_pulls": round(
                    1000 * per_round / args.learners_per_process, 3
                ),
                "server_capacity_pushes_per_s": round(capacity, 1),
                "learner_pushes_per_s": round(pushes_per_learner_s, 2),
                "learners_one_server_can_feed": int(capacity / pushes_per_learner_s),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
