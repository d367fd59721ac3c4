"""`datavern init`: write a complete, commented register for a new company.

The scaffold is a starting point that is valid and complete from the first
minute: every item art. 13/14 asks for has a value, so `datavern check` passes
and the notice renders. Facts Datavern cannot know (the postal address, the real
sub-processors, the date each data processing agreement was signed) are
placeholders marked ``TODO`` in the files; the privacy owner replaces them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import jinja2
from pydantic import ValidationError

from datavern.core.errors import InvalidInput, Location, Problem
from datavern.register.loader import REGISTER_FILE, load_register
from datavern.register.schema import Organisation

# Written in this order; register.yaml includes the others.
FILES = (
    REGISTER_FILE,
    "systems.yaml",
    "processors.yaml",
    "consent.yaml",
    "datasets/customers.yaml",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class CompanyFacts:
    """What `init` asks for: the controller's legal name, org.nr and privacy e-mail."""

    name: str
    org_nr: str
    email: str


def check_name(value: str) -> str:
    """The legal name: one non-empty line."""
    value = value.strip()
    if not value:
        raise ValueError("the company's legal name is empty")
    if _CONTROL.search(value):
        raise ValueError("the company's name must be one line of text")
    return value


def check_org_nr(value: str) -> str:
    """A Norwegian organisation number with a valid checksum, compacted to 9 digits."""
    return _field("org_nr", value)


def check_email(value: str) -> str:
    return _field("email", value)


def _field(name: str, value: str) -> str:
    try:
        organisation = Organisation.model_validate({"name": "-", name: value.strip()})
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = error.get("ctx", {}).get("error")
        raise ValueError(str(cause) if cause is not None else str(error["msg"])) from None
    return str(getattr(organisation, name))


CHECKS = {"name": check_name, "org-nr": check_org_nr, "email": check_email}


def validate_facts(name: str, org_nr: str, email: str) -> CompanyFacts:
    """Check the three answers with the register's own rules; InvalidInput names each problem."""
    problems: list[Problem] = []
    values: dict[str, str] = {}
    for option, value in (("name", name), ("org-nr", org_nr), ("email", email)):
        try:
            values[option] = CHECKS[option](value)
        except ValueError as exc:
            problems.append(Problem(str(exc), path=f"--{option}"))
    if problems:
        raise InvalidInput(problems)
    return CompanyFacts(values["name"], values["org-nr"], values["email"])


def existing_files(folder: Path) -> list[Path]:
    """The scaffold's files that already exist in ``folder``."""
    return [folder / name for name in FILES if (folder / name).exists()]


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        autoescape=False,  # YAML, not HTML; values go through the `yaml` filter
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    # A JSON string is a valid YAML double-quoted scalar: any name is safe to embed.
    environment.filters["yaml"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    return environment


def render(facts: CompanyFacts, folder: str, today: date) -> dict[str, str]:
    """The scaffold's files, by name relative to the register folder."""
    environment = _environment()
    templates = resources.files("datavern.register") / "templates" / "init"
    context = {
        "name": facts.name,
        "org_nr": facts.org_nr,
        "email": facts.email,
        "folder": _CONTROL.sub("", folder) or ".",
        "today": today.isoformat(),
    }
    return {
        name: environment.from_string((templates / f"{name}.j2").read_text("utf-8")).render(context)
        for name in FILES
    }


def scaffold(folder: Path, facts: CompanyFacts, *, today: date, force: bool = False) -> list[Path]:
    """Write the register into ``folder``; refuse to overwrite one unless ``force``.

    Returns the files written. Only the scaffold's own files are ever replaced.
    """
    present = existing_files(folder)
    if present and not force:
        names = ", ".join(p.relative_to(folder).as_posix() for p in present)
        raise InvalidInput(
            Problem(
                f"a register already exists in {folder} ({names}); "
                "use --force to overwrite these files",
                Location(str(present[0])),
            )
        )
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(Problem(f"{folder} exists and is not a folder", Location(str(folder))))
    written: list[Path] = []
    for name, text in render(facts, str(folder), today).items():
        target = folder / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                Problem(f"cannot write {target}: {exc.strerror}", Location(str(target)))
            ) from None
        written.append(target)
    # The scaffold must load; if it did not, that would be a bug in the templates.
    load_register(folder)
    return written
