"""mlplane's ``kfp.azure``: ``use_azure_secret`` as in KFP 1.8.22 (kfp/azure.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlplane.pipelines.kfp_v1.api._secrets import secret_env
from mlplane.pipelines.kfp_v1.context import unsupported_attributes

_KEYS = ("AZ_SUBSCRIPTION_ID", "AZ_TENANT_ID", "AZ_CLIENT_ID", "AZ_CLIENT_SECRET")


def use_azure_secret(secret_name: str = "azcreds") -> Callable[[Any], Any]:
    """A service principal from a secret: ``AZ_SUBSCRIPTION_ID``, ``AZ_TENANT_ID``,
    ``AZ_CLIENT_ID``, ``AZ_CLIENT_SECRET``, each from the key of the same name."""
    return secret_env([(key, key) for key in _KEYS], secret_name)


__getattr__ = unsupported_attributes("azure", "use_azure_secret is")
