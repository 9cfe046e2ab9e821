from mlflow.entities.model_registry import ModelVersion, ModelVersionTag

from f1_pipeline.registry.tracking import newest_matching


def version(number: int, fingerprint: str) -> ModelVersion:
    tags = {"evaluation_fingerprint": fingerprint, "recipe.x.family": "rf"}
    return ModelVersion("f1", str(number), 0, tags=[ModelVersionTag(key, value) for key, value in tags.items()])


def test_any_version_with_the_same_recipe_and_data_is_found_not_only_the_newest():
    versions = [version(1, "A"), version(2, "B"), version(3, "A"), version(4, "C")]
    assert newest_matching(versions, {"evaluation_fingerprint": "A", "recipe.x.family": "rf"}).version == "3"
    assert newest_matching(versions, {"evaluation_fingerprint": "B"}).version == "2"  # older than the newest
    assert newest_matching(versions, {"evaluation_fingerprint": "A", "recipe.x.family": "lgbm"}) is None
    assert newest_matching([], {"evaluation_fingerprint": "A"}) is None
