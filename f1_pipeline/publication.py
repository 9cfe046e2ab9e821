"""The serving data the pipeline publishes and the API reads: Parquet snapshots behind an atomically switched pointer.

DuckDB lets one process write and, while it writes, no other process read, so the API never opens the warehouse.
Instead each publication is a directory `snapshots/<snapshot_id>/` of one Parquet file per table plus
`manifest.json`, written under a temporary name and renamed into place once complete; the file `CURRENT` then
names it, replaced with `os.replace` so a reader sees the old snapshot or the new one, never half of either. Older
snapshots are kept for a while so a reader that resolved `CURRENT` just before a switch can finish its read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from f1_pipeline.contracts import Schema, ValueRules, schema_problems, value_problems

TABLES: tuple[str, ...] = (
    "calendar",
    "results",
    "next_race",
    "next_race_features",
    "race_predictions",
    "prediction_accuracy",
    "driver_rankings",
    "team_rankings",
    "rating_history",
    "championship_odds",
    "title_odds_by_round",
    "title_forecasts",
    "promotions",
)
VOLATILE_COLUMNS = ("predicted_at", "decided_at")
"""Columns that say when a row was made (a prediction, a decision on the champion), not what it says: the content
hash ignores them, so re-running the pipeline on the same data publishes nothing new, and two pipelines that reach
the same predictions and decisions at different times publish the same content."""

CURRENT = "CURRENT"
SNAPSHOTS = "snapshots"
MANIFEST = "manifest.json"
_TMP_PREFIX = ".tmp-"
_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
_SNAPSHOT_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


class PublicationError(Exception):
    """Nothing is published, or what is published cannot be read; the message names the file."""


class PublicationInvalidError(PublicationError):
    """A table holds values its contract forbids (a probability of 7.5, NaN, a null name or date)."""


class _SnapshotGoneError(PublicationError):
    """The snapshot directory vanished (pruned) while or before it was read."""


@dataclass(frozen=True)
class Manifest:
    snapshot_id: str
    published_at: datetime
    model_name: str
    model_version: str
    rows: dict[str, int]


@dataclass(frozen=True)
class Publication:
    manifest: Manifest
    tables: Mapping[str, pl.DataFrame]


def publish(
    directory: Path,
    tables: Mapping[str, pl.DataFrame],
    *,
    model_name: str,
    model_version: str,
    keep: int = 3,
    rules: Mapping[str, ValueRules] | None = None,
) -> Manifest:
    """Write `tables` as a new snapshot and make it current, unless the current snapshot holds the same content,
    in which case its manifest is returned and nothing is written. A table that breaks its value `rules` is refused
    (`PublicationInvalidError`) before anything is written: the current snapshot stays."""
    _require_tables(tables)
    for name, table_rules in (rules or {}).items():
        problems = value_problems(tables[name], table_rules)
        if problems:
            raise PublicationInvalidError(f"the table {name} breaks its value rules: {'; '.join(problems)}")
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (the current snapshot), got {keep}")
    digest = _content_hash(tables, model_name=model_name, model_version=model_version)
    current = _current_manifest(directory)
    if current is not None and current[1] == digest:
        return current[0]
    published_at = _next_publication_time(directory)
    manifest = Manifest(
        snapshot_id=f"{published_at:{_TIME_FORMAT}}-{digest[:8]}",
        published_at=published_at,
        model_name=model_name,
        model_version=model_version,
        rows={name: tables[name].height for name in TABLES},
    )
    _write_snapshot(_snapshot_dir(directory, manifest.snapshot_id), tables, manifest, digest)
    _switch_current(directory, manifest.snapshot_id)
    _prune(directory, keep, manifest.snapshot_id)
    return manifest


def current_snapshot(directory: Path) -> str | None:
    """The id `CURRENT` names, reading nothing else; None before the first publication."""
    path = directory / CURRENT
    try:
        snapshot_id = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise PublicationError(f"cannot read the publication pointer {path}: {error}") from error
    return _checked_id(snapshot_id, path)


def read_publication(
    directory: Path,
    snapshot_id: str | None = None,
    schemas: Mapping[str, Schema] | None = None,
    rules: Mapping[str, ValueRules] | None = None,
) -> Publication:
    """Every table of one snapshot, the current one by default, each checked against its schema in `schemas` when
    given (a table without one is refused) and its value `rules` (`PublicationInvalidError`). A current snapshot
    pruned between resolving `CURRENT` and reading its files (a publication switched meanwhile) is retried once on
    the new `CURRENT`."""
    if snapshot_id is not None:
        return _read_snapshot(directory, _checked_id(snapshot_id, directory / SNAPSHOTS), schemas, rules)
    resolved = _require_current(directory)
    try:
        return _read_snapshot(directory, resolved, schemas, rules)
    except _SnapshotGoneError:
        switched = _require_current(directory)
        if switched == resolved:
            raise
        return _read_snapshot(directory, switched, schemas, rules)


def _content_hash(tables: Mapping[str, pl.DataFrame], *, model_name: str, model_version: str) -> str:
    """A digest of the tables' schemas and rows (in order) and of the model; stable across processes and runs,
    blind to `VOLATILE_COLUMNS`."""
    digest = hashlib.sha256(json.dumps([model_name, model_version]).encode())
    for name in TABLES:
        frame = tables[name].drop(VOLATILE_COLUMNS, strict=False)
        schema = [[column, str(dtype)] for column, dtype in frame.schema.items()]
        digest.update(json.dumps([name, frame.height, schema]).encode())
        digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    return digest.hexdigest()


def _require_tables(tables: Mapping[str, pl.DataFrame]) -> None:
    missing = [name for name in TABLES if name not in tables]
    extra = sorted(set(tables) - set(TABLES))
    if missing or extra:
        raise ValueError(f"a publication holds exactly {', '.join(TABLES)}; missing {missing}, unexpected {extra}")


def _checked_id(snapshot_id: str, where: Path) -> str:
    """Ids become path components: anything but the published format is refused rather than resolved."""
    if not _SNAPSHOT_ID.match(snapshot_id):
        raise PublicationError(f"{snapshot_id!r} (from {where}) is not a snapshot id such as 20261125T072233Z-3f9a1c2b")
    return snapshot_id


def _require_current(directory: Path) -> str:
    snapshot_id = current_snapshot(directory)
    if snapshot_id is None:
        raise PublicationError(f"nothing is published in {directory}: {directory / CURRENT} does not exist")
    return snapshot_id


def _snapshot_dir(directory: Path, snapshot_id: str) -> Path:
    return directory / SNAPSHOTS / snapshot_id


def _write_snapshot(target: Path, tables: Mapping[str, pl.DataFrame], manifest: Manifest, digest: str) -> None:
    """Everything is written and synced under a temporary name first, so `target` appears complete or not at all."""
    staging = target.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        for name in TABLES:
            path = staging / f"{name}.parquet"
            tables[name].write_parquet(path)
            _fsync(path)
        _write_synced(staging / MANIFEST, json.dumps(_manifest_json(manifest, digest), indent=2))
        _fsync(staging)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync(target.parent)


def _switch_current(directory: Path, snapshot_id: str) -> None:
    pending = directory / f"{CURRENT}.tmp"
    _write_synced(pending, snapshot_id + "\n")
    os.replace(pending, directory / CURRENT)
    _fsync(directory)


def _prune(directory: Path, keep: int, current: str) -> None:
    """Drop all but the `keep` newest snapshots, never the current one. A failure here costs only disk space, so it
    never fails a publication that has already switched."""
    with contextlib.suppress(OSError):
        for snapshot_id in _snapshot_ids(directory)[:-keep]:
            if snapshot_id != current:
                shutil.rmtree(_snapshot_dir(directory, snapshot_id), ignore_errors=True)


def _snapshot_ids(directory: Path) -> list[str]:
    """Published snapshot ids, oldest first (staging directories are not snapshots)."""
    root = directory / SNAPSHOTS
    if not root.is_dir():
        return []
    return sorted(path.name for path in root.iterdir() if path.is_dir() and _SNAPSHOT_ID.match(path.name))


def _next_publication_time(directory: Path) -> datetime:
    """Now, to the second, but always after the newest snapshot: ids then sort in publication order even when two
    publications fall within one second, and pruning keeps the newest."""
    now = datetime.now(UTC).replace(microsecond=0)
    ids = _snapshot_ids(directory)
    if not ids:
        return now
    newest = datetime.strptime(ids[-1].split("-")[0], _TIME_FORMAT).replace(tzinfo=UTC)
    return max(now, newest + timedelta(seconds=1))


def _current_manifest(directory: Path) -> tuple[Manifest, str] | None:
    """The current manifest and its content hash; None when there is none to compare with (nothing published, or
    a broken publication, which the new one then replaces)."""
    try:
        snapshot_id = current_snapshot(directory)
        return None if snapshot_id is None else _load_manifest(_snapshot_dir(directory, snapshot_id))
    except PublicationError:
        return None


def _manifest_json(manifest: Manifest, digest: str) -> dict[str, object]:
    return {
        "snapshot_id": manifest.snapshot_id,
        "published_at": manifest.published_at.isoformat(),
        "model_name": manifest.model_name,
        "model_version": manifest.model_version,
        "rows": manifest.rows,
        "content_hash": digest,
    }


def _load_manifest(snapshot: Path) -> tuple[Manifest, str]:
    """The manifest of a snapshot directory and the content hash it records."""
    path = snapshot / MANIFEST
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        published_at = datetime.fromisoformat(body["published_at"])
        manifest = Manifest(
            snapshot_id=str(body["snapshot_id"]),
            published_at=published_at.astimezone(UTC),
            model_name=str(body["model_name"]),
            model_version=str(body["model_version"]),
            rows={str(name): int(count) for name, count in body["rows"].items()},
        )
        digest = str(body["content_hash"])
    except FileNotFoundError as error:
        if not snapshot.is_dir():
            raise _SnapshotGoneError(
                f"the snapshot {snapshot} is not published (pruned, or never written): read {CURRENT} again"
            ) from error
        raise PublicationError(f"the manifest {path} is missing") from error
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise PublicationError(f"the manifest {path} is unreadable: {error!r}") from error
    if published_at.tzinfo is None or manifest.snapshot_id != snapshot.name or set(manifest.rows) != set(TABLES):
        raise PublicationError(f"the manifest {path} does not describe the snapshot {snapshot.name} and its tables")
    return manifest, digest


def _read_snapshot(
    directory: Path,
    snapshot_id: str,
    schemas: Mapping[str, Schema] | None,
    rules: Mapping[str, ValueRules] | None,
) -> Publication:
    snapshot = _snapshot_dir(directory, snapshot_id)
    manifest = _load_manifest(snapshot)[0]
    tables = {name: _read_table(snapshot, name, manifest, schemas) for name in TABLES}
    for name, table_rules in (rules or {}).items():
        problems = value_problems(tables[name], table_rules)
        if problems:
            path = snapshot / f"{name}.parquet"
            raise PublicationInvalidError(f"the table {path} breaks its value rules: {'; '.join(problems)}")
    return Publication(manifest=manifest, tables=tables)


def _read_table(snapshot: Path, name: str, manifest: Manifest, schemas: Mapping[str, Schema] | None) -> pl.DataFrame:
    path = snapshot / f"{name}.parquet"
    try:
        frame = pl.read_parquet(path)
    except FileNotFoundError as error:
        if not snapshot.is_dir():
            raise _SnapshotGoneError(f"the snapshot {snapshot} was pruned while it was read") from error
        raise PublicationError(f"the table {path} is missing") from error
    except (OSError, pl.exceptions.PolarsError) as error:
        raise PublicationError(f"the table {path} is unreadable: {error}") from error
    if frame.height != manifest.rows[name]:
        raise PublicationError(f"the table {path} has {frame.height} rows, its manifest says {manifest.rows[name]}")
    if schemas is None:
        return frame
    problems = ["no schema is declared for it"] if name not in schemas else schema_problems(frame, schemas[name])
    if problems:
        raise PublicationError(f"the table {path} does not match its declared schema: {'; '.join(problems)}")
    return frame


def _write_synced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync(path: Path) -> None:
    """Flush a file, or a directory's entries, to disk, so a crash after the switch never leaves `CURRENT` naming
    files the disk has not got."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
