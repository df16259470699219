"""The bare baseline of the HTTP benchmark: FastAPI, one INSERT per POST, one SELECT by id per GET.

    python -m benchmarks.bare_app DATABASE_URL PORT

Served by uvicorn with the same settings as a Cercle service (`cercle_shared.cli`): one process, the same
log level, so that the only difference the benchmark measures is what Cercle does per request.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, insert, select

metadata = MetaData()
members = Table(
    "bare_members",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("region", String(2)),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)


class Consents(BaseModel):
    processing: bool


class MemberCreate(BaseModel):
    display_name: str
    email: str
    region: str | None = None
    consents: Consents


class MemberPublic(BaseModel):
    id: str
    display_name: str
    email: str
    region: str | None
    registered_at: datetime
    version: int


def build_app(database_url: str) -> FastAPI:
    engine = create_engine(database_url)
    metadata.create_all(engine)
    app = FastAPI()

    @app.post("/members", status_code=201, response_model=MemberPublic)
    def create(body: MemberCreate) -> dict:
        row = {
            "id": str(uuid.uuid4()),
            "display_name": body.display_name,
            "email": body.email,
            "region": body.region,
            "registered_at": datetime.now(UTC),
            "version": 1,
        }
        with engine.begin() as connection:
            connection.execute(insert(members).values(**row))
        return row

    @app.get("/members/{member_id}", response_model=MemberPublic)
    def read(member_id: str) -> dict:
        with engine.connect() as connection:
            row = connection.execute(select(members).where(members.c.id == member_id)).mappings().first()
        if row is None:
            raise HTTPException(404)
        return dict(row)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "up"}

    return app


if __name__ == "__main__":
    url, port = sys.argv[1], int(sys.argv[2])
    log_level = sys.argv[3] if len(sys.argv) > 3 else "info"
    uvicorn.run(build_app(url), host="127.0.0.1", port=port, log_level=log_level, timeout_graceful_shutdown=10)
