"""Upstream's supported upgrade step for each component of the release trains, with its source.

One entry per component key of :data:`components.platform.releases.COMPONENT_KEYS` (a test
fails when a component of either train lacks one). ``minor_hops`` is the most minor
versions one supported upgrade moves; None where the project states no limit (the diff
then names the notes to read, and no danger). ``stops`` are versions every upgrade across
them must pass through. Each fact is quoted from the cited page; where a project states
nothing about steps, the entry says so rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: kubeflow/manifests README.md, "Upgrading and Extending" (master, 2026): upgrade "by just
#: referencing the new manifests, building with Kustomize, and running `kubectl apply` again",
#: pruning what the old release left; no step limit is stated, and some steps need a manual
#: cleanup (1.9.1 -> 1.10: `kubectl delete clusterrolebinding meta-controller-cluster-role-binding`).
_MANIFESTS = ("https://github.com/kubeflow/manifests#upgrading-and-extending "
              "(kubeflow/manifests README.md, \"Upgrading and Extending\")")
_MANIFESTS_STEP = ("no step limit stated: apply the new release's manifests and prune what the old one left, "
                   "reading each release's notes")


@dataclass(frozen=True)
class UpgradeStep:
    """How far one supported upgrade of a component may go.

    Attributes:
        key: The component's key under ``mlplane:kubeflow.components``.
        step: Upstream's supported step, in a few words.
        source: Where upstream says it: the page's URL and its repository path.
        minor_hops: The most minor versions one supported upgrade moves (None: no limit stated).
        stops: Versions (``major.minor``) every upgrade from below to above must pass through.
        in_place_only: Why mlplane offers only in-place upgrades of it, where upstream
            supports a longer step another way (Istio's revision-based canary).
        major_change: What a change of major version means, where it is another project.
    """

    key: str
    step: str
    source: str
    minor_hops: int | None = None
    stops: tuple[str, ...] = ()
    in_place_only: str = ""
    major_change: str = ""


_STEPS = (
    UpgradeStep(
        "cert_manager", "one minor version at a time, each at its latest patch",
        # cert-manager/website content/docs/installation/upgrade.md: "We recommend that you upgrade
        # cert-manager one minor version at a time, always choosing the latest patch version for the minor version."
        "https://cert-manager.io/docs/installation/upgrade/ (cert-manager/website content/docs/installation/upgrade.md)",
        minor_hops=1),
    UpgradeStep(
        "istio", "in place one minor version at a time; two through a revision-based canary",
        # istio/istio.io content/en/docs/setup/upgrade/in-place/index.md: "The installed Istio version is no
        # more than one minor version less than the upgrade version"; .../upgrade/canary/index.md: "When using
        # revision-based upgrades jumping across two minor versions is supported".
        "https://istio.io/latest/docs/setup/upgrade/in-place/ and https://istio.io/latest/docs/setup/upgrade/canary/ "
        "(istio/istio.io content/en/docs/setup/upgrade/{in-place,canary}/index.md)",
        minor_hops=1,
        in_place_only="mlplane installs Istio's charts in place, without revisions, so it offers no canary"),
    UpgradeStep(
        "dex", "no step limit stated: read each release's notes",
        "https://github.com/dexidp/dex/releases (dexidp/dex release notes)"),
    UpgradeStep(
        "oauth2_proxy", "no step limit stated: read each release's breaking changes",
        "https://github.com/oauth2-proxy/oauth2-proxy/blob/master/CHANGELOG.md (oauth2-proxy/oauth2-proxy CHANGELOG.md)"),
    UpgradeStep(
        "knative_serving", "one minor version at a time",
        # knative/docs docs/versioned/install/upgrade/README.md: "Knative supports upgrading by a single minor version
        # number. For example, if you have v0.21.0 installed, you must upgrade to v0.22.0 before attempting to
        # upgrade to v0.23.0." Knative's operator refuses more ("not supported to upgrade or downgrade across
        # multiple MINOR versions", knative/serving#16487).
        "https://knative.dev/docs/install/upgrade/ (knative/docs docs/versioned/install/upgrade/README.md)",
        minor_hops=1),
    UpgradeStep("kubeflow_roles", _MANIFESTS_STEP, _MANIFESTS),
    UpgradeStep("profiles", _MANIFESTS_STEP, _MANIFESTS),
    UpgradeStep("central_dashboard", _MANIFESTS_STEP, _MANIFESTS),
    UpgradeStep("notebooks", _MANIFESTS_STEP, _MANIFESTS),
    UpgradeStep(
        "pipelines", "no step limit stated: read the upgrade notes of each version crossed",
        # kubeflow/website content/en/docs/components/pipelines/legacy-v1/installation/upgrade.md ("Upgrade
        # Notes": per-version notices and breaking changes; "For upgrade instructions, refer to distribution
        # specific documentations"), and kubeflow/manifests' README for the platform install.
        "https://www.kubeflow.org/docs/components/pipelines/upgrade/ (kubeflow/website, \"Upgrade Notes\"); "
        + _MANIFESTS),
    UpgradeStep("katib", _MANIFESTS_STEP, _MANIFESTS),
    UpgradeStep(
        "training", "Trainer: through v2.3 when coming from v2.0, v2.1 or v2.2",
        # kubeflow/trainer release v2.3.0 notes: "IMPORTANT: if you are upgrading from Kubeflow Trainer v2.0,
        # v2.1 or v2.2, you must first upgrade to v2.3 before upgrading to any later version."
        # kubeflow/website content/en/docs/components/trainer/operator-guides/migration.md: Trainer v2's
        # TrainJob, TrainingRuntime and ClusterTrainingRuntime "replace the older, framework-specific CRDs such
        # as PyTorchJob, TFJob, and MPIJob".
        "https://github.com/kubeflow/trainer/releases/tag/v2.3.0 (kubeflow/trainer v2.3.0 release notes); "
        "https://www.kubeflow.org/docs/components/trainer/operator-guides/migration/ (kubeflow/website, "
        "\"Migrating to Kubeflow Trainer v2\")",
        stops=("2.3",),
        major_change=("the Training Operator (v1) is replaced by Trainer (v2), not upgraded: TrainJob replaces "
                      "PyTorchJob, TFJob, MPIJob and the other v1 kinds, whose jobs are not migrated")),
    UpgradeStep(
        "kserve", "no step limit stated before v0.17 (helm upgrade kserve-crd, then kserve); v0.17 restructures "
                  "the charts and needs its migration steps",
        # kserve/website docs/install/upgrade-guide.md: "The upgrade methods shown below were the standard process
        # for versions prior to v0.17.0. For v0.17.0 and later, the Helm chart architecture has been completely
        # restructured. You cannot use a simple helm upgrade command."
        "https://kserve.github.io/website/docs/install/upgrade-guide (kserve/website docs/install/upgrade-guide)"),
    UpgradeStep("models_web_app", _MANIFESTS_STEP, _MANIFESTS),
    UpgradeStep("tensorboards", _MANIFESTS_STEP, _MANIFESTS),
    UpgradeStep("volumes_web_app", _MANIFESTS_STEP, _MANIFESTS),
    UpgradeStep(
        "model_registry", "no step limit stated: read each release's notes (new in 26.03 here)",
        "https://github.com/kubeflow/model-registry/releases (kubeflow/model-registry release notes); " + _MANIFESTS),
)

#: The supported step of each component, by key.
UPGRADE_STEPS: Mapping[str, UpgradeStep] = MappingProxyType({s.key: s for s in _STEPS})
