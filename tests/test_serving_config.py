"""``mlplane:serving``: stack files with endpoints render; every bad input exits 2 with a clear message."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mlplane.components.serving.spec import Replicas, check_host, uri_scheme
from mlplane.infra.cli import main

#: A laptop stack with the full 26.03 platform (KServe serverless), an in-cluster store
#: and, in ``GKE``, a GKE stack with an L4 pool and a GCS store.
LOCAL = """\
config:
  mlplane:cluster:
    kind: local
  mlplane:storage:
    classes:
      - name: local
        kind: local-path
    volumes:
      - name: models
        size: 5Gi
        storage_class: local
    artifacts:
      kind: in-cluster
      storage_class: local
      size: 5Gi
  mlplane:kubeflow:
    release: "26.03"
  mlplane:auth:
    dex:
      users:
        - email: user@example.com
          generate_password: true
"""

GKE = """\
config:
  mlplane:cluster:
    kind: gke
    project: p
    location: europe-west4
    name: c
  mlplane:accelerators:
    pools:
      - name: l4-mps
        vendor: nvidia
        model: l4
        accelerators_per_node: 1
        machine_type: g2-standard-8
        max_nodes: 2
        sharing: {kind: mps, replicas: 4}
  mlplane:storage:
    artifacts:
      kind: gcs
      bucket: acme-artifacts
      location: EUROPE-WEST4
  mlplane:kubeflow:
    release: "26.03"
    components:
      oauth2_proxy: {enabled: false}
      dex: {enabled: false}
"""

MNIST = """\
  mlplane:serving:
    endpoints:
      - name: mnist
        model:
          format: tensorflow
          volume: {claim: models, path: mnist}
"""


def stack(tmp_path: Path, base: str, serving: str, name: str = "Pulumi.t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(base + serving, encoding="utf-8")
    return path


def serving_section(body: str) -> str:
    """``body`` (YAML under mlplane:serving, unindented) as the section of a stack file."""
    return "  mlplane:serving:\n" + textwrap.indent(textwrap.dedent(body), "    ")


def line_of(tmp_path: Path, needle: str) -> int:
    """The 1-based line of the stack file's serving section that contains ``needle``."""
    lines = (tmp_path / "Pulumi.t.yaml").read_text().splitlines()
    start = lines.index("  mlplane:serving:")
    return next(n for n, line in enumerate(lines[start:], start + 1) if needle in line)


def bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, base: str = LOCAL) -> str:
    """Render a stack whose serving section is ``body``: must exit 2 and write nothing."""
    path = stack(tmp_path, base, serving_section(body))
    out = tmp_path / "out"
    assert main(["render", "--config-file", str(path), "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_a_stack_with_an_endpoint_renders(tmp_path: Path) -> None:
    path = stack(tmp_path, LOCAL, MNIST)
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 0
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    isvc = [r for r in plan["resources"] if r["type"].endswith(":InferenceService")]
    assert [r["inputs"]["spec"]["predictor"]["model"]["storageUri"] for r in isvc] == ["pvc://models/mnist"]


def test_model_uri_of_another_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, uri: "gs://other-bucket/mnist"}
        """)
    assert (f"Pulumi.t.yaml:{line_of(tmp_path, 'model:')}: mlplane:serving.endpoints[0].model.uri: the model URI's scheme 'gs' does not match "
            "the stack's artifact store (s3://) (got 'gs://other-bucket/mnist'; allowed: s3:// URIs in the artifact "
            "store)") in err


def test_model_uri_without_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = LOCAL.split("  mlplane:storage:")[0] + "  mlplane:kubeflow:\n    components:\n      pipelines: {enabled: false}\n"
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, uri: "s3://bucket/mnist"}
        """, base=base)
    assert "mlplane:serving.endpoints[0].model.uri: the stack has no artifact store to load a model URI from" in err


def test_unknown_model_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: caffe, volume: {claim: models}}
        """)
    assert f"Pulumi.t.yaml:{line_of(tmp_path, 'model:')}: mlplane:serving.endpoints[0].model.format: not an allowed value (got 'caffe'; " \
           "allowed: 'tensorflow', 'pytorch', 'sklearn', 'xgboost', 'onnx' or 'huggingface')" in err


@pytest.mark.parametrize("percent", [-1, 101, 250])
def test_canary_percent_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str], percent: int) -> None:
    err = bad(tmp_path, capsys, f"""\
        endpoints:
          - name: mnist
            model: {{format: tensorflow, volume: {{claim: models}}}}
            canary_percent: {percent}
        """)
    assert (f"mlplane:serving.endpoints[0].canary_percent: must be a percentage from 0 to 100 (got {percent})"
            in err)


def test_min_replicas_above_max(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, volume: {claim: models}}
            replicas: {min: 4, max: 2}
        """)
    assert (f"Pulumi.t.yaml:{line_of(tmp_path, 'replicas:')}: mlplane:serving.endpoints[0].replicas: min replicas (4) is above max replicas (2) "
            "(got {'min': 4, 'max': 2})") in err


def test_scale_to_zero_without_serverless(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = LOCAL.replace('    release: "26.03"\n', '    release: "26.03"\n    components:\n'
                        '      knative_serving: {enabled: false}\n      kserve: {deployment_mode: raw}\n')
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, volume: {claim: models}}
            replicas: {min: 0, max: 2}
            canary_percent: 10
        """, base=raw)
    assert ("mlplane:serving.endpoints[0].replicas.min: scale to zero needs KServe in serverless mode, but this "
            "stack serves with KServe in raw deployment mode (got 0; allowed: min >= 1, or enable KServe with "
            "deployment_mode: serverless (mlplane:kubeflow.components.kserve))") in err
    assert "mlplane:serving.endpoints[0].canary_percent: a canary needs KServe in serverless mode" in err


def test_scale_to_zero_without_kserve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    none = LOCAL.replace('    release: "26.03"\n', '    release: "26.03"\n    components:\n'
                         '      kserve: {enabled: false}\n      models_web_app: {enabled: false}\n')
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, volume: {claim: models}}
            replicas: {min: 0, max: 2}
        """, base=none)
    assert "scale to zero needs KServe in serverless mode, but this stack serves with plain Deployments" in err


@pytest.mark.parametrize("host", ["https://mnist.example.com", "mnist", "Mnist.Example.com", "mnist.example.com:443",
                                  "*.example.com", "mnist_ui.example.com"])
def test_host_that_is_not_a_dns_name(tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str) -> None:
    err = bad(tmp_path, capsys, f"""\
        endpoints:
          - name: mnist
            model: {{format: tensorflow, volume: {{claim: models}}}}
            host: "{host}"
        """)
    assert "mlplane:serving.endpoints[0].host: must be a DNS name like mnist.ml.example.com" in err
    assert f"(got {host!r})" in err


def test_private_host_without_login(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, uri: "gs://acme-artifacts/mnist"}
            host: mnist.ml.example.com
        """, base=GKE)
    assert ("mlplane:serving.endpoints[0].public: host 'mnist.ml.example.com' requires login, and this stack has "
            "no oauth2-proxy (got False; allowed: public: true (explicitly without login), or enable dex and "
            "oauth2_proxy)") in err


def test_host_without_istio_or_cert_manager(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = LOCAL.split("  mlplane:kubeflow:")[0]
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, volume: {claim: models}}
            host: mnist.ml.example.com
            public: true
        """, base=base)
    assert "endpoints[0].host: a host is served through the Istio ingress gateway, and this stack has no Istio" in err
    assert "endpoints[0].host: a host gets its TLS certificate from cert-manager, and this stack has none" in err


def test_unplaceable_accelerator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, uri: "gs://acme-artifacts/mnist"}
            accelerator: {vendor: amd}
        """, base=GKE)
    assert "mlplane:serving.endpoints[0].accelerator: accelerator request {vendor: amd, count: 1} cannot be placed" in err
    assert "l4-mps (nvidia l4" in err


def test_references_names_and_hosts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, volume: {claim: models}}
            host: mnist.ml.example.com
            namespace: elsewhere
        web_apps:
          - name: mnist
            image: "gcr.io/kubeflow-examples/mnist/web-ui:v20190304-v0.2-176-g15d997b-pipelines"
            port: 5000
            backend: {endpoint: mnsit}
            host: mnist.ml.example.com
        """)
    assert "web_apps[0].name: name used twice in mlplane:serving" in err
    assert "web_apps[0].host: host already used by mlplane:serving.endpoints[0].host" in err
    assert "web_apps[0].backend.endpoint: not an endpoint of mlplane:serving.endpoints (got 'mnsit'; allowed: mnist)" in err
    assert "endpoints[0].namespace: not a namespace this stack creates (got 'elsewhere'; allowed: mlplane" in err


def test_kserve_cannot_read_the_in_cluster_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, uri: "s3://mlplane-artifacts/mnist"}
        """)
    assert "endpoints[0].model.uri: KServe's storage initializer cannot read the in-cluster store's keys" in err


def test_section_level_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: sklearn, volume: {claim: models}}
            protocol: grpc
          - name: both
            model: {format: onnx, uri: "s3://mlplane-artifacts/x", volume: {claim: models}}
          - name: 9lives
            container: {image: "ghcr.io/acme/server:latest"}
          - name: open
            container: {image: "ghcr.io/acme/server:1.0.0"}
            public: true
        """)
    assert "endpoints[0]: protocol grpc needs a server with a gRPC API, and KServe scikit-learn server" in err
    assert "endpoints[1].model: give exactly one of uri (the artifact store) or volume" in err
    assert "endpoints[2].name: must start with a letter" in err
    assert "endpoints[2].container.image: uses the mutable tag 'latest'" in err
    assert "endpoints[3]: public: true applies to an exposed host" in err


def test_runtime_image_only_without_kserve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, volume: {claim: models}}
            runtime_image: "tensorflow/serving:2.15.0"
        """)
    assert "endpoints[0].runtime_image: KServe picks the serving runtime of the model format" in err


@given(st.text(min_size=1, max_size=80))
def test_hosts_accepted_are_dns_names(text: str) -> None:
    try:
        host = check_host(text)
    except ValueError:
        return
    labels = host.split(".")
    assert len(labels) >= 2 and all(0 < len(label) <= 63 for label in labels)
    assert all(c.islower() or c.isdigit() or c in "-." for c in host)
    assert not host.startswith(("-", ".")) and not host.endswith(("-", "."))


@given(st.integers(0, 1000), st.integers(1, 1000))
def test_replica_ranges(low: int, high: int) -> None:
    if low <= high:
        assert Replicas(min=low, max=high).min == low
    else:
        with pytest.raises(ValidationError, match="is above max replicas"):
            Replicas(min=low, max=high)


def test_uri_schemes() -> None:
    assert uri_scheme("gs://bucket/x") == "gs"
    assert uri_scheme("S3://bucket") == "s3"
    assert uri_scheme("pvc://claim/path") == "pvc"
    assert uri_scheme("bucket/x") is None
    assert uri_scheme("gs://") is None


def test_runtime_version_only_with_kserve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = LOCAL.replace('    release: "26.03"\n', '    release: "26.03"\n    components:\n'
                          '      kserve: {enabled: false}\n      models_web_app: {enabled: false}\n')
    err = bad(tmp_path, capsys, """\
        endpoints:
          - name: mnist
            model: {format: tensorflow, volume: {claim: models}}
            runtime_version: 2.6.2-gpu
        """, base=plain)
    assert "endpoints[0].runtime_version: runtime_version picks the tag of a KServe serving runtime's image" in err
