from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base of every request body: an unknown field is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
