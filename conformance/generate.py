#!/usr/bin/env python3
"""Generates conformance/assignment-vectors.json: the language-neutral test cases of
Vary's assignment algorithm (DESIGN.md section 4, docs/assignment.md).

This is an independent implementation of the algorithm, written from the prose spec and
not from the Rust engine, so the two can check each other. The hash comes from the PyPI
package `mmh3` (`mmh3.hash(s, 0, signed=False)`).

    pip install mmh3
    python3 conformance/generate.py            # rewrites the vectors file
    python3 conformance/generate.py --check    # exits 1 if the file is out of date

The output is deterministic: a fixed random seed, sections in a fixed order, cases sorted
by name, keys sorted.
"""

import argparse
import json
import math
import random
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import mmh3

BUCKETS = 10_000
SEED = 20261122
OUTPUT = Path(__file__).resolve().parent / "assignment-vectors.json"

# --------------------------------------------------------------------------------------
# The algorithm
# --------------------------------------------------------------------------------------


def murmur(purpose, salt, unit):
    return mmh3.hash(f"{purpose}:{salt}:{unit}", 0, signed=False)


def bucket(purpose, salt, unit):
    return murmur(purpose, salt, unit) % BUCKETS


def normalize(weights):
    """Largest remainder over IEEE doubles: sum left to right, quota = w * 10000 / sum."""
    total = 0.0
    for weight in weights:
        total = total + weight
    quotas = [weight * 10000.0 / total for weight in weights]
    points = [math.floor(quota) for quota in quotas]
    left = BUCKETS - sum(points)
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - math.floor(quotas[i])), i))
    for index in order[:left]:
        points[index] += 1
    return points


NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def parse_number(text):
    if NUMBER.fullmatch(text) is None:
        return None
    number = float(text)
    return number if math.isfinite(number) else None


TYPED = ("placement", "page_type", "country", "device")


def attribute(context, name):
    if name in TYPED:
        value = context.get(name, "")
        return value if value != "" else None
    if name == "logged_in":
        flag = context.get("logged_in")
        return None if flag is None else ("true" if flag else "false")
    return context.get("attributes", {}).get(name)


def condition_holds(condition, context):
    value = attribute(context, condition["attribute"])
    operator = condition["operator"]
    values = condition.get("values", [])
    if operator == "exists":
        return value is not None
    if operator == "not_exists":
        return value is None
    if operator == "neq":
        return value is None or value != values[0]
    if operator == "not_in":
        return value is None or value not in values
    if value is None:
        return False
    if operator == "eq":
        return value == values[0]
    if operator == "in":
        return value in values
    number = parse_number(value)
    operand = parse_number(values[0].strip())
    if number is None:
        return False
    return {
        "lt": number < operand,
        "lte": number <= operand,
        "gt": number > operand,
        "gte": number >= operand,
    }[operator]


def rule_failures(groups, context):
    failures = []
    for group_index, group in enumerate(groups):
        for condition_index, condition in enumerate(group["conditions"]):
            if not condition_holds(condition, context):
                failures.append(
                    {
                        "group": group_index,
                        "condition": condition_index,
                        "attribute": condition["attribute"],
                        "operator": condition["operator"],
                    }
                )
                break
    return failures


