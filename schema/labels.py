"""Enum labels (枚举显示名称): what a client shows for an enum value, in the request's language.

A front-end fetches them once (``enumLabels``, or ``enumLabels(enum: "CaseStage")``) and shows
``label`` wherever the API sends the value; the labels live in the gettext catalogue
(``schema/languages.py``), in English and Chinese, chosen by ``Accept-Language``.
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLEnumType

from schema.context import Info
from schema.languages import label
from workflow import reference
from workflow.errors import InvalidInput


@strawberry.type(description="The label of one enum value in the request's language.")
class EnumLabel:
    enum: str
    value: str
    label: str


@strawberry.type
class LabelQuery:
    @strawberry.field(
        description="Labels of the API's enum values in the request's language "
        "(Accept-Language: zh-CN or en): one enum's, or every enum's when none is named."
    )
    def enum_labels(self, info: Info, enum: str | None = None) -> list[EnumLabel]:
        reference.authorize_labels(info.context.services)
        enums = {
            name: named for name, named in info.schema._schema.type_map.items()
            if isinstance(named, GraphQLEnumType) and not name.startswith("__")
        }
        if enum is not None and enum not in enums:
            raise InvalidInput(f"no enum {enum}", field="enum")
        chosen = [enum] if enum is not None else sorted(enums)
        return [
            EnumLabel(enum=name, value=value, label=label(name, value) or value)
            for name in chosen
            for value in enums[name].values
        ]
