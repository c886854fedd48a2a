"""Read a succeeded Katib Experiment's best parameters and write each to its output file.

This file runs as the script of an experiment step's last Job (``python -c <this
source>``), with the standard library only. It reads the Experiment through the
Kubernetes API (the pod's ServiceAccount token and CA), checks that the Experiment
succeeded, and writes each parameter's value of ``status.currentOptimalTrial
.parameterAssignments`` (kubeflow/katib pkg/apis/controller/experiments/v1beta1/
experiment_types.go: OptimalTrial, ParameterAssignments of {name, value}) to the file
given for it. The files are the step's output files, so later steps read them like any
step output.

Usage: ``python katib_best.py <namespace> <experiment> <parameter>=<file> ...``.
Environment (for tests): ``KUBERNETES_API`` (default ``https://kubernetes.default.svc``),
``SERVICEACCOUNT_DIR`` (default the mounted ServiceAccount folder).
"""

import json
import os
import ssl
import sys
import urllib.request

ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def best_parameters(experiment):
    """``{name: value}`` of the best trial of a succeeded Experiment (raises ValueError otherwise)."""
    status = experiment.get("status") or {}
    succeeded = any(c.get("type") == "Succeeded" and c.get("status") == "True"
                    for c in status.get("conditions") or [])
    if not succeeded:
        raise ValueError("the experiment has not succeeded")
    assignments = (status.get("currentOptimalTrial") or {}).get("parameterAssignments") or []
    return {a["name"]: str(a["value"]) for a in assignments if "name" in a and "value" in a}


def fetch(namespace, name):
    """The Experiment object, read through the Kubernetes API with the pod's identity."""
    api = os.environ.get("KUBERNETES_API", "https://kubernetes.default.svc")
    folder = os.environ.get("SERVICEACCOUNT_DIR", ACCOUNT)
    with open(os.path.join(folder, "token"), encoding="utf-8") as handle:
        token = handle.read().strip()
    url = f"{api}/apis/kubeflow.org/v1beta1/namespaces/{namespace}/experiments/{name}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                                   "Accept": "application/json"})
    context = None
    if url.startswith("https://"):
        context = ssl.create_default_context(cafile=os.path.join(folder, "ca.crt"))
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return json.load(response)


def main(argv):
    """Write each requested parameter's best value; exit 1 if any is missing."""
    namespace, name, *targets = argv
    best = best_parameters(fetch(namespace, name))
    missing = []
    for target in targets:
        parameter, _, path = target.partition("=")
        if parameter not in best:
            missing.append(parameter)
            continue
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(best[parameter])
        print(f"{parameter}={best[parameter]}")
    if missing:
        print(f"the best trial has no value for: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
