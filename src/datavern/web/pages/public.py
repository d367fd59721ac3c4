"""The public privacy notice: /personvern (bokmål) and /privacy (English).

Always the notice of the newest applied register version. Before any register is
applied, or when the register does not publish its notice in the page's
language, a friendly 404 page in that language says so.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from datavern.consent.assets import BANNER_PAGE_CSP, asset_url
from datavern.core.i18n import Lang
from datavern.web import published
from datavern.web.deps import db, render
from datavern.web.messages import translate

router = APIRouter(tags=["privacy notice"])

PATHS: dict[Lang, str] = {"nb": "/personvern", "en": "/privacy"}


def _notice_page(request: Request, lang: Lang) -> HTMLResponse:
    other: Lang = "en" if lang == "nb" else "nb"
    common = {
        "other_lang": other,
        "other_url": request.scope.get("root_path", "") + PATHS[other],
        "other_lang_name": translate(lang, "other_language_name"),
    }
    with db(request) as session:
        version = published.newest_version(session)
        notice = published.notice_of(version, lang) if version else None
    if notice is None:
        reason = "notice_missing_none" if version is None else "notice_missing_language"
        return render(
            request,
            "public/not_published.html",
            {**common, "missing_reason": reason},
            lang=lang,
            status_code=404,
        )
    return render(
        request,
        "public/notice.html",
        {
            **common,
            "title": notice.title,
            "organisation_name": notice.organisation,
            "notice_html": notice.html,
            "banner_css_url": asset_url("banner.css"),
            "banner_js_url": asset_url("banner.js"),
        },
        lang=lang,
        # The page embeds the cookie banner: its script and its calls to the consent API.
        headers={"Content-Security-Policy": BANNER_PAGE_CSP},
    )


@router.get("/personvern", response_class=HTMLResponse, summary="Personvernerklæringen (bokmål)")
def notice_nb(request: Request) -> HTMLResponse:
    return _notice_page(request, "nb")


@router.get("/privacy", response_class=HTMLResponse, summary="The privacy notice (English)")
def notice_en(request: Request) -> HTMLResponse:
    return _notice_page(request, "en")
