"""A mock monitor that records every registration the stack program makes.

Subclassing the SDK's own ``MockMonitor`` means the program runs the real registration
path (options, parents, providers, dependencies, secrets all serialized as for the
engine); this class only keeps the full request instead of throwing it away.
"""

from __future__ import annotations

import threading
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_project, get_stack

from mlplane.components.base import OFFLINE_SECRET_PLACEHOLDER
from mlplane.core.errors import OfflineUnsupportedError
from mlplane.infra.offline.plan import STACK_TYPE, PlanResource
from mlplane.infra.offline.transforms import run_transforms
from mlplane.infra.offline.values import struct_to_plain


class RecordingMocks(mocks.Mocks):
    """Mocks for offline runs: resources echo their inputs; function calls are refused.

    Offline there is no cloud to ask, so any provider function call (a data source, a
    Helm template invocation) would have to be invented; it fails loudly instead.
    """

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return (f"{args.name}-id" if args.custom else "", dict(args.inputs))

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], None]:
        raise OfflineUnsupportedError(
            f"the stack program called provider function {args.token!r}, which cannot run offline"
        )


class RecordingMonitor(mocks.MockMonitor):
    """Records each ``RegisterResource`` request as a :class:`PlanResource`.

    Registrations echo their inputs back as outputs without a round trip through the
    mocks (faster, and identical in effect to :class:`RecordingMocks`).
    """

    def __init__(self) -> None:
        super().__init__(RecordingMocks())
        self.recorded: dict[str, PlanResource] = {}
        self.transforms: dict[str, tuple[Any, ...]] = {}
        self._stack_urn = ""
        self._lock = threading.Lock()

    def RegisterStackTransform(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """A stack transform: recorded as the Stack's own, so every later resource (and every
        expanded child) inherits it last, as the engine runs stack transforms after a
        resource's and its ancestors' (pulumi/pulumi ``pkg/resource/deploy/source_eval.go``)."""
        response = super().RegisterStackTransform(request)
        with self._lock:
            self.transforms[self._stack_urn] = (*self.transforms.get(self._stack_urn, ()),
                                                *mocks._resolve_callbacks([request]))
        return response

    def _inherited(self, parent: str) -> tuple[Any, ...]:
        """The transforms a child of ``parent`` inherits: the parent's, then each ancestor's."""
        chain: list[Any] = []
        with self._lock:
            while parent:
                chain.extend(self.transforms.get(parent, ()))
                recorded = self.recorded.get(parent)
                parent = recorded.parent or "" if recorded is not None else ""
        return tuple(chain)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        aliases = tuple(sorted(set(self._alias_urns(request))))
        resource_id = f"{request.name}-id" if request.custom else ""
        own = tuple(mocks._resolve_callbacks(request.transforms)) if request.transforms else ()
        inputs = struct_to_plain(request.object)
        if request.custom:
            inputs = run_transforms(request.type, request.name, inputs, own + self._inherited(request.parent))
        resource = PlanResource(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            provider=_provider_urn(request.provider),
            dependencies=tuple(sorted(set(request.dependencies))),
            inputs=inputs,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            replace_on_changes=tuple(request.replaceOnChanges),
            ignore_changes=tuple(request.ignoreChanges),
            aliases=aliases,
        )
        with self._lock:
            if urn in self.recorded:
                raise OfflineUnsupportedError(f"two resources would have the same URN: {urn}")
            self.recorded[urn] = resource
            # The registered functions themselves, as the SDK's own mock monitor resolves them
            # (pulumi/runtime/mocks.py RegisterResource: ``_resolve_callbacks(request.transforms)``).
            if own:
                self.transforms[urn] = own
            if request.type == STACK_TYPE:
                self._stack_urn = urn
            self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, resource_id, {})
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=_outputs(request))

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        raise OfflineUnsupportedError(
            f"the stack program reads existing resource {request.type} {request.name!r}, "
            "which cannot be done offline"
        )

    def _alias_urns(self, request: Any) -> list[str]:
        """Every URN the resource was known by: its own aliases and those it inherits.

        The SDK sends alias specs and leaves the rest to the engine, which multiplies
        out the parent's aliases: for each of them, the child is also known under that
        parent, with the parent's old name in place of the new one where the child's
        name starts with it (the ``f"{name}-<role>"`` convention). So renaming or
        moving a component carries all of its children along, as ``pulumi up`` does.
        """
        own = self._own_alias_urns(request)
        inherited: list[str] = []
        parent = request.parent
        parent_name = parent.rsplit("::", 1)[-1] if parent else ""
        # A parent registers before its children; its recorded aliases include its own inherited ones.
        recorded_parent = self.recorded.get(parent) if parent else None
        for parent_alias in recorded_parent.aliases if recorded_parent is not None else ():
            inherited.append(_inherited_child_alias(request.type, request.name, parent_name, parent_alias))
            for alias in own:
                alias_type = alias.split("::")[2].rsplit("$", 1)[-1]
                alias_name = alias.rsplit("::", 1)[-1]
                inherited.append(_inherited_child_alias(alias_type, alias_name, parent_name, parent_alias))
        return own + inherited

    def _own_alias_urns(self, request: Any) -> list[str]:
        urns = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            if spec.noParent:
                parent = ""
            elif spec.parentUrn:
                parent = spec.parentUrn
            else:
                parent = request.parent
            urns.append(
                self._urn_for(
                    parent,
                    spec.type or request.type,
                    spec.name or request.name,
                    spec.stack or None,
                    spec.project or None,
                )
            )
        return urns

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """Compose a URN the way the Pulumi engine does.

        The engine qualifies a child's type with its parent's whole type chain and
        leaves the root stack out of it; the SDK's mock monitor only prefixes the
        parent's last type and keeps the stack. The plan's URNs must match what
        ``pulumi preview`` shows, so they are composed here.
        """
        return compose_urn(get_stack(), get_project(), parent, type_, name)

    def _urn_for(self, parent: str, type_: str, name: str, stack: str | None, project: str | None) -> str:
        return compose_urn(stack or get_stack(), project or get_project(), parent, type_, name)


