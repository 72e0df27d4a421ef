"""The emulated CodeBuild as the sandbox runs it: a build whose push ECR refuses fails, as in AWS."""

from __future__ import annotations

from tests.conftest import MotoWorld


def test_a_second_build_of_a_tag_into_an_immutable_repository_fails_in_post_build(aws_all: MotoWorld) -> None:
    # GIVEN prod's repository (tags are immutable) already holds an image tagged v1
    assert aws_all.run("build", "prod", {"source_version": "main", "image_tag": "v1"}).status.value == "SUCCEEDED"
    # WHEN another build pushes its image under the same tag
    second = aws_all.wait(aws_all.start("build", "prod", {"source_version": "other", "image_tag": "v1"}).id, timeout=20)
    # THEN that build fails promptly (ECR refused the push), naming the phase and why; the emulation goes on
    assert second.status.value == "FAILED" and second.error["code"] == "BuildFailed"
    build = aws_all.container.platform.build_status(second.step("build").detail["build_id"])
    assert build.failed_phase == "POST_BUILD" and "already exists" in build.phase_context[0]
    assert aws_all.run("build", "prod", {"source_version": "main", "image_tag": "v2"}).status.value == "SUCCEEDED"
