"""Cursor pagination shared by every list endpoint: newest first, bounded pages."""

import re
from typing import Any

from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from config import limits
from config.errors import InvalidPageSize, PageSizeTooLarge


class NewestFirstPagination(CursorPagination):
    """A too-large `page_size` is refused, not clamped: the client learns the cap."""

    ordering = "-created_at"
    page_size = limits.DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = limits.MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,9}", raw, flags=re.ASCII) or int(raw) < 1:
            raise InvalidPageSize(field=self.page_size_query_param)
        if int(raw) > self.max_page_size:
            raise PageSizeTooLarge(
                field=self.page_size_query_param, meta={"maximum": self.max_page_size}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] |= {
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters
