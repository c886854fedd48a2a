"""Hypothesis strategies for stack files: coherent configs per section, and mutations.

The strategies build the ``config:`` map of a stack file from the real models' shapes
(cluster kinds, storage classes and stores that fit them, Kubeflow release trains and
component toggles, Dex users, serving endpoints, accelerator pools, the MNIST pipeline).
Left alone they mostly produce stacks that load and render; :func:`mutated` then breaks
them the way careless or hostile users do (a dropped key, a wrong type, a value out of
range, an unknown key, a bad name, a huge string, a duplicated entry), so a run mixes
valid stacks with invalid ones.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent

Doc = dict[str, Any]
PathKey = tuple[Any, ...]

# --- building blocks -------------------------------------------------------------------

dns_labels = st.from_regex(r"\A[a-z]([a-z0-9-]{0,10}[a-z0-9])?\Z")
hosts = st.builds(lambda a, b: f"{a}.{b}.example", dns_labels, st.sampled_from(["ml", "apps", "lab"]))
emails = st.builds(lambda a, b: f"{a}@{b}.example", st.from_regex(r"\A[a-z]{1,8}\Z"), st.sampled_from(["acme", "corp"]))
sizes = st.builds(lambda n, unit: f"{n}{unit}", st.integers(1, 2048), st.sampled_from(["Mi", "Gi", "Ti", "G"]))

#: Names that break Kubernetes' limits or its grammar (and a few that are fine).
bad_names = st.sampled_from([
    "", "-lead", "trail-", "UPPER", "Mixed-Case", "1leading-digit", "dots.in.name", "under_score", "sp ace",
    "ünïcödé", "x" * 63, "y" * 64, "z" * 253, "w" * 254, "a--b", "\u0430dmin", "name\n", "a/b", "..", "*",
])
#: Strings that make trouble in paths, templates and shells.
hostile_strings = st.sampled_from([
    "", " ", "../../etc/passwd", "/etc/shadow", "pvc://models/../x", "{{mlplane.output:x:y}}", "${HOME}",
    "$(rm -rf /)", "a\x00b", "\u202etxt.exe", "x" * 5000, "null", "~", "*", "\\\\server\\share",
])


def other_type(value: Any) -> st.SearchStrategy[Any]:
    """Values of a different type than ``value`` (the "wrong type" mutation)."""
    options: list[Any] = [None, True, 0, -1, 3.5, "text", [], ["a"], {}, {"k": "v"}, {"secure": "v1:abc"}]
    return st.sampled_from([o for o in options if type(o) is not type(value)])


# --- sections ---------------------------------------------------------------------------

CLUSTER_KINDS = ("local", "selfhosted", "gke", "eks", "aks")


@st.composite
def clusters(draw: st.DrawFn, kind: str) -> Doc:
    """``mlplane:cluster`` of a given kind, with its required keys."""
    cluster: Doc = {"kind": kind}
    if kind == "gke":
        cluster.update(project="acme-ml", location=draw(st.sampled_from(["europe-west4", "us-central1"])),
                       name=draw(dns_labels))
    elif kind == "eks":
        cluster.update(region=draw(st.sampled_from(["eu-west-1", "us-east-2"])), name=draw(dns_labels))
    elif kind == "aks":
        cluster.update(resource_group="ml-rg", name=draw(dns_labels))
    if draw(st.booleans()):
        cluster["context"] = draw(st.sampled_from(["kind-mlplane", "k3d-ml", "admin@onprem", "ctx"]))
    if draw(st.integers(0, 3)) == 0:
        cluster["workload_namespace"] = draw(st.sampled_from(["ml", "workloads", "team-a"]))
    return cluster


_CLASS_KINDS = {"local": ("local-path", "nfs"), "selfhosted": ("local-path", "nfs"), "gke": ("gce-pd",),
                "eks": ("ebs",), "aks": ("azure-disk",)}


@st.composite
def storage_class(draw: st.DrawFn, kind: str, name: str) -> Doc:
    """One StorageClass of ``mlplane:storage.classes`` of a given kind."""
    cls: Doc = {"name": name, "kind": kind}
    if kind == "nfs":
        cls.update(server="nfs.dc1.example.internal", share=draw(st.sampled_from(["/exports/ml", "/srv/nfs"])))
    elif kind == "gce-pd" and draw(st.booleans()):
        cls["disk_type"] = "pd-ssd"
    elif kind == "ebs" and draw(st.booleans()):
        cls["volume_type"] = "io2"
    if draw(st.integers(0, 4)) == 0:
        cls["reclaim_policy"] = "Delete"
    return cls


def artifact_store(cluster_kind: str, class_name: str, cloud: bool) -> Doc:
    """The artifact store that fits the cluster: the cloud's own, or the in-cluster one."""
    if cloud and cluster_kind == "gke":
        return {"kind": "gcs", "bucket": "acme-ml-artifacts", "location": "EUROPE-WEST4"}
    if cloud and cluster_kind == "eks":
        return {"kind": "s3", "bucket": "acme-ml-artifacts",
                "oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB"}
    if cloud and cluster_kind == "aks":
        return {"kind": "azure-blob", "storage_account": "acmeml", "location": "westeurope",
                "subscription_id": "00000000-0000-0000-0000-000000000000",
                "oidc_issuer_url": "https://westeurope.oic.prod-aks.azure.com/0/1/"}
    return {"kind": "in-cluster", "storage_class": class_name, "size": "5Gi"}


