"""mlplane's ``kfp.aws``: ``use_aws_secret`` as in KFP 1.8.22 (kfp/aws.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlplane.pipelines.kfp_v1.api._secrets import secret_env
from mlplane.pipelines.kfp_v1.context import unsupported_attributes


def use_aws_secret(secret_name: str = "aws-secret", aws_access_key_id_name: str = "AWS_ACCESS_KEY_ID",
                   aws_secret_access_key_name: str = "AWS_SECRET_ACCESS_KEY",
                   aws_region: str | None = None) -> Callable[[Any], Any]:
    """AWS credentials from a secret: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``
    (and ``AWS_REGION`` when given)."""
    return secret_env([("AWS_ACCESS_KEY_ID", aws_access_key_id_name),
                       ("AWS_SECRET_ACCESS_KEY", aws_secret_access_key_name)], secret_name,
                      [("AWS_REGION", aws_region)] if aws_region else [])


__getattr__ = unsupported_attributes("aws", "use_aws_secret is")
