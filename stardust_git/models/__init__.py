"""Pydantic models: the single source of the catalog, target, genre-map and receipt formats."""

from stardust_git.models.genres import GenreMap, GenreTaxonomy, GenreVocabulary
from stardust_git.models.release import Artist, Contributor, Deal, Release, Track
from stardust_git.models.target import Target

__all__ = [
    "Artist",
    "Contributor",
    "Deal",
    "GenreMap",
    "GenreTaxonomy",
    "GenreVocabulary",
    "Release",
    "Target",
    "Track",
]
