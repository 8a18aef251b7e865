"""Question packs: the seed document shipped as the default pack, and the loader for more."""

from content.loader import DEFAULT_PACK_NAME, load_catalog, load_pack_files
from content.parser import Pack, parse_pack

__all__ = ["DEFAULT_PACK_NAME", "Pack", "load_catalog", "load_pack_files", "parse_pack"]