#: Earlier names (``formerly``) entries sometimes carry; some clash with other entries' names.
_FORMER = st.lists(st.sampled_from(["old", "legacy", "models", "datasets", "gpu", "mnist"]), min_size=1, max_size=2)


def with_history(draw: st.DrawFn, entry: Doc) -> Doc:
    """``entry``, one time in four with a ``formerly`` list (valid, clashing or naming itself)."""
    if draw(st.integers(0, 3)) == 0:
        entry["formerly"] = draw(_FORMER)
    return entry


@st.composite
def storages(draw: st.DrawFn, cluster_kind: str) -> Doc:
    """``mlplane:storage``: classes that exist on the cluster, volumes on them, a store."""
    kinds = _CLASS_KINDS[cluster_kind]
    class_names = draw(st.lists(st.sampled_from(["fast", "standard", "shared", "local"]), min_size=1, max_size=2,
                                unique=True))
    classes = [draw(storage_class(draw(st.sampled_from(kinds)), name)) for name in class_names]
    volumes = []
    for name in draw(st.lists(st.sampled_from(["models", "datasets", "scratch"]), max_size=3, unique=True)):
        cls = draw(st.sampled_from(classes))
        volume: Doc = {"name": name, "size": draw(sizes), "storage_class": cls["name"]}
        if cls["kind"] == "nfs" and draw(st.booleans()):
            volume["access_modes"] = ["ReadWriteMany"]
        volumes.append(with_history(draw, volume))
    storage: Doc = {"classes": classes, "volumes": volumes}
    if draw(st.integers(0, 4)) > 0:
        storage["artifacts"] = artifact_store(cluster_kind, classes[0]["name"], draw(st.booleans()))
    if draw(st.integers(0, 5)) == 0:
        storage["protect"] = False
    return storage


#: Platform shapes that fit together; random toggles on top may break them.
_MINIMAL = {key: {"enabled": False} for key in (
    "dex", "oauth2_proxy", "knative_serving", "kubeflow_roles", "profiles", "central_dashboard", "notebooks",
    "pipelines", "katib", "training", "kserve", "models_web_app", "tensorboards", "volumes_web_app",
    "model_registry")}
_DEV = {"knative_serving": {"enabled": False}, "kserve": {"deployment_mode": "raw"}, "katib": {"enabled": False},
        "training": {"enabled": False}, "tensorboards": {"enabled": False}, "model_registry": {"enabled": False}}
_TOGGLES = ("katib", "training", "tensorboards", "notebooks", "volumes_web_app", "central_dashboard",
            "models_web_app", "knative_serving", "dex", "istio")


@st.composite
def kubeflows(draw: st.DrawFn, users: list[str]) -> Doc:
    """``mlplane:kubeflow``: a release train, a platform shape, toggles, profiles."""
    release = draw(st.sampled_from(["26.03", "1.8.1"]))
    shape = draw(st.sampled_from(["minimal", "dev", "full"]))
    components = copy.deepcopy({"minimal": _MINIMAL, "dev": _DEV, "full": {}}[shape])
    if release == "1.8.1":
        components.pop("model_registry", None)  # not part of 1.8.1; naming it at all is an error
    if draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(_TOGGLES))
        components[key] = {"enabled": draw(st.booleans())}
    kubeflow: Doc = {"release": release, "components": components}
    if shape != "minimal" and users:
        names = draw(st.lists(dns_labels.filter(lambda n: n not in ("mlplane", "kubeflow")), max_size=2, unique=True))
        kubeflow["profiles"] = [{"name": f"team-{n}"[:63].rstrip("-"), "owner": draw(st.sampled_from(users))}
                                for n in names]
    if draw(st.booleans()):
        kubeflow["ingress"] = {"host": draw(hosts)}
    return kubeflow


