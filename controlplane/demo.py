"""The demo: the whole lifecycle of dev in a fresh sandbox, driven through the HTTP API and checked
independently through the emulated AWS APIs. Exits 0 only if every check held."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controlplane.sandbox.client import ApiClient
from controlplane.sandbox.server import PortInUse, Sandbox


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


class Demo:
    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.api = ApiClient(box.api_endpoint)
        self.checks: list[Check] = []

    # output ---------------------------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def check(self, name: str, ok: bool, detail: str, started: float) -> bool:
        self.checks.append(Check(name, ok, detail, time.time() - started))
        self.say(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
        return ok

    # helpers --------------------------------------------------------------------------------------------
    def run_operation(self, method: str, path: str, body: Any) -> dict[str, Any]:
        status, op = self.api.request(method, path, body)
        if status != 202:
            raise RuntimeError(f"{method} {path} returned {status}: {op}")
        self.say(f"  operation {op['id']} ({op['kind']}) started")
        shown: set[str] = set()
        while True:
            _, op = self.api.get(f"/operations/{op['id']}")
            for step in op["steps"]:
                if step["name"] not in shown and step["status"] != "RUNNING":
                    shown.add(step["name"])
                    extra = f", {step['polls']} poll(s)" if step["polls"] else ""
                    extra += f", {step['attempts']} attempts" if step["attempts"] > 1 else ""
                    mark = "ok " if step["status"] == "SUCCEEDED" else "ERR"
                    self.say(f"    [{mark}] {step['name']:<28} {step['duration_seconds'] or 0:6.2f}s{extra}")
            if op["status"] != "RUNNING":
                break
            time.sleep(0.25)
        self.say(f"  -> {op['status']}" + (f": {op['error']['message']}" if op.get("error") else ""))
        return dict(op)

    def service(self, env: str) -> dict[str, Any]:
        name = f"cart-service-{env}"
        found = self.box.client("ecs").describe_services(cluster=name, services=[name])["services"]
        return dict(found[0]) if found else {}

    def image_of(self, task_definition: str) -> str:
        td = self.box.client("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        return str(td["containerDefinitions"][0]["image"])

    def snapshot(self, env: str) -> dict[str, Any]:
        """What an environment has in AWS, to show it is untouched."""
        name = f"cart-service-{env}"
        ecs, ecr, ddb, ssm = (self.box.client(s) for s in ("ecs", "ecr", "dynamodb", "ssm"))
        return {
            "cluster": ecs.describe_clusters(clusters=[name])["clusters"][0]["status"],
            "repository": ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"],
            "images": sorted(i["imageDigest"] for i in ecr.describe_images(repositoryName=name)["imageDetails"]),
            "data_table": ddb.describe_table(TableName=f"{name}-carts")["Table"]["TableStatus"],
            "contract": ssm.get_parameter(Name=f"/cart-service/{env}/contract")["Parameter"]["Value"],
            "services": sorted(ecs.list_services(cluster=name)["serviceArns"]),
        }

    def backend_snapshot(self) -> dict[str, Any]:
        assert self.box.world is not None
        backend = self.box.world.backend
        s3, ddb = self.box.client("s3"), self.box.client("dynamodb")
        objects = s3.list_object_versions(Bucket=backend.bucket).get("Versions", [])
        return {
            "objects": sorted((o["Key"], o["VersionId"], o["ETag"]) for o in objects),
            "versioning": s3.get_bucket_versioning(Bucket=backend.bucket).get("Status"),
            "lock_table": ddb.describe_table(TableName=backend.lock_table)["Table"]["TableStatus"],
        }

    # the story ------------------------------------------------------------------------------------------
    def run(self) -> bool:
        t = time.time()
        _, health = self.api.get("/health")
        _, envs = self.api.get("/environments")
        names = [e["name"] for e in envs["environments"]]
        self.check(
            "sandbox up",
            health == {"status": "ok"} and names == ["dev", "prod", "staging"],
            f"API healthy, environments {names}",
            t,
        )
        before = {env: self.snapshot(env) for env in ("staging", "prod")}
        backend_before = self.backend_snapshot()

        self.section("1. Provision dev (the repository is empty, so a first image is built)")
        t = time.time()
        op = self.run_operation("POST", "/environments/dev/provision", {"source_version": "v1.0.0"})
        svc = self.service("dev")
        self.check(
            "provision dev",
            op["status"] == "SUCCEEDED" and svc.get("runningCount") == 1,
            f"{op['status']}, service running {svc.get('runningCount')}/1 task(s)",
            t,
        )

        self.section("2. Build v1.1.0 with CodeBuild (pushes to ECR)")
        t = time.time()
        op = self.run_operation("POST", "/environments/dev/builds", {"source_version": "v1.1.0"})
        good_digest = op.get("result", {}).get("image_digest", "")
        self.check(
            "build v1.1.0",
            op["status"] == "SUCCEEDED" and good_digest.startswith("sha256:"),
            f"{op['status']}, pushed {good_digest[:19]}...",
            t,
        )

        self.section("3. Deploy v1.1.0 and wait for the real outcome of that deployment")
        t = time.time()
        op = self.run_operation("POST", "/environments/dev/deployments", {"image_tag": "v1.1.0"})
        serving = self.image_of(self.service("dev").get("taskDefinition", ""))
        self.check(
            "deploy v1.1.0",
            op["status"] == "SUCCEEDED" and serving.endswith(good_digest),
            f"{op['status']}, ECS serves ...@{serving.split('@')[-1][:19]}...",
            t,
        )

        self.section("4. Build and deploy a broken image: the circuit breaker rolls it back")
        t = time.time()
        self.run_operation("POST", "/environments/dev/builds", {"source_version": "broken-v1.2.0"})
        op = self.run_operation("POST", "/environments/dev/deployments", {"image_tag": "broken-v1.2.0"})
        svc = self.service("dev")
        serving = self.image_of(svc.get("taskDefinition", ""))
        failed_step = (op.get("error") or {}).get("step")
        self.check(
            "broken deploy is FAILED",
            op["status"] == "FAILED" and failed_step == "wait_deployment" and "circuit breaker" in str(op["error"]),
            f"{op['status']} at {failed_step}: {(op.get('error') or {}).get('message', '')[:70]}",
            t,
        )
        _, env = self.api.get("/environments/dev")
        self.check(
            "previous image still serving",
            serving.endswith(good_digest) and svc.get("runningCount") == 1 and env["image_digest"] == good_digest,
            f"ECS primary is v1.1.0 ({svc.get('runningCount')} running), registry says {env['status']}",
            t,
        )

        self.section("5. Destroy dev: the plan first (dry run, nothing changes), then the real thing")
        t = time.time()
        status, plan = self.api.post("/environments/dev/destroy?dry_run=true", {})
        for step in plan.get("steps", []):
            self.say(f"    {step['step']:<28} {step['action']}")
        unchanged = self.service("dev").get("status") == "ACTIVE"
        self.check(
            "dry run changes nothing",
            status == 200 and unchanged,
            f"{len(plan.get('steps', []))} steps planned; the service is still ACTIVE",
            t,
        )
        t = time.time()
        op = self.run_operation("POST", "/environments/dev/destroy", {})
        self.check("destroy dev", op["status"] == "SUCCEEDED", f"{op['status']}: {op.get('result')}", t)

        self.section("6. Prove it: nothing of dev is left; staging, prod and the state backend are untouched")
        t = time.time()
        from controlplane import container

        platform = container.current().platform
        leftovers = platform.inventory(platform.read_contract("dev")).leftovers()
        self.check(
            "nothing of dev left",
            not leftovers,
            "; ".join(leftovers) or "no service, task definitions, images, log groups or scaling target",
            t,
        )
        after = {env: self.snapshot(env) for env in ("staging", "prod")}
        self.check(
            "staging and prod untouched",
            after == before,
            "clusters, repositories, images, tables, contracts and services identical",
            t,
        )
        self.check(
            "state backend untouched",
            self.backend_snapshot() == backend_before,
            f"{len(backend_before['objects'])} state objects, same versions; lock table ACTIVE",
            t,
        )
        dev_base = self.snapshot("dev")
        self.check(
            "dev's base and data table kept",
            dev_base["data_table"] == "ACTIVE" and dev_base["cluster"] == "ACTIVE",
            "Terraform-owned cluster, repository and cart table remain",
            t,
        )
        return all(c.ok for c in self.checks)

    def section(self, title: str) -> None:
        self.say()
        self.say(title)

    def summary(self, total: float) -> None:
        self.say()
        self.say(f"{'check':<32} {'result':<7} {'seconds':>8}")
        self.say(f"{'-' * 32} {'-' * 7} {'-' * 8}")
        for c in self.checks:
            self.say(f"{c.name:<32} {'PASS' if c.ok else 'FAIL':<7} {c.seconds:8.2f}")
        passed = sum(c.ok for c in self.checks)
        self.say(f"{passed}/{len(self.checks)} checks passed in {total:.1f}s")


def run_demo(args: argparse.Namespace, out: Callable[[str], None] | None = None) -> int:
    box = Sandbox(
        host=args.host,
        aws_port=args.aws_port,
        api_port=args.port,
        deploy_seconds=args.deploy_seconds,
        build_seconds=args.build_seconds,
    )
    started = time.time()
    try:
        box.start()
    except PortInUse as exc:
        print(f"error: {exc}")
        return 2
    print(
        f"Sandbox: control API {box.api_endpoint}, emulated AWS {box.aws_endpoint} "
        f"(ECS rollouts take {box.deploy_seconds:g}s, builds {box.build_seconds:g}s)",
        flush=True,
    )
    demo = Demo(box)
    try:
        ok = demo.run()
    except Exception as exc:  # report, never hang
        demo.checks.append(Check("demo ran to the end", False, f"{type(exc).__name__}: {exc}", 0.0))
        ok = False
    finally:
        box.stop()
    demo.summary(time.time() - started)
    return 0 if ok else 1