def eligible(groups, context):
    return not groups or any(
        all(condition_holds(condition, context) for condition in group["conditions"])
        for group in groups
    )


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def decide(experiment, request, now):
    """The explanation of one experiment, in the normative order of checks."""
    spec = experiment["spec"]
    context = request.get("context", {})
    user_id = request.get("user_id", "")
    session_id = request.get("session_id", "")
    unit = user_id or session_id
    if not unit:
        return {"outcome": "no_unit"}
    placements = spec.get("placements", [])
    if placements and context.get("placement", "") not in placements:
        return {"outcome": "not_in_placement", "placements": placements}
    status = experiment["status"]
    overrides = spec.get("overrides", {})
    if status in ("draft", "running", "paused"):
        for unit_type, unit_id in (("user", user_id), ("session", session_id)):
            if unit_id and unit_id in overrides:
                return {"outcome": "override", "variant_key": overrides[unit_id], "matched": unit_type}
    groups = spec.get("eligibility", [])
    if not eligible(groups, context):
        return {"outcome": "not_eligible", "failures": rule_failures(groups, context)}
    rollout = experiment.get("rollout_variant_key")
    if status == "stopped" and rollout:
        return {"outcome": "rollout", "variant_key": rollout}
    if status != "running":
        return {"outcome": "not_running", "status": status}
    schedule = spec.get("schedule", {})
    if "start" in schedule and now < parse_time(schedule["start"]):
        return {"outcome": "outside_schedule"}
    if "end" in schedule and now >= parse_time(schedule["end"]):
        return {"outcome": "outside_schedule"}
    layer_bucket = None
    layer = spec.get("layer")
    if layer is not None:
        layer_bucket = bucket("layer", layer["name"], unit)
        start, end = layer["range"]["start"], layer["range"]["end"]
        if not start <= layer_bucket < end:
            return {"outcome": "outside_layer_range", "bucket": layer_bucket}
    salt = spec.get("salt") or experiment["key"]
    alloc_bucket = bucket("alloc", salt, unit)
    if alloc_bucket >= spec["allocation_bps"]:
        return {"outcome": "outside_allocation", "bucket": alloc_bucket}
    variant_bucket = bucket("variant", salt, unit)
    points = normalize([variant["weight"] for variant in spec["variants"]])
    start = 0
    for variant, width in zip(spec["variants"], points):
        if start <= variant_bucket < start + width:
            return {
                "outcome": "assigned",
                "variant_key": variant["key"],
                "variant_bucket": variant_bucket,
                "alloc_bucket": alloc_bucket,
                "layer_bucket": layer_bucket,
            }
        start += width
    raise AssertionError("variant ranges cover every bucket")


REASONS = {"assigned": "hash", "override": "override", "rollout": "rollout"}


def expected_result(snapshot, request, now_text):
    now = parse_time(now_text)
    user_id = request.get("user_id", "")
    session_id = request.get("session_id", "")
    if user_id:
        unit = {"unit_type": "user", "id": user_id}
    elif session_id:
        unit = {"unit_type": "session", "id": session_id}
    else:
        unit = {"unit_type": "none", "id": ""}
    wanted = request.get("experiment_keys", [])
    experiments = sorted(snapshot["experiments"], key=lambda experiment: experiment["key"])
    if wanted:
        experiments = [experiment for experiment in experiments if experiment["key"] in wanted]
    explanations = []
    assignments = []
    for experiment in experiments:
        outcome = decide(experiment, request, now)
        explanations.append({"experiment_key": experiment["key"], **outcome})
        reason = REASONS.get(outcome["outcome"])
        if reason is not None:
            layer = experiment["spec"].get("layer")
            assignments.append(
                {
                    "experiment_key": experiment["key"],
                    "version": experiment["version"],
                    "variant_key": outcome["variant_key"],
                    "reason": reason,
                    "layer": layer["name"] if layer else None,
                    "forced": reason == "override",
                    "log_exposure": reason != "rollout",
                }
            )
    return {"unit": unit, "assignments": assignments, "explanations": explanations}


# --------------------------------------------------------------------------------------
# Case builders
# --------------------------------------------------------------------------------------

rng = random.Random(SEED)

NON_ASCII_UNITS = ["user-é", "ユーザー42", "Ünïcødé", "用户-7", "😀-emoji", "ñ", "Ελλάδα", "עברית"]


def random_unit():
    kind = rng.randrange(4)
    if kind == 0:
        return f"u{rng.randrange(10**6)}"
    if kind == 1:
        return f"s-{rng.getrandbits(64):016x}"
    if kind == 2:
        return str(rng.randrange(10**9))
    return rng.choice(NON_ASCII_UNITS) + str(rng.randrange(1000))


