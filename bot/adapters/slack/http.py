"""Slack's HTTP mode: Bolt's aiohttp routes, with one repair to how Bolt reads a form body.

Bolt takes any form body that mentions the word "payload" anywhere for an interaction
payload (`slack_bolt.request.internals.parse_body`). A slash command whose text says it
("/awsquiz answer the Lambda payload limit is 6 MB") then arrives with no fields at all, no
listener matches, and Slack shows the member an error. Here such a body is read as the plain
form it is; the signature is still checked on the raw body by Bolt.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"


async def bolt_request(request: web.Request) -> AsyncBoltRequest:
    """The Bolt request for an aiohttp request, with a form body read as a form."""
    raw = await request.text()
    translated = AsyncBoltRequest(
        body=raw,
        query=request.query_string,
        headers=request.headers,  # type: ignore[arg-type]  # a multidict of str, as Bolt reads
    )
    if translated.body or not raw or translated.content_type != FORM_CONTENT_TYPE:
        return translated
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" not in fields:  # a command or form that only mentions the word
        translated.body = fields
        translated.context = build_async_context(AsyncBoltContext({}), fields)
    return translated


def web_app(app: AsyncApp, path: str) -> web.Application:
    """An aiohttp application that serves `app` at `path`, and its OAuth pages if it has any."""

    async def dispatch(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await bolt_request(request)))

    application = web.Application()
    application.add_routes([web.post(path, dispatch)])
    flow = app.oauth_flow
    if flow is not None:
        # Bolt's own server answers the install and redirect pages; only POST needs the repair.
        pages = AsyncSlackAppServer(port=0, path=path, app=app)
        application.add_routes(
            [
                web.get(flow.install_path, pages.handle_get_requests),
                web.get(flow.redirect_uri_path, pages.handle_get_requests),
            ]
        )
    return application
