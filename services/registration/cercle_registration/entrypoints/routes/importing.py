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


@router.post(
    "/import",
    response_model=schemas.ImportReportPublic,
    summary="Import members and memberships from CSV",
    openapi_extra=IMPORT_BODY,
    responses={
        201: {"description": "Written.", "model": schemas.ImportReportPublic},
        422: {"description": "Rows refused, nothing written: problem details with `errors` and `report`."},
    },
)
async def import_members(
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    regions: RegionsDep,
    clock: ClockDep,
    response: Response,
    dry_run: Annotated[bool, Query(description="Check every row; write nothing.")] = False,
):
    """All or nothing: every row is checked; if any is refused, nothing is written and each refusal is reported."""
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
    body = json.loads(
        problem(
            422,
            "Invalid input",
            f"{refused} of {report.rows} rows refused; nothing was written",
            instance=instance,
            errors=[e.model_dump() for e in report.errors],
        ).body
    )
    body["report"] = report.model_dump()
    return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)
