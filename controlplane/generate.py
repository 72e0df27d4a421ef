"""Write (or check) the files generated from the declarations: ``statemachines/*.asl.json`` (from
``domain/flows.py``), ``.chalice/config.json`` and Terraform's ``generated/functions.json`` and
``generated/events.json`` (from ``deployment.py``). They stay committed for review and linting (and so that
Terraform validates on a fresh clone); ``--check`` (and a test) fails when one drifts."""

from __future__ import annotations

import json
from pathlib import Path

from controlplane import asl
from controlplane.deployment import chalice_config, events_document, functions_document

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_GENERATED = Path("terraform") / "modules" / "controlplane" / "generated"


def app_handlers() -> dict[str, str]:
    """Function name -> handler string, as the Chalice app registers them (the API is ``app.app``)."""
    import app as chalice_app

    handlers = {f.name: f.handler_string for f in chalice_app.app.pure_lambda_functions}
    return handlers | {"api_handler": "app.app"}


def _json(document: object) -> str:
    return json.dumps(document, indent=2) + "\n"


def generated() -> dict[Path, str]:
    files = {ROOT / "statemachines" / f"{name}.asl.json": asl.render(d) for name, d in asl.machines().items()}
    files[ROOT / ".chalice" / "config.json"] = _json(chalice_config())
    files[ROOT / TERRAFORM_GENERATED / "functions.json"] = _json(functions_document(app_handlers()))
    files[ROOT / TERRAFORM_GENERATED / "events.json"] = _json(events_document())
    return files


def drift() -> list[str]:
    """The generated files whose committed content differs (or that are missing, or are stale extras)."""
    out = [str(p.relative_to(ROOT)) for p, text in generated().items() if not p.exists() or p.read_text() != text]
    expected = {p.name for p in generated() if p.parent.name == "statemachines"}
    out += [
        f"statemachines/{p.name} (not generated)"
        for p in (ROOT / "statemachines").glob("*.asl.json")
        if p.name not in expected
    ]
    return sorted(out)


def write() -> list[str]:
    written = []
    for path, text in generated().items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(str(path.relative_to(ROOT)))
    return written


def main(check: bool = False) -> int:
    if check:
        stale = drift()
        for name in stale:
            print(f"drift: {name} (run: python -m controlplane generate)")
        return 1 if stale else 0
    for name in write():
        print(f"wrote {name}")
    return 0
