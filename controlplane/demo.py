"""The demo: the whole lifecycle of dev in a fresh sandbox, driven through the HTTP API and checked
independently through the emulated AWS APIs. Exits 0 only if every check held."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from controlplane.sandbox.client import ApiClient
from controlplane.sandbox.emulation import manifest_json
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
        return self.follow(op)

    def cartctl(self, *args: str) -> tuple[int, dict[str, Any]]:
        """Run the operators' CLI against the sandbox as a pipeline would (no terminal: a line per change, then
        the summary); show what it printed; return its exit code and the operation it started."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # loopback, no credentials: unsigned
        proc = subprocess.run(
            [sys.executable, "-m", "controlplane.cli", "--endpoint", self.box.api_endpoint, *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**env, "NO_COLOR": "1", "COLUMNS": "112"},
        )
        for line in (proc.stderr + proc.stdout).rstrip().splitlines():
            self.say(f"  | {line}")
        _, listing = self.api.get("/environments/dev/operations?limit=1")
        ops = listing.get("operations") or [{}]
        return proc.returncode, dict(ops[0])

    def follow(self, op: dict[str, Any]) -> dict[str, Any]:
        self.say(f"  operation {op['id']} ({op['kind']}, trigger {op['trigger']}) started")
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
        found = self.box.client("ecs").describe_services(cluster=f"ecommerce-{env}", services=[f"cart-service-{env}"])
        return dict(found["services"][0]) if found["services"] else {}

    def matches_ecs(self, env: str) -> tuple[bool, str]:
        """Does the registry say what ECS runs (task definition and image digest)?"""
        _, record = self.api.get(f"/environments/{env}")
        svc = self.service(env)
        if not svc or svc.get("status") == "INACTIVE":
            gone = not record.get("service") or record["service"]["status"] in (None, "INACTIVE")
            return gone, "no service in ECS, none in the registry" if gone else "the registry still shows a service"
        digest = self.image_of(svc["taskDefinition"]).rsplit("@", 1)[-1]
        seen = record.get("service") or {}
        same = seen.get("task_definition_arn") == svc["taskDefinition"] and seen.get("image_digest") == digest
        revision = svc["taskDefinition"].rsplit(":", 1)[-1]
        return same, f"registry and ECS agree: revision {revision}, {digest[:19]}..." if same else "they differ"

    def image_of(self, task_definition: str) -> str:
        td = self.box.client("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        return str(td["containerDefinitions"][0]["image"])

    def snapshot(self, env: str) -> dict[str, Any]:
        """What an environment has in AWS, to show it is untouched."""
        name, cluster = f"cart-service-{env}", f"ecommerce-{env}"
        ecs, ecr, ddb, ssm = (self.box.client(s) for s in ("ecs", "ecr", "dynamodb", "ssm"))
        return {
            "cluster": ecs.describe_clusters(clusters=[cluster])["clusters"][0]["status"],
            "repository": ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"],
            "images": sorted(i["imageDigest"] for i in ecr.describe_images(repositoryName=name)["imageDetails"]),
            "data_table": ddb.describe_table(TableName=f"{name}-carts")["Table"]["TableStatus"],
            "contract": ssm.get_parameter(Name=f"/cart-service/{env}/contract")["Parameter"]["Value"],
            "services": sorted(ecs.list_services(cluster=cluster)["serviceArns"]),
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
        self.say("  the deploy as the pipeline's HandOff stage runs it: cartctl deploy dev --tag broken-v1.2.0 --wait")
        code, op = self.cartctl("deploy", "dev", "--tag", "broken-v1.2.0", "--wait")
        self.check(
            "cartctl fails the pipeline",
            code == 10 and op.get("status") == "FAILED",
            f"cartctl exited {code} (10: the operation FAILED), so a CI stage running it goes red",
            t,
        )
        svc = self.service("dev")
        serving = self.image_of(svc.get("taskDefinition", ""))
        error = op.get("error") or {}
        rolled = (error.get("details") or {}).get("rolled_back_to") or {}
        stopped = (error.get("details") or {}).get("stopped_tasks") or [{}]
        self.check(
            "broken deploy is FAILED",
            op["status"] == "FAILED" and error.get("step") == "rollout" and "circuit breaker" in str(error),
            f"{op['status']} at {error.get('step')}: {str(error.get('message', ''))[:70]}",
            t,
        )
        self.check(
            "the failure explains itself",
            str(rolled.get("image_digest")) == good_digest and bool(stopped[0].get("stopped_reason")),
            f"rolled back to revision {rolled.get('revision')}; stopped tasks: {stopped[0].get('stopped_reason')} "
            f"(exit {stopped[0].get('exit_code')})",
            t,
        )
        _, env = self.api.get("/environments/dev")
        same, detail = self.matches_ecs("dev")
        self.check(
            "previous image still serving",
            serving.endswith(good_digest) and svc.get("runningCount") == 1 and env["status"] == "ready" and same,
            f"ECS primary is v1.1.0 ({svc.get('runningCount')} running); {detail}",
            t,
        )

        self.cancel_rolls_back(good_digest)

        self.push_redeploy()
        self.nightly_teardown_and_restore()

        self.section("7. Destroy dev: the plan first (dry run, nothing changes), then the real thing")
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
        same, detail = self.matches_ecs("dev")
        self.check("destroy dev", op["status"] == "SUCCEEDED" and same, f"{op['status']}: {op.get('result')}", t)

        self.section("8. Prove it: nothing of dev is left; staging, prod and the state backend are untouched")
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

    def cancel_rolls_back(self, good_digest: str) -> None:
        self.section("4b. Cancel a deploy while ECS rolls it out: the control plane rolls ECS back and waits")
        t = time.time()
        self.run_operation("POST", "/environments/dev/builds", {"source_version": "v1.3.0"})
        status, op = self.api.post("/environments/dev/deployments", {"image_tag": "v1.3.0"})
        while status == 202:
            _, op = self.api.get(f"/operations/{op['id']}")
            rollout: dict[str, Any] = next((s for s in op["steps"] if s["name"] == "rollout"), {})
            if "deployment_id" in (rollout.get("detail") or {}) or op["status"] != "RUNNING":
                break
            time.sleep(0.05)
        self.api.post(f"/operations/{op['id']}/cancel", {})
        op = self.follow(op)
        serving = self.image_of(self.service("dev").get("taskDefinition", ""))
        same, detail = self.matches_ecs("dev")
        self.check(
            "cancel rolls the rollout back",
            op["status"] == "ABORTED" and serving.endswith(good_digest) and same,
            f"{op['status']}: {(op.get('result') or {}).get('cancel', {}).get('undone', '')}; {detail}",
            t,
        )

    def push_redeploy(self) -> None:
        self.section("5. Push an image tagged latest to ECR (boto3 put-image): the ECR event redeploys dev")
        t = time.time()
        image = self.box.client("ecr").put_image(
            repositoryName="cart-service-dev", imageManifest=manifest_json(f"demo-{t}"), imageTag="latest"
        )["image"]
        digest = str(image["imageId"]["imageDigest"])
        found: dict[str, Any] | None = None
        while found is None and time.time() - t < 5:
            _, listing = self.api.get("/environments/dev/operations?limit=5")
            found = next((o for o in listing["operations"] if o["trigger"] == "ecr-push"), None)
            time.sleep(0.1)
        seen_after = time.time() - t
        if found is None:
            self.check("push redeploys dev", False, "no deploy started within 5 s of the push", t)
            return
        op = self.follow(found)
        serving = self.image_of(self.service("dev").get("taskDefinition", ""))
        same, _ = self.matches_ecs("dev")
        self.check(
            "push redeploys dev",
            op["status"] == "SUCCEEDED"
            and op["params"] == {"image_digest": digest}
            and serving.endswith(digest)
            and same,
            f"deploy started {seen_after:.1f}s after the push, {op['status']}, ECS serves ...@{digest[7:19]}...",
            t,
        )
        # the same event again (EventBridge is at-least-once) deploys nothing more
        assert self.box.router is not None
        delivered = [e for fn, e, _ in self.box.router.delivered if fn.endswith("on_ecr_push")]
        if delivered:
            self.box.router.put(delivered[-1])
            self.box.router.wait_idle(timeout=5)
        _, listing = self.api.get("/environments/dev/operations?limit=10")
        pushes = [o for o in listing["operations"] if o["trigger"] == "ecr-push"]
        self.check(
            "duplicate event deploys once", len(pushes) == 1, f"{len(pushes)} push deploy(s) after a redelivery", t
        )

    def fire(self, schedule: str) -> dict[str, Any]:
        """What `python -m controlplane sandbox fire` does: the schedule's function, with a scheduled event."""
        result, _ = self.box.fire_schedule(schedule)
        return dict(result)

    def nightly_teardown_and_restore(self) -> None:
        self.section("6. Nightly teardown (20:00 UTC on weekdays) and morning restore (06:00), fired now")
        t = time.time()
        svc = self.service("dev")
        before = (svc.get("desiredCount"), self.image_of(svc.get("taskDefinition", "")))
        night = self.fire("nightly_teardown")
        self.say(f"  one execution: {night.get('execution_arn', '').rsplit(':', 1)[-1]}, skipped {night['skipped']}")
        ops = [self.follow(self.api.get(f"/operations/{op_id}")[1]) for op_id in night["operations"]]
        _, env = self.api.get("/environments/dev")
        snap = (ops[0].get("result") or {}).get("snapshot") or {} if ops else {}
        self.check(
            "nightly teardown of dev only",
            [o["environment"] for o in ops] == ["dev"]
            and env["status"] == "destroyed"
            and self.service("dev").get("status") == "INACTIVE",
            f"dev destroyed, recorded desired {snap.get('desired_count')} and {str(snap.get('image_digest'))[:19]}...",
            t,
        )
        t = time.time()
        morning = self.fire("morning_restore")
        ops = [self.follow(self.api.get(f"/operations/{op_id}")[1]) for op_id in morning["operations"]]
        svc = self.service("dev")
        after = (svc.get("desiredCount"), self.image_of(svc.get("taskDefinition", "")))
        self.check(
            "morning restore, exactly",
            len(ops) == 1 and ops[0]["status"] == "SUCCEEDED" and after == before,
            f"desired {after[0]}, image ...@{after[1].split('@')[-1][7:19]}... as before the night",
            t,
        )

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


def run_demo(args: argparse.Namespace) -> int:
    box = Sandbox.from_args(args)
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
