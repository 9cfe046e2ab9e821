import polars as pl
import pytest

from f1_pipeline.cleaning.status import StatusCategory, status_category_expr


def categorise(position_text: str, status: str) -> str:
    frame = pl.DataFrame({"position_text": [position_text], "status": [status]})
    return frame.select(status_category_expr()).item()


@pytest.mark.parametrize(
    ("position_text", "status", "category"),
    [
        ("1", "Finished", StatusCategory.FINISHED),
        ("12", "+1 Lap", StatusCategory.LAPPED),
        ("15", "+12 Laps", StatusCategory.LAPPED),
        ("14", "Lapped", StatusCategory.LAPPED),  # Jolpica's current vocabulary
        ("R", "Engine", StatusCategory.RETIRED),
        ("R", "Retired", StatusCategory.RETIRED),  # Jolpica's current vocabulary
        ("N", "Not classified", StatusCategory.RETIRED),
        ("17", "Collision", StatusCategory.RETIRED),  # classified but did not finish
        ("D", "Disqualified", StatusCategory.DISQUALIFIED),
        ("E", "Excluded", StatusCategory.DISQUALIFIED),
        ("D", "Underweight", StatusCategory.DISQUALIFIED),
        ("W", "Withdrew", StatusCategory.DID_NOT_START),
        ("F", "Did not qualify", StatusCategory.DID_NOT_START),
        ("F", "Did not prequalify", StatusCategory.DID_NOT_START),
        ("W", "Did not start", StatusCategory.DID_NOT_START),
        ("F", "107% Rule", StatusCategory.DID_NOT_START),
        ("4", "Withdrew", StatusCategory.RETIRED),  # Frentzen, Monaco 1996: classified 4th, not running at the end
        ("R", "+11 Laps", StatusCategory.RETIRED),  # the verdict wins over the wording
        ("N", "+8 Laps", StatusCategory.RETIRED),
        ("R", "Withdrew", StatusCategory.RETIRED),
        ("", "Did not start", StatusCategory.DID_NOT_START),  # no verdict: the wording decides
        ("", "Lapped", StatusCategory.LAPPED),
        ("", "Disqualified", StatusCategory.DISQUALIFIED),
    ],
)
def test_both_vocabularies_map_to_one_category(position_text, status, category):
    assert categorise(position_text, status) == category.value
