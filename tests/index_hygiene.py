"""Every query shape the services and the projector issue must be served by a declared index.

The embedded store reports each operation with its filter and sort (`observe_operations`);
conftest collects those issued by application code during the whole test run and checks them
here at the end. A shape is served by an index when, in the index's key order, the equality
fields come first, then the sort (minus fields fixed by equality; all directions as declared or
all reversed), and a range may use what follows (the ESR rule). Branches of `$or` are checked
each. Unique and TTL indexes count as used: they exist for correctness and for the server's own
expiry of documents, not for queries.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from command_service.write_model.indexes import WRITE_MODEL_INDEXES
from query_service.projector.dead_letters import DEAD_LETTER_INDEXES, PROJECTOR_DEAD_LETTERS
from query_service.projector.rebuild import SHADOW_PREFIX
from query_service.read_models.registry import PROJECTIONS
from service_kit.mongo.embedded.operations import Operation, QueryShape

# `$all` on a multikey index is an equality: the server scans the point bounds of one of its
# values (and sorts by what follows in the index) and checks the others on the fetched entries.
EQUALITY_OPERATORS = {"$eq", "$in", "$all"}
RANGE_OPERATORS = {"$lt", "$lte", "$gt", "$gte"}
APPLICATION_CODE = ("/command_service/", "/query_service/", "/service_kit/", "/gateway/")


@dataclass(frozen=True)
class Index:
    collection: str
    name: str
    keys: tuple[tuple[str, int], ...]
    unique: bool
    ttl: bool = False


@dataclass(frozen=True)
class Condition:
    """One conjunction of a filter: fields by how they constrain, plus the sort."""

    equal: frozenset[str]
    ranged: frozenset[str]
    sort: tuple[tuple[str, int], ...]


def declared_indexes() -> list[Index]:
    declared: dict[str, list[Any]] = {
        **WRITE_MODEL_INDEXES,
        PROJECTOR_DEAD_LETTERS: DEAD_LETTER_INDEXES,
    }
    for projection in PROJECTIONS:
        declared.update(projection.owns)
    return [
        Index(
            collection,
            model.document["name"],
            tuple((str(k), int(v)) for k, v in model.document["key"].items()),
            bool(model.document.get("unique")),
            "expireAfterSeconds" in model.document,
        )
        for collection, models in declared.items()
        for model in models
    ]


def collection_of(operation: Operation) -> str:
    """A rebuild's shadows carry the indexes of the collections they replace."""
    return operation.collection.removeprefix(SHADOW_PREFIX)


def is_application(operation: Operation) -> bool:
    return any(part in operation.origin for part in APPLICATION_CODE)


def conditions(shape: QueryShape) -> list[Condition]:
    """The filter as a list of conjunctions (one per `$or` branch), each with the sort."""
    base: dict[str, str] = {}
    branches: list[Mapping[str, Any]] = [{}]
    for key, value in shape.filter.items():
        if key == "$or":
            branches = list(value)
        elif key == "$and":
            for part in value:
                base.update({k: _kind(v) for k, v in part.items()})
        else:
            base[key] = _kind(value)
    found = []
    for branch in branches:
        kinds = {**base, **{k: _kind(v) for k, v in branch.items()}}
        found.append(
            Condition(
                equal=frozenset(k for k, kind in kinds.items() if kind == "equal"),
                ranged=frozenset(k for k, kind in kinds.items() if kind == "range"),
                sort=shape.sort,
            )
        )
    return found


def _kind(value: Any) -> str:
    if isinstance(value, Mapping) and value and all(str(k).startswith("$") for k in value):
        if set(value) <= EQUALITY_OPERATORS:
            return "equal"
        if set(value) <= RANGE_OPERATORS:
            return "range"
        return "other"  # $ne, $exists, ...: checked on fetched documents, not by an index
    return "equal"


def serves(index: Index, condition: Condition) -> bool:
    fields = [field for field, _ in index.keys]
    if "_id" in condition.equal:
        return fields[:1] == ["_id"]  # at most one document (or one per $in value)
    prefix = 0
    while prefix < len(fields) and fields[prefix] in condition.equal:
        prefix += 1
    sort = [(f, d) for f, d in condition.sort if f not in condition.equal]
    following = list(index.keys[prefix : prefix + len(sort)])
    if sort:
        same = [(f, d) for f, d in sort] == following
        reversed_ = [(f, -d) for f, d in sort] == following
        return same or reversed_
    if prefix:
        return True
    return bool(fields) and fields[0] in condition.ranged


def id_index(collection: str) -> Index:
    return Index(collection, "_id_", (("_id", 1),), unique=True)


@dataclass
class Report:
    unserved: list[str]
    unused: list[str]
    shapes: int


def check(operations: Iterable[Operation]) -> Report:
    indexes = declared_indexes()
    used: set[tuple[str, str]] = set()
    unserved: set[str] = set()
    shapes = 0
    for operation in operations:
        if not is_application(operation):
            continue
        collection = collection_of(operation)
        candidates = [i for i in indexes if i.collection == collection] + [id_index(collection)]
        for shape in operation.shapes:
            if not shape.filter and not shape.sort and operation.kind in ("delete", "update"):
                continue  # deliberately the whole collection (an operator's discard --all)
            for condition in conditions(shape):
                shapes += 1
                serving = [index for index in candidates if serves(index, condition)]
                if not serving:
                    unserved.add(
                        f"{collection}.{operation.kind} filter={dict(shape.filter)!r} "
                        f"sort={list(shape.sort)} (from {operation.origin})"
                    )
                for index in serving:
                    used.add((index.collection, index.name))
    unused = [
        f"{index.collection}.{index.name} {list(index.keys)}"
        for index in indexes
        if (index.collection, index.name) not in used and not (index.unique or index.ttl)
    ]
    return Report(sorted(unserved), unused, shapes)
