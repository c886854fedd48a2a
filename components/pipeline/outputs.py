"""Passing a step's outputs to later steps at run time, with no workflow engine.

A pipeline with outputs gets one small volume (the *outputs claim*). A producing step
writes each output to the file its spec names; that file is a bind mount of
``<step>/<output>`` on the claim (an init container creates the empty files first, so
the mounts are files, not folders). A consuming step mounts the claim read-only at
:data:`INPUTS_DIR` and runs its command through ``/bin/sh``, which reads each referenced
value from there (``"$(cat ...)"``) and ``exec``\\ s the real command.

Pulumi creates a consuming step only after its producers' Jobs completed, so the values
are there when it starts.
"""

from __future__ import annotations

import shlex
from typing import Any

from mlplane.core.naming import k8s_name
from mlplane.components.pipeline.spec import ContainerStepSpec, split_placeholders
from mlplane.components.pod_security import ComputeResources, container

#: Where consuming steps see the outputs claim.
INPUTS_DIR = "/mlplane/outputs"
#: The volume name of the outputs claim in step pods.
VOLUME_NAME = "mlplane-outputs"
#: A small, pinned image with a POSIX shell for the init container.
HELPER_IMAGE = "busybox:1.36.1"


def output_key(step: str, output: str) -> str:
    """Where an output lives on the claim: ``<step>/<output>`` as Kubernetes-safe names."""
    return f"{k8s_name(step)}/{k8s_name(output)}"


def producer_mounts(spec: ContainerStepSpec) -> list[dict[str, Any]]:
    """The file mounts that make the step's output files land on the claim."""
    return [
        {"name": VOLUME_NAME, "mountPath": path, "subPath": output_key(spec.name, output)}
        for output, path in sorted(spec.file_outputs.items())
    ]


def producer_init_container(spec: ContainerStepSpec, resources: ComputeResources) -> dict[str, Any]:
    """An init container that creates the (empty) output files on the claim."""
    keys = [output_key(spec.name, output) for output in sorted(spec.file_outputs)]
    folders = sorted({key.split("/")[0] for key in keys})
    script = " && ".join([f"mkdir -p {' '.join(f'/claim/{f}' for f in folders)}",
                          *(f": > /claim/{key}" for key in keys)])
    return container("prepare-outputs", HELPER_IMAGE, resources, command=["/bin/sh", "-c", script],
                     volume_mounts=[{"name": VOLUME_NAME, "mountPath": "/claim"}])


def consumes_outputs(spec: ContainerStepSpec) -> bool:
    """Whether the step's command or arguments refer to other steps' outputs."""
    return bool(spec.references())


def consumer_mount() -> dict[str, Any]:
    """The read-only mount of the outputs claim in a consuming step."""
    return {"name": VOLUME_NAME, "mountPath": INPUTS_DIR, "readOnly": True}


def _shell_word(text: str) -> str:
    pieces = []
    for part in split_placeholders(text):
        if isinstance(part, tuple):
            pieces.append(f'"$(cat {INPUTS_DIR}/{output_key(*part)})"')
        elif part:
            pieces.append(shlex.quote(part))
    return "".join(pieces) or "''"


def consumer_command(spec: ContainerStepSpec) -> list[str]:
    """The step's command rewritten to read referenced outputs when it starts.

    Raises:
        ValueError: The step has no command (the image's entrypoint is unknown offline,
            so there is nothing to ``exec``).
    """
    if not spec.command:
        raise ValueError(
            f"step {spec.name!r} uses other steps' outputs, so it must set `command`: the image's own "
            "entrypoint cannot be known when the plan is made"
        )
    words = [_shell_word(word) for word in (*spec.command, *spec.args)]
    return ["/bin/sh", "-c", "exec " + " ".join(words)]


#: The volume that holds a step's constant input files (written by an init container).
INPUT_VOLUME_NAME = "mlplane-inputs"


def constant_inputs(spec: ContainerStepSpec) -> list[tuple[str, str]]:
    """The step's input files with constant contents: ``(path, text)``, sorted by path."""
    references = spec.file_references()
    return sorted((path, text) for path, text in spec.input_files.items() if path not in references)


def input_file_mounts(spec: ContainerStepSpec) -> list[dict[str, Any]]:
    """Read-only file mounts of the step's input files.

    An input that is another step's output is that output's file on the outputs claim
    (the producer ran to completion before this step is created); a constant is a file
    of the step's own ``emptyDir``, written by :func:`inputs_init_container`.
    """
    mounts = [{"name": VOLUME_NAME, "mountPath": path, "subPath": output_key(*reference), "readOnly": True}
              for path, reference in sorted(spec.file_references().items())]
    mounts += [{"name": INPUT_VOLUME_NAME, "mountPath": path, "subPath": f"input-{index}", "readOnly": True}
               for index, (path, _) in enumerate(constant_inputs(spec))]
    return mounts


def inputs_init_container(spec: ContainerStepSpec, resources: ComputeResources) -> dict[str, Any] | None:
    """An init container writing the constant input files, or None when there are none.

    Values travel as environment variables, so no quoting of their text is needed.
    """
    constants = constant_inputs(spec)
    if not constants:
        return None
    script = " && ".join(f'printf "%s" "$INPUT_{i}" > /inputs/input-{i}' for i in range(len(constants)))
    env = [{"name": f"INPUT_{i}", "value": text} for i, (_, text) in enumerate(constants)]
    return container("prepare-inputs", HELPER_IMAGE, resources, command=["/bin/sh", "-c", script], env=env,
                     volume_mounts=[{"name": INPUT_VOLUME_NAME, "mountPath": "/inputs"}])
