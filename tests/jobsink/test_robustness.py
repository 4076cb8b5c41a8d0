"""The API functions never raise on hostile input: the webhook calls them on whatever it is sent.

Starting from a JobSink that uses most fields, hypothesis replaces one or two nodes with arbitrary
JSON (null, wrong types, empty objects, nested junk). ``default`` and ``default_patch`` must not
raise; ``validate`` must return field errors instead of raising; and whatever it accepts must
render.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jobsink.defaults import default, default_patch
from jobsink.render import PlaceholderEvent, render
from jobsink.validation import validate, warnings
from tests.jobsink.sinks import sink

RICH = sink(
    completions=3,
    parallelism=2,
    completionMode="Indexed",
    backoffLimitPerIndex=1,
    ttlSecondsAfterFinished=60,
    podFailurePolicy={
        "rules": [
            {
                "action": "FailIndex",
                "onExitCodes": {"containerName": "main", "operator": "In", "values": [1]},
            },
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
        ]
    },
    successPolicy={"rules": [{"succeededIndexes": "0-1", "succeededCount": 1}]},
    pod={
        "restartPolicy": "Never",
        "initContainers": [{"name": "init", "image": "bash:5", "restartPolicy": "Always"}],
        "containers": [
            {
                "name": "main",
                "image": "bash:5",
                "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "envFrom": [{"configMapRef": {"name": "c"}}],
                "ports": [{"containerPort": 80, "name": "http"}],
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": 0.5}},
                "livenessProbe": {"httpGet": {"port": "http"}},
                "lifecycle": {"preStop": {"sleep": {"seconds": 1}}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "securityContext": {"runAsUser": 1, "seccompProfile": {"type": "RuntimeDefault"}},
            }
        ],
        "volumes": [
            {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
            {"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "k", "operator": "Exists"}]}
                    ]
                }
            }
        },
        "tolerations": [{"operator": "Exists"}],
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
        ],
        "dnsConfig": {"options": [{"name": "ndots", "value": "2"}]},
        "securityContext": {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}]},
    },
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for name, value in node.items():
            found += paths(value, (*prefix, name))
    elif isinstance(node, list):
        for position, value in enumerate(node):
            found += paths(value, (*prefix, position))
    return found


ALL_PATHS = [p for p in paths(RICH) if p[:1] == ("spec",) and len(p) > 2]
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "port", "x", "values", "rules"]), inner, max_size=3
        )
    ),
    max_leaves=6,
)


def replaced(obj: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(obj)
    node: Any = result
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return result


ENV_FROM = ("spec", "job", "spec", "template", "spec", "containers", 0, "envFrom")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(edits=st.lists(st.tuples(st.sampled_from(ALL_PATHS), JUNK), min_size=1, max_size=2))
# Found once: a dict with an integer key (only a hand-built object has one) crashed the patch paths.
@example(edits=[(ENV_FROM, {}), ((*ENV_FROM, 0), [])])
def test_hostile_input_gives_errors_not_exceptions(
    edits: list[tuple[tuple[Any, ...], Any]],
) -> None:
    obj = RICH
    for path, value in edits:
        try:
            obj = replaced(obj, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed this path
    patch = default_patch(obj)
    defaulted = default(obj)
    assert jsonpatch.apply_patch(obj, patch) == defaulted
    errors = validate(defaulted)
    assert all(error.path and error.message for error in errors)
    if not errors:
        warnings(defaulted)
        render(defaulted, PlaceholderEvent())


def test_the_rich_sink_is_valid() -> None:
    assert validate(default(RICH)) == []
