"""``GET /verify``: the public page where anyone checks a document's code, without an account.

Plain HTML with a GET form, so it works without JavaScript, from the URL in a document's QR
code (``/verify?code=WF6K-XNHV-8A9Q``) and on a phone (one column, the viewport set, large
type). It answers genuine, voided or unknown with the issuer, number, kind and date, and
nothing personal (``workflow.document.verify_public``). Each submitted code counts against
the client address's own limit (``LIANBAO_VERIFY_RATE_LIMIT_PER_MINUTE``), on top of the
address limit every route has, so codes cannot be guessed in bulk.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from api import metrics
from api.http import RETRY_AFTER_SECONDS, is_database_unavailable
from api.ratelimit import RateLimited
from api.state import AppState
from authz.principal import ANONYMOUS
from workflow import document
from workflow.context import ServiceContext

MAX_CODE_CHARS = 64

_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:0;
background:#f6f6f4;color:#1a1a1a;font-size:18px;line-height:1.6}
main{max-width:34rem;margin:0 auto;padding:1.25rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
label{display:block;font-weight:600;margin-bottom:.4rem}
input{font-size:1.2rem;padding:.6rem;width:100%;box-sizing:border-box;border:1px solid #888;
border-radius:6px;letter-spacing:.08em;text-transform:uppercase}
button{margin-top:.8rem;font-size:1.1rem;padding:.6rem 1.4rem;border:0;border-radius:6px;
background:#b5121b;color:#fff}
.result{margin-top:1.5rem;padding:1rem;border-radius:8px;background:#fff;border-left:6px solid}
.genuine{border-color:#1b7f3b}.voided{border-color:#b5121b}.unknown{border-color:#888}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.8rem 0 0}
dt{color:#555}dd{margin:0}
p.note{color:#555;font-size:.9rem}
"""

_VERDICT = {
    "genuine": ("真实有效", "本核验码对应的文书由以下机关签发，现行有效。"),
    "voided": ("已作废", "本核验码对应的文书已被签发机关作废，不再具有效力。"),
    "unknown": ("无法核验", "未找到与该核验码对应的文书。请核对核验码是否输入正确。"),
}


def _page(code: str, result: str, status: int = 200, headers: dict[str, str] | None = None
          ) -> HTMLResponse:
    body = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>法律文书核验 · 联保</title><style>{_STYLE}</style></head>
<body><main>
<h1>法律文书核验</h1>
<form method="get" action="/verify">
<label for="code">核验码（见文书末尾，如 WF6K-XNHV-8A9Q）</label>
<input id="code" name="code" value="{escape(code)}" autocomplete="off" autocapitalize="characters"
 spellcheck="false" maxlength="{MAX_CODE_CHARS}" required>
<button type="submit">核验</button>
</form>
{result}
<p class="note">核验码不区分大小写，连字符和空格可省略。
本页只显示文书的签发机关、文号、种类和日期，不显示任何个人信息。</p>
</main></body></html>"""
    return HTMLResponse(body, status, headers=headers)


def _result(v: document.PublicVerification) -> str:
    verdict, explain = _VERDICT[v.status]
    rows = ""
    if v.status != "unknown":
        issued = v.issued_on.isoformat() if v.issued_on else "—"
        rows = "<dl>" + "".join(
            f"<dt>{k}</dt><dd>{escape(val or '—')}</dd>"
            for k, val in (("签发机关", v.issuer), ("文号", v.number), ("文书种类", v.title),
                           ("签发日期", issued))
        ) + "</dl>"
    return (f'<section class="result {v.status}" id="result" data-status="{v.status}">'
            f"<strong>{verdict}</strong><p>{explain}</p>{rows}</section>")


def _notice(css: str, text: str) -> str:
    return f'<section class="result {css}" id="result" data-status="{css}"><p>{text}</p></section>'


async def verify_page(request: Request) -> Response:
    state: AppState = request.app.state.lianbao
    code = request.query_params.get("code", "").strip()[:MAX_CODE_CHARS]
    if not code:
        return _page("", "")
    client = request.client
    try:
        state.limits.check_verify(client.host if client else "unknown")
    except RateLimited as error:
        metrics.RATE_LIMITED_TOTAL.labels(scope=error.scope).inc()
        return _page(code, _notice("unknown", "核验过于频繁，请稍后再试。"), 429,
                     {"Retry-After": error.retry_after_header})
    try:
        async with state.sessions() as session:
            ctx = ServiceContext(session, ANONYMOUS, state.authz, state.clock,
                                 request_id=request.scope.get("state", {}).get("request_id"))
            found = await document.verify_public(ctx, code)
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        return _page(code, _notice("unknown", "系统暂时无法核验，请稍后再试。"), 503,
                     {"Retry-After": str(RETRY_AFTER_SECONDS)})
    return _page(code, _result(found))
