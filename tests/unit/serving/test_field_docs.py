"""A response field that is a published column is described in the column's declared words and example
(`serving_tables.CONTRACTS`), so the API and the published tables cannot describe one column two ways."""

from typing import Any

from pydantic import create_model

from f1_serving.field_docs import OWN_MEANING, PUBLISHED_FIELDS, Documented


def test_a_response_field_named_as_a_published_column_carries_its_declared_words_and_example():
    shared = {name: column for name, column in PUBLISHED_FIELDS.items() if name not in OWN_MEANING}
    assert {"season", "probability", "title_probability", "reason"} <= set(shared)
    model = create_model("Answer", __base__=Documented, **{name: (Any, ...) for name in shared})
    properties = model.model_json_schema()["properties"]
    for name, column in shared.items():
        assert properties[name]["description"] == column.description, name
        assert properties[name].get("examples") == (None if column.example is None else [column.example]), name
