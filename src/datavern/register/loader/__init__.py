"""Load a register from YAML files: includes, positions, hostile-input limits.

CONTRACT (other features rely on it):

    load_register(path: Path, limits: Limits = DEFAULT_LIMITS) -> LoadedRegister
        path: a register file, or a folder holding `register.yaml` (or `register.yml`).
        raises datavern.core.errors.InvalidInput with EVERY problem found, each a
        Problem(message, Location(file, line, column), path="systems[0].processing[1].legal_basis"),
        sorted by file, line and column (path is "" for a problem with a whole file or an
        include). Nothing else escapes for bad input: no traceback for wrong types,
        hostile YAML, huge or binary files.
        Location.file is the file as the user named it: the folder given (as given,
        relative or absolute) joined with the file's name inside the register folder,
        e.g. "examples/bysant/register.yaml"; line and column are 1-based.

    LoadedRegister:
        register: Register          # the validated, merged model
        root: Path                  # the folder includes are resolved against (resolved, absolute)
        files: dict[str, str]       # file name relative to root (posix) -> YAML text
                                    # (what `register apply` stores), in load order
        content_hash: str           # sha256 hex of the canonical JSON of `register`:
                                    # json.dumps(register.model_dump(mode="json"), sort_keys=True,
                                    # ensure_ascii=False, separators=(",", ":")) in UTF-8;
                                    # also content_hash(register) for a Register built in code
        where(path: tuple[str | int, ...]) -> Location | None
                                    # file:line:column of a node in the merged register,
                                    # e.g. where(("sub_processors", 2, "transfer", "basis")).
                                    # Paths index the model's lists (register.systems[2] is
                                    # ("systems", 2)); fideslang sorts dataset collections and
                                    # their fields by name, and where() follows that order too.
                                    # A path absent from the YAML (a default, a missing field)
                                    # gives the place of its nearest present ancestor, so a
                                    # finding about a missing field points at the mapping that
                                    # should hold it. None only if nothing matches.

What the loader checks (see docs/register.md, "Limits and safety"):
- YAML safety (yamlsafe.py): no anchors/aliases/merge keys/custom tags, no duplicate
  keys, depth and node limits, one document per file, a mapping at the top.
- Files: at most `max_files`, each at most `max_file_bytes` (refused from its size,
  unread), all together at most `max_total_bytes`; UTF-8 text only.
- Includes: top-level `include: [file or glob, ...]`, relative to the including file,
  resolved (symlinks too) inside the root folder; no cycles, no file twice, no missing
  file, globs sorted. The including file's own entries come first, then each included
  file's, depth first, in the order written. List keys (schema.LIST_KEYS: systems,
  sub_processors, consent_purposes, cookies, dataset) concatenate; every other key
  (organisation, datavern, dsr) may appear in one file only; unknown top-level keys
  are errors.
- The schema (schema.Register), with each pydantic error turned into a Problem.
- Semantics: fideslang taxonomy keys (data categories, uses, subjects); duplicate keys;
  references to missing sub-processors and consent purposes; unknown keys inside Fides
  datasets (fideslang itself ignores them); no fødselsnummer/D-nummer anywhere in the
  files, and a value declared as a fødselsnummer must pass its checksum.

Modules: api (load_register), files (reading the files, following includes), merge
(one mapping from the files), includes (include paths kept inside the root), limits,
loaded (LoadedRegister, content_hash), schema_errors (pydantic errors as placed Problems),
semantics and dataset_shapes (checks the schema cannot express), positions (YAML
positions keyed by model paths), messages (wording).
"""

from datavern.register.loader.api import REGISTER_FILE, load_register
from datavern.register.loader.limits import DEFAULT_LIMITS, MB, Limits
from datavern.register.loader.loaded import LoadedRegister, PathKey, content_hash

__all__ = [
    "DEFAULT_LIMITS",
    "MB",
    "REGISTER_FILE",
    "Limits",
    "LoadedRegister",
    "PathKey",
    "content_hash",
    "load_register",
]
