"""One module per figure; each has ``run(size) -> dict`` and runs in its own interpreter (bench.worker)."""

NAMES = ("work", "ecs_deploy", "reaction", "scale", "api", "footprint", "startup")
