"""The search driver: configuration, the resumable loop and the run directory's outputs."""

from .search_run import DEFAULT_TARGETS, SearchConfig, SearchResult, recorded_config, run_search

__all__ = ["DEFAULT_TARGETS", "SearchConfig", "SearchResult", "recorded_config", "run_search"]
