"""mlplane's ``kfp.gcp``: ``use_gcp_secret`` as in KFP v1, ``use_preemptible_nodepool`` on the stack's spot pools."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlplane.pipelines.kfp_v1.context import KfpCompatError, current, unsupported_attributes


def use_gcp_secret(secret_name: str = "user-gcp-sa", secret_file_path_in_volume: str | None = None,
                   volume_name: str | None = None,
                   secret_volume_mount_path: str = "/secret/gcp-credentials") -> Callable[[Any], Any]:
    """Mount a GCP service-account key from a Kubernetes secret and point gcloud at it.

    Adds the secret volume, its mount and ``GOOGLE_APPLICATION_CREDENTIALS`` (and
    ``CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE``), exactly as KFP v1 does.
    """
    key_file = secret_file_path_in_volume or f"/{secret_name}.json"
    volume = volume_name or f"gcp-credentials-{secret_name}"

    def modify(task: Any) -> Any:
        task.add_volume({"name": volume, "secret": {"secretName": secret_name}})
        task.container.add_volume_mount({"name": volume, "mountPath": secret_volume_mount_path})
        path = secret_volume_mount_path + key_file
        task.container.add_env_variable({"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": path})
        task.container.add_env_variable({"name": "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", "value": path})
        return task

    return modify


def use_preemptible_nodepool(toleration: Any = None, hard_constraint: bool = False) -> Callable[[Any], Any]:
    """Run the step on spot capacity: on a spot pool the stack declares.

    KFP 1.8.22 (kfp/gcp.py ``use_preemptible_nodepool``) adds the toleration
    ``preemptible=true:NoSchedule`` and a node affinity for
    ``cloud.google.com/gke-preemptible=true`` (preferred with weight 50, required with
    ``hard_constraint``): the label of a GKE node pool of *preemptible* VMs (GKE's
    "preemptible VMs" how-to selects them by ``cloud.google.com/gke-preemptible: "true"``),
    and a ``preemptible`` taint the pool must have been given by hand. mlplane makes GKE pools of *Spot* VMs
    (``spot: true`` sets pulumi-gcp's ``NodePoolNodeConfig.spot``, "whether the nodes are
    created as spot VM instances"), and Spot nodes are selected by
    ``cloud.google.com/gke-spot=true``, not by ``gke-preemptible`` (GKE docs
    cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods: a
    ``cloud.google.com/gke-preemptible`` selector is migrated to ``cloud.google.com/gke-spot``;
    GoogleCloudPlatform/professional-services examples/gke-ha-setup-using-spot-vms selects a
    Standard spot node pool by ``cloud.google.com/gke-spot=true``). mlplane's pools carry
    no ``preemptible`` taint either (components/accelerators/gke.py sets only the pool's
    taints). So KFP's affinity would never match (and with ``hard_constraint`` the step
    would stay Pending); instead the step asks for its accelerators from a spot pool of
    the stack, and gets that pool's own node selector (``mlplane.dev/accelerator-pool``,
    a label mlplane sets on the pool's nodes) and tolerations, as any placement does.
    That is always a hard constraint: mlplane places accelerator work only on a declared
    pool. ``toleration`` is not added (the pool's taints are what its nodes carry).
    Because the placement goes through the pool's own selector, it holds on any cloud
    with spot pools: EKS (a Karpenter NodePool of ``karpenter.sh/capacity-type`` spot)
    and AKS (a Spot agent pool, whose AKS-added taint the pool's tolerations cover) too.

    Resolved once the pipeline is declared (:func:`place_on_spot_pools`), so that
    ``set_gpu_limit`` may come before or after.
    """

    def modify(task: Any) -> Any:
        if not hasattr(task, "container"):
            raise current().refuse("gcp.use_preemptible_nodepool", f"applies to container steps, not "
                                                                   f"{type(task).__name__}")
        task.spot_line = current().caller_line()
        return task

    return modify


def _pools_note(declaration: Any) -> str:
    pools = declaration.pools
    listed = "; ".join(f"{p.describe()}, {'spot' if p.spot else 'on-demand'}" for p in pools)
    return f"stack {declaration.stack!r} has " + (f"pools: {listed}" if pools else "no accelerator pools")


#: How a stack declares a spot pool (docs/accelerators.md).
_HOW = "declare one under mlplane:accelerators.pools with `spot: true` (docs/accelerators.md)"


def place_on_spot_pools(declaration: Any) -> None:
    """Give each step that asked for preemptible capacity its spot pool.

    The step's request then names that pool, so placement takes it as named; a step
    that did not ask names no pool, and placement keeps it off spot pools
    (components/scheduling.py ``place``). Among the spot pools that fit, the one
    :func:`components.scheduling.ranked` prefers: unshared before shared, then file order.

    Raises:
        KfpCompatError: The stack has no spot pool, the step asks for no accelerator, or no spot pool fits its request (naming the step, the
            file and line, and the stack's pools).
    """
    for op in declaration.ops:
        if getattr(op, "spot_line", None) is not None:
            pool = _spot_pool(declaration, op)
            op.container.accelerator = {**op.container.accelerator, "pool": pool}


def _spot_pool(declaration: Any, op: Any) -> str:
    """The spot pool for ``op``'s accelerators (see :func:`place_on_spot_pools`)."""
    from mlplane.components.scheduling import AcceleratorRequest, ranked

    def refuse(reason: str) -> KfpCompatError:
        return KfpCompatError("gcp.use_preemptible_nodepool", f"on step {op.name!r}: {reason}",
                              str(declaration.file), op.spot_line)

    spot = [pool for pool in declaration.pools if pool.spot]
    if not spot:
        raise refuse(f"needs a spot pool, and {_pools_note(declaration)}; {_HOW}")
    accelerator = op.container.accelerator
    if accelerator is None:
        raise refuse(f"the stack's spot pools ({', '.join(p.name for p in spot)}) are accelerator pools: a step "
                     "that asks for no accelerator would take (and have to tolerate the taints of) an accelerator "
                     "node; give it set_gpu_limit(...), or drop use_preemptible_nodepool")
    request = AcceleratorRequest(**accelerator)
    fitting = ranked(request, spot)  # the rule every placement follows: unshared before shared, then file order
    if not fitting:
        why = "; ".join(f"{pool.name}: {pool.refusal(request)}" for pool in spot)
        raise refuse(f"no spot pool fits its request {request.describe()} ({why}); {_pools_note(declaration)}")
    return fitting[0].name


def use_tpu(tpu_cores: Any = None, tpu_resource: Any = None, tf_version: Any = None) -> Callable[[Any], Any]:
    """Refused: KFP 1.8.22 (kfp/gcp.py ``use_tpu``) requests ``cloud-tpus.google.com/<tpu_resource>``
    and annotates ``tf-version.cloud-tpus.google.com``; no pool of the stack has TPUs."""
    declaration = current()
    raise declaration.refuse("gcp.use_tpu", f"needs a TPU pool (the step would request cloud-tpus.google.com/"
                                            f"{tpu_resource}), and mlplane's pools (mlplane:accelerators.pools) are "
                                            "GPU pools of nvidia, amd or intel (docs/accelerators.md); "
                                            f"{_pools_note(declaration)}")


__getattr__ = unsupported_attributes("gcp", "use_gcp_secret, use_preemptible_nodepool are")
