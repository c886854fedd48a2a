"""The gateway's Lua filters, run as Envoy runs them: the plan's own code, in LuaJIT.

An EnvoyFilter that inserts ``envoy.filters.http.lua`` into a gateway's HTTP filter chain
(``INSERT_FIRST``: before ext_authz, the JWT filter and RBAC) may change a request's headers
or answer it itself. Rather than restating what mlplane's filter does, the evaluator runs
the filter source the plan ships, as the policy pack runs KFP's ``sync.py``
(:mod:`.kfp_sync`), against the API Envoy gives it (envoyproxy/envoy docs, "Lua" HTTP filter:
``headers():get/remove/replace/add``, ``respond(headers, body)`` which ends the script and
answers the client, ``connection():ssl()`` nil on plain connections). Envoy embeds LuaJIT
(envoyproxy/envoy ``bazel/repository_locations.bzl``: ``luajit``), so does the evaluator
(lupa's ``luajit21`` runtime).

Only request-side effects matter to access: header changes and direct answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from mlplane.policy.access.cluster import Cluster, Workload
from mlplane.policy.access.match import match_labels
from mlplane.policy.access.request import Http

LUA_FILTER = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"

# The handle Envoy passes to envoy_on_request, as a Lua table: the script sees the same calls.
# ``respond`` raises a marker that the runner catches (Envoy stops the script there).
_HARNESS = """
return function(source, headers_in)
  local chunk = assert(loadstring(source, "envoyfilter"))
  local env = setmetatable({}, {__index = _G})
  setfenv(chunk, env)
  chunk()
  if env.envoy_on_request == nil then return headers_in, nil, nil end
  local store = {}
  for k, v in pairs(headers_in) do store[string.lower(k)] = v end
  local hdrs = {}
  function hdrs:get(k) return store[string.lower(k)] end
  function hdrs:remove(k) store[string.lower(k)] = nil end
  function hdrs:replace(k, v) store[string.lower(k)] = v end
  function hdrs:add(k, v) store[string.lower(k)] = v end
  local answered = {}
  local handle = {}
  function handle:headers() return hdrs end
  function handle:connection() return {ssl = function() return nil end} end
  function handle:respond(h, body) answered.status = h[":status"]; answered.body = body; error(answered) end
  function handle:logInfo(m) end
  function handle:logWarn(m) end
  function handle:logDebug(m) end
  local ok, err = pcall(env.envoy_on_request, handle)
  if not ok and err ~= answered then error(err) end
  return store, answered.status, answered.body
end
"""


@dataclass(frozen=True)
class Answer:
    """What a filter answered instead of passing the request on."""

    filter: str
    status: str
    body: str


@lru_cache(maxsize=1)
def _runner() -> Any:
    try:
        from lupa import luajit21
    except ImportError as err:  # the policy extra installs it
        raise RuntimeError("the access evaluator runs Envoy's Lua filters in LuaJIT: pip install 'mlplane[policy]'"
                           " (lupa)") from err
    runtime = luajit21.LuaRuntime(unpack_returned_tuples=True, register_eval=False)
    return runtime, runtime.execute(_HARNESS)


def lua_sources(cluster: Cluster, gateway: Workload) -> Iterator[tuple[str, str]]:
    """``(EnvoyFilter namespace/name, Lua source)`` of the filters inserted on ``gateway``'s requests.

    An EnvoyFilter applies to the workloads its ``workloadSelector`` selects in its own
    namespace, or to every workload when it sits in the root namespace without a selector
    (istio/istio ``networking/v1alpha3/envoy_filter.proto``, ``workloadSelector``).
    """
    for obj in sorted(cluster.of_kind("EnvoyFilter"), key=lambda o: (o["metadata"].get("namespace", ""),
                                                                      o["metadata"]["name"])):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        selector = (spec.get("workloadSelector") or {}).get("labels")
        if selector is None:
            if meta.get("namespace") != cluster.root_namespace:
                continue
        elif meta.get("namespace") != gateway.namespace or not match_labels(selector, gateway.labels):
            continue
        for patch in spec.get("configPatches") or ():
            if patch.get("applyTo") != "HTTP_FILTER" or \
                    (patch.get("match") or {}).get("context", "ANY") not in ("GATEWAY", "ANY"):
                continue
            config = ((patch.get("patch") or {}).get("value") or {}).get("typed_config") or {}
            if config.get("@type") != LUA_FILTER:
                continue
            source = (config.get("defaultSourceCode") or {}).get("inlineString") or config.get("inlineCode")
            if source:
                yield f"{meta.get('namespace')}/{meta['name']}", source


def run(name: str, source: str, http: Http) -> tuple[Http, Answer | None]:
    """``http`` after one Lua filter's ``envoy_on_request``, or the answer it gave instead.

    Args:
        name: What the filter is called in verdicts (``namespace/name`` of its EnvoyFilter).
        source: The filter's Lua code.
        http: The request; its path, method and host are the ``:path``, ``:method`` and
            ``:authority`` pseudo-headers the script sees.

    Raises:
        RuntimeError: lupa (LuaJIT) is not installed.
        lupa.LuaError: the script fails (Envoy would answer 500; the evaluator says so loudly).
    """
    runtime, call = _runner()
    headers = {**{k.lower(): v for k, v in http.headers.items()},
               ":path": http.path, ":method": http.method, ":authority": http.host}
    store, status, body = call(source, runtime.table_from(headers))
    if status is not None:
        return http, Answer(name, str(status), str(body or ""))
    after = dict(store.items())
    path, method, host = after.pop(":path", http.path), after.pop(":method", http.method), after.pop(":authority", http.host)
    return replace(http, path=path, method=method, host=host,
                   headers={k: v for k, v in after.items() if not k.startswith(":")}), None


def on_request(cluster: Cluster, gateway: Workload, http: Http) -> tuple[Http, Answer | None]:
    """``http`` after every Lua filter on ``gateway`` (:func:`run` each, in order), or the first answer."""
    for name, source in lua_sources(cluster, gateway):
        http, answered = run(name, source, http)
        if answered is not None:
            return http, answered
    return http, None
