"""Notice versions: every applied register version is notice version N.

``render_notice`` renders a version (the newest by default) in a language and a
format; ``diff_versions`` compares any two versions and classifies each change
as material or editorial (``notices.rules``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from datavern.core.errors import InvalidInput
from datavern.notices import render as renderer
from datavern.notices.rules import Change, diff_registers, summarize
from datavern.register import service as registers
from datavern.register.models import RegisterVersion
from datavern.register.schema import Register

MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class RenderedNotice:
    content: str | bytes
    media_type: str
    version: int
    lang: str
    fmt: str

    @property
    def filename(self) -> str:
        stem = "personvernerklaering" if self.lang == "nb" else "privacy-notice"
        return f"{stem}-v{self.version}.{self.fmt}"


@dataclass(frozen=True)
class NoticeVersion:
    number: int
    applied_at: datetime
    applied_by: str
    content_hash: str
    message: str | None
    material: int
    editorial: int


def notice_source(
    session: Session, version_number: int | None = None
) -> tuple[Register, renderer.NoticeMeta]:
    """The register and notice metadata of a version (the newest when None)."""
    if version_number is None:
        version, register = registers.current_register(session)
    else:
        version = registers.get_version(session, version_number)
        register = registers.register_of(version)
    return register, renderer.NoticeMeta.from_version(version)


def render_notice(
    session: Session, version_number: int | None, lang: str, fmt: str
) -> RenderedNotice:
    """The notice of a register version in ``lang`` (nb, en) and ``fmt`` (html, md, pdf)."""
    if fmt not in MEDIA_TYPES:
        raise InvalidInput(f"unknown format {fmt!r}; expected one of html, md, pdf")
    register, meta = notice_source(session, version_number)
    content = renderer.render(register, meta, lang, fmt)
    assert meta.version is not None
    return RenderedNotice(content, MEDIA_TYPES[fmt], meta.version, lang, fmt)


def _info(version: RegisterVersion) -> NoticeVersion:
    material, editorial = summarize(registers.changes_of(version))
    return NoticeVersion(
        number=version.number,
        applied_at=version.applied_at,
        applied_by=version.applied_by,
        content_hash=version.content_hash,
        message=version.message,
        material=material,
        editorial=editorial,
    )


def notice_versions(session: Session) -> list[NoticeVersion]:
    """Every notice version, oldest first, with the kind of change it brought."""
    return [_info(v) for v in registers.list_versions(session)]


def diff_versions(session: Session, a: int, b: int) -> list[Change]:
    """The changes from version ``a`` to version ``b`` (either order), classified."""
    before = registers.get_version(session, a)
    after = registers.get_version(session, b)
    return diff_registers(before.content, after.content)
