"""A bench-only addition to the sandbox's ECS emulation, applied from the outside: service tasks.

moto 5.2.5 launches no tasks for services, and its ListTasks ignores ``serviceName``; the sandbox's emulation
(controlplane/sandbox/emulation.py) tracks a service's tasks only as counts on its deployments, which is all the
control plane reads. ecs-deploy instead lists the service's tasks and counts those RUNNING on the service's task
definition, so without tasks it could never see a deployment finish. This patch answers ListTasks (with
serviceName) and DescribeTasks from the deployments' ``runningCount``: one RUNNING task per counted task, on that
deployment's task definition. It changes no state and no call the control plane makes.
"""

from __future__ import annotations

from typing import Any

PREFIX = "bench-svc-task"


def _service(backend: Any, cluster: str, name: str) -> Any:
    return backend.services.get(f"{cluster.split('/')[-1]}:{name.split('/')[-1]}")


def _tasks(backend: Any, service: Any) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    if service is None or service.status != "ACTIVE":
        return tasks
    for d in service.deployments:
        for i in range(int(d.get("runningCount", 0))):
            task_id = f"{PREFIX}-{service.name}-{str(d['id']).split('/')[-1]}-{i}"
            tasks.append(
                {
                    "taskArn": f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:task/{service.cluster_name}/{task_id}",
                    "clusterArn": f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:cluster/{service.cluster_name}",
                    "taskDefinitionArn": d["taskDefinition"],
                    "group": f"service:{service.name}",
                    "lastStatus": "RUNNING",
                    "desiredStatus": "RUNNING",
                    "launchType": "FARGATE",
                    "containers": [],
                }
            )
    return tasks


def install() -> None:
    import json

    from moto.ecs.responses import EC2ContainerServiceResponse

    if getattr(EC2ContainerServiceResponse, "_bench_tasks", False):
        return
    EC2ContainerServiceResponse._bench_tasks = True  # type: ignore[attr-defined]
    list_tasks = EC2ContainerServiceResponse.list_tasks
    describe_tasks = EC2ContainerServiceResponse.describe_tasks

    def patched_list(self: Any) -> Any:
        service_name = self._get_param("serviceName")
        if not service_name:
            return list_tasks(self)
        service = _service(self.ecs_backend, self._get_param("cluster", "default"), service_name)
        return json.dumps({"taskArns": [t["taskArn"] for t in _tasks(self.ecs_backend, service)]})

    def patched_describe(self: Any) -> Any:
        wanted = list(self._get_param("tasks", []))
        if not any(PREFIX in str(t) for t in wanted):
            return describe_tasks(self)
        found = []
        for service in list(self.ecs_backend.services.values()):
            found += [t for t in _tasks(self.ecs_backend, service) if t["taskArn"] in wanted]
        return json.dumps({"tasks": found, "failures": []})

    EC2ContainerServiceResponse.list_tasks = patched_list  # type: ignore[method-assign]
    EC2ContainerServiceResponse.describe_tasks = patched_describe  # type: ignore[method-assign]
