"""Installs the repository's top-level folders under one import namespace, ``mlplane``.

The repository keeps the Pulumi project's layout (``infra/``, ``components/``,
``pipelines/``, ``policy/`` beside ``Pulumi.yaml``), but installed they are
``mlplane.infra``, ``mlplane.components``, ``mlplane.pipelines`` and ``mlplane.policy``,
so a platform team's own ``pipelines/`` or ``components/`` folder (Pulumi puts the project
folder first on ``sys.path``) can never shadow them. ``mlplane`` itself is a namespace
package: nothing but these four is installed. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

FOLDERS = ("core", "infra", "components", "pipelines", "policy")

setup(
    packages=[f"mlplane.{name}" for name in find_packages(include=[f"{folder}*" for folder in FOLDERS])],
    package_dir={f"mlplane.{folder}": folder for folder in FOLDERS},
)
