"""The applied register versions as the web shows them: the notice of a version, its
register, and its changes from the version before.

Versions are immutable (content hash), so a parsed register is cached by version
number and hash. Versions, registers and diffs come from register/service.py; the
notice from notices/render.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from datavern.core.errors import InvalidInput
from datavern.core.i18n import Lang
from datavern.notices.render import NoticeMeta, render_notice_fragment, title
from datavern.notices.rules import Change
from datavern.register import service as register_service
from datavern.register.models import RegisterVersion
from datavern.register.schema import Register


def list_versions(session: Session) -> list[RegisterVersion]:
    """Every applied version, newest first."""
    return list(
        session.execute(select(RegisterVersion).order_by(RegisterVersion.number.desc())).scalars()
    )


def newest_version(session: Session) -> RegisterVersion | None:
    """The version in force: the newest applied one."""
    return register_service.latest_version(session)


def get_version(session: Session, number: int) -> RegisterVersion | None:
    return session.get(RegisterVersion, number)


@lru_cache(maxsize=64)
def _parse(number: int, content_hash: str, content_json: str) -> Register:
    return Register.model_validate_json(content_json)


def register_of(version: RegisterVersion) -> Register:
    import json

    return _parse(
        version.number,
        version.content_hash,
        json.dumps(version.content, sort_keys=True, ensure_ascii=False),
    )


def languages_of(version: RegisterVersion) -> list[str]:
    """The notice languages of ``version``, read from the stored JSON so that a list of
    versions still shows when an old version no longer fits a newer register format."""
    organisation = version.content.get("organisation") or {}
    languages = organisation.get("languages") or ["nb", "en"]
    return [str(lang) for lang in languages]


@dataclass(frozen=True)
class RenderedNotice:
    title: str
    html: Markup
    organisation: str


def notice_of(version: RegisterVersion, lang: Lang) -> RenderedNotice | None:
    """The notice of ``version`` in ``lang``; None when the register does not publish
    its notice in that language (art. 12(1): only languages it has written texts for)."""
    register = register_of(version)
    if lang not in register.organisation.languages:
        return None
    try:
        html = render_notice_fragment(register, NoticeMeta.from_version(version), lang)
    except InvalidInput:
        return None
    return RenderedNotice(title(register, lang), Markup(html), register.organisation.name)


def changes_of(version: RegisterVersion) -> list[Change]:
    """What ``version`` changed from the one before, each marked material or editorial
    (the classified diff stored when it was applied; none for the first version)."""
    return register_service.changes_of(version)
