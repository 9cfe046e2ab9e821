"""The Ergast/Jolpica API: one async client for the live service and the bundled data."""
