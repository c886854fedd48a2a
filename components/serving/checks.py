"""Checks of an endpoint against the rest of the stack: pure functions, no Pulumi.

The config rules (:mod:`infra.config.serving`) run them while the stack file loads, with
the key paths of the file; the components run them again on their args, so a program
that builds an endpoint by hand (a pipeline step) cannot skip them.
"""

from __future__ import annotations


from mlplane.components.base import Issue
from mlplane.components.serving.spec import ModelSource, Replicas, ServingBackend, uri_scheme

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


#: Kubernetes' limit on a DNS label: a Service name, and every label of a host name.
DNS_LABEL_MAX = 63


def derived_names(name: str, namespace: str, backend: ServingBackend) -> list[tuple[str, str]]:
    """The names upstream controllers derive from an endpoint's name, as ``(what, name)``.

    - KServe (both modes) names the predictor ``<name>-predictor``
      (kserve/kserve ``pkg/constants/constants.go``: ``PredictorServiceName``, tags
      v0.11.2 and v0.16.0): the Knative Service in serverless mode, the Deployment and
      Service in raw mode. Knative's own children (revisions ``-00001``, ``-private``
      Services) are shortened by Knative itself (knative.dev/pkg ``kmeta/names.go``:
      ``ChildName`` hashes names over 63 characters), and its route host has one label
      per name (``{{.Name}}.{{.Namespace}}.{{.Domain}}``).
    - KServe raw mode puts the namespace into the host's first label: its
      ``domainTemplate`` is ``{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}``
      (charts kserve-v0.11.2 and kserve-v0.16.0, ``values.yaml``), rendered for the
      InferenceService and for each component (``pkg/controller/v1beta1/inferenceservice/
      reconcilers/raw/raw_kube_reconciler.go``: ``GenerateDomainName(metadata.Name, ...)``),
      and ``ingress/domain.go`` refuses a host that is not a valid DNS name, so the
      InferenceService never becomes ready.
    - Plain Deployments: the Service is named after the endpoint.
    """
    if backend == "deployment":
        return [("the Service", name)]
    predictor = f"{name}-predictor"
    found = [("KServe's predictor (Knative Service or Service)", predictor)]
    if backend == "kserve-raw":
        found += [("KServe's raw-mode host label of the predictor", f"{predictor}-{namespace}"),
                  ("KServe's raw-mode host label of the InferenceService", f"{name}-{namespace}")]
    return found


def derived_name_issues(name: str, namespace: str, backend: ServingBackend) -> list[Issue]:
    """Every derived name (see :func:`derived_names`) longer than a DNS label allows."""
    issues = []
    for what, derived in derived_names(name, namespace, backend):
        if len(derived) > DNS_LABEL_MAX:
            room = DNS_LABEL_MAX - (len(derived) - len(name))
            issues.append(Issue(
                ("name",),
                f"{what} would be {derived!r}, {len(derived)} characters, derived from endpoint {name!r} in "
                f"namespace {namespace!r}; Kubernetes allows {DNS_LABEL_MAX}",
                name,
                f"a name of at most {room} characters in namespace {namespace!r}, or a shorter namespace",
            ))
    return issues