def _inherited_child_alias(child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    """The URN a child had under an alias of its parent (the engine's ``inheritedChildAlias``)."""
    alias_name = child_name
    if child_name.startswith(parent_name):
        alias_name = parent_alias.rsplit("::", 1)[-1] + child_name[len(parent_name):]
    stack, project = parent_alias.split("::")[0].rsplit(":", 1)[-1], parent_alias.split("::")[1]
    return compose_urn(stack, project, parent_alias, child_type, alias_name)


def compose_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """``urn:pulumi:<stack>::<project>::<parent chain$type>::<name>`` as the engine makes it."""
    qualified = type_
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


#: Outputs that a provider generates (no input holds them): offline they stand in as a
#: placeholder, like undecryptable ``secure:`` values, so what is built from them (a
#: Secret's keys) keeps its shape. Each is a secret output of its resource, so the
#: placeholder is only ever recorded as ``[secret]``.
_GENERATED_SECRETS = {
    "random:index/randomPassword:RandomPassword": ("result", "bcryptHash"),
}


def _outputs(request: Any) -> struct_pb2.Struct:
    generated = _GENERATED_SECRETS.get(request.type)
    if not generated:
        return request.object
    outputs = struct_pb2.Struct()
    outputs.CopyFrom(request.object)
    for key in generated:
        outputs.fields[key].string_value = OFFLINE_SECRET_PLACEHOLDER
    return outputs


def _provider_urn(reference: str) -> str | None:
    # Provider references are "<urn>::<id>"; the plan records the URN only.
    if not reference:
        return None
    return reference.rsplit("::", 1)[0]
