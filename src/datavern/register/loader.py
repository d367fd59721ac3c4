"""Load a register from YAML files: includes, positions, hostile-input limits.

CONTRACT (other features rely on it):

    load_register(path: Path) -> LoadedRegister
        path: a register file, or a folder holding `register.yaml`.
        raises datavern.core.errors.InvalidInput with EVERY problem found, each a
        Problem(message, Location(file, line, column), path="systems[0].processing[1].legal_basis").

    LoadedRegister:
        register: Register          # the validated, merged model
        root: Path                  # the folder includes are resolved against
        files: dict[str, str]       # relative file name -> YAML text (what `register apply` stores)
        content_hash: str           # sha256 of the canonical JSON of `register`
        where(path: tuple[str | int, ...]) -> Location | None
                                    # file:line:column of a node in the merged register,
                                    # e.g. where(("sub_processors", 2, "transfer", "basis"))
"""
