"""Sizes: the full run (published figures) and --quick (a tiny size for the test and for development)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    runs: int  # repetitions of each measured thing (median and spread over these)
    slow_runs: int  # repetitions of the expensive things (10x rollouts, ecs-deploy on a broken image)
    deploy_seconds: float  # the sandbox's emulated ECS rollout
    slow_deploy_seconds: float  # a long rollout, to compare how the work grows with it
    build_seconds: float
    ecs_deploy_timeout: int  # ecs-deploy's --timeout on the broken image (it waits for it, see the docs)
    scale_ns: tuple[int, ...]
    scale_runs: int
    api_envs: int
    api_ops: int
    api_samples: int  # GET /operations/{id} per mode
    api_list_samples: int  # GET /environments per mode (each reads the whole registry)
    import_runs: int
    startup_runs: int
    demo_runs: int
    package: bool  # build the Lambda zip (chalice package) for the footprint figure


FULL = Size(
    name="full",
    runs=5,
    slow_runs=3,
    deploy_seconds=3.0,
    slow_deploy_seconds=60.0,
    build_seconds=2.0,
    ecs_deploy_timeout=20,
    scale_ns=(1, 10, 50, 100),
    scale_runs=1,
    api_envs=1000,
    api_ops=10000,
    api_samples=200,
    api_list_samples=50,
    import_runs=7,
    startup_runs=3,
    demo_runs=3,
    package=True,
)

QUICK = Size(
    name="quick",
    runs=1,
    slow_runs=1,
    deploy_seconds=0.5,
    slow_deploy_seconds=2.0,
    build_seconds=0.5,
    ecs_deploy_timeout=4,
    scale_ns=(1, 2),
    scale_runs=1,
    api_envs=5,
    api_ops=20,
    api_samples=10,
    api_list_samples=10,
    import_runs=1,
    startup_runs=1,
    demo_runs=0,
    package=False,
)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL
