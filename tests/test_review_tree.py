"""Expanded upstream sources in the preview: one line each in the tree, grouped in the diff."""

from __future__ import annotations


from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.report import format_text
from mlplane.infra.offline.tree import format_tree

from .plans import component, deployment, k8s, plan, pvc, under


def _sa(name: str):
    return k8s("kubernetes:core/v1:ServiceAccount", name, {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "x"}})


def expanded(image: str = "ctl:v1"):
    """A platform component with a Helm chart (3 objects) and a kustomize directory (2)."""
    platform = component("mlplane:platform:CertManager", "cert-manager")
    chart = component("kubernetes:helm.sh/v4:Chart", "cert-manager-chart", platform.urn, chart="cert-manager")
    directory = component("kubernetes:kustomize/v2:Directory", "pipelines", platform.urn, directory="x")
    return [
        platform, chart, directory,
        under(chart, deployment("cm-controller", image=image)),
        under(chart, deployment("cm-webhook")),
        under(chart, _sa("cm-sa")),
        under(directory, _sa("ml-pipeline-sa")),
        under(directory, deployment("ml-pipeline")),
    ]


def test_tree_collapses_each_source_to_one_line_with_its_kinds() -> None:
    tree = format_tree(plan(*expanded()))
    chart_line = next(line for line in tree.splitlines() if "cert-manager-chart" in line)
    assert chart_line.endswith("(3 objects: 2 Deployment, 1 ServiceAccount)")
    directory_line = next(line for line in tree.splitlines() if "kustomize/v2:Directory" in line)
    assert directory_line.endswith("(2 objects: 1 Deployment, 1 ServiceAccount)")
    assert "cm-controller" not in tree and "ml-pipeline-sa" not in tree
    assert len(tree.splitlines()) == 4  # header, component, chart, directory


def test_expand_tree_shows_every_object() -> None:
    tree = format_tree(plan(*expanded()), expand=True)
    for name in ("cm-controller", "cm-webhook", "cm-sa", "ml-pipeline-sa", "ml-pipeline"):
        assert f"  {name}" in tree
    assert "objects:" not in tree


def test_collapsed_source_shows_how_many_objects_change() -> None:
    diff = diff_plans(plan(*expanded()), plan(*expanded(image="ctl:v2")))
    tree = format_tree(plan(*expanded(image="ctl:v2")), diff)
    chart_line = next(line for line in tree.splitlines() if "cert-manager-chart" in line)
    assert chart_line.startswith(" ~ ") and chart_line.endswith("; 1 changing)")


def test_a_danger_inside_a_source_marks_its_line() -> None:
    objects = expanded()
    claim = under(objects[1], pvc("cm-data"))  # a claim of the chart's, deleted: its data goes
    before = plan(*objects, claim)
    after = plan(*objects)
    diff = diff_plans(before, after)
    assert diff.has_danger
    chart_line = next(line for line in format_tree(after, diff).splitlines() if "cert-manager-chart" in line)
    assert chart_line.startswith("!")


def test_diff_lists_changed_upstream_objects_under_their_source() -> None:
    old, new = expanded(), expanded(image="ctl:v2")
    new.append(under(new[2], _sa("new-sa")))  # a new object of the kustomize directory
    diff = diff_plans(plan(*old), plan(*new))
    assert {c.name: c.source.rsplit("::", 1)[1] for c in diff.changes} == {
        "cm-controller": "cert-manager-chart", "new-sa": "pipelines"}
    text = format_text(diff)
    lines = text.splitlines()
    chart = lines.index("  Helm chart cert-manager-chart: 1 changed object")
    directory = lines.index("  kustomize directory pipelines: 1 changed object")
    assert "cm-controller" in lines[chart + 1] and "new-sa" in lines[directory + 1]


def test_the_graph_stays_readable_on_a_600_resource_plan() -> None:
    from mlplane.infra.offline.graph import MAX_NODES, change_graph

    from .plans import job, pvc

    resources = [job(f"train-{i}") for i in range(300)] + [pvc(f"data-{i}") for i in range(300)]
    gone = plan(pvc("old-data", protect=True))
    graph = change_graph(diff_plans(gone, plan(*resources)))
    nodes = [line for line in graph.splitlines() if line.strip().startswith("n") and '["' in line]
    assert len(nodes) == MAX_NODES
    assert nodes[0].strip().startswith('n0["- PersistentVolumeClaim old-data"]:::danger')  # dangers first
    assert 'more["… 571 changed not drawn"]' in graph
