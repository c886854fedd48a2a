"""The real KFP 1.8.22 compiler, in its own virtual environment, and how its output is compared.

kfp 1.8.22 pins old libraries (kubernetes<26, protobuf<4, ...), so it never goes into
mlplane's environment: :func:`oracle_python` builds a venv once under the cache folder
(``$MLPLANE_KFP_ORACLE_VENV``, else ``$XDG_CACHE_HOME/mlplane/kfp-oracle-1.8.22``, else
``~/.cache/...``) with ``python -m venv`` and ``pip install kfp==1.8.22``, and reuses it;
a file lock keeps parallel test workers from building it twice. :func:`compile_all`
compiles every test pipeline in one subprocess, once for all workers (cached by digest).

Both sides are then brought to one shape per step (:func:`oracle_steps`,
:func:`mlplane_steps`): image, command, arguments, environment, volumes and mounts,
resources, retries, timeout, node selector, tolerations, pod annotations and labels
(KFP's own ``pipelines.kubeflow.org/*`` bookkeeping left out, the display name kept),
outputs, the files and values each step receives, and what it runs after. A value
from another step reads ``<<step:path>>`` on both sides (Argo's
``{{inputs.parameters.x}}`` through the DAG's arguments, mlplane's output placeholder
through the producer's ``file_outputs``); a pipeline parameter is its value.

A Workflow is compared whole, template by template (:func:`workflow_differences`), after
:func:`with_documented_additions` adds to KFP's exactly what docs/pipelines.md says
mlplane adds, written out here rather than taken from mlplane's code.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys

import yaml
from pathlib import Path
from typing import Any

from mlplane.components.pipeline.spec import (
    ContainerStepSpec,
    PipelineSpec,
    ResourceStepSpec,
    VolumeStepSpec,
    split_placeholders,
)

KFP_VERSION = "1.8.22"
COMPILE_SCRIPT = Path(__file__).with_name("compile_batch.py")

#: KFP's own bookkeeping on every template; not something a step receives.
_KFP_KEYS = re.compile(r"^pipelines\.kubeflow\.org/(?!task_display_name$|max_cache_staleness$)")


class OracleUnavailable(RuntimeError):
    """The oracle's venv cannot be built here (no PyPI, no venv module)."""


def venv_dir() -> Path:
    """Where the oracle's venv lives."""
    given = os.environ.get("MLPLANE_KFP_ORACLE_VENV")
    if given:
        return Path(given)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "mlplane" / f"kfp-oracle-{KFP_VERSION}"


def oracle_python() -> Path:
    """The oracle venv's python, building the venv first if it is not there."""
    folder = venv_dir()
    python = folder / "bin" / "python"
    marker = folder / ".mlplane-ready"
    if marker.is_file():
        return python
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file():
            return python
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True, capture_output=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            f"kfp=={KFP_VERSION}"], check=True, capture_output=True, timeout=1800)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            output = getattr(exc, "stderr", b"") or b""
            raise OracleUnavailable(f"cannot build the kfp {KFP_VERSION} venv at {folder}: "
                                    f"{output.decode(errors='replace')[-2000:]}") from None
        marker.write_text(KFP_VERSION)
    return python


