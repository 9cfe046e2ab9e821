"""Publication: what the API reads is always one complete snapshot, and a broken one fails with a clear error."""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import f1_pipeline.contracts
import f1_pipeline.publication as publication
import f1_pipeline.serving_tables
from f1_pipeline.contracts import ColumnRule, SumRule, ValueRules, value_problems
from f1_pipeline.publication import (
    CURRENT,
    SNAPSHOTS,
    TABLES,
    PublicationError,
    PublicationInvalidError,
    current_snapshot,
    publish,
    read_publication,
)
from tests.import_rules import imported_modules, is_forbidden
from tests.publication_support import MODEL, tables


def snapshot_dirs(directory: Path) -> list[str]:
    return sorted(path.name for path in (directory / SNAPSHOTS).iterdir())


def test_a_publication_reads_back_as_written(tmp_path):
    written = tables()
    manifest = publish(tmp_path, written, **MODEL)
    assert current_snapshot(tmp_path) == manifest.snapshot_id
    assert (tmp_path / CURRENT).read_text().strip() == manifest.snapshot_id
    assert manifest.published_at.tzinfo is not None and manifest.published_at.utcoffset().total_seconds() == 0
    assert manifest.snapshot_id.startswith(manifest.published_at.strftime("%Y%m%dT%H%M%SZ-"))
    assert (manifest.model_name, manifest.model_version) == ("f1-race-winner", "3")
    assert manifest.rows == {**dict.fromkeys(TABLES, 1), "next_race": 2}

    read = read_publication(tmp_path)
    assert read.manifest == manifest
    assert read_publication(tmp_path, manifest.snapshot_id).manifest == manifest
    assert list(read.tables) == list(TABLES)
    for name in TABLES:
        assert_frame_equal(read.tables[name], written[name])


def test_nothing_published_yet(tmp_path):
    assert current_snapshot(tmp_path) is None
    assert current_snapshot(tmp_path / "absent") is None
    with pytest.raises(PublicationError, match="nothing is published") as error:
        read_publication(tmp_path)
    assert str(tmp_path / CURRENT) in str(error.value)


def test_republishing_the_same_content_writes_nothing_new(tmp_path):
    first = publish(tmp_path, tables(), **MODEL)
    again = publish(tmp_path, tables(predicted_at=datetime(2026, 11, 26, tzinfo=UTC)), **MODEL)
    assert again == first
    assert snapshot_dirs(tmp_path) == [first.snapshot_id]


def test_new_content_or_a_new_model_switches_to_a_new_snapshot(tmp_path):
    first = publish(tmp_path, tables(), **MODEL)
    changed = publish(tmp_path, tables(winner_probability=0.6), **MODEL)
    promoted = publish(tmp_path, tables(winner_probability=0.6), model_name="f1-race-winner", model_version="4")
    ids = [first.snapshot_id, changed.snapshot_id, promoted.snapshot_id]
    assert ids == sorted(set(ids)), "ids are unique and sort in publication order, even within one second"
    assert current_snapshot(tmp_path) == promoted.snapshot_id
    assert read_publication(tmp_path).tables["next_race"]["probability"][0] == 0.6
    assert read_publication(tmp_path, first.snapshot_id).tables["next_race"]["probability"][0] == 0.7


def test_pruning_keeps_the_newest_snapshots(tmp_path):
    manifests = [publish(tmp_path, tables(winner_probability=p), **MODEL, keep=2) for p in (0.5, 0.6, 0.7, 0.8)]
    assert snapshot_dirs(tmp_path) == [manifest.snapshot_id for manifest in manifests[-2:]]
    assert current_snapshot(tmp_path) == manifests[-1].snapshot_id


def test_a_reader_holding_a_pruned_snapshot_id_gets_a_clear_error(tmp_path):
    old = publish(tmp_path, tables(winner_probability=0.5), **MODEL, keep=1)
    publish(tmp_path, tables(winner_probability=0.6), **MODEL, keep=1)
    with pytest.raises(PublicationError, match=f"{old.snapshot_id} is not published .*read {CURRENT} again"):
        read_publication(tmp_path, old.snapshot_id)


def test_a_reader_racing_with_a_switch_and_pruning_retries_on_the_new_current(tmp_path, monkeypatch):
    old = publish(tmp_path, tables(winner_probability=0.5), **MODEL, keep=1)
    new = publish(tmp_path, tables(winner_probability=0.6), **MODEL, keep=1)
    answers = iter([old.snapshot_id, new.snapshot_id])  # CURRENT read just before the switch, then after it
    monkeypatch.setattr(publication, "current_snapshot", lambda directory: next(answers))
    assert read_publication(tmp_path).manifest == new


