"""Upstream admission rules on the names mlplane gives upstream kinds, per release train.

Kubernetes checks ``metadata.name`` of a custom resource only as a DNS-1123 subdomain
(253 characters). The controllers behind Kubeflow's kinds are stricter: a webhook
refuses the object, or the controller derives child names (a Service, a StatefulSet's
pod label, a trial Job) that Kubernetes then refuses, and the object never becomes
ready. :data:`NAME_RULES` lists, per kind and release train, the longest name, whether
it must start with a letter (DNS-1035: Services, and webhooks that say so) and the
derived names that must fit a DNS label, each with the upstream source read at the
pinned tag. :func:`name_problems` judges a name against them; :func:`longest_name` is
how long a name may be, so a generated name can be fitted (``k8s_name(...,
max_length=...)``) instead of refused at admission.

tests/test_upstream_behaviours_3.py generates the longest names the stack config allows
for every kind here and checks every rendered object against this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Kubernetes' DNS label: a Service name, a label value, a host name's label.
DNS_LABEL_MAX = 63
#: A DNS-1123 subdomain: the name of most objects, custom resources included.
SUBDOMAIN_MAX = 253
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

#: The release trains (components/platform/releases.py names them; repeated to keep this pure).
TRAINS = ("1.8.1", "26.03")


@dataclass(frozen=True)
class NameRule:
    """What an upstream kind's controller accepts as ``metadata.name`` on one release train.

    Attributes:
        api_version: The kind's ``apiVersion``.
        kind: The kind.
        train: The release train (``1.8.1`` or ``26.03``).
        max_length: The longest name its admission accepts (253: only Kubernetes' own rule).
        letter_first: Whether the name must start with a letter (DNS-1035).
        derived: Names the controller derives, as templates over ``{name}`` and the
            context's keys (``{namespace}``, ``{algorithm}``, ...); each must be a DNS label.
        source: Where upstream says so (repository, tag, path, symbol).
    """

    api_version: str
    kind: str
    train: str
    max_length: int
    letter_first: bool
    derived: tuple[str, ...]
    source: str


def _both(api_version: str, kind: str, max_length: int, letter_first: bool, derived: tuple[str, ...],
          source: str) -> tuple[NameRule, NameRule]:
    return tuple(NameRule(api_version, kind, train, max_length, letter_first, derived, source)  # type: ignore[return-value]
                 for train in TRAINS)


_KATIB_CHILDREN = (
    # The suggestion (named as the Experiment) runs a Deployment and a Service "<name>-<algorithm>"
    # (kubeflow/katib pkg/controller.v1beta1/util/suggestion.go: GetSuggestionServiceName, v0.16.0
    # and v0.19.0), and each trial's Job is "<name>-<8 random characters>"
    # (pkg/controller.v1beta1/suggestion/suggestionclient/suggestionclient.go: utilrand.String(8);
    # experiment/manifest/generator.go: runSpec.SetName(trialName)).
    "{name}-{algorithm}", "{name}-abcdefgh",
)
_KFP_NOTEBOOK = ("kubeflow/kubeflow {tag} components/notebook-controller/controllers/notebook_controller.go: "
                 "generateStatefulSet and generateService name both after the Notebook, the Service port "
                 "\"http-<name>\"; the StatefulSet's pods carry controller-revision-hash \"<name>-<hash of up to 10>\" "
                 "(kubernetes/kubernetes pkg/controller/history/controller_history.go: ControllerRevisionName; "
                 "kubernetes/kubernetes#64023), a label value")

#: Every upstream kind mlplane names, per train. Built-in kinds follow Kubernetes' own rules
#: (checked by kubernetes-validate and the control plane); the rows here are the stricter ones.
NAME_RULES: tuple[NameRule, ...] = (
    NameRule("kubeflow.org/v1beta1", "Experiment", "1.8.1", SUBDOMAIN_MAX, True, _KATIB_CHILDREN,
             "kubeflow/katib v0.16.0 pkg/webhook/v1beta1/experiment/validator/validator.go: ValidateExperiment "
             "(regexp ^[a-z]([-a-z0-9]*[a-z0-9])?, no length limit); children: util/suggestion.go, "
             "suggestionclient.go"),
    NameRule("kubeflow.org/v1beta1", "Experiment", "26.03", 40, True, _KATIB_CHILDREN,
             "kubeflow/katib v0.19.0 pkg/webhook/v1beta1/experiment/validator/validator.go: ValidateExperiment "
             "(len(instance.Name) > 40 refused; kubeflow/katib PR #2468); children: util/suggestion.go, "
             "suggestionclient.go"),
    NameRule("kubeflow.org/v1", "Notebook", "1.8.1", 52, True, ("{name}-abcdefghij", "http-{name}"),
             _KFP_NOTEBOOK.format(tag="v1.8.0")),
    NameRule("kubeflow.org/v1", "Notebook", "26.03", 52, True, ("{name}-abcdefghij", "http-{name}"),
             _KFP_NOTEBOOK.format(tag="v1.10.0")),
    *_both("tensorboard.kubeflow.org/v1alpha1", "Tensorboard", DNS_LABEL_MAX, True, ("http-{name}",),
           "kubeflow/kubeflow v1.8.0 and v1.10.0 components/tensorboard-controller/controllers/"
           "tensorboard_controller.go: a Deployment, a Service (a DNS-1035 label: Kubernetes' "
           "ValidateServiceName) and the Service port \"http-<name>\" named after the Tensorboard"),
    *_both("kubeflow.org/v1", "Profile", DNS_LABEL_MAX, False, (),
           "kubeflow/kubeflow v1.8.0 and v1.10.0 components/profile-controller/controllers/profile_controller.go: "
           "the Namespace is named as the Profile (a DNS-1123 label)"),
    NameRule("serving.kserve.io/v1beta1", "InferenceService", "1.8.1", DNS_LABEL_MAX, True,
             ("{name}-predictor",),
             "kserve/kserve v0.11.2 pkg/apis/serving/v1beta1/inference_service_validation.go: "
             "validateInferenceServiceName (IsvcNameFmt [a-z]([-a-z0-9]*[a-z0-9])?); pkg/constants/constants.go: "
             "PredictorServiceName; raw mode also \"<name>-predictor-<namespace>\" "
             "(components/serving/checks.py: derived_names)"),
    NameRule("serving.kserve.io/v1beta1", "InferenceService", "26.03", DNS_LABEL_MAX, True,
             ("{name}-predictor",),
             "kserve/kserve v0.16.0 pkg/apis/serving/v1beta1/inference_service_validation.go: "
             "validateInferenceServiceName; pkg/constants/constants.go: PredictorServiceName; raw mode also "
             "\"<name>-predictor-<namespace>\" (components/serving/checks.py: derived_names)"),
    NameRule("kubeflow.org/v1", "PyTorchJob", "1.8.1", DNS_LABEL_MAX, True, ("{name}-worker-{last_worker}",
                                                                            "{name}-master-0"),
             "kubeflow/training-operator v1.7.0 pkg/apis/kubeflow.org/v1/pytorch_validation.go: "
             "NameIsDNS1035Label; pkg/core/utils.go: GenGeneralName (a replica's pod and Service)"),
    NameRule("trainer.kubeflow.org/v1alpha1", "TrainJob", "26.03", DNS_LABEL_MAX, True,
             ("{name}-node-0-{last_worker}-abcde",),
             "kubeflow/trainer v2.1.0 pkg/runtime/framework/plugins/jobset/jobset.go (the JobSet is named as the "
             "TrainJob); kubernetes-sigs/jobset v0.10.1 pkg/webhooks/jobset_webhook.go: the longest pod name "
             "must be a DNS-1035 label"),
    NameRule("argoproj.io/v1alpha1", "Workflow", "1.8.1", DNS_LABEL_MAX, False, (),
             "argoproj/argo-workflows v3.3.10 workflow/validate/validate.go: maxCharsInObjectName = 63 "
             "(\"workflow name ... must not be more than 63 characters long\")"),
    NameRule("argoproj.io/v1alpha1", "Workflow", "26.03", DNS_LABEL_MAX, False, (),
             "argoproj/argo-workflows v3.7.3 workflow/validate/validate.go: maxCharsInObjectName = 63"),
)


def rules_for(api_version: str, kind: str, train: str) -> NameRule | None:
    """The rule of a kind on a train, or None where only Kubernetes' own rules apply."""
    return next((r for r in NAME_RULES if (r.api_version, r.kind, r.train) == (api_version, kind, train)), None)


def longest_name(rule: NameRule, **context: str) -> int:
    """The longest name ``rule`` accepts with these context values (``namespace=...``)."""
    room = [rule.max_length]
    for template in rule.derived:
        fixed = len(template.replace("{name}", "").format(**context))
        room.append(DNS_LABEL_MAX - fixed)
    return min(room)


def name_problems(rule: NameRule, name: str, **context: str) -> list[str]:
    """Why the kind's controller would refuse ``name`` (empty: it accepts it).

    Args:
        rule: The kind's rule on the stack's train.
        name: The ``metadata.name``.
        **context: Values of the derived templates' other fields.
    """
    problems = []
    what = f"{rule.kind} name {name!r}"
    if rule.letter_first and not _DNS1035.match(name):
        problems.append(f"{what} must start with a letter (a DNS-1035 label; {rule.source})")
    if len(name) > rule.max_length:
        problems.append(f"{what} has {len(name)} characters; release {rule.train} accepts at most "
                        f"{rule.max_length} ({rule.source})")
    for template in rule.derived:
        derived = template.format(name=name, **context)
        if len(derived) > DNS_LABEL_MAX:
            problems.append(f"{what}: upstream derives {derived!r}, {len(derived)} characters; a DNS label holds "
                            f"{DNS_LABEL_MAX} ({rule.source})")
    return problems
