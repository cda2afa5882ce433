"""The base of the fakes' plugin config models."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class FakeConfigBase(BaseModel):
    """camelCase keys in YAML, snake_case attributes, unknown keys refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