def bucket_cases():
    design = [
        ("variant", "reco_ymal_v1", "u123"),
        ("alloc", "reco_ymal_v1", "u123"),
        ("layer", "pdp", "u123"),
        ("variant", "reco_ymal_v1", "s456"),
        ("variant", "als-popgen-v1", "42"),
        ("variant", "reco_ymal_v1", "user-é"),
        ("alloc", "reco_ymal_v1", "ユーザー42"),
    ]
    inputs = [(purpose, salt, unit, f"design/{purpose}/{salt}/{unit}") for purpose, salt, unit in design]
    salts = ["reco_ymal_v1", "als-popgen-v1", "price_band_2", "pdp", "newsfeed", "Layer-X", "sälz"]
    for purpose in ("layer", "alloc", "variant"):
        for index in range(40):
            unit = random_unit()
            inputs.append((purpose, rng.choice(salts), unit, f"random/{purpose}/{index:02}"))
        for unit in ["", " ", ":", "a:b", "x" * 300, "y" * 600, "\u0000nul", "tab\there"]:
            inputs.append((purpose, "reco_ymal_v1", unit, f"edge/{purpose}/unit={unit[:12]!r}"))
        inputs.append((purpose, "", "u123", f"edge/{purpose}/empty-salt"))
        for unit in NON_ASCII_UNITS:
            inputs.append((purpose, "reco_ymal_v1", unit, f"non-ascii/{purpose}/{unit}"))
    cases = []
    for purpose, salt, unit, name in inputs:
        hash_value = murmur(purpose, salt, unit)
        cases.append(
            {
                "name": name,
                "purpose": purpose,
                "salt": salt,
                "unit": unit,
                "key_utf8_hex": f"{purpose}:{salt}:{unit}".encode("utf-8").hex(),
                "hash": hash_value,
                "bucket": hash_value % BUCKETS,
            }
        )
    return cases


def weight_cases():
    lists = {
        "design/1-1-1": [1, 1, 1],
        "fixed/50-50": [50, 50],
        "fixed/90-10": [90, 10],
        "fixed/80-10-10": [80, 10, 10],
        "fixed/1-2-3": [1, 2, 3],
        "fixed/seven-equal": [1] * 7,
        "fixed/tiny-second": [1, 1e-9],
        "fixed/decimals-0.1-0.2-0.7": [0.1, 0.2, 0.7],
        "fixed/thirds-as-decimals": [0.3333, 0.3333, 0.3334],
        "fixed/one-variant": [5],
        "fixed/100-equal": [1] * 100,
        "fixed/large": [1e12, 3e12],
        "fixed/ties-later-larger": [2, 1, 1, 2],
        "fixed/33-equal": [3] * 33,
    }
    for index in range(30):
        count = rng.randrange(2, 9)
        if index % 3 == 0:
            weights = [rng.randrange(1, 100) for _ in range(count)]
        elif index % 3 == 1:
            weights = [round(rng.uniform(0.01, 10), rng.randrange(1, 6)) for _ in range(count)]
        else:
            weights = [rng.uniform(1e-3, 1e3) for _ in range(count)]
        lists[f"random/{index:02}"] = weights
    cases = []
    for name, weights in lists.items():
        weights = [float(weight) for weight in weights]
        points = normalize(weights)
        assert sum(points) == BUCKETS, (name, points)
        cases.append({"name": name, "weights": weights, "basis_points": points})
    return cases


def number_cases():
    texts = [
        "0", "42", "-7", "+3", "3.25", "-0.5", ".5", "5.", "1e3", "1E-2", "2.5e+3", "007",
        "", " ", " 5", "5 ", ".", "+", "-", "e5", "1e", "1e+", "0x10", "1_000", "inf",
        "-Infinity", "NaN", "1e400", "1,5", "١٢", "１２", "5\n", "true",
    ]
    return [
        {"name": f"number/{text!r}", "text": text, "number": parse_number(text)} for text in texts
    ]


def condition(attribute_name, operator, *values):
    return {"attribute": attribute_name, "operator": operator, "values": list(values)}


