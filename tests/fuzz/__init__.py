"""Property-based fuzzing of the HTTP edges (webhook intake and the sidebar API) with hypothesis."""