def compile_all(jobs: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Compile ``[{"id", "file", "function"}]`` with the real KFP, all in one subprocess.

    The result is kept beside the venv under a digest of the jobs, the compile script and
    every file under the jobs' folders' parent, so parallel test workers share one compilation and an
    unchanged suite is not compiled again.
    """
    python = oracle_python()
    digest = hashlib.sha256(json.dumps(jobs, sort_keys=True).encode() + COMPILE_SCRIPT.read_bytes())
    # The jobs' folders and their parent's, recursively: a pipeline may load component
    # files from a sibling folder (``../components/...``), as project layouts do.
    for folder in sorted({Path(job["file"]).parent.parent for job in jobs}):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    cached = venv_dir() / f"compiled-{digest.hexdigest()[:16]}.json"
    with open(venv_dir().parent / f".{venv_dir().name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cached.is_file():
            return json.loads(cached.read_text())
        done = subprocess.run([str(python), str(COMPILE_SCRIPT)], input=json.dumps(jobs), capture_output=True,
                              text=True, check=True, timeout=900, env={**os.environ, "PYTHONHASHSEED": "0"})
        cached.write_text(done.stdout)
    return json.loads(done.stdout)


# --- the oracle's side -------------------------------------------------------------------


def _object(manifest: dict[str, Any]) -> dict[str, Any]:
    """An object without its name and namespace (KFP names it after the run, mlplane after the pipeline)."""
    metadata = {k: v for k, v in (manifest.get("metadata") or {}).items() if k not in ("name", "namespace",
                                                                                          "generateName")}
    return {**manifest, "metadata": metadata}


def _labels(values: dict[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (values or {}).items() if not _KFP_KEYS.match(k)}


def _resources(container: dict[str, Any]) -> dict[str, Any]:
    resources = container.get("resources") or {}
    found = {}
    for section in ("limits", "requests"):
        for key, value in (resources.get(section) or {}).items():
            found[f"{section}.{key}"] = str(value)
    return found


def oracle_steps(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each step of a compiled Argo Workflow, in the comparison's shape."""
    spec = workflow["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    parameters = {p["name"]: str(p.get("value", "")) for p in (spec.get("arguments") or {}).get("parameters", [])}
    dag_tasks = {t["name"]: t for t in templates[spec["entrypoint"]].get("dag", {}).get("tasks", [])}

    def output_path(task: str, output: str, kind: str) -> str:
        template = templates[dag_tasks[task]["template"]]
        for entry in (template.get("outputs") or {}).get(kind, []):
            if entry["name"] == output:
                if "path" in entry or "path" in entry.get("valueFrom", {}):
                    return entry.get("path") or entry["valueFrom"]["path"]
                return f"claim:{task}"  # a resource template's claim name (valueFrom.jsonPath)
        raise KeyError(f"{task}.{output}")

    def reference(text: str) -> str:
        match = re.fullmatch(r"\{\{tasks\.([^.]+)\.outputs\.(parameters|artifacts)\.([^}]+)\}\}", text)
        if match is None:
            return text
        return f"<<{match.group(1)}:{output_path(match.group(1), match.group(3), match.group(2))}>>"

    steps = {}
    for task_name, task in dag_tasks.items():
        template = templates[task["template"]]
        values = {p["name"]: reference(str(p.get("value", ""))) for p in (task.get("arguments") or {}).get(
            "parameters", [])}
        values = {k: parameters.get(found.group(1), v)
                  if (found := re.fullmatch(r"\{\{inputs\.parameters\.([^}]+)\}\}", v)) else v
                  for k, v in values.items()}
        values.update({k: v for k, v in parameters.items() if k not in values})

        def substitute(text: str, values: dict[str, str] = values) -> str:
            return re.sub(r"\{\{inputs\.parameters\.([^}]+)\}\}", lambda hit: values.get(hit.group(1), hit.group(0)), text)

        received = {}
        for artifact in (task.get("arguments") or {}).get("artifacts", []):
            path = next(a["path"] for a in template["inputs"]["artifacts"] if a["name"] == artifact["name"])
            received[path] = reference(artifact["from"]) if "from" in artifact else None
        for artifact in (template.get("inputs") or {}).get("artifacts", []):
            if "raw" in artifact:
                received[artifact["path"]] = substitute(artifact["raw"]["data"])
        if "resource" in template:
            manifest = yaml.safe_load(template["resource"]["manifest"])
            if manifest["kind"] == "PersistentVolumeClaim":
                steps[task_name] = {"kind": "volume",
                                    "size": substitute(manifest["spec"]["resources"]["requests"]["storage"]),
                                    "modes": manifest["spec"]["accessModes"],
                                    "storage_class": manifest["spec"].get("storageClassName"),
                                    "after": sorted(task.get("dependencies") or [])}
            else:
                steps[task_name] = {"kind": "resource", "object": _object(json.loads(substitute(json.dumps(manifest)))),
                                    "success": template["resource"].get("successCondition"),
                                    "failure": template["resource"].get("failureCondition"),
                                    "action": template["resource"]["action"],
                                    "after": sorted(task.get("dependencies") or [])}
            continue
        container = template["container"]
        mounts = container.get("volumeMounts") or []
        outputs = {}
        for kind in ("artifacts", "parameters"):
            for entry in (template.get("outputs") or {}).get(kind, []):
                if entry["name"] in ("mlpipeline-ui-metadata", "mlpipeline-metrics"):
                    continue
                outputs[entry["name"][len(task_name) + 1:]] = entry.get("path") or entry["valueFrom"]["path"]
        metadata = template.get("metadata") or {}
        steps[task_name] = {
            "kind": "container",
            "image": container["image"],
            "command": [substitute(c) for c in container.get("command") or []],
            "args": [substitute(a) for a in container.get("args") or []],
            "env": [{**e, "value": substitute(e["value"])} if "value" in e else e for e in container.get("env") or []],
            "working_dir": container.get("workingDir"),
            "image_pull_policy": container.get("imagePullPolicy"),
            "mounts": sorted((json.dumps(m, sort_keys=True) for m in mounts)),
            "volumes": sorted(substitute(json.dumps(v, sort_keys=True)) for v in template.get("volumes") or []),
            "resources": _resources(container),
            "retries": int((template.get("retryStrategy") or {}).get("limit", 0)),
            "timeout": template.get("activeDeadlineSeconds"),
            "node_selector": template.get("nodeSelector") or spec.get("nodeSelector") or {},
            "pull_secrets": [secret["name"] for secret in spec.get("imagePullSecrets") or []],
            "tolerations": sorted(json.dumps(t, sort_keys=True) for t in template.get("tolerations") or []),
            "annotations": _labels(metadata.get("annotations")),
            "labels": _labels(metadata.get("labels")),
            "outputs": outputs,
            "sidecars": sorted(json.dumps({k: v for k, v in c.items() if k in ("name", "image", "command", "args",
                                                                                 "env", "mirrorVolumeMounts")},
                                          sort_keys=True) for c in template.get("sidecars") or []),
            "received": received,
            "after": sorted(task.get("dependencies") or []),
        }
    return steps


# --- mlplane's side ----------------------------------------------------------------------


def mlplane_steps(spec: PipelineSpec) -> dict[str, dict[str, Any]]:
    """Each step of a loaded pipeline, in the comparison's shape."""
    by_name = {step.name: step for step in spec.steps}
    claims = {step.resource_name: step.name for step in spec.steps if isinstance(step, VolumeStepSpec)}

    def text(value: str) -> str:
        if value in claims:  # a VolumeOp's name output, known to the plan (KFP: a run's claim)
            return f"<<{claims[value]}:claim:{claims[value]}>>"
        parts = []
        for part in split_placeholders(value):
            if isinstance(part, tuple):
                parts.append(f"<<{part[0]}:{by_name[part[0]].file_outputs[part[1]]}>>")
            else:
                parts.append(part)
        return "".join(parts)

    steps: dict[str, dict[str, Any]] = {}
    for step in spec.steps:
        after = sorted(spec.upstream(step))
        if isinstance(step, VolumeStepSpec):
            steps[step.name] = {"kind": "volume", "size": step.size, "modes": list(step.modes),
                                "storage_class": step.storage_class, "after": after}
            continue
        if isinstance(step, ResourceStepSpec):
            manifest = json.dumps(step.manifest)
            for claim, owner in claims.items():
                manifest = manifest.replace(json.dumps(claim), json.dumps(f"<<{owner}:claim:{owner}>>"))
            steps[step.name] = {"kind": "resource", "object": _object(json.loads(manifest)),
                                "success": step.success_condition, "failure": step.failure_condition,
                                "action": "create", "after": after}
            continue
        if not isinstance(step, ContainerStepSpec):
            continue
        resources = {}
        for field, key in (("cpu_limit", "limits.cpu"), ("memory_limit", "limits.memory"),
                           ("cpu_request", "requests.cpu"), ("memory_request", "requests.memory")):
            if getattr(step.resources, field) is not None:
                resources[key] = str(getattr(step.resources, field))
        if step.accelerator is not None:
            resources[f"limits.{step.accelerator.vendor}.com/gpu"] = str(step.accelerator.count)
        volumes = []
        for volume in step.volumes:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim in claims:
                volume = {"name": volume["name"], "persistentVolumeClaim": {"claimName": f"<<{claims[claim]}:claim:"
                                                                                          f"{claims[claim]}>>"}}
            volumes.append(json.dumps(volume, sort_keys=True))
        steps[step.name] = {
            "kind": "container",
            "image": step.image,
            "command": [text(c) for c in step.command],
            "args": [text(a) for a in step.args],
            "env": [{**e, "value": text(e["value"])} if "value" in e else e for e in step.env],
            "working_dir": step.working_dir,
            "image_pull_policy": step.image_pull_policy,
            "mounts": sorted(json.dumps(m, sort_keys=True) for m in step.volume_mounts),
            "volumes": sorted(volumes),
            "resources": resources,
            "retries": step.retries,
            "timeout": step.timeout_seconds,
            "node_selector": dict(step.node_selector),
            "pull_secrets": list(step.image_pull_secrets),
            "tolerations": sorted(json.dumps(t, sort_keys=True) for t in step.tolerations),
            "annotations": dict(step.pod_annotations),
            "labels": dict(step.pod_labels),
            "outputs": dict(step.file_outputs),
            "sidecars": sorted(json.dumps({k: v for k, v in {
                "name": c.name, "image": c.image, "command": list(c.command) or None, "args": list(c.args) or None,
                "env": list(c.env) or None, "mirrorVolumeMounts": c.mirror_volume_mounts or None}.items()
                if v is not None}, sort_keys=True) for c in step.sidecars),
            "received": {path: text(value) for path, value in step.input_files.items()},
            "after": after,
        }
    return steps


def differences(oracle: dict[str, dict[str, Any]], ours: dict[str, dict[str, Any]]) -> list[str]:
    """What differs, step by step and field by field (empty: they agree)."""
    found = []
    if sorted(oracle) != sorted(ours):
        found.append(f"steps: KFP {sorted(oracle)} vs mlplane {sorted(ours)}")
    for name in sorted(set(oracle) & set(ours)):
        for key in sorted(set(oracle[name]) | set(ours[name])):
            theirs, mine = oracle[name].get(key), ours[name].get(key)
            if theirs != mine:
                found.append(f"{name}.{key}: KFP {theirs!r} vs mlplane {mine!r}")
    return found


# --- pipelines that go to the workflow engine --------------------------------------------


def _workflow_shape(workflow: dict[str, Any]) -> dict[str, Any]:
    """A Workflow without KFP's bookkeeping, the run's arguments and the account that runs it.

    Pipeline parameters are substituted with their defaults (mlplane passes values, KFP
    references the Workflow's arguments).
    """
    spec = workflow["spec"]
    parameters = {p["name"]: str(p.get("value", "")) for p in (spec.get("arguments") or {}).get("parameters", [])}
    templates = {}
    for template in spec["templates"]:
        template = json.loads(json.dumps(template))
        if "resource" in template:  # the same object, however YAML lays it out
            template["resource"]["manifest"] = yaml.safe_load(template["resource"]["manifest"])
        if isinstance(template.get("podSpecPatch"), str):  # a patch, however JSON lays it out
            template["podSpecPatch"] = json.loads(template["podSpecPatch"])
        metadata = template.pop("metadata", None) or {}
        kept = {k: _labels(v) for k, v in metadata.items() if k in ("annotations", "labels") and _labels(v)}
        if kept:
            template["metadata"] = kept
        _drop_parameters(template, "inputs", parameters)
        for task in (template.get("dag") or {}).get("tasks", []):
            _drop_parameters(task, "arguments", parameters)
        text = json.dumps(template, sort_keys=True)
        for name, value in parameters.items():
            text = text.replace("{{inputs.parameters." + name + "}}", value)
            text = text.replace("{{workflow.parameters." + name + "}}", value)
        templates[template["name"]] = json.loads(text)
    return {"entrypoint": spec["entrypoint"], "onExit": spec.get("onExit"), "parallelism": spec.get("parallelism"),
            "templates": templates}


def _drop_parameters(owner: dict[str, Any], key: str, parameters: dict[str, str]) -> None:
    """Drop the pipeline's ``parameters`` from ``owner[key]["parameters"]`` (a template's inputs, a
    task's arguments): they are substituted. Emptied lists and mappings go too, as KFP leaves none."""
    held = owner.get(key) or {}
    held["parameters"] = [p for p in held.get("parameters", []) if p["name"] not in parameters]
    if not held["parameters"]:
        held.pop("parameters")
    if held:
        owner[key] = held
    else:
        owner.pop(key, None)


# --- mlplane's documented additions (docs/pipelines.md, "What workflow steps get") -----------
# Written out here as the documentation states them, not taken from mlplane's code, so a
# change to either side shows as a difference.

#: Pod Security "restricted", on every container template's pod.
POD_SECURITY_CONTEXT = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"}}
#: ... and on every container of it (main and sidecars).
CONTAINER_SECURITY_CONTEXT = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                              "runAsNonRoot": True, "readOnlyRootFilesystem": False,
                              "seccompProfile": {"type": "RuntimeDefault"}}
#: A container step's default (request, limit) of CPU and memory.
DEFAULT_RESOURCES = {"cpu": ("100m", "1"), "memory": ("128Mi", "512Mi")}
#: What each of Argo's executor containers gets: a sidecar's defaults.
EXECUTOR = {"resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
            "securityContext": CONTAINER_SECURITY_CONTEXT}
#: Istio injection off, as label and annotation, on every template.
NO_SIDECAR = {"sidecar.istio.io/inject": "false"}
#: The containers Argo puts in a resource template's pod, all of them its executor, by release
#: train: 1.8.1's Argo (v3.3.10, emissary) adds no wait container to it, 26.03's (v3.7.3,
#: archiving logs) does.
RESOURCE_POD = {"1.8.1": {"initContainers": ["init"], "containers": ["main"]},
                "26.03": {"initContainers": ["init"], "containers": ["wait", "main"]}}


def _sized(given: dict[str, Any], extra: dict[str, str]) -> dict[str, Any]:
    """A container's resources by the documented rule: CPU and memory each get a request
    and a limit; a limit alone is the request too; a request alone gets the default limit,
    or itself where it is above it; neither gets the defaults. ``extra`` (accelerators):
    request = limit."""
    from mlplane.components.quantity import parse_quantity

    # Anything else KFP set stays as it was (but a GPU limit that a placement replaces).
    sized: dict[str, dict[str, str]] = {part: {k: str(v) for k, v in (given.get(part) or {}).items()
                                               if not (extra and re.fullmatch(r"(nvidia|amd)\.com/gpu", k))}
                                        for part in ("requests", "limits")}
    for kind, (default_request, default_limit) in DEFAULT_RESOURCES.items():
        request = (given.get("requests") or {}).get(kind)
        limit = (given.get("limits") or {}).get(kind)
        if request is None and limit is not None:
            request = limit
        if limit is None:
            limit = request if request is not None and parse_quantity(request) > parse_quantity(default_limit) \
                else default_limit
        sized["requests"][kind], sized["limits"][kind] = str(request or default_request), str(limit)
    for key, value in extra.items():
        sized["requests"][key] = sized["limits"][key] = value
    return sized


def with_documented_additions(workflow: dict[str, Any], placements: dict[str, Any] | None = None,
                              release: str = "26.03") -> dict[str, Any]:
    """KFP's Workflow with exactly what mlplane documents adding to it (a copy).

    ``placements``: template name -> the pool's scheduling facts (``resource_name``,
    ``count``, ``node_selector``, ``tolerations``) for the templates with accelerators;
    their KFP ``<vendor>.com/gpu`` limit becomes the pool's resource. ``release``: the
    release train, whose Argo decides which containers a resource template's pod has.
    """
    workflow = json.loads(json.dumps(workflow))
    for template in workflow["spec"]["templates"]:
        metadata = template.setdefault("metadata", {})
        for key in ("labels", "annotations"):
            metadata[key] = {**(metadata.get(key) or {}), **NO_SIDECAR}
        if "resource" in template:
            # Argo's containers of its pod, all of them the executor, through a pod spec patch.
            template["securityContext"] = POD_SECURITY_CONTEXT
            template["podSpecPatch"] = {key: [{"name": name, **EXECUTOR} for name in names]
                                        for key, names in RESOURCE_POD[release].items()}
        if "container" not in template:
            continue
        placement = (placements or {}).get(template["name"])
        extra = {placement.resource_name: str(placement.count)} if placement else {}
        container = template["container"]
        container["resources"] = _sized(container.get("resources") or {}, extra)
        container["securityContext"] = CONTAINER_SECURITY_CONTEXT
        for sidecar in template.get("sidecars") or []:
            sidecar["resources"] = _sized({}, {})
            sidecar["securityContext"] = CONTAINER_SECURITY_CONTEXT
        template["securityContext"] = POD_SECURITY_CONTEXT
        # Argo's executor containers (init, wait), through a pod spec patch.
        template["podSpecPatch"] = {"initContainers": [{"name": "init", **EXECUTOR}], "containers": [
            {"name": "wait", **EXECUTOR}]}
        if placement:
            template["nodeSelector"] = {**(template.get("nodeSelector") or {}), **placement.node_selector}
            tolerations = list(template.get("tolerations") or [])
            template["tolerations"] = tolerations + [dict(t) for t in placement.tolerations if t not in tolerations]
    return workflow


def workflow_differences(oracle: dict[str, Any], ours: dict[str, Any],
                         placements: dict[str, Any] | None = None, release: str = "26.03") -> list[str]:
    """What differs between KFP's Workflow, with mlplane's documented additions, and
    mlplane's as declared, template by template (every field of every template: a missing,
    extra or different addition is a difference as much as a wrong image or argument)."""
    theirs, mine = _workflow_shape(with_documented_additions(oracle, placements, release)), _workflow_shape(ours)
    found = [f"{key}: KFP {theirs[key]!r} vs mlplane {mine[key]!r}" for key in ("entrypoint", "onExit")
             if theirs[key] != mine[key]]
    if sorted(theirs["templates"]) != sorted(mine["templates"]):
        found.append(f"templates: KFP {sorted(theirs['templates'])} vs mlplane {sorted(mine['templates'])}")
    for name in sorted(set(theirs["templates"]) & set(mine["templates"])):
        a, b = theirs["templates"][name], mine["templates"][name]
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                found.append(f"{name}.{key}: KFP {json.dumps(a.get(key), sort_keys=True)[:400]} vs mlplane "
                             f"{json.dumps(b.get(key), sort_keys=True)[:400]}")
    return found