@st.composite
def auths(draw: st.DrawFn, users: list[str]) -> Doc:
    """``mlplane:auth``: Dex users, each with a generated password or a secret hash."""
    entries = []
    for email in users:
        if draw(st.booleans()):
            entries.append({"email": email, "generate_password": True})
        else:
            entries.append({"email": email, "password_hash": {"secure": "v1:hash"}})
    return {"dex": {"users": entries}}


_POOLS = {
    "selfhosted": [{"vendor": "nvidia", "model": "l4", "accelerators_per_node": 4},
                   {"vendor": "amd", "model": "mi300x", "accelerators_per_node": 8},
                   {"vendor": "intel", "model": "max-1550", "accelerators_per_node": 4}],
    "gke": [{"vendor": "nvidia", "model": "l4", "accelerators_per_node": 1, "machine_type": "g2-standard-8"}],
    "eks": [{"vendor": "nvidia", "model": "l4", "accelerators_per_node": 1}],
    "aks": [{"vendor": "nvidia", "model": "a100-80gb", "accelerators_per_node": 1,
             "machine_type": "Standard_NC24ads_A100_v4"}],
}


@st.composite
def accelerator_sections(draw: st.DrawFn, cluster_kind: str) -> Doc:
    """``mlplane:accelerators``: pools the cluster kind can make (none on local clusters)."""
    pools = []
    names = draw(st.lists(st.sampled_from(["gpu", "l4-shared", "big"]), min_size=1, max_size=2, unique=True))
    for index, name in enumerate(names):
        pool: Doc = {"name": name, **draw(st.sampled_from(_POOLS.get(cluster_kind, _POOLS["selfhosted"])))}
        if cluster_kind == "selfhosted":
            pool["nodes"] = {"names": [f"{name}-node-{index}-{n}" for n in range(draw(st.integers(1, 2)))]}
        elif cluster_kind != "local":
            pool["max_nodes"] = draw(st.integers(1, 4))
        if pool["vendor"] == "nvidia" and draw(st.booleans()):
            pool["sharing"] = {"kind": "time-slicing", "replicas": draw(st.integers(2, 8))}
        pools.append(with_history(draw, pool))
    section: Doc = {"pools": pools}
    if cluster_kind == "eks":
        section["eks"] = {"node_role": "KarpenterNodeRole-ml"}
    return section


@st.composite
def servings(draw: st.DrawFn, volumes: list[str], kserve_raw: bool) -> Doc:
    """``mlplane:serving``: endpoints (a model on a volume, or a custom server) and web apps."""
    endpoints = []
    for name in draw(st.lists(st.sampled_from(["classify", "embed", "rank"]), max_size=2, unique=True)):
        endpoint: Doc = {"name": name}
        if volumes and draw(st.booleans()):
            endpoint["model"] = {"format": draw(st.sampled_from(["tensorflow", "sklearn", "onnx"])),
                                 "volume": {"claim": draw(st.sampled_from(volumes)),
                                            "path": draw(st.sampled_from(["", "models/v1", "export/x"]))}}
        else:
            endpoint["container"] = {"image": "ghcr.io/acme/server:1.2.3", "port": draw(st.integers(1024, 65535))}
        if draw(st.booleans()):
            endpoint["replicas"] = {"min": 1, "max": draw(st.integers(1, 5))}
        if not kserve_raw and draw(st.integers(0, 3)) == 0:
            endpoint["resources"] = {"cpu_request": "250m", "memory_limit": "1Gi"}
        endpoints.append(endpoint)
    apps = []
    if endpoints and draw(st.booleans()):
        apps.append({"name": "ui", "image": "ghcr.io/acme/ui:2.0.0", "port": 8080,
                     "backend": {"endpoint": endpoints[0]["name"]},
                     "writable_paths": draw(st.sampled_from([[], ["/tmp"], ["/var/cache/ui"]]))})
    return {"endpoints": endpoints, "web_apps": apps}


@st.composite
def mnist_entries(draw: st.DrawFn, name: str = "mnist") -> Doc:
    """One ``mlplane:pipelines`` entry running the MNIST pipeline with drawn params."""
    params: Doc = {"train_steps": str(draw(st.integers(1, 5000)))}
    if draw(st.booleans()):
        params["learning_rate"] = draw(st.sampled_from(["0.01", "0.1", "0.001"]))
    if draw(st.booleans()):
        params["batch_size"] = str(draw(st.integers(1, 512)))
    if draw(st.integers(0, 3)) == 0:
        params["model_export_dir"] = draw(st.sampled_from(["export/v2", "models/mnist"]))
    return with_history(draw, {"name": name, "source": "mlplane.pipelines.mnist:mnist_pipeline", "params": params})


