"""Checks of an endpoint against the rest of the stack: pure functions, no Pulumi.

The config rules (:mod:`infra.config.serving`) run them while the stack file loads, with
the key paths of the file; the components run them again on their args, so a program
that builds an endpoint by hand (a pipeline step) cannot skip them.
"""

from __future__ import annotations


from components.base import Issue
from components.serving.spec import ModelSource, Replicas, ServingBackend, uri_scheme

SERVERLESS: ServingBackend = "kserve-serverless"


def backend_for(kserve_available: bool, kserve_mode: str | None) -> ServingBackend:
    """Where endpoints run: KServe in its mode when the platform has KServe, else Deployments."""
    if not kserve_available:
        return "deployment"
    return "kserve-raw" if kserve_mode == "raw" else SERVERLESS


def _backend_words(backend: ServingBackend) -> str:
    return {
        "kserve-serverless": "KServe in serverless mode",
        "kserve-raw": "KServe in raw deployment mode",
        "deployment": "plain Deployments (KServe is not enabled)",
    }[backend]


def backend_issues(backend: ServingBackend, replicas: Replicas, canary_percent: int | None) -> list[Issue]:
    """Scale to zero and canaries need Knative's revisions: KServe in serverless mode."""
    issues = []
    if replicas.min == 0 and backend != SERVERLESS:
        issues.append(Issue(
            ("replicas", "min"),
            f"scale to zero needs KServe in serverless mode, but this stack serves with {_backend_words(backend)}",
            0,
            "min >= 1, or enable KServe with deployment_mode: serverless (mlplane:kubeflow.components.kserve)",
        ))
    if canary_percent is not None and backend != SERVERLESS:
        issues.append(Issue(
            ("canary_percent",),
            "a canary needs KServe in serverless mode (Knative keeps the previous revision), but this stack "
            f"serves with {_backend_words(backend)}",
            canary_percent,
            "no canary_percent, or enable KServe with deployment_mode: serverless",
        ))
    return issues


def store_issue(model: ModelSource | None, store_scheme: str | None) -> Issue | None:
    """A model URI must be in the stack's artifact store: same scheme."""
    if model is None or model.uri is None:
        return None
    scheme = uri_scheme(model.uri)
    if store_scheme is None:
        return Issue(("model", "uri"), "the stack has no artifact store to load a model URI from", model.uri,
                     "a model on a volume (model.volume), or declare an artifact store in mlplane:storage")
    if scheme != store_scheme:
        return Issue(("model", "uri"),
                     f"the model URI's scheme {scheme!r} does not match the stack's artifact store ({store_scheme}://)",
                     model.uri, f"{store_scheme}:// URIs in the artifact store")
    return None
