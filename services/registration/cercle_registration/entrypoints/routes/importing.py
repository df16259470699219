from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cercle_shared.errors import InvalidInput
from cercle_shared.web.problems import PROBLEM_JSON, problem

from ...service_layer import importing
from .. import schemas
from ..deps import NOT_PARTNERS, ClockDep, PrincipalDep, RegionsDep, UowDep

router = APIRouter(prefix="/v1/members", tags=["members"], dependencies=NOT_PARTNERS)

MAX_IMPORT_BYTES = 5 * 1024 * 1024
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A CSV file with a header line. Columns: "
        + ", ".join(importing.COLUMNS)
        + f" (required: {', '.join(importing.REQUIRED_COLUMNS)}). Lists inside a cell are separated by "
        f"'{importing.LIST_SEPARATOR}'; consents are yes/no.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


REPORT_EXAMPLE = {
    "dry_run": True,
    "committed": False,
    "rows": 120,
    "members": 118,
    "memberships": 140,
    "errors": [
        {"row": 3, "field": "email", "message": "a member with this email already exists"},
        {
            "row": 17,
            "field": "display_name",
            "message": "display_name: control characters (such as line breaks) are not allowed",
        },
    ],
    "undone": 0,
}
REFUSED = {
    "description": "Rows refused, nothing written (a dry run too: the same answer, nothing to write anyway). "
    "The problem's `errors` list one entry per refused row (`row`: the line where it starts, the header being line "
    "1; `field`: the column at fault; `message`), and `report` is the whole import report. A file that cannot be "
    "read at all (unknown or missing columns, more than 10,000 rows, malformed CSV) is a 422 naming `file`, "
    "without `report`.",
    "content": {
        "application/problem+json": {
            "schema": {
                "allOf": [
                    {"$ref": "#/components/schemas/Problem"},
                    {
                        "type": "object",
                        "properties": {
                            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ImportRowError"}},
                            "report": {"$ref": "#/components/schemas/ImportReportPublic"},
                        },
                    },
                ]
            },
            "example": {
                "type": "https://cercle.example/problems/invalid-input",
                "title": "Invalid input",
                "status": 422,
                "detail": "2 of 120 rows refused; nothing was written",
                "instance": "/v1/members/import",
                "errors": REPORT_EXAMPLE["errors"],
                "report": REPORT_EXAMPLE,
            },
        }
    },
}


@router.post(
    "/import",
    response_model=schemas.ImportReportPublic,
    summary="Import members and memberships from CSV",
    openapi_extra=IMPORT_BODY,
    responses={
        200: {
            "description": "Dry run: every row is valid; nothing was written (`committed`: false).",
            "content": {"application/json": {"example": {**REPORT_EXAMPLE, "errors": [], "members": 120}}},
        },
        201: {
            "description": "Every row was valid and everything was written (`committed`: true).",
            "model": schemas.ImportReportPublic,
        },
        422: REFUSED,
        503: {
            "description": "The database stayed busy: nothing of the import is kept; retry after `Retry-After`.",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
)
async def import_members(
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    regions: RegionsDep,
    clock: ClockDep,
    response: Response,
    dry_run: Annotated[
        bool, Query(description="Check every row; write nothing (and never lock the database).")
    ] = False,
):
    """All or nothing: every row is checked first, with reads only; if any is refused, nothing is written and each
    refusal is reported (422). A dry run stops there (200, or the same 422).

    A real import then writes the rows in short transactions of 50 rows, each checking its rows again, so that
    other requests keep writing meanwhile. Should a concurrent change make a row invalid in between (its email
    registered, its organization deleted, its community closed), the rows already written are erased again
    (`report.undone`; the other services follow the erasure) and the answer is the same 422 naming that row. Any
    other failure while writing (a database busy beyond its timeout: 503) undoes it too, and an import whose process
    stopped midway is undone by the `undo-interrupted-imports` job: all of a file is kept, or none of it."""
    text = await _csv_text(request)
    report = await run_in_threadpool(
        importing.import_members, text, uow, principal, regions, dry_run=dry_run, clock=clock
    )
    public = schemas.import_report_public(report)
    if report.errors:
        return _refused(public, request.url.path)
    if report.committed:
        response.status_code = status.HTTP_201_CREATED
    return public


async def _csv_text(request: Request) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None:
            raise InvalidInput("send the CSV file in a form field named 'file'", field="file")
        data = await upload.read() if isinstance(upload, UploadFile) else str(upload).encode()
    elif content_type in ("text/csv", "text/plain", "application/csv"):
        data = await request.body()
    else:
        raise HTTPException(415, "Send text/csv, or multipart/form-data with a 'file' field.")
    if len(data) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"An import file has at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # what spreadsheet software in Québec often writes


def _refused(report: schemas.ImportReportPublic, instance: str) -> JSONResponse:
    """A 422 problem listing every refused row, with the whole report."""
    refused = len({e.row for e in report.errors})
    outcome = (
        f"the {report.undone} members already written were erased again; nothing was kept"
        if report.undone
        else "nothing was written"
    )
    body = json.loads(
        problem(
            422,
            "Invalid input",
            f"{refused} of {report.rows} rows refused; {outcome}",
            instance=instance,
            errors=[e.model_dump() for e in report.errors],
        ).body
    )
    body["report"] = report.model_dump()
    return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)
