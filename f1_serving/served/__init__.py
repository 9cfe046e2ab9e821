"""What the API serves: the published snapshot and the champion model held in memory, the queries over them, the
exports, and the cache of answers already given under the same data."""
