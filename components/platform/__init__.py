"""The platform: cluster add-ons and Kubeflow's components, ordered and pinned.

:class:`~components.platform.platform.Platform` composes the add-ons (cert-manager,
Istio, Dex and oauth2-proxy, Knative Serving) and Kubeflow's applications from a
:class:`~components.platform.spec.KubeflowSpec` and an
:class:`~components.platform.spec.AuthSpec`; :mod:`components.platform.releases` pins
what each release installs.
"""
