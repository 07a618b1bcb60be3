"""Every API response the test suite produces is validated against the served OpenAPI document."""

from __future__ import annotations

from functools import cache

from flask.testing import FlaskClient
import json

from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound, ServerNotFound

API_PREFIX = "/api/v1"
CHECKED: list[tuple[str, str, int]] = []


@cache
def openapi() -> OpenAPI:
    from portal.api import openapi_document

    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(openapi_document(), config=config)


class _RequestWithoutBody(WerkzeugOpenAPIRequest):
    """Response validation only needs the request's method, path and headers; its body was consumed."""

    @property
    def body(self):
        return None


class ValidatingClient(FlaskClient):
    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        request = response.request
        if request.path.startswith(API_PREFIX + "/"):
            check_response(request, response)
        return response


def check_response(request, response) -> None:
    try:
        openapi().validate_response(_RequestWithoutBody(request), WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound, ServerNotFound):
        if response.status_code in (404, 405):
            return  # a route that does not exist, answered as such
        raise AssertionError(f"{request.method} {request.path} is not documented in the OpenAPI document")
    except Exception as exc:
        raise AssertionError(
            f"{request.method} {request.path} -> {response.status_code} does not match the OpenAPI document: "
            f"{exc!r}; body: {response.get_data(as_text=True)[:500]}"
        ) from exc
    CHECKED.append((request.method, request.path, response.status_code))