@st.composite
def stack_configs(draw: st.DrawFn) -> Doc:
    """A whole ``config:`` map, built section by section so that most of them render."""
    kind = draw(st.sampled_from(CLUSTER_KINDS))
    config: Doc = {"mlplane:cluster": draw(clusters(kind))}
    volumes: list[str] = []
    if draw(st.integers(0, 3)) > 0:
        storage = draw(storages(kind))
        config["mlplane:storage"] = storage
        volumes = [v["name"] for v in storage["volumes"]]
    users = draw(st.lists(emails, min_size=1, max_size=3, unique=True))
    kserve_raw = True
    if draw(st.booleans()):
        kubeflow = draw(kubeflows(users))
        config["mlplane:kubeflow"] = kubeflow
        config["mlplane:auth"] = draw(auths(users))
        kserve_raw = kubeflow["components"].get("kserve", {}).get("deployment_mode") == "raw"
    if kind != "local" and draw(st.integers(0, 2)) == 0:
        config["mlplane:accelerators"] = draw(accelerator_sections(kind))
    if draw(st.integers(0, 2)) == 0:
        config["mlplane:serving"] = draw(servings(volumes, kserve_raw))
    if "models" in volumes and draw(st.booleans()):
        config["mlplane:pipelines"] = [draw(mnist_entries())]
    return config


# --- mutations --------------------------------------------------------------------------

def paths(node: Any, prefix: PathKey = ()) -> Iterator[PathKey]:
    """Every key path inside a config map (mappings and lists), outermost first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


def _get(node: Any, path: PathKey) -> Any:
    for step in path:
        node = node[step]
    return node


MUTATIONS = ("drop", "wrong-type", "out-of-range", "unknown-key", "bad-name", "huge-string", "duplicate", "hostile")


@st.composite
def mutated(draw: st.DrawFn, config: Doc) -> tuple[Doc, str]:
    """``config`` with one careless or hostile change; returns the change's name too."""
    config = copy.deepcopy(config)
    mutation = draw(st.sampled_from(MUTATIONS))
    every = list(paths(config))
    path = every[draw(st.integers(0, len(every) - 1))]
    parent, key = _get(config, path[:-1]), path[-1]
    value = parent[key]
    if mutation == "drop":
        del parent[key]
    elif mutation == "wrong-type":
        parent[key] = draw(other_type(value))
    elif mutation == "out-of-range":
        parent[key] = draw(st.sampled_from([-1, 0, 10**12, 2**63, -(2**31), 1e308, "", "0", "-5Gi"]))
    elif mutation == "unknown-key":
        target = value if isinstance(value, dict) else parent if isinstance(parent, dict) else config
        target[draw(st.sampled_from(["bogus", "nmae", "kind_", "enabled2", "secure"]))] = "x"
    elif mutation == "bad-name":
        names = [p for p in every if p[-1] in ("name", "workload_namespace", "namespace", "claim", "storage_class")]
        if names:
            path = names[draw(st.integers(0, len(names) - 1))]
            _get(config, path[:-1])[path[-1]] = draw(bad_names)
        else:
            parent[key] = draw(bad_names)
    elif mutation == "huge-string":
        parent[key] = draw(st.sampled_from(["a", "Z", "-", "ü"])) * draw(st.sampled_from([64, 254, 4096, 200_000]))
    elif mutation == "duplicate":
        lists = [p for p in every if isinstance(_get(config, p), list) and _get(config, p)]
        if lists:
            items = _get(config, lists[draw(st.integers(0, len(lists) - 1))])
            items.append(copy.deepcopy(items[draw(st.integers(0, len(items) - 1))]))
        else:
            parent[key] = [value, value]
    else:
        parent[key] = draw(hostile_strings)
    return config, mutation


def repository_stacks() -> dict[str, Doc]:
    """The ``config:`` maps of the repository's Pulumi.<stack>.yaml files."""
    return {p.name[len("Pulumi."):-len(".yaml")]: yaml.safe_load(p.read_text(encoding="utf-8"))["config"]
            for p in sorted(ROOT.glob("Pulumi.*.yaml"))}


def stack_file_text(config: Doc) -> str:
    """A stack file with this ``config:`` map, as YAML."""
    return yaml.safe_dump({"config": config}, sort_keys=False, allow_unicode=True, width=120)
