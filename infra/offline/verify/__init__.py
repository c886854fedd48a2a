"""``mlplane verify``: apply a stack's expanded plan to a throwaway Kubernetes control plane.

A real API server, controller manager and scheduler (no kubelet) judge every object the plan
declares, applied as pulumi-kubernetes applies it (docs/verify.md cites the provider's source).
The modules, one job each:

- :mod:`.binaries`: find the control-plane binaries and check their version.
- :mod:`.isolation`: refuse to run outside a loopback-only network namespace; re-execute under one.
- :mod:`.pki`, :mod:`.controlplane`: certificates and the four processes, always stopped.
- :mod:`.client`: a small REST client (the ``kubernetes`` package's ApiClient) with a REST mapper.
- :mod:`.order`, :mod:`.apply`: the plan's dependency order, and one object applied as the provider does.
- :mod:`.fill`, :mod:`.webhooks`, :mod:`.nodes`: the harness's allow-listed changes to the plan.
- :mod:`.inspect`, :mod:`.ancestry`: what the cluster and the plan's graph say after the walk.
- :mod:`.report`: problems grouped by cause, in the API server's own words.
- :mod:`.harness`: one verify cycle, start to stop.
"""
