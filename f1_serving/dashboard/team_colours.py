"""Each team's colour on the race pages, per season: a team's livery colour changes across seasons and a name
(`constructor_id`) can pass to another team, so the colour is looked up by constructor and season. A team or a
season not listed gets the neutral fallback: a colour beside the name is a help to the eye, never the only cue."""

from __future__ import annotations

FALLBACK = "#8a8f98"
"""Neutral grey for a team or season the table does not know."""

COLOURS: dict[str, tuple[tuple[int, str], ...]] = {
    "mercedes": ((2014, "#00a19c"), (2020, "#27f4d2")),
    "ferrari": ((2014, "#dc0000"), (2022, "#e8002d")),
    "red_bull": ((2014, "#1e41ff"), (2022, "#3671c6")),
    "mclaren": ((2014, "#6f6f6f"), (2017, "#ff8000")),
    "williams": ((2014, "#005aff"), (2023, "#64c4ff")),
    "force_india": ((2014, "#f596c8"),),
    "racing_point": ((2019, "#f596c8"),),
    "aston_martin": ((2021, "#229971"),),
    "toro_rosso": ((2014, "#469bff"),),
    "alphatauri": ((2020, "#2b4562"),),
    "rb": ((2024, "#6692ff"),),
    "sauber": ((2014, "#9b0000"), (2024, "#52e252")),
    "alfa": ((2019, "#9b0000"),),
    "audi": ((2026, "#bb0a30"),),
    "lotus_f1": ((2014, "#ffb800"),),
    "renault": ((2016, "#fff500"),),
    "alpine": ((2021, "#0093cc"), (2024, "#ff87bc")),
    "haas": ((2016, "#b6babd"),),
    "caterham": ((2014, "#005030"),),
    "marussia": ((2014, "#6e0000"),),
    "manor": ((2015, "#6e0000"),),
    "cadillac": ((2026, "#1e1e1e"),),
}
"""Per constructor, the first season of each colour (in order): it holds until the next entry."""


def team_colour(constructor_id: str | None, season: int) -> str:
    """The constructor's colour in `season`, or `FALLBACK` when the table has none for it."""
    chosen = FALLBACK
    for first, colour in COLOURS.get(constructor_id or "", ()):
        if season >= first:
            chosen = colour
    return chosen