def rule_cases():
    context = {
        "placement": "pdp",
        "page_type": "product",
        "country": "DE",
        "device": "",
        "logged_in": True,
        "attributes": {"age": "34", "segment": "vip", "note": "", "score": "abc", "ratio": "0.75"},
    }
    cases = []

    def add(name, groups, ctx=context):
        cases.append(
            {"name": name, "eligibility": groups, "context": ctx, "eligible": eligible(groups, ctx)}
        )

    attributes = ["placement", "page_type", "country", "device", "logged_in", "age", "segment",
                  "note", "score", "missing"]
    string_values = {"placement": "pdp", "page_type": "product", "country": "DE", "device": "",
                     "logged_in": "true", "age": "34", "segment": "vip", "note": "", "score": "abc",
                     "missing": "x"}
    for name in attributes:
        present = string_values[name]
        add(f"eq/{name}/match", [{"conditions": [condition(name, "eq", present)]}])
        add(f"eq/{name}/other", [{"conditions": [condition(name, "eq", "zz")]}])
        add(f"neq/{name}/match", [{"conditions": [condition(name, "neq", present)]}])
        add(f"neq/{name}/other", [{"conditions": [condition(name, "neq", "zz")]}])
        add(f"in/{name}/listed", [{"conditions": [condition(name, "in", "zz", present)]}])
        add(f"in/{name}/unlisted", [{"conditions": [condition(name, "in", "zz", "yy")]}])
        add(f"not_in/{name}/listed", [{"conditions": [condition(name, "not_in", present, "zz")]}])
        add(f"not_in/{name}/unlisted", [{"conditions": [condition(name, "not_in", "zz")]}])
        add(f"exists/{name}", [{"conditions": [condition(name, "exists")]}])
        add(f"not_exists/{name}", [{"conditions": [condition(name, "not_exists")]}])
    for name in ["age", "score", "missing", "country", "logged_in", "ratio"]:
        for operator in ("lt", "lte", "gt", "gte"):
            for operand in ("34", "0.75", "-1", " 100 ", "1e1"):
                add(f"{operator}/{name}/{operand.strip()}",
                    [{"conditions": [condition(name, operator, operand)]}])
    add("case-sensitive/country", [{"conditions": [condition("country", "eq", "de")]}])
    add("groups/none-means-everyone", [])
    add("groups/or-second-holds", [
        {"conditions": [condition("country", "eq", "FR")]},
        {"conditions": [condition("segment", "eq", "vip"), condition("age", "gte", "18")]},
    ])
    add("groups/and-one-fails", [
        {"conditions": [condition("country", "eq", "DE"), condition("age", "gt", "40")]},
    ])
    add("groups/all-fail", [
        {"conditions": [condition("country", "eq", "FR")]},
        {"conditions": [condition("missing", "exists")]},
    ])
    shadow = dict(context, attributes={"country": "FR", **context["attributes"]})
    add("typed-field-shadows-free-attribute", [{"conditions": [condition("country", "eq", "FR")]}],
        shadow)
    add("logged-in-false", [{"conditions": [condition("logged_in", "eq", "false")]}],
        dict(context, logged_in=False))
    add("logged-in-missing-neq", [{"conditions": [condition("logged_in", "neq", "true")]}],
        dict(context, logged_in=None))
    add("non-ascii-value", [{"conditions": [condition("city", "eq", "München")]}],
        dict(context, attributes={"city": "München"}))
    for index, (text, _) in enumerate([("5.", 0), (".5", 0), ("+3", 0), ("1_000", 0), ("0x1", 0),
                                       ("1e400", 0), (" 7", 0), ("NaN", 0)]):
        add(f"numeric-parse/{index}/{text!r}",
            [{"conditions": [condition("value", "gte", "0")]}],
            dict(context, attributes={"value": text}))
    return cases


# --- assignment scenarios ---

def variant(key, weight=1, control=False, params=None):
    result = {"key": key, "weight": float(weight)}
    if control:
        result["control"] = True
    if params:
        result["params"] = params
    return result


def experiment(key, status="running", allocation=10_000, variants=None, version=1, **spec_fields):
    spec = {
        "name": key.replace("_", " "),
        "owner": "reco-team",
        "allocation_bps": allocation,
        "variants": variants or [variant("control", control=True), variant("treatment")],
    }
    rollout = spec_fields.pop("rollout_variant_key", None)
    spec.update(spec_fields)
    result = {"key": key, "version": version, "status": status, "spec": spec}
    if rollout:
        result["rollout_variant_key"] = rollout
    return result


