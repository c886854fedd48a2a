"""``mlplane verify``: apply a stack's expanded plan to a throwaway Kubernetes control plane.

A real API server, controller manager and scheduler (no kubelet) judge every object the plan
declares, applied as pulumi-kubernetes applies it (docs/verify.md cites the provider's source).
The modules, one job each:

- :mod:`.binaries`: find the control-plane binaries and check their version.
- :mod:`.isolation`: refuse to run outside a loopback-only network namespace; re-execute under one.
- :mod:`.pki`, :mod:`.controlplane`: certificates and the four processes, always stopped.
- :mod:`.client`: a small REST client (the ``kubernetes`` package's ApiClient) with a REST mapper.
- :mod:`.walk`, :mod:`.apply`: the objects applied in the engine's order (what each waits for is
  :class:`mlplane.infra.offline.ancestry.Ancestry`), each as the provider applies it.
- :mod:`.changes`, :mod:`.fill`, :mod:`.nodes`, :mod:`.prerequisites`: the harness's allow-listed
  changes to the plan and the cluster. Webhook-gated objects are judged by
  :mod:`mlplane.infra.offline.webhooks` (matching: :mod:`mlplane.components.admission`).
- :mod:`.cluster_state`, :mod:`.crds`: what the cluster and the plan's graph say after the walk.
- :mod:`.upgrade`: one plan, then another, on the same control plane (issue 21, item 5).
- :mod:`.command`: the ``mlplane verify`` command's flow and exit codes.
- :mod:`.report`: problems grouped by cause, in the API server's own words.
- :mod:`.harness`: one verify cycle, start to stop.
"""