def test_a_failed_publication_leaves_the_current_snapshot_whole(tmp_path, monkeypatch):
    before = publish(tmp_path, tables(), **MODEL)
    write = pl.DataFrame.write_parquet
    written = []

    def fail_on_the_third_table(frame: pl.DataFrame, path: Path, **kwargs: object) -> None:
        written.append(path)
        if len(written) == 3:
            raise OSError("disk full")
        write(frame, path, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", fail_on_the_third_table)
    with pytest.raises(OSError, match="disk full"):
        publish(tmp_path, tables(winner_probability=0.1), **MODEL)
    assert current_snapshot(tmp_path) == before.snapshot_id
    assert snapshot_dirs(tmp_path) == [before.snapshot_id], "the staging directory is removed"
    assert read_publication(tmp_path).manifest == before


def test_a_crash_before_the_switch_leaves_current_on_the_old_snapshot(tmp_path, monkeypatch):
    before = publish(tmp_path, tables(), **MODEL)

    def crash(source: object, target: object) -> None:
        raise OSError("killed")

    monkeypatch.setattr(publication.os, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        publish(tmp_path, tables(winner_probability=0.1), **MODEL)
    assert current_snapshot(tmp_path) == before.snapshot_id
    assert read_publication(tmp_path).manifest == before


def test_a_corrupt_table_is_reported_with_its_path(tmp_path):
    manifest = publish(tmp_path, tables(), **MODEL)
    path = tmp_path / SNAPSHOTS / manifest.snapshot_id / "calendar.parquet"
    path.write_bytes(b"not parquet")
    with pytest.raises(PublicationError, match="unreadable") as error:
        read_publication(tmp_path)
    assert str(path) in str(error.value)


def test_a_missing_table_is_reported_with_its_path(tmp_path):
    manifest = publish(tmp_path, tables(), **MODEL)
    path = tmp_path / SNAPSHOTS / manifest.snapshot_id / "results.parquet"
    path.unlink()
    with pytest.raises(PublicationError, match="missing") as error:
        read_publication(tmp_path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("body", ["{", '{"snapshot_id": "x"}', "[]"])
def test_a_bad_manifest_is_reported_with_its_path(tmp_path, body):
    manifest = publish(tmp_path, tables(), **MODEL)
    path = tmp_path / SNAPSHOTS / manifest.snapshot_id / "manifest.json"
    path.write_text(body)
    with pytest.raises(PublicationError) as error:
        read_publication(tmp_path)
    assert str(path) in str(error.value)


def test_a_table_whose_rows_disagree_with_the_manifest_is_refused(tmp_path):
    manifest = publish(tmp_path, tables(), **MODEL)
    path = tmp_path / SNAPSHOTS / manifest.snapshot_id / "next_race.parquet"
    pl.DataFrame({"driver_id": ["norris"]}).write_parquet(path)
    with pytest.raises(PublicationError, match="has 1 rows, its manifest says 2"):
        read_publication(tmp_path)


def test_a_broken_current_publication_is_replaced_by_the_next_one(tmp_path):
    broken = publish(tmp_path, tables(), **MODEL)
    (tmp_path / SNAPSHOTS / broken.snapshot_id / "manifest.json").write_text("{")
    repaired = publish(tmp_path, tables(), **MODEL)
    assert repaired.snapshot_id != broken.snapshot_id
    assert read_publication(tmp_path).manifest == repaired


@pytest.mark.parametrize("snapshot_id", ["../../etc", "", "latest"])
def test_a_malformed_snapshot_id_is_refused(tmp_path, snapshot_id):
    publish(tmp_path, tables(), **MODEL)
    with pytest.raises(PublicationError, match="not a snapshot id"):
        read_publication(tmp_path, snapshot_id)
    (tmp_path / CURRENT).write_text(snapshot_id)
    with pytest.raises(PublicationError, match=str(tmp_path / CURRENT)):
        current_snapshot(tmp_path)


def test_only_the_published_tables_are_accepted(tmp_path):
    wrong = {name: frame for name, frame in tables().items() if name != "calendar"} | {"weather": pl.DataFrame()}
    with pytest.raises(ValueError, match=r"missing \['calendar'\], unexpected \['weather'\]"):
        publish(tmp_path, wrong, **MODEL)
    with pytest.raises(ValueError, match="keep must be at least 1"):
        publish(tmp_path, tables(), **MODEL, keep=0)
    assert current_snapshot(tmp_path) is None


@pytest.mark.parametrize(
    "module", [publication, f1_pipeline.contracts, f1_pipeline.serving_tables], ids=lambda module: module.__name__
)
def test_publication_contracts_and_serving_tables_are_pure(module):
    """The API imports them: no orchestration, tracking or warehouse code comes with them."""
    assert not [name for name in imported_modules(Path(module.__file__)) if is_forbidden(name)]


def test_a_publication_that_breaks_its_value_rules_is_refused_before_anything_is_written(tmp_path):
    rules = {"next_race": ValueRules({"probability": ColumnRule(not_null=True, finite=True, within=(0.0, 1.0))})}
    first = publish(tmp_path, tables(), **MODEL, rules=rules)
    with pytest.raises(PublicationInvalidError, match=r"'probability' has 2 value\(s\) outside \[0.0, 1.0\], e.g. 7.5"):
        publish(tmp_path, tables(winner_probability=7.5), **MODEL, rules=rules)
    assert current_snapshot(tmp_path) == first.snapshot_id
    nan = tables(winner_probability=float("nan"))
    assert value_problems(nan["next_race"], rules["next_race"]) == [
        "column 'probability' has 2 value(s) that are not finite, e.g. nan"
    ]
    split = ValueRules({}, sums=(SumRule("probability", per=("driver_id",)),))
    assert value_problems(tables()["next_race"], split)[0].startswith("column 'probability' sums to 0.7 (not 1.0)")
    extra = tables()["next_race"].with_columns(unknown=pl.lit(None))
    assert value_problems(extra, rules["next_race"]) == []  # columns without a rule are not looked at
    modes = ValueRules({"mode": ColumnRule(allowed=("pre_qualifying",))})
    assert value_problems(tables()["next_race"].with_columns(mode=pl.lit(None, pl.String)), modes) == []
    assert value_problems(tables()["next_race"].with_columns(mode=pl.lit("after_the_race")), modes) == [
        "column 'mode' has 2 value(s) not allowed, e.g. after_the_race"
    ]