def request(user_id="", session_id="", placement="pdp", keys=None, **context_fields):
    context = {"placement": placement, **context_fields}
    result = {"user_id": user_id, "session_id": session_id, "context": context}
    if keys:
        result["experiment_keys"] = keys
    return result


NOW = "2026-06-01T12:00:00Z"


def assignment_cases():
    cases = []

    def add(name, experiments, req, now=NOW):
        snapshot = {"revision": 7, "experiments": experiments}
        cases.append(
            {
                "name": name,
                "snapshot": snapshot,
                "request": req,
                "now": now,
                "expected": expected_result(snapshot, req, now),
            }
        )

    reco = experiment(
        "reco_ymal_v1",
        placements=["pdp"],
        variants=[variant("control", control=True, params={"model": "als-v1"}),
                  variant("treatment", params={"model": "als-v2", "k": 20})],
    )
    # Unit fallback.
    add("unit/user-id", [reco], request(user_id="u123"))
    add("unit/session-id-when-no-user-id", [reco], request(session_id="s456"))
    add("unit/user-id-wins-over-session-id", [reco], request(user_id="u123", session_id="s456"))
    add("unit/none", [reco], request())
    add("unit/whitespace-user-id-is-an-id", [reco], request(user_id=" ", session_id="s456"))
    for unit in NON_ASCII_UNITS:
        add(f"unit/non-ascii/{unit}", [reco], request(user_id=unit))
        add(f"unit/non-ascii-session/{unit}", [reco], request(session_id=unit))

    # Placement.
    everywhere = experiment("home_banner_v2")
    multi = experiment("ranker_v3", placements=["search", "home"])
    for placement in ["pdp", "home", "search", "cart", ""]:
        add(f"placement/{placement or 'empty'}", [reco, everywhere, multi],
            request(user_id="u123", placement=placement))

    # Overrides.
    qa = {"qa-user": "treatment", "qa-session": "control", "u123": "treatment"}
    for status in ("draft", "running", "paused", "stopped"):
        add(f"override/{status}/user-listed",
            [experiment("qa_exp", status=status, overrides=qa, placements=["pdp"])],
            request(user_id="qa-user"))
        add(f"override/{status}/session-listed-with-unlisted-user",
            [experiment("qa_exp", status=status, overrides=qa, placements=["pdp"])],
            request(user_id="someone", session_id="qa-session"))
    add("override/user-beats-session",
        [experiment("qa_exp", overrides=qa)], request(user_id="qa-user", session_id="qa-session"))
    add("override/respects-placement",
        [experiment("qa_exp", overrides=qa, placements=["search"])], request(user_id="qa-user"))
    add("override/bypasses-eligibility",
        [experiment("qa_exp", overrides=qa,
                    eligibility=[{"conditions": [condition("country", "eq", "FR")]}])],
        request(user_id="qa-user", country="DE"))
    add("override/bypasses-schedule",
        [experiment("qa_exp", overrides=qa, schedule={"start": "2027-01-01T00:00:00Z"})],
        request(user_id="qa-user"))
    add("override/bypasses-zero-allocation",
        [experiment("qa_exp", overrides=qa, allocation=0)], request(user_id="qa-user"))
    add("override/bypasses-layer-range",
        [experiment("qa_exp", overrides=qa, layer={"name": "pdp", "range": {"start": 0, "end": 1}})],
        request(user_id="qa-user"))
    add("override/stopped-serves-rollout-not-override",
        [experiment("qa_exp", status="stopped", overrides=qa, rollout_variant_key="control")],
        request(user_id="qa-user"))
    add("override/draft-among-running",
        [reco, experiment("qa_draft", status="draft", overrides=qa), everywhere],
        request(user_id="u123"))
    add("override/paused-via-session",
        [experiment("qa_paused", status="paused", overrides=qa), everywhere],
        request(user_id="u999", session_id="qa-session"))

    # Status and rollout.
    for status in ("draft", "paused", "stopped"):
        add(f"status/{status}-does-not-assign", [experiment("st", status=status)],
            request(user_id="u123"))
    add("rollout/stopped-with-rollout",
        [experiment("st", status="stopped", rollout_variant_key="treatment", allocation=0,
                    schedule={"end": "2026-01-01T00:00:00Z"})],
        request(user_id="u123"))
    add("rollout/needs-eligibility",
        [experiment("st", status="stopped", rollout_variant_key="treatment",
                    eligibility=[{"conditions": [condition("country", "in", "FR", "BE")]}])],
        request(user_id="u123", country="DE"))
    add("rollout/ignored-while-running",
        [experiment("st", rollout_variant_key="treatment")], request(user_id="u123"))
    add("rollout/no-unit", [experiment("st", status="stopped", rollout_variant_key="treatment")],
        request())

    # Schedule edges.
    window = {"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z"}
    for label, now in [
        ("exactly-at-start-is-in", "2026-06-01T00:00:00Z"),
        ("one-microsecond-before-start-is-out", "2026-05-31T23:59:59.999999Z"),
        ("inside", "2026-06-01T12:00:00Z"),
        ("one-microsecond-before-end-is-in", "2026-06-01T23:59:59.999999Z"),
        ("exactly-at-end-is-out", "2026-06-02T00:00:00Z"),
        ("after-end", "2026-07-01T00:00:00Z"),
    ]:
        add(f"schedule/{label}", [experiment("sched", schedule=window)],
            request(user_id="u123"), now)
    add("schedule/open-start", [experiment("sched", schedule={"end": "2026-06-02T00:00:00Z"})],
        request(user_id="u123"), "2000-01-01T00:00:00Z")
    add("schedule/open-end", [experiment("sched", schedule={"start": "2026-06-01T00:00:00Z"})],
        request(user_id="u123"), "2099-01-01T00:00:00Z")

    # Eligibility through a whole request.
    targeted = experiment("targeted", eligibility=[
        {"conditions": [condition("country", "in", "DE", "AT"), condition("logged_in", "eq", "true")]},
        {"conditions": [condition("tier", "gte", "3")]},
    ])
    add("eligibility/first-group", [targeted], request(user_id="u1", country="AT", logged_in=True))
    add("eligibility/second-group", [targeted],
        request(user_id="u1", country="US", attributes={"tier": "3"}))
    add("eligibility/neither", [targeted],
        request(user_id="u1", country="US", logged_in=True, attributes={"tier": "2.5"}))
    add("eligibility/missing-everything", [targeted], request(user_id="u1"))

    # Layers: four experiments sharing one layer, plus one in another layer.
    layered = [
        experiment("layer_a", layer={"name": "pdp", "range": {"start": 0, "end": 2500}}),
        experiment("layer_b", layer={"name": "pdp", "range": {"start": 2500, "end": 5000}}),
        experiment("layer_c", layer={"name": "pdp", "range": {"start": 5000, "end": 9000}},
                   allocation=5000),
        experiment("other_layer", layer={"name": "ranking", "range": {"start": 3000, "end": 7000}},
                   salt="shared-salt"),
    ]
    for index in range(30):
        add(f"layers/random-unit/{index:02}", layered, request(user_id=random_unit()))
    add("layers/design-unit-u123", layered, request(user_id="u123"))

    # Layer range edges: find units whose layer bucket is exactly at a boundary.
    edges = {2499: None, 2500: None, 4999: None, 5000: None, 0: None, 9999: None}
    probe = 0
    while any(unit is None for unit in edges.values()):
        unit = f"edge-{probe}"
        layer_bucket = bucket("layer", "pdp", unit)
        if layer_bucket in edges and edges[layer_bucket] is None:
            edges[layer_bucket] = unit
        probe += 1
    for layer_bucket, unit in sorted(edges.items()):
        add(f"layers/bucket-{layer_bucket}", layered, request(user_id=unit))

    # Allocation: random ramps, and units exactly at the allocation boundary.
    for index in range(25):
        allocation = rng.choice([0, 1, 100, 1000, 2500, 5000, 7604, 7605, 9999, 10000])
        add(f"allocation/random/{index:02}/{allocation}",
            [experiment("ramped", allocation=allocation, salt="reco_ymal_v1")],
            request(user_id=random_unit()))
    add("allocation/bucket-equal-to-allocation-is-out",
        [experiment("ramped", allocation=7604, salt="reco_ymal_v1")], request(user_id="u123"))
    add("allocation/bucket-one-below-allocation-is-in",
        [experiment("ramped", allocation=7605, salt="reco_ymal_v1")], request(user_id="u123"))

    # Variants: random weights and units, and buckets at range boundaries.
    for index in range(30):
        count = rng.randrange(2, 6)
        weights = [rng.choice([1, 2, 3, 10, 0.5, 33.3]) for _ in range(count)]
        variants = [variant(f"v{i}", weight, control=(i == 0)) for i, weight in enumerate(weights)]
        add(f"variants/random/{index:02}", [experiment("weighted", variants=variants)],
            request(session_id=random_unit()))
    boundaries = {3333: None, 3334: None, 6666: None, 6667: None}
    probe = 0
    while any(unit is None for unit in boundaries.values()):
        unit = f"v-edge-{probe}"
        variant_bucket = bucket("variant", "three_way", unit)
        if variant_bucket in boundaries and boundaries[variant_bucket] is None:
            boundaries[variant_bucket] = unit
        probe += 1
    three_way = experiment("three_way", variants=[variant("a", control=True), variant("b"), variant("c")])
    for variant_bucket, unit in sorted(boundaries.items()):
        add(f"variants/three-way-bucket-{variant_bucket}", [three_way], request(user_id=unit))

    # Salt: the key when empty, the configured salt otherwise.
    add("salt/defaults-to-key", [experiment("reco_ymal_v1")], request(user_id="u123"))
    add("salt/configured", [experiment("renamed_exp", salt="reco_ymal_v1")], request(user_id="u123"))

    # Restricting to experiment keys.
    several = [reco, everywhere, multi, experiment("qa_draft", status="draft", overrides=qa)]
    add("keys/only-listed", several, request(user_id="u123", keys=["home_banner_v2"]))
    add("keys/unknown-and-duplicate", several,
        request(user_id="u123", keys=["nope", "reco_ymal_v1", "reco_ymal_v1"]))
    add("keys/listed-but-other-placement", several,
        request(user_id="u123", keys=["ranker_v3"]))
    add("keys/override-of-draft", several, request(user_id="qa-user", keys=["qa_draft"]))
    return cases


