"""mlplane's policy pack: the security and reliability promises, checked on every resource.

The rules (``policy.rules``) are pure functions over a resource's type and properties;
the Pulumi policy pack (``policy.pack``, run by ``pulumi preview --policy-pack policy``)
and the offline check (``policy.offline.plan_violations``) share them.
"""
