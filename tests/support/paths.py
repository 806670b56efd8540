"""Where things are: the one definition of the repository's layout."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
DATA = Path(__file__).resolve().parent / "data"