def build():
    sections = {
        "buckets": bucket_cases(),
        "weights": weight_cases(),
        "numbers": number_cases(),
        "rules": rule_cases(),
        "assignments": assignment_cases(),
    }
    for name, cases in sections.items():
        names = [case["name"] for case in cases]
        duplicates = {case_name for case_name in names if names.count(case_name) > 1}
        assert not duplicates, (name, duplicates)
        cases.sort(key=lambda case: case["name"])
    total = sum(len(cases) for cases in sections.values())
    return {
        "format_version": 1,
        "description": (
            "Conformance vectors of Vary's assignment algorithm (DESIGN.md section 4, "
            "docs/assignment.md). Generated by conformance/generate.py; do not edit by hand. "
            "See conformance/README.md for the format."
        ),
        "case_count": total,
        **sections,
    }


def render(document):
    return json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args()
    text = render(build())
    if arguments.check:
        current = arguments.output.read_text(encoding="utf-8") if arguments.output.exists() else ""
        if current != text:
            print(f"{arguments.output} is out of date: run conformance/generate.py", file=sys.stderr)
            return 1
        print(f"{arguments.output} is up to date")
        return 0
    arguments.output.write_text(text, encoding="utf-8")
    document = json.loads(text)
    counts = ", ".join(f"{name} {len(document[name])}" for name in
                       ("buckets", "weights", "numbers", "rules", "assignments"))
    print(f"wrote {arguments.output}: {document['case_count']} cases ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
