"""The canonical genre taxonomy, DSP genre vocabularies and the maps between them."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from stardust_git.models.common import GenreCode, Name, StrictModel, Text


class Genre(StrictModel):
    """One genre of the canonical taxonomy."""

    name: Text = Field(min_length=1)
    """Display name."""
    parent: GenreCode | None = None
    """The broader genre this one belongs to."""
    aliases: list[Text] = []
    """Other spellings of the genre (used by suggestions and imports)."""


class GenreTaxonomy(StrictModel):
    """genre-maps/genres.yaml: the label's canonical genres."""

    genres: dict[GenreCode, Genre] = Field(min_length=1)
    """Genres by code (UPPER_SNAKE_CASE)."""

    @model_validator(mode="after")
    def _parents_exist_without_cycles(self) -> GenreTaxonomy:
        for code, genre in self.genres.items():
            if genre.parent and genre.parent not in self.genres:
                raise PydanticCustomError(
                    "parent", "genre {c}: parent {p} is not defined", {"c": code, "p": genre.parent}
                )
            if code in self.ancestors(code):
                raise PydanticCustomError("parent", "genre {c} is its own ancestor", {"c": code})
        return self

    def ancestors(self, code: str) -> list[str]:
        """Parent, grandparent, ... of ``code`` (stops at a cycle)."""
        chain: list[str] = []
        parent = self.genres[code].parent if code in self.genres else None
        while parent and parent not in chain and parent in self.genres:
            chain.append(parent)
            parent = self.genres[parent].parent
        return chain


class VocabularyEntry(StrictModel):
    """One genre value a DSP accepts."""

    name: Text = Field(min_length=1)
    """Display name."""
    parent: Text | None = None
    """The broader entry, where the vocabulary is hierarchical."""


class GenreVocabulary(StrictModel):
    """genre-maps/vocabularies/<name>.yaml: the genre values one DSP accepts."""

    name: Text = Field(min_length=1)
    """Human name of the vocabulary."""
    entries: dict[Text, VocabularyEntry] = Field(min_length=1)
    """Accepted values by code (the value written into the delivered XML)."""


class GenreMap(StrictModel):
    """genre-maps/<name>.yaml: canonical genre codes to one vocabulary's codes."""

    vocabulary: Name = Field(min_length=1)
    """Name of the vocabulary file (genre-maps/vocabularies/<vocabulary>.yaml)."""
    fallback: Text | None = None
    """Vocabulary code used when a genre and all its ancestors are unmapped."""
    mappings: dict[GenreCode, Text] = {}
    """Canonical genre -> vocabulary code; an unmapped genre uses its nearest mapped ancestor."""
