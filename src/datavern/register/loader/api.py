"""`load_register`: read, merge and validate a register (the contract is in __init__)."""

from __future__ import annotations

import os
from pathlib import Path

from datavern.core.errors import InvalidInput, Problem
from datavern.register.loader.files import Reader
from datavern.register.loader.limits import DEFAULT_LIMITS, Limits
from datavern.register.loader.loaded import LoadedRegister, content_hash
from datavern.register.loader.merge import merge
from datavern.register.loader.messages import sorted_problems
from datavern.register.loader.positions import model_positions
from datavern.register.loader.schema_errors import validate
from datavern.register.loader.semantics import Semantics
from datavern.register.schema import Register

REGISTER_FILE = "register.yaml"


def load_register(path: Path | str, limits: Limits = DEFAULT_LIMITS) -> LoadedRegister:
    """Read, merge and validate a register; raise InvalidInput with every problem."""
    given = Path(path)
    root_file = given
    if given.is_dir():
        root_file = given / REGISTER_FILE
        if not root_file.exists() and (given / "register.yml").exists():
            root_file = given / "register.yml"
    display_root = root_file.parent
    if not root_file.exists():
        raise InvalidInput(
            Problem(
                f"no register found: {root_file} does not exist "
                "(create a register with `datavern init`)"
            )
        )
    real_root_file = Path(os.path.realpath(root_file))
    reader = Reader(real_root_file.parent, display_root, limits)
    reader.load(real_root_file, chain=(), included_at=None)
    merged, values, keys, merge_problems = merge(reader.docs)
    problems = [*reader.problems, *merge_problems]
    register: Register | None = None
    if not reader.fatal:
        # Only validate a register whose files all parsed: half a register would
        # produce misleading "missing" errors.
        register, schema_problems = validate(merged, values, keys)
        problems.extend(schema_problems)
        problems.extend(Semantics(merged, values, keys).run())
    if problems or register is None:
        raise InvalidInput(sorted_problems(problems))
    return LoadedRegister(
        register=register,
        root=reader.root,
        files=dict(reader.files),
        content_hash=content_hash(register),
        positions=model_positions(merged, values),
    )
